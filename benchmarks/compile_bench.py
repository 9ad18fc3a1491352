"""Compile-time benchmarks: how long `sg.function` takes, against PyTensor's FAST_RUN compile.

Workloads:
- `compile_mlp`: a 784-256-10 tanh MLP, softmax cross-entropy loss and its gradients w.r.t. the four
  parameters, compiled into one function (each run builds a fresh graph, outside the timing);
- `compile_rnn_bptt`: a tanh RNN written with scan, its loss and BPTT gradients (the building of the
  gradient loop is outside the timing, like the rest of the graph); for both, a "no code cache" row gives
  the time of a first compile (the repeats rebuild the same graph, whose generated code is then reused);
- `compile_nodes_<n>`: synthetic graphs of n operation nodes (element-wise chains with reuse, constants,
  identities for the rewriter to remove, reductions and matrix products), for n = 100, 1000, 5000, plus
  `compile_scaling`: the slope of log(seconds) against log(n) (1.0 means linear);
- `compile_dag_<n>`: a seeded random DAG of n element-wise operations and mean-centerings on 4 vectors
  with shared and duplicated sub-expressions and about n/6 outputs (`random_dag_outputs`), built, compiled
  and called once in a fresh process, for n = 100, 1k, 5k, 20k, 50k (--quick: up to 20k), plus
  `compile_dag_scaling`, its log-log slope;
- `pickle_dag_<n>` / `unpickle_dag_<n>`: `pickle.dumps` and `pickle.loads` of that compiled function (the
  unpickling compiles it again), for n = 5k and 50k (--quick: 5k), in a fresh process.
- `compile_numba_*` (when numba is installed): the kernel of `ew_memory` on 1e6 elements with
  `backend="numba"`, in fresh processes sharing a fresh kernel cache directory: `sg.function` and the first
  result, eagerly compiled with an empty cache (`cold`), again with the cache the first process left
  (`disk_cache`), and tiered (`tiered`: the NumPy code serves the first call). Imports are not counted
  (numba's takes about 0.3 s).

    python -m benchmarks.compile_bench [--quick]

PyTensor rows appear when `pytensor` is importable (e.g. run with /work/benchvenv/bin/python and
PYTHONPATH pointing at this repository); its C-module cache is warmed by one compile before timing.
"""
import argparse
import math
import random
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

import symgraph as sg
from symgraph.graph.traversal import toposort

SIZES = (100, 1000, 5000)
DAG_SIZES = (100, 1000, 5000, 20_000, 50_000)
PICKLE_SIZES = (5000, 50_000)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLP_SIZES = (784, 256, 10)


def median_compile_seconds(make_compile, repeat):
    """Median wall time of compiling over `repeat` runs, after one warm-up run.

    `make_compile()` builds a fresh graph (not timed) and returns the zero-argument compile call (timed),
    so that no run reuses what an earlier compile made of the same graph.
    """
    make_compile()()
    samples = []
    for _ in range(repeat):
        compile_once = make_compile()
        start = time.perf_counter()
        compile_once()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class SymgraphOps:
    """The operations the workload builders use, spelled for symgraph."""

    matrix = staticmethod(lambda name: sg.matrix(name))
    vector = staticmethod(lambda name: sg.vector(name))
    mean = staticmethod(sg.mean)
    label_vector = staticmethod(lambda name: sg.vector(name, dtype="int64"))
    shared = staticmethod(lambda value, name: sg.shared(value, name=name))
    tanh, exp, sin, cos, log1p, sqrt, abs = sg.tanh, sg.exp, sg.sin, sg.cos, sg.log1p, sg.sqrt, sg.abs
    log_softmax = staticmethod(lambda z: sg.log_softmax(z, axis=1))
    arange = staticmethod(sg.arange)
    grad = staticmethod(lambda cost, wrt: sg.grad(cost, wrt))
    tensor3 = staticmethod(lambda name: sg.tensor(name, shape=(None, None, None)))
    vector = staticmethod(lambda name: sg.vector(name))
    mean = staticmethod(sg.mean)
    scan = staticmethod(lambda step, sequence, initial: sg.scan(step, sequences=sequence, outputs_info=initial)[0])

    @staticmethod
    def compile(inputs, outputs):
        return lambda: sg.function(inputs, outputs, on_unused_input="ignore")


