"""Readable NumPy lowerings of reductions, products, creation ops and cumsum (`np.sum(x, axis=(1,))`).

Generated text holds only the linker's variable names and values formatted here from op parameters
(ints, bools, floats, dtype names, validated einsum subscripts). Ops whose NumPy form needs more than
one expression (logsumexp, softmax, log_softmax, reverse cumsum) keep their reference implementation.

Example:
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> "np.sum(x, axis=(1,))" in sg.function([x], x.sum(axis=1)).source
    True
"""
import re

import numpy as np

from ..ops.creation import Arange, Eye, Full
from ..ops.linalg import Einsum, MatMul, TensorDot
from ..ops.nnet import CumSum
from ..ops.reduce import Reduce
from .numpy_backend import register_lowering

_NUMPY_REDUCTIONS = {"sum", "prod", "mean", "max", "min", "var", "std", "all", "any", "argmax", "argmin"}
_EINSUM_SUBSCRIPTS = re.compile(r"[A-Za-z]*(,[A-Za-z]*)*->[A-Za-z]*")


def _int_tuple(values):
    items = [str(int(v)) for v in values]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _dtype_text(name, namespace):
    """`np.<name>` when NumPy has that scalar type, else a bound name for the dtype."""
    dtype = np.dtype(name)
    if getattr(np, dtype.name, None) is dtype.type:
        return f"np.{dtype.name}"
    return namespace.bind(dtype, dtype.name)


def _number_text(value):
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


@register_lowering(Reduce)
def _lower_reduce(node, input_names, namespace):
    op = node.op
    if op.kind not in _NUMPY_REDUCTIONS:
        return None
    (x,) = input_names
    if op.kind in ("argmax", "argmin"):
        axis = "None" if len(op.axis) == node.inputs[0].ndim else str(int(op.axis[0]))
    else:
        axis = _int_tuple(op.axis)
    arguments = [x, f"axis={axis}"]
    if op.keepdims:
        arguments.append("keepdims=True")
    if op.dtype is not None:
        arguments.append(f"dtype={_dtype_text(op.dtype, namespace)}")
    if op.ddof:
        arguments.append(f"ddof={_number_text(op.ddof)}")
    return f"np.{op.kind}({', '.join(arguments)})"


@register_lowering(MatMul)
def _lower_matmul(node, input_names, namespace):
    a, b = input_names
    return f"np.matmul({a}, {b})"


@register_lowering(TensorDot)
def _lower_tensordot(node, input_names, namespace):
    a, b = input_names
    return f"np.tensordot({a}, {b}, axes=({_int_tuple(node.op.axes_a)}, {_int_tuple(node.op.axes_b)}))"


@register_lowering(Einsum)
def _lower_einsum(node, input_names, namespace):
    subscripts = node.op.subscripts
    if not _EINSUM_SUBSCRIPTS.fullmatch(subscripts):
        return None
    optimize = ", optimize=True" if len(input_names) > 2 else ""
    return f"np.einsum('{subscripts}', {', '.join(input_names)}{optimize})"


@register_lowering(Full)
def _lower_full(node, input_names, namespace):
    value = input_names[0]
    shape = f"tuple({input_names[1]})" if len(input_names) > 1 else _int_tuple(node.op.shape)
    return f"np.full({shape}, {value}, dtype={_dtype_text(node.op.dtype, namespace)})"


@register_lowering(Arange)
def _lower_arange(node, input_names, namespace):
    return f"np.arange({', '.join(input_names)}, dtype={_dtype_text(node.op.dtype, namespace)})"


@register_lowering(Eye)
def _lower_eye(node, input_names, namespace):
    rows, columns, diagonal = input_names
    return f"np.eye(int({rows}), int({columns}), int({diagonal}), dtype={_dtype_text(node.op.dtype, namespace)})"


@register_lowering(CumSum)
def _lower_cumsum(node, input_names, namespace):
    if node.op.reverse:
        return None
    return f"np.cumsum({input_names[0]}, axis={int(node.op.axis)})"
