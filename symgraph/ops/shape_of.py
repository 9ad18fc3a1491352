"""`x.shape`: the symbolic shape of a tensor as an int64 vector.

Example:
    >>> import symgraph as sg
    >>> sg.matrix("x").shape.type
    TensorType(int64, (2,))
"""
import numpy as np

from ..graph.op import Op
from ..graph.type import TensorType


class Shape(Op):
    """The run-time shape of its input, as an int64 vector of length ndim."""

    @property
    def name(self):
        return "shape"

    def output_types(self, x):
        return [TensorType("int64", (x.ndim,))]

    def perform(self, x):
        return np.array(np.shape(x), dtype=np.int64)

    def pullback(self, inputs, outputs, output_grads):
        return [None]

    def pushforward(self, inputs, outputs, tangents):
        return [None]


_shape = Shape()


def shape_of(x):
    """The symbolic shape of `x` (int64 vector); `shape_of(x)[i]` is a symbolic int64 scalar.

    Example:
        >>> import symgraph as sg
        >>> sg.vector("v").shape.ndim
        1
    """
    return _shape(x)


def symbolic_sizes(var):
    """`var`'s shape as a tuple of ints (static sizes) and symbolic int64 scalars.

    Example:
        >>> import symgraph as sg
        >>> symbolic_sizes(sg.tensor("x", shape=(2, None)))[0]
        2
    """
    return tuple(size if size is not None else shape_of(var)[axis] for axis, size in enumerate(var.type.shape))
