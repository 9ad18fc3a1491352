"""FunctionGraph: a read-only view of a graph between given inputs and outputs.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> g = FunctionGraph([x], [sg.exp(x)])
    >>> len(g.nodes)
    1
"""
from .traversal import toposort


class FunctionGraph:
    """`inputs`, `outputs` and the Apply `nodes` between them in topological order."""

    __slots__ = ("inputs", "outputs", "nodes")

    def __init__(self, inputs, outputs, nodes=None):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.nodes = list(nodes) if nodes is not None else toposort(self.outputs, stop_at=self.inputs)

    def toposort(self):
        return list(self.nodes)

    def __len__(self):
        return len(self.nodes)

    def __repr__(self):
        return f"FunctionGraph({len(self.inputs)} inputs, {len(self.nodes)} nodes, {len(self.outputs)} outputs)"
