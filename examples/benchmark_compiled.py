"""Compile an expression and time it against the NumPy a user would write by hand.

    python examples/benchmark_compiled.py
"""
import timeit

import numpy as np

import symgraph as sg


def main(n=1_000_000, repeat=5):
    x_value = np.random.default_rng(0).uniform(-3, 3, n)
    x = sg.vector("x")
    compiled = sg.function([x], sg.exp(-x * x / 2) * sg.sin(3 * x) + sg.log1p(x * x) * sg.tanh(x))

    def by_hand(x):
        return np.exp(-x * x / 2) * np.sin(3 * x) + np.log1p(x * x) * np.tanh(x)

    np.testing.assert_allclose(compiled(x_value), by_hand(x_value), rtol=1e-12)
    numpy_seconds = min(timeit.repeat(lambda: by_hand(x_value), number=3, repeat=repeat)) / 3
    symgraph_seconds = min(timeit.repeat(lambda: compiled(x_value), number=3, repeat=repeat)) / 3
    print(f"{n:,} elements: NumPy by hand {numpy_seconds * 1e3:.2f} ms, symgraph {symgraph_seconds * 1e3:.2f} ms, "
          f"ratio {symgraph_seconds / numpy_seconds:.2f} (lower is better)")
    print("what the compiler made of it:\n" + compiled.source)
    print(compiled.report)


if __name__ == "__main__":
    main()
