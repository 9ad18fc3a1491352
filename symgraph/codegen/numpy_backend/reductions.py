"""NumPy lowering of reductions and cumulative sums (`np.sum(x, axis=(1,))`).

Ops whose NumPy form needs more than one expression (logsumexp, softmax, log_softmax, reverse cumsum)
keep their reference implementation.

Example:
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> "np.sum(x, axis=(1,))" in sg.function([x], x.sum(axis=1)).source
    True
"""
from ...ops.nnet import CumSum
from ...ops.reduce import Reduce
from . import BACKEND
from .text import dtype_text, int_tuple, number_text

_NUMPY_REDUCTIONS = {"sum", "prod", "mean", "max", "min", "var", "std", "all", "any", "argmax", "argmin"}


@BACKEND.expression(Reduce)
def _lower_reduce(node, input_names, namespace):
    op = node.op
    if op.kind not in _NUMPY_REDUCTIONS:
        return None
    (x,) = input_names
    if op.kind in ("argmax", "argmin"):
        axis = "None" if len(op.axis) == node.inputs[0].ndim else str(int(op.axis[0]))
    else:
        axis = int_tuple(op.axis)
    arguments = [x, f"axis={axis}"]
    if op.keepdims:
        arguments.append("keepdims=True")
    if op.dtype is not None:
        arguments.append(f"dtype={dtype_text(op.dtype, namespace)}")
    if op.ddof:
        arguments.append(f"ddof={number_text(op.ddof)}")
    return f"np.{op.kind}({', '.join(arguments)})"


@BACKEND.expression(CumSum)
def _lower_cumsum(node, input_names, namespace):
    if node.op.reverse:
        return None
    return f"np.cumsum({input_names[0]}, axis={int(node.op.axis)})"
