"""NumPy lowering of single element-wise ops: one ufunc call (`np_exp(x)`).

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> "np_sin(x)" in sg.function([x], sg.sin(x), mode="fast_compile").source
    True
"""
import numpy as np

from ...ops.elemwise import Elemwise
from . import BACKEND


def elementwise_callee(row, namespace):
    """The name generated code calls an element-wise row's function by: `np_<name>` for a NumPy top-level
    function (one global lookup: `np.<name>` costs a second one on every call, a tenth of a small call),
    else the row's name with a counter."""
    function = row.impl
    name = getattr(function, "__name__", None)
    if name is not None and getattr(np, name, None) is function:
        return namespace.bind(function, f"np_{name}", exact=True)
    return namespace.bind(function, row.name)


@BACKEND.expression(Elemwise)
def _lower_elemwise(node, input_names, namespace):
    return f"{elementwise_callee(node.op.scalar, namespace)}({', '.join(input_names)})"
