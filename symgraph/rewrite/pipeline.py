"""The optimizer's phases, in order, and the report of what they did.

1. merge: equal constants become one (nodes are interned, so equal nodes above them merge too);
2. constant_folding: nodes whose inputs are all constants are computed while compiling;
3. canonicalize: algebraic identities, gathered constants, shape arithmetic, transposes;
4. stabilize: numerically stable forms (log1p, log_softmax, logsumexp, softplus ...);
5. specialize: cheaper special cases (square instead of power, dot instead of sum of products ...);
6. fusion: connected element-wise nodes become one kernel;
7. sympy (off by default): small kernels simplified by SymPy (see sympy_simplify.py);
8. reduction_fusion (in the fusion group): a sum/mean/max/min/logsumexp/softmax/log_softmax of a kernel
   joins it, to be evaluated block by block (after sympy, which simplifies plain kernels only);
9. loops: scans' step graphs are optimized the same way, loop histories nothing reads are dropped, and
   ifelse branches become lazy (see loops.py).
Constant folding also runs inside phases 3-5, as their rewrites can leave constant-only nodes behind.
The "unsafe" rewrites (off by default) run in the canonicalize phase when switched on; the "inplace"
group is reserved for buffer reuse and holds no rewrite yet.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> [y], report = optimize_graph([sg.log(1 + x * 1.0)])
    >>> y.owner.op.name, report.rewrites["multiply_one"], report.rewrites["log1p"]
    ('log1p', 1, 1)
"""
import functools
import time

from ..graph.basic import Variable
from ..graph.traversal import toposort
from .engine import RewriteIndex, RewritePass
from .fusion import FUSION, REDUCTION_FUSION, fuse_elemwise, fuse_reductions
from .loops import optimize_loops
from .merge import constant_merge_map
from .mode import Mode, get_mode
from .registry import REWRITES, enabled_rewrites
from .report import CompileReport
from .shapes import ShapeFacts
from .sympy_simplify import SYMPY_SIMPLIFY, simplify_kernels

_LOCAL_PHASES = (
    ("constant_folding", ("constant_folding",)),
    ("canonicalize", ("canonicalize", "constant_folding")),
    ("stabilize", ("stabilize", "constant_folding")),
    ("specialize", ("specialize", "constant_folding")),
)


@functools.lru_cache(maxsize=64)
def _index(base, included, excluded, phases, registered):
    """The rewrites of `phases` a mode switches on, indexed (cached per mode; `registered` is the size of
    the registry, so that registering a rewrite invalidates the cache)."""
    return RewriteIndex(enabled_rewrites(Mode(base, included, excluded), phases))


def _phase_index(mode, phases):
    return _index(mode.base, mode.included, mode.excluded, phases, len(REWRITES))


def _merge(outputs, nodes, counts):
    mapping = constant_merge_map(nodes)
    if not mapping:
        return outputs
    counts["merge_constants"] = counts.get("merge_constants", 0) + len(mapping)
    return RewritePass([], counts, leaf_map=mapping, graph_size=len(nodes)).run(outputs)


def _phases(mode, nodes, counts):
    """(phase name, step) pairs for `mode`; a step maps the current outputs to rewritten ones."""
    facts = ShapeFacts()
    steps = []
    if mode.enabled("merge_constants", ("merge",)):
        steps.append(("merge", lambda outputs: _merge(outputs, nodes, counts)))
    for phase, groups in _LOCAL_PHASES:
        index = _phase_index(mode, groups)
        if index:
            steps.append((phase, lambda outputs, index=index: RewritePass(
                index, counts, graph_size=len(nodes), facts=facts).run(outputs)))
    if mode.enabled(FUSION, ("fusion",)):
        steps.append(("fusion", lambda outputs: fuse_elemwise(outputs, counts)))
        if mode.enabled(SYMPY_SIMPLIFY, ("sympy",)):
            steps.append(("sympy", lambda outputs: simplify_kernels(outputs, counts)))
    if mode.enabled(REDUCTION_FUSION, ("fusion",)):
        steps.append(("reduction_fusion", lambda outputs: fuse_reductions(outputs, counts)))
    steps.append(("loops", lambda outputs: optimize_loops(outputs, mode, counts)))
    return steps


def optimize_graph(outputs, mode=None):
    """Rewrite the graph computing `outputs` under `mode`; return (new_outputs, CompileReport).

    The graph given is not changed: the result shares its unchanged parts and has new nodes elsewhere.
    """
    mode = get_mode(mode)
    outputs = list(outputs)
    nodes = toposort(outputs)
    report = CompileReport(nodes_before=len(nodes), nodes_after=len(nodes))
    for phase, step in _phases(mode, nodes, report.rewrites):
        start = time.perf_counter()
        outputs = step(outputs)
        report.timings[phase] = time.perf_counter() - start
    final_nodes = toposort(outputs)
    report.nodes_after = len(final_nodes)
    report.batching_fallbacks = [str(node.op.op) for node in final_nodes
                                 if getattr(node.op, "batching_fallback", False)]
    return outputs, report


def optimize(outputs, mode=None):
    """The optimized output variables (graph in, graph out), for inspection.

    Returns one variable for one variable and a list for a list.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> y = sg.optimize(sg.exp(x))
        >>> y.owner.op.name
        'exp'
    """
    single = not isinstance(outputs, (list, tuple))
    for out in [outputs] if single else outputs:
        if not isinstance(out, Variable):
            raise TypeError(f"sg.optimize: expected a symbolic variable or a list of them, got {out!r}")
    new_outputs, _ = optimize_graph([outputs] if single else list(outputs), mode)
    return new_outputs[0] if single else new_outputs
