"""Dask lowering of reductions (Dask's tree reductions), logsumexp, softmax and log_softmax, and
cumulative sums.

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

from ...ops.nnet import CumSum, LogSoftmax, Softmax
from ...ops.reduce import Reduce
from . import BACKEND

_WITH_DTYPE = ("sum", "prod", "mean")
_MOMENTS = ("var", "std")


def logsumexp(x, axis, keepdims):
    """log(sum(exp(x))) over `axis` as Dask tree reductions, shifted by the maximum as NumPy's reference."""
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
    if isinstance(op, (Softmax, LogSoftmax)):
        whole = x.rechunk({axis: -1 for axis in op.axis})
        dtype = np.result_type(x.dtype, np.float16)  # exp's dtype: floats keep theirs
        return whole.map_blocks(_Normalize(op), dtype=dtype, meta=np.empty((0,) * x.ndim, dtype=dtype))
    kind, axis, keepdims = op.kind, op.axis, op.keepdims
    if kind == "logsumexp":
        return logsumexp(x, axis, keepdims)
    if kind in ("argmax", "argmin"):
        single = None if len(axis) == x.ndim else axis[0]
        return getattr(da, kind)(x, axis=single, keepdims=keepdims)
    if kind in _WITH_DTYPE:
        return getattr(da, kind)(x, axis=axis, keepdims=keepdims, dtype=op.dtype)
    if kind in _MOMENTS:
        return getattr(da, kind)(x, axis=axis, keepdims=keepdims, ddof=op.ddof)
    return getattr(da, kind)(x, axis=axis, keepdims=keepdims)  # max, min, all, any


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
    """What generated code calls for a reduction, softmax or cumulative sum node."""

    __slots__ = ("op",)

    def __init__(self, op):
        self.op = op

    def __call__(self, x):
        if isinstance(self.op, CumSum):
            return _cumsum(self.op, x)
        return reduced(self.op, x)


def _cumsum(op, x):
    if not isinstance(x, da.Array):
        return op.perform(x)
    if not op.reverse:
        return da.cumsum(x, axis=op.axis)
    return da.flip(da.cumsum(da.flip(x, op.axis), axis=op.axis), op.axis)


@BACKEND.expression(Reduce, Softmax, LogSoftmax, CumSum)
def _lower_reduction(node, input_names, namespace):
    return f"{namespace.bind(Reduction(node.op), node.op.name)}({input_names[0]})"
