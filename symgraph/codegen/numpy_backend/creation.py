"""NumPy lowering of array creation: full, arange, eye.

Example:
    >>> import symgraph as sg
    >>> n = sg.scalar("n", dtype="int64")
    >>> "np.arange(" in sg.function([n], sg.arange(n)).source
    True
"""
from ...ops.creation import Arange, Eye, Full
from . import BACKEND
from .text import dtype_text, int_tuple


@BACKEND.expression(Full)
def _lower_full(node, input_names, namespace):
    value = input_names[0]
    shape = f"tuple({input_names[1]})" if len(input_names) > 1 else int_tuple(node.op.shape)
    return f"np.full({shape}, {value}, dtype={dtype_text(node.op.dtype, namespace)})"


@BACKEND.expression(Arange)
def _lower_arange(node, input_names, namespace):
    return f"np.arange({', '.join(input_names)}, dtype={dtype_text(node.op.dtype, namespace)})"


@BACKEND.expression(Eye)
def _lower_eye(node, input_names, namespace):
    rows, columns, diagonal = input_names
    return f"np.eye(int({rows}), int({columns}), int({diagonal}), dtype={dtype_text(node.op.dtype, namespace)})"
