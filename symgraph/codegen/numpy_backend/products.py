"""NumPy lowering of products: matmul, tensordot and einsum (BLAS through NumPy).

Example:
    >>> import symgraph as sg
    >>> a, b = sg.matrix("a"), sg.matrix("b")
    >>> "np.matmul(a, b)" in sg.function([a, b], a @ b).source
    True
"""
import re

from ...ops.linalg import Einsum, MatMul, TensorDot
from . import BACKEND
from .text import int_tuple

_EINSUM_SUBSCRIPTS = re.compile(r"[A-Za-z]*(,[A-Za-z]*)*->[A-Za-z]*")


@BACKEND.expression(MatMul)
def _lower_matmul(node, input_names, namespace):
    a, b = input_names
    return f"np.matmul({a}, {b})"


@BACKEND.expression(TensorDot)
def _lower_tensordot(node, input_names, namespace):
    a, b = input_names
    return f"np.tensordot({a}, {b}, axes=({int_tuple(node.op.axes_a)}, {int_tuple(node.op.axes_b)}))"


@BACKEND.expression(Einsum)
def _lower_einsum(node, input_names, namespace):
    subscripts = node.op.subscripts
    if not _EINSUM_SUBSCRIPTS.fullmatch(subscripts):
        return None  # only validated subscripts reach generated text
    optimize = ", optimize=True" if len(input_names) > 2 else ""
    return f"np.einsum('{subscripts}', {', '.join(input_names)}{optimize})"
