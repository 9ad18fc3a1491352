"""Lowering of each op type to NumPy source: the NumPy backend's tables, in one place.

An expression lowering takes (node, input_names, namespace) and returns the source of an expression
computing the node's outputs. A statement lowering takes (node, input_names, output_names, namespace) and
returns lines assigning the outputs (for kernels that need several statements). Ops with neither call
their reference implementation (`op.perform`), bound by name.

Example:
    >>> import symgraph as sg
    >>> f = sg.function([x := sg.vector("x")], sg.exp(x))
    >>> "np_exp(" in f.source
    True
"""
import numpy as np

from ..ops.elemwise import Elemwise

LOWERINGS = {}
STATEMENT_LOWERINGS = {}
IN_PLACE_LOWERINGS = {}


def register_lowering(op_type):
    """Decorator registering the NumPy lowering of `op_type`."""

    def decorate(function):
        LOWERINGS[op_type] = function
        return function

    return decorate


def register_statement_lowering(op_type):
    """Decorator registering a lowering of `op_type` into several statements."""

    def decorate(function):
        STATEMENT_LOWERINGS[op_type] = function
        return function

    return decorate


def register_in_place_lowering(op_type):
    """Decorator registering a statement lowering of `op_type` that may write its result into the arrays
    of the operands at given positions (`lowering(node, input_names, output_names, namespace, positions)`;
    see memory.py for when an operand's array may be overwritten)."""

    def decorate(function):
        IN_PLACE_LOWERINGS[op_type] = function
        return function

    return decorate


def lower_statements(node, input_names, output_names, namespace, reusable=()) -> list:
    """Source lines assigning `output_names` (unindented; nested blocks indented by four spaces).

    A line may be a (text, description) pair, where `description`'s str() says what the line computes
    when that is finer than the node (errors then name it). `reusable`: positions of operands whose
    arrays the node may write its result into.
    """
    if reusable:
        return IN_PLACE_LOWERINGS[type(node.op)](node, input_names, output_names, namespace, reusable)
    lowering = STATEMENT_LOWERINGS.get(type(node.op))
    if lowering is not None:
        return lowering(node, input_names, output_names, namespace)
    target = ", ".join(output_names) + ("," if len(output_names) == 1 and node.op.nout > 1 else "")
    return [f"{target} = {lower_expression(node, input_names, namespace)}"]


def lower_expression(node, input_names, namespace) -> str:
    """Source of an expression computing `node`'s output(s) from variables named `input_names`."""
    lowering = LOWERINGS.get(type(node.op))
    if lowering is not None:
        expression = lowering(node, input_names, namespace)
        if expression is not None:
            return expression
    function = namespace.bind(node.op.perform, node.op.name)
    return f"{function}({', '.join(input_names)})"


def elementwise_callee(row, namespace):
    """The name generated code calls an element-wise row's function by: `np_<name>` for a NumPy top-level
    function (one global lookup: `np.<name>` costs a second one on every call, a tenth of a small call),
    else the row's name with a counter."""
    function = row.impl
    name = getattr(function, "__name__", None)
    if name is not None and getattr(np, name, None) is function:
        return namespace.bind(function, f"np_{name}", exact=True)
    return namespace.bind(function, row.name)


@register_lowering(Elemwise)
def _lower_elemwise(node, input_names, namespace):
    return f"{elementwise_callee(node.op.scalar, namespace)}({', '.join(input_names)})"


from . import lower_ops_b  # noqa: E402,F401  (registers the shape and indexing lowerings)
from . import lower_ops_a  # noqa: E402,F401  (registers the reduction, product and creation lowerings)
from . import fused_lowering  # noqa: E402,F401  (registers the lowering of fused element-wise kernels)
from . import loop_lowering  # noqa: E402,F401  (registers the lowering of loops and lazy branches)
