"""Dask lowering of shapes, basic index reads, creation and the gradient ops (fitting a gradient to its input's
shape, `zeros_like`-style fills, stop_gradient).

The shape ops and basic index reads keep the NumPy backend's lowerings, listed here one by one: their NumPy
calls (`np.transpose`, `np.reshape`, `np.concatenate`, `x[1:, None]`) dispatch to Dask for dask arrays
through NumPy's array-function protocol, and stay NumPy for NumPy values (shapes). A shape is always a
NumPy vector: chunk sizes are known (arguments are checked for that), so reading it computes nothing.
Arrays created from a shape are dask arrays chunked like the array whose shape it is, or by the
`chunks` option.

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> f = sg.function([x], [x.T[1:], x.shape], backend=sg.backend("dask", chunks=2))
    >>> [value.tolist() for value in f(np.arange(6.0).reshape(2, 3))]
    [[[1.0, 4.0], [2.0, 5.0]], [2, 3]]
"""
import dask.array as da
import numpy as np

from ...ops.creation import Arange, Eye, Full
from ...ops.gradient_ops import FitShape, StopGradient
from ...ops.indexing import BasicIndex
from ...ops.shape import BroadcastTo, Concatenate, DimShuffle, EnsureShape, Reshape, Stack
from ...ops.shape_of import Shape
from ...rewrite.specialized_ops import FitLike, FullLike
from ..numpy_backend import BACKEND as NUMPY
from . import BACKEND

BACKEND.adopt(NUMPY, DimShuffle, BroadcastTo, Concatenate, Stack, BasicIndex)


class Reshaping:
    """What generated code calls for a reshape node: Dask's, which only merges or splits runs of adjacent
    axes whose sizes divide each other, else a NotImplementedError naming the node (Dask's own says
    nothing)."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def __call__(self, x, shape=None):
        shape = self.node.op.shape if shape is None else shape
        shape = tuple(int(size) for size in shape)
        if not isinstance(x, da.Array):
            return np.reshape(x, shape)
        if x.size == 0:
            # nothing to move (Dask's reshape fails on empty arrays); NumPy's resolves a -1 and checks the sizes
            return da.from_array(np.empty(x.shape, x.dtype).reshape(shape))
        try:
            return x.reshape(shape)
        except NotImplementedError:
            raise NotImplementedError(f"{self.node.op}: Dask cannot reshape {x.shape} to {shape} (it only merges or "
                                      f"splits adjacent axes whose sizes divide each other); reshape in steps that do, "
                                      f"or use backend='numpy'") from None


def shape_vector(x):
    """The shape of `x` as an int64 NumPy vector (known without computing: chunk sizes are known)."""
    return np.array(np.shape(x), dtype=np.int64)


class Fill:
    """What generated code calls for `full(shape, value)` and `full_like`: a dask array chunked like the
    array whose shape it takes, or by the backend's `chunks` option."""

    __slots__ = ("dtype", "chunks")

    def __init__(self, dtype, chunks):
        self.dtype = np.dtype(dtype)
        self.chunks = chunks

    def __call__(self, value, shape, chunks=None):
        chunks = self.chunks if chunks is None else chunks
        shape = tuple(int(size) for size in shape)
        if not isinstance(value, da.Array) and np.ndim(value) == 0:
            return da.full(shape, value, dtype=self.dtype, chunks=chunks)
        return da.broadcast_to(da.asarray(value).astype(self.dtype), shape).rechunk(chunks)

    def like(self, value, like):
        chunks = like.chunks if isinstance(like, da.Array) else self.chunks
        return self(value, np.shape(like), chunks)


@BACKEND.expression(Shape)
def _lower_shape(node, input_names, namespace):
    return f"{namespace.bind(shape_vector, 'shape_vector', exact=True)}({input_names[0]})"


@BACKEND.expression(Reshape)
def _lower_reshape(node, input_names, namespace):
    return f"{namespace.bind(Reshaping(node), 'reshape')}({', '.join(input_names)})"


@BACKEND.expression(StopGradient)
def _lower_stop_gradient(node, input_names, namespace):
    return input_names[0]


@BACKEND.expression(FitLike, FitShape)
def _lower_fit(node, input_names, namespace):
    # fit_array sums and broadcasts with NumPy's functions, which a dask array dispatches lazily
    return f"{namespace.bind(node.op.perform, node.op.name)}({', '.join(input_names)})"


@BACKEND.expression(EnsureShape)
def _lower_ensure_shape(node, input_names, namespace):
    # the check reads only the shape, which a dask array knows without computing (chunk sizes are known)
    return f"{namespace.bind(node.op.perform, node.op.name)}({', '.join(input_names)})"


@BACKEND.expression(FullLike)
def _lower_full_like(node, input_names, namespace):
    fill = Fill(node.op.dtype, namespace.backend.options["chunks"])
    return f"{namespace.bind(fill.like, 'full_like')}({', '.join(input_names)})"


@BACKEND.expression(Full)
def _lower_full(node, input_names, namespace):
    fill = Fill(node.op.dtype, namespace.backend.options["chunks"])
    shape = input_names[1] if len(input_names) > 1 else repr(tuple(int(size) for size in node.op.shape))
    return f"{namespace.bind(fill, 'full')}({input_names[0]}, {shape})"


class Range:
    """What generated code calls for arange and eye: Dask's, chunked by the backend's `chunks` option."""

    __slots__ = ("op", "chunks")

    def __init__(self, op, chunks):
        self.op = op
        self.chunks = chunks

    def __call__(self, *arguments):
        dtype = self.op.dtype
        if isinstance(self.op, Arange):
            start, stop, step = arguments
            return da.arange(start, stop, step, dtype=dtype, chunks=self.chunks)
        rows, columns, diagonal = (int(value) for value in arguments)
        return da.eye(rows, chunks=self.chunks, M=columns, k=diagonal, dtype=dtype)


@BACKEND.expression(Arange, Eye)
def _lower_range(node, input_names, namespace):
    call = Range(node.op, namespace.backend.options["chunks"])
    return f"{namespace.bind(call, node.op.name)}({', '.join(input_names)})"
