"""Lowering of each op type to a NumPy expression: the NumPy backend's table, in one place.

A lowering takes (node, input_names, namespace) and returns the source of an expression computing the
node's outputs. Ops without an entry call their reference implementation (`op.perform`), bound by name.

Example:
    >>> import symgraph as sg
    >>> f = sg.function([x := sg.vector("x")], sg.exp(x))
    >>> "np.exp(" in f.source
    True
"""
import numpy as np

from ..ops.elemwise import Elemwise

LOWERINGS = {}


def register_lowering(op_type):
    """Decorator registering the NumPy lowering of `op_type`."""

    def decorate(function):
        LOWERINGS[op_type] = function
        return function

    return decorate


def lower_expression(node, input_names, namespace) -> str:
    """Source of an expression computing `node`'s output(s) from variables named `input_names`."""
    lowering = LOWERINGS.get(type(node.op))
    if lowering is not None:
        expression = lowering(node, input_names, namespace)
        if expression is not None:
            return expression
    function = namespace.bind(node.op.perform, node.op.name)
    return f"{function}({', '.join(input_names)})"


def _numpy_name(function):
    """'np.<name>' when `function` is the NumPy top-level function of that name, else None."""
    name = getattr(function, "__name__", None)
    if name is not None and getattr(np, name, None) is function:
        return f"np.{name}"
    return None


@register_lowering(Elemwise)
def _lower_elemwise(node, input_names, namespace):
    callee = _numpy_name(node.op.scalar.impl) or namespace.bind(node.op.scalar.impl, node.op.name)
    return f"{callee}({', '.join(input_names)})"


from . import lower_ops_b  # noqa: E402,F401  (registers the shape and indexing lowerings)
from . import lower_ops_a  # noqa: E402,F401  (registers the reduction, product and creation lowerings)
from . import fused_lowering  # noqa: E402,F401  (registers the lowering of fused element-wise kernels)
