"""Dask lowering of sort, argsort and argpartition: the sorted axis is made one chunk (`rechunk`), and
each block is sorted by NumPy, one task per block, so the other axes stay chunked.

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> f = sg.function([x], sg.sort(x, axis=0), backend=sg.backend("dask", chunks=1))
    >>> f(np.array([[3.0, 1.0], [2.0, 4.0]])).tolist()
    [[2.0, 1.0], [3.0, 4.0]]
"""
import dask.array as da

from ...ops.sorting import ArgPartition, ArgSort, Sort
from ..linker import node_description
from . import BACKEND
from .errors import Located
from .reductions import along_whole_axes


class Sorting:
    """What generated code calls for a sort, argsort or argpartition node: NumPy's along the whole axis
    (see the module docstring); NumPy's reference for NumPy values."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def __call__(self, x):
        op = self.node.op
        if not isinstance(x, da.Array):
            return op.perform(x)
        where = f"while computing node {node_description(self.node)}"
        return along_whole_axes(Located(op.perform, where), x, (op.axis,), self.node.outputs[0].dtype)


@BACKEND.expression(Sort, ArgSort, ArgPartition)
def _lower_sorting(node, input_names, namespace):
    return f"{namespace.bind(Sorting(node), node.op.name)}({input_names[0]})"
