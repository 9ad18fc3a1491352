"""Inlining: an OpFromGraph built with `inline=True` is replaced by its inner graph, so the optimizer
simplifies and fuses it with the graph around it.

Example:
    >>> import symgraph as sg
    >>> a = sg.vector("a")
    >>> double = sg.OpFromGraph([a], [a * 2], inline=True)
    >>> x = sg.vector("x")
    >>> sg.optimize(double(x)).owner.op.name
    'multiply'
"""
from ..ops.custom import OpFromGraph
from .registry import register_rewrite


@register_rewrite("inline_op_from_graph", "canonicalize", tracks=[OpFromGraph])
def inline_op_from_graph(node, build):
    """Replace an inlinable OpFromGraph node by its inner graph rebuilt on the node's inputs."""
    if not node.op.inline:
        return None
    return node.op.expand(node.inputs)
