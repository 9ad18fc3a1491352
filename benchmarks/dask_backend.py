"""The Dask backend against dask.array code written by hand for the same expression.

    python -m benchmarks.dask_backend                   # in memory: time ratio and task-graph sizes
    python -m benchmarks.dask_backend --out-of-core     # mean((a - b)**2) over 2 x 2e9 float64 (32 GB)

In memory, both get the same dask arrays (2 x 5e7 float64, Dask's "auto" chunks) and compute on Dask's
threaded scheduler; the ratio is the median of per-round ratios (benchmarks/harness.py). The task graph
is counted before Dask's own optimization (`len(result.__dask_graph__())`). Out of core, the two inputs
are generated chunk by chunk (`da.random.default_rng(seed).random`), so they are never in memory: the
run reports seconds and the peak resident memory of the process (`resource.getrusage`).

`dask_mse` and `dask_chain` are also workloads of the default run (`python -m benchmarks`), against
hand-written NumPy, with "dask.array by hand" beside the backend.
"""
import argparse
import resource
import time

import numpy as np

import symgraph as sg
from .harness import interleaved_medians


def _chain(a, b, exp, tanh):
    return exp(-a * a) * tanh(b) + (a - b) / (1.0 + b * b)


def _mse(a, b):
    return ((a - b) ** 2).mean()


EXPRESSIONS = {
    "mse": ("mean((a - b)**2)", _mse, _mse),
    "chain": ("exp(-a*a)*tanh(b) + (a - b)/(1 + b*b)",
              lambda a, b: _chain(a, b, sg.exp, sg.tanh), None),
}


def _by_hand(name, a, b):
    import dask.array as da

    if name == "mse":
        return _mse(a, b)
    return _chain(a, b, da.exp, da.tanh)


def _compiled(name, compute=True):
    a, b = sg.vector("a"), sg.vector("b")
    return sg.function([a, b], EXPRESSIONS[name][1](a, b), backend=sg.backend("dask", compute=compute))


def _inputs(n, seed=0):
    import dask.array as da

    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(n) for _ in range(2)]
    return values, [da.from_array(v, chunks="auto") for v in values]


def _workload(name):
    def build(quick):
        import dask

        n = 5_000_000 if quick else 50_000_000
        values, arrays = _inputs(n)
        compiled = _compiled(name)
        systems = {"dask.array by hand": lambda: dask.compute(_by_hand(name, *arrays))[0],
                   "symgraph dask": lambda: compiled(*arrays)}
        if name == "mse":
            return (lambda: _mse(*values)), systems
        return (lambda: _chain(*values, np.exp, np.tanh)), systems

    return build


dask_mse = _workload("mse")
dask_chain = _workload("chain")


def in_memory(n, repeat):
    """Print, per expression, the seconds of both, their ratio and their task-graph sizes."""
    import dask

    values, arrays = _inputs(n)
    print(f"in memory: 2 x {n:.0e} float64, chunks {arrays[0].chunksize}, {arrays[0].numblocks[0]} chunks each, "
          f"median of {repeat}")
    for name, (text, _, _) in EXPRESSIONS.items():
        compiled = _compiled(name)
        calls = {"by hand": lambda: dask.compute(_by_hand(name, *arrays))[0], "symgraph": lambda: compiled(*arrays)}
        np.testing.assert_allclose(calls["symgraph"](), calls["by hand"](), rtol=1e-9)
        medians = interleaved_medians(calls, repeat, 0.0)
        ours = len(_compiled(name, compute=False)(*arrays).__dask_graph__())
        theirs = len(_by_hand(name, *arrays).__dask_graph__())
        print(f"  {text:<40} by hand {medians['by hand'][0]:.3f} s, symgraph {medians['symgraph'][0]:.3f} s, "
              f"ratio {medians['symgraph'][1]:.2f}x; tasks {ours} vs {theirs} by hand")


def out_of_core(n, chunk):
    """Run mean((a - b)**2) over two generated vectors of `n` float64 each, chunks of `chunk` elements."""
    import dask.array as da

    rng = da.random.default_rng(42)
    a, b = rng.random(n, chunks=chunk), rng.random(n, chunks=chunk)
    start = time.perf_counter()
    value = float(_compiled("mse")(a, b))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    print(f"out of core: mean((a - b)**2) over 2 x {n:.0e} float64 ({2 * n * 8 / 1e9:.0f} GB), "
          f"{a.numblocks[0]} chunks of {chunk:.0e}: {value:.6f} (expected 1/6 = 0.166667) in {seconds:.1f} s, "
          f"peak RSS {peak:.2f} GiB")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dask_backend", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-of-core", action="store_true", help="the 32 GB run (minutes)")
    parser.add_argument("--n", type=float, default=None, help="elements per input (default 5e7, or 2e9 out of core)")
    parser.add_argument("--chunk", type=float, default=1.6e7, help="elements per chunk out of core")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    if args.out_of_core:
        out_of_core(int(args.n or 2e9), int(args.chunk))
    else:
        in_memory(int(args.n or 5e7), args.repeat)


if __name__ == "__main__":
    main()
