"""The optimizer's phases, in order, and the report of what they did.

1. merge: equal constants become one (nodes are interned, so equal nodes above them merge too);
2. constant_folding: nodes whose inputs are all constants are computed while compiling;
3. canonicalize: algebraic identities, gathered constants, shape arithmetic, transposes;
4. stabilize: numerically stable forms (log1p, log_softmax, logsumexp, softplus ...);
5. specialize: cheaper special cases (square instead of power, dot instead of sum of products ...);
6. fusion: connected element-wise nodes become one kernel.
Constant folding also runs inside phases 3-5, as their rewrites can leave constant-only nodes behind.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> [y], report = optimize_graph([sg.log(1 + x * 1.0)])
    >>> y.owner.op.name, report.rewrites["multiply_one"], report.rewrites["log1p"]
    ('log1p', 1, 1)
"""
import functools
import time

from ..graph.traversal import toposort
from .engine import RewriteIndex, RewritePass
from .fusion import FUSION, fuse_elemwise
from .merge import constant_merge_map
from .mode import get_mode
from .registry import REWRITES, enabled_rewrites
from .report import CompileReport
from .shapes import ShapeFacts

_LOCAL_PHASES = (
    ("constant_folding", ("constant_folding",)),
    ("canonicalize", ("canonicalize", "constant_folding")),
    ("stabilize", ("stabilize", "constant_folding")),
    ("specialize", ("specialize", "constant_folding")),
)


@functools.lru_cache(maxsize=64)
def _index(base, included, excluded, phases, registered):
    from .mode import Mode

    mode = Mode(base, included, excluded)
    return RewriteIndex(enabled_rewrites(mode, phases))


def _phase_index(mode, phases):
    return _index(mode.base, mode.included, mode.excluded, phases, len(REWRITES))


def _merge(outputs, mode, counts, size):
    if not mode.enabled("merge_constants", ("merge",)):
        return outputs
    mapping = constant_merge_map(toposort(outputs))
    if not mapping:
        return outputs
    counts["merge_constants"] = counts.get("merge_constants", 0) + len(mapping)
    return RewritePass([], counts, leaf_map=mapping, graph_size=size).run(outputs)


def optimize_graph(outputs, mode=None):
    """Rewrite the graph computing `outputs` under `mode`; return (new_outputs, CompileReport).

    The graph given is not changed: the result shares its unchanged parts and has new nodes elsewhere.
    """
    mode = get_mode(mode)
    outputs = list(outputs)
    size = len(toposort(outputs))
    report = CompileReport(nodes_before=size, nodes_after=size)
    counts = report.rewrites
    facts = ShapeFacts()

    def timed(phase, step):
        nonlocal outputs
        start = time.perf_counter()
        outputs = step()
        report.timings[phase] = time.perf_counter() - start

    timed("merge", lambda: _merge(outputs, mode, counts, size))
    for phase, phases in _LOCAL_PHASES:
        index = _phase_index(mode, phases)
        if index:
            timed(phase, lambda: RewritePass(index, counts, graph_size=size, facts=facts).run(outputs))
    if mode.enabled(FUSION, ("fusion",)):
        timed("fusion", lambda: fuse_elemwise(outputs, counts))
    report.nodes_after = len(toposort(outputs))
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
    new_outputs, _ = optimize_graph([outputs] if single else list(outputs), mode)
    return new_outputs[0] if single else new_outputs