class PyTensorOps:
    """The same operations spelled for PyTensor (FAST_RUN)."""

    def __init__(self, pytensor):
        import pytensor.tensor as pt

        self.pytensor, self.pt = pytensor, pt
        self.matrix = lambda name: pt.matrix(name, dtype="float64")
        self.vector = lambda name: pt.vector(name, dtype="float64")
        self.mean = pt.mean
        self.label_vector = lambda name: pt.vector(name, dtype="int64")
        self.shared = lambda value, name: pytensor.shared(value, name=name)
        self.tanh, self.exp, self.sin, self.cos = pt.tanh, pt.exp, pt.sin, pt.cos
        self.log1p, self.sqrt, self.abs = pt.log1p, pt.sqrt, pt.abs
        self.log_softmax = lambda z: pt.special.log_softmax(z, axis=1)
        self.arange = pt.arange
        self.grad = pytensor.grad
        self.tensor3 = lambda name: pt.tensor3(name, dtype="float64")
        self.vector = lambda name: pt.vector(name, dtype="float64")
        self.mean = pt.mean
        self.scan = lambda step, sequence, initial: pytensor.scan(step, sequences=sequence, outputs_info=initial,
                                                                  return_updates=False)

    def compile(self, inputs, outputs):
        return lambda: self.pytensor.function(inputs, outputs, mode="FAST_RUN", on_unused_input="ignore")


def mlp_compile(ops):
    """A zero-argument callable compiling the MLP's loss and gradients with `ops`."""
    rng = np.random.default_rng(0)
    n_in, n_hidden, n_out = MLP_SIZES
    w1 = ops.shared(rng.normal(0, n_in ** -0.5, (n_in, n_hidden)), "w1")
    b1 = ops.shared(np.zeros(n_hidden), "b1")
    w2 = ops.shared(rng.normal(0, n_hidden ** -0.5, (n_hidden, n_out)), "w2")
    b2 = ops.shared(np.zeros(n_out), "b2")
    x, y = ops.matrix("x"), ops.label_vector("y")
    hidden = ops.tanh(x @ w1 + b1)
    log_probs = ops.log_softmax(hidden @ w2 + b2)
    loss = -log_probs[ops.arange(x.shape[0]), y].mean()
    grads = ops.grad(loss, [w1, b1, w2, b2])
    return ops.compile([x, y], [loss] + list(grads))


def rnn_compile(ops):
    """A zero-argument callable compiling a tanh RNN's loss over all steps and its BPTT gradients with `ops`
    (the graph of the `rnn_bptt` run-time workload)."""
    xs, wx, wh, b, h0 = ops.tensor3("xs"), ops.matrix("wx"), ops.matrix("wh"), ops.vector("b"), ops.matrix("h0")
    states = ops.scan(lambda x_t, h: ops.tanh(x_t @ wx + h @ wh + b), xs, h0)
    loss = 0.5 * ops.mean(states ** 2)
    return ops.compile([xs, wx, wh, b, h0], [loss] + list(ops.grad(loss, [wx, wh, b])))


