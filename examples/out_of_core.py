"""Out of core with the Dask backend: the same graph, compiled once for NumPy and once for Dask, then one
SGD step of linear regression over a dataset that lives in chunks (generated chunk by chunk, so with a
large size it never fits in memory).

    python examples/out_of_core.py                 # 2e6 rows x 8 features: a few seconds
    python examples/out_of_core.py 400000000       # 400e6 rows: 25.6 GB of features, more than 24 GiB of RAM
"""
import sys
import time

import dask.array as da
import numpy as np

import symgraph as sg


def main(rows=2_000_000, features=8, chunk_rows=250_000, steps=5):
    rng = da.random.default_rng(0)
    true_w = np.linspace(-1.0, 1.0, features)
    X = rng.standard_normal((rows, features), chunks=(chunk_rows, features))
    y = X @ true_w + 0.1 * rng.standard_normal(rows, chunks=chunk_rows)

    x_var, y_var = sg.matrix("X"), sg.vector("y")
    w = sg.shared(np.zeros(features), name="w")
    loss = sg.mean((x_var @ w - y_var) ** 2)
    (grad_w,) = sg.grad(loss, [w])
    step = sg.function([x_var, y_var], loss, updates={w: w - 0.5 * grad_w}, backend="dask")
    print(f"dataset: {rows:,} rows x {features} features in {X.numblocks[0]} chunks "
          f"({rows * features * 8 / 1e9:.2f} GB of features)")
    losses = []
    for k in range(steps):
        start = time.perf_counter()
        losses.append(float(step(X, y)))
        print(f"step {k + 1}: loss {losses[-1]:.5f} ({time.perf_counter() - start:.2f} s)")
    print(f"loss decreased: {losses[-1] < losses[0]}")
    print(f"w is a NumPy array after the updates: {type(w.get_value()).__name__}, "
          f"error to the true weights {np.abs(w.get_value() - true_w).max():.3f}")

    small = np.random.default_rng(1).standard_normal((1000, features))
    on_numpy = sg.function([x_var], sg.tanh(x_var @ w).sum())
    on_dask = sg.function([x_var], sg.tanh(x_var @ w).sum(), backend=sg.backend("dask", chunks=(250, features)))
    print(f"numpy and dask backends agree: {bool(np.isclose(on_numpy(small), on_dask(small)))}")


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 2_000_000)
