"""Dask lowering of reductions (Dask's tree reductions), logsumexp, softmax and log_softmax, and
cumulative sums and products.

logsumexp is a tree reduction too: the maximum, then the sum of exp(x - max), each reduced chunk by chunk.
A softmax needs whole rows: the normalized axes are made one chunk each (`rechunk`), and every block is
normalized by the NumPy reference, one task per chunk.

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> f = sg.function([x], sg.logsumexp(x, axis=1), backend=sg.backend("dask", chunks=2))
    >>> f(np.zeros((3, 4))).round(4).tolist()
    [1.3863, 1.3863, 1.3863]
"""
import dask.array as da
import numpy as np

from ...ops.nnet import CumProd, CumSum, LogSoftmax, Softmax
from ...ops.reduce import Reduce
from . import BACKEND

_WITH_DTYPE = ("sum", "prod", "mean")
_MOMENTS = ("var", "std")


def logsumexp(x, axis, keepdims):
    """log(sum(exp(x))) over `axis` of a non-empty `x` as Dask tree reductions, shifted by the maximum as
    NumPy's reference."""
    x = x.astype(np.result_type(x.dtype, np.float16))
    shift = da.max(x, axis=axis, keepdims=True)
    shift = da.where(da.isfinite(shift), shift, 0).astype(x.dtype)
    result = da.log(da.sum(da.exp(x - shift), axis=axis, keepdims=True)) + shift
    return result if keepdims else da.squeeze(result, axis=axis)


def reduced(op, x):
    """`op` (a Reduce, Softmax or LogSoftmax) applied to `x`: with Dask for a dask array, else NumPy's
    reference (sizes and shapes)."""
    if not isinstance(x, da.Array):
        return op.perform(x)
    if 0 in x.shape:
        # nothing to compute, and Dask's empty max and min get NumPy's shapes and errors wrong: NumPy's
        # reference on an empty array of x's shape
        return da.asarray(op.perform(np.empty(x.shape, x.dtype)))
    if isinstance(op, (Softmax, LogSoftmax)):
        # exp's dtype: floats keep theirs
        return along_whole_axes(_Normalize(op), x, op.axis, np.result_type(x.dtype, np.float16))
    kind, axis, keepdims = op.kind, op.axis, op.keepdims
    if kind == "logsumexp":
        return logsumexp(x, axis, keepdims)
    if kind in ("argmax", "argmin"):
        if len(axis) == x.ndim and x.ndim > 1:
            # over the flattened array: Dask's over several axes picks the first extremum in chunk order,
            # not NumPy's first in C order, when the extremum repeats
            flat = getattr(da, kind)(x.reshape(-1), axis=0)
            return flat.reshape((1,) * x.ndim) if keepdims else flat
        single = None if len(axis) == x.ndim else axis[0]
        return getattr(da, kind)(x, axis=single, keepdims=keepdims)
    if kind in _WITH_DTYPE:
        return getattr(da, kind)(x, axis=axis, keepdims=keepdims, dtype=op.dtype)
    if kind in _MOMENTS:
        return getattr(da, kind)(x, axis=axis, keepdims=keepdims, ddof=op.ddof)
    return getattr(da, kind)(x, axis=axis, keepdims=keepdims)  # max, min, all, any


def along_whole_axes(function, x, axes, dtype):
    """`function` (picklable) applied to the blocks of `x` once each of `axes` is one chunk (`rechunk`),
    one task per block: for operations that need whole rows, such as a softmax or a sort.

    Example:
        >>> import dask.array as da
        >>> along_whole_axes(np.cumsum, da.ones(4, chunks=2), (0,), np.float64).compute().tolist()
        [1.0, 2.0, 3.0, 4.0]
    """
    whole = x.rechunk({axis: -1 for axis in axes})
    return whole.map_blocks(function, dtype=dtype, meta=np.empty((0,) * x.ndim, dtype=dtype))


class _Normalize:
    """The per-block function of a softmax or log_softmax: its NumPy reference (picklable)."""

    __slots__ = ("op",)

    def __init__(self, op):
        self.op = op

    def __call__(self, block):
        return self.op.perform(block)

    def __reduce__(self):
        return _Normalize, (self.op,)


class Reduction:
    """What generated code calls for a reduction, softmax, cumulative sum or product node."""

    __slots__ = ("op",)

    def __init__(self, op):
        self.op = op

    def __call__(self, x):
        if isinstance(self.op, CumSum):
            return _cumsum(self.op, x)
        if isinstance(self.op, CumProd):
            return da.cumprod(x, axis=self.op.axis) if isinstance(x, da.Array) else self.op.perform(x)
        return reduced(self.op, x)


def _cumsum(op, x):
    if not isinstance(x, da.Array):
        return op.perform(x)
    if not op.reverse:
        return da.cumsum(x, axis=op.axis)
    return da.flip(da.cumsum(da.flip(x, op.axis), axis=op.axis), op.axis)


@BACKEND.expression(Reduce, Softmax, LogSoftmax, CumSum, CumProd)
def _lower_reduction(node, input_names, namespace):
    return f"{namespace.bind(Reduction(node.op), node.op.name)}({input_names[0]})"