def synthetic_outputs(ops, n_nodes, seed=0):
    """(inputs, outputs) of a graph of about `n_nodes` operations: a chain in which each step also reuses
    one of the last few values, mixing element-wise operations, constants, identities (x * 1, x + 0),
    reductions and matrix products."""
    rng = random.Random(seed)
    a, b = ops.matrix("a"), ops.matrix("b")
    values = [a, b]
    unary = [ops.tanh, ops.exp, ops.sin, ops.cos, ops.abs]
    built = 0
    while built < n_nodes:
        x = values[-1]
        y = values[-1 - rng.randrange(min(8, len(values)))]
        choice = rng.random()
        if choice < 0.35:
            value, cost = rng.choice(unary)(x) * 0.5, 2
        elif choice < 0.6:
            value, cost = x + y, 1
        elif choice < 0.75:
            value, cost = (x * 1.0 + 0.0) - y * 0.25, 4
        elif choice < 0.85:
            value, cost = ops.log1p(x * x) + 1.0, 3
        elif choice < 0.95:
            value, cost = x - x.mean(axis=0), 2
        else:
            value, cost = ops.tanh(x @ y) * 0.1, 3
        values.append(value)
        built += cost
    outputs = [values[-1], values[len(values) // 2].sum()]
    return [a, b], outputs


def random_dag_outputs(ops, n_ops, seed=0):
    """(inputs, outputs) of a seeded random DAG of about `n_ops` operations on 4 float64 vectors:
    element-wise operations and mean-centerings whose operands are drawn from the earlier values, mostly
    recent ones (so sub-expressions are shared), one step in eight rebuilding an earlier step from the same
    operands (a duplicate for the merger). The outputs are the values no step uses (about one in six), so
    no operation is dead. Values stay in [-1, 1] for inputs there.
    """
    rng = random.Random(seed)
    inputs = [ops.vector(name) for name in "abcd"]
    values = list(inputs)
    steps = [
        (1, lambda x, y: ops.tanh(x)), (1, lambda x, y: ops.sin(x)), (1, lambda x, y: ops.cos(x)),
        (1, lambda x, y: ops.abs(x)), (1, lambda x, y: x * y),
        (2, lambda x, y: (x + y) * 0.5), (2, lambda x, y: (x - y) * 0.5),
        (3, lambda x, y: (x - ops.mean(x)) * 0.5),
    ]
    recipes, used = [], set()
    built = 0
    while built < n_ops:
        if recipes and rng.random() < 0.125:
            recipe = rng.choice(recipes)
        else:
            # the first four steps each start from an input, so every input is used
            first = len(recipes) if len(recipes) < len(inputs) else _recent(rng, len(values))
            recipe = (rng.randrange(len(steps)), first, _recent(rng, len(values)))
            recipes.append(recipe)
        kind, first, second = recipe
        cost, step = steps[kind]
        values.append(step(values[first], values[second]))
        used.update((first, second) if kind >= 4 else (first,))
        built += cost
    return inputs, [value for index, value in enumerate(values[len(inputs):], len(inputs)) if index not in used]


_DAG_RUN = """
import sys, time
start = time.perf_counter()
import numpy as np
import symgraph as sg
from benchmarks.compile_bench import SymgraphOps, random_dag_outputs
imported = time.perf_counter()
inputs, outputs = random_dag_outputs(SymgraphOps, int(sys.argv[1]))
f = sg.function(inputs, outputs)
f(*[np.linspace(-1.0, 1.0, 8) * (k + 1) / 4 for k in range(4)])
print(time.perf_counter() - imported)
"""


_DAG_PICKLE_RUN = """
import pickle, sys, time
import symgraph as sg
from benchmarks.compile_bench import SymgraphOps, random_dag_outputs
f = sg.function(*random_dag_outputs(SymgraphOps, int(sys.argv[1])))
start = time.perf_counter()
data = pickle.dumps(f)
pickled = time.perf_counter()
pickle.loads(data)
print(pickled - start, time.perf_counter() - pickled)
"""


def _fresh_process_output(script, n_ops):
    """What `script` prints when run with argument `n_ops` in a fresh Python process from the repository."""
    environment = dict(os.environ, PYTHONPATH=REPO_ROOT)
    return subprocess.run([sys.executable, "-c", script, str(n_ops)], capture_output=True, text=True,
                          check=True, cwd=REPO_ROOT, env=environment).stdout


def dag_pickle_seconds(n_ops, repeat):
    """Median seconds of (pickling, unpickling) the compiled `random_dag_outputs(n_ops)`, each run in a
    fresh Python process."""
    samples = [[float(word) for word in _fresh_process_output(_DAG_PICKLE_RUN, n_ops).split()]
               for _ in range(repeat)]
    return tuple(statistics.median(column) for column in zip(*samples))


def dag_seconds(n_ops, repeat):
    """Median seconds of building `random_dag_outputs(n_ops)`, compiling it and calling it once, each run
    in a fresh Python process (imports not counted)."""
    return statistics.median(float(_fresh_process_output(_DAG_RUN, n_ops)) for _ in range(repeat))


_NUMBA_RUN = """
import sys, time
import numpy as np
import symgraph as sg
backend = sg.backend("numba", tiered=sys.argv[1] == "tiered")
a, b, c, d = (sg.vector(name) for name in "abcd")
values = [np.random.default_rng(k).uniform(0.5, 1.5, 1_000_000) for k in range(4)]
start = time.perf_counter()
f = sg.function([a, b, c, d], ((a * b + c) * d - a) / (b + 2.0), backend=backend)
compiled = time.perf_counter()
f(*values)
print(compiled - start, time.perf_counter() - start)
"""


def numba_rows():
    """The `compile_numba_*` rows (see the module docstring): seconds of sg.function, and to the first
    result in the status."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return [{"workload": "compile_numba", "system": "symgraph", "seconds": None, "ratio": None,
                 "status": "skipped: numba not installed"}]
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as cache:
        environment = dict(os.environ, PYTHONPATH=REPO_ROOT, SYMGRAPH_CACHE_DIR=cache)
        for label, mode in [("cold", "eager"), ("disk_cache", "eager"), ("tiered", "tiered")]:
            done = subprocess.run([sys.executable, "-c", _NUMBA_RUN, mode], capture_output=True, text=True,
                                  check=True, cwd=REPO_ROOT, env=environment)
            compiled, first_result = map(float, done.stdout.split())
            rows.append({"workload": f"compile_numba_{label}", "system": "symgraph", "seconds": compiled,
                         "ratio": None, "status": f"first result after {first_result * 1e3:.1f} ms"})
    return rows


def _recent(rng, count):
    """An index below `count`, geometrically more likely near the end (mean distance 8 back)."""
    return max(0, count - 1 - int(rng.expovariate(1 / 8)))


def symgraph_node_count(n_nodes):
    """Operation nodes in the synthetic graph built for `n_nodes`."""
    return len(toposort(synthetic_outputs(SymgraphOps, n_nodes)[1]))


def loglog_slope(sizes, seconds):
    """Least-squares slope of log(seconds) against log(size)."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(t) for t in seconds]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)


def _pytensor_ops():
    try:
        import pytensor
    except ImportError:
        return None
    return PyTensorOps(pytensor)


def _pytensor_seconds(make_compile, repeat):
    """PyTensor's median compile time, or the reason it failed (its graph walks recurse, so deep graphs
    get a raised recursion limit)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50_000))
    try:
        return median_compile_seconds(make_compile, repeat)
    except Exception as exc:  # a failure is a result to report, not a reason to stop the benchmark
        return f"failed: {type(exc).__name__}"
    finally:
        sys.setrecursionlimit(limit)


def cold_compile_seconds(build, repeat):
    """Median seconds of `build()` with symgraph's cache of compiled sources off, as the first compile of a
    graph in a process sees it (the benchmarks above rebuild the same graph, so they hit that cache)."""
    from symgraph.codegen import linker

    size, linker._CODE_CACHE.size = linker._CODE_CACHE.size, 0
    try:
        return median_compile_seconds(build, repeat)
    finally:
        linker._CODE_CACHE.size = size


def _rows_for(workload, symgraph_seconds, pytensor_result, cold_seconds=None):
    """Rows for one workload; `pytensor_result` is seconds, a failure reason, or None (not measured);
    `cold_seconds`, when measured, is symgraph's time without its code cache."""
    measured = isinstance(pytensor_result, float)
    ratio = symgraph_seconds / pytensor_result if measured else None
    rows = [{"workload": workload, "system": "symgraph", "seconds": symgraph_seconds, "ratio": ratio}]
    if cold_seconds is not None:
        rows.append({"workload": workload, "system": "symgraph, no code cache", "seconds": cold_seconds,
                     "ratio": cold_seconds / pytensor_result if measured else None})
    if measured:
        rows.append({"workload": workload, "system": "pytensor FAST_RUN", "seconds": pytensor_result, "ratio": 1.0})
    elif pytensor_result is not None:
        rows.append({"workload": workload, "system": "pytensor FAST_RUN", "seconds": None, "ratio": None,
                     "status": pytensor_result})
    return rows


def run(quick):
    """Rows (dicts: workload, system, seconds, ratio[, status]); ratio is symgraph / PyTensor seconds."""
    repeat = 3 if quick else 7
    pytensor_ops = _pytensor_ops()
    pytensor_repeat = 1 if quick else 3
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = median_compile_seconds(lambda: mlp_compile(SymgraphOps), repeat)
        cold = cold_compile_seconds(lambda: mlp_compile(SymgraphOps), repeat)
        theirs = _pytensor_seconds(lambda: mlp_compile(pytensor_ops), pytensor_repeat) if pytensor_ops else None
        rows += _rows_for("compile_mlp", ours, theirs, cold)
        ours = median_compile_seconds(lambda: rnn_compile(SymgraphOps), repeat)
        cold = cold_compile_seconds(lambda: rnn_compile(SymgraphOps), repeat)
        theirs = _pytensor_seconds(lambda: rnn_compile(pytensor_ops), pytensor_repeat) if pytensor_ops else None
        rows += _rows_for("compile_rnn_bptt", ours, theirs, cold)
        timings = []
        for n_nodes in SIZES:
            ours = median_compile_seconds(lambda: SymgraphOps.compile(*synthetic_outputs(SymgraphOps, n_nodes)), repeat)
            theirs = None
            if pytensor_ops is not None and (n_nodes <= 1000 or not quick):
                theirs = _pytensor_seconds(lambda: pytensor_ops.compile(*synthetic_outputs(pytensor_ops, n_nodes)),
                                           pytensor_repeat)
            timings.append(ours)
            rows += _rows_for(f"compile_nodes_{symgraph_node_count(n_nodes)}", ours, theirs)
    slope = loglog_slope(SIZES, timings)
    rows.append({"workload": "compile_scaling", "system": "symgraph", "seconds": None, "ratio": None,
                 "status": f"log-log slope {slope:.3f} over {len(SIZES)} sizes (1.0 = linear)"})
    dag_sizes = DAG_SIZES[:-1] if quick else DAG_SIZES
    dag_timings = [dag_seconds(n_ops, repeat) for n_ops in dag_sizes]
    for n_ops, seconds in zip(dag_sizes, dag_timings):
        rows.append({"workload": f"compile_dag_{n_ops}", "system": "symgraph", "seconds": seconds, "ratio": None})
    slope = loglog_slope(dag_sizes, dag_timings)
    rows.append({"workload": "compile_dag_scaling", "system": "symgraph", "seconds": None, "ratio": None,
                 "status": f"log-log slope {slope:.3f} over {len(dag_sizes)} sizes (1.0 = linear)"})
    for n_ops in PICKLE_SIZES[:1] if quick else PICKLE_SIZES:
        pickling, unpickling = dag_pickle_seconds(n_ops, 1 if quick else 3)
        rows.append({"workload": f"pickle_dag_{n_ops}", "system": "symgraph", "seconds": pickling, "ratio": None})
        rows.append({"workload": f"unpickle_dag_{n_ops}", "system": "symgraph", "seconds": unpickling, "ratio": None})
    rows += numba_rows()
    if pytensor_ops is None:
        rows.append({"workload": "compile", "system": "pytensor FAST_RUN", "seconds": None, "ratio": None,
                     "status": "skipped: pytensor not installed"})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compile_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats; PyTensor skips the largest graph")
    args = parser.parse_args(argv)
    for row in run(args.quick):
        seconds = "" if row["seconds"] is None else f"{row['seconds'] * 1e3:10.2f} ms"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.4f}"
        print(f"{row['workload']:<22} {row['system']:<24} {seconds:>14} {ratio:>8}  {row.get('status', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
