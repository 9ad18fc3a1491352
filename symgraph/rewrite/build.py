"""What rewrites are written with: a node builder that keeps creation sites, and small pattern matchers.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> build = Builder(site=None)
    >>> build.negative(build.negative(x)) is x
    True
    >>> fill_value(sg.constant([2.0, 2.0]))
    2.0
"""
import numpy as np

from ..graph.basic import Constant, apply_op, constant
from ..graph.type import broadcasts_into as shapes_broadcast_into
from ..ops.elemwise import Elemwise, cast_row, elemwise_op, scalar_op

MAX_FOLDED_SIZE = 1 << 16
"""Largest number of elements a rewrite computes into a new constant (bigger ones stay symbolic)."""


class Builder:
    """Builds the nodes of a replacement; each new node records the replaced node's creation site.

    `facts` (a ShapeFacts, or None) tells rewrites which sizes are equal at run time.
    """

    __slots__ = ("site", "facts")

    def __init__(self, site, facts=None):
        self.site = site
        self.facts = facts

    def apply(self, op, *inputs):
        """The output (or list of outputs) of `op` applied to `inputs` (Variables)."""
        node = apply_op(op, tuple(inputs), self.site)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    def elemwise(self, name, *inputs):
        """The element-wise row `name` applied to `inputs` (Variables)."""
        return self.apply(elemwise_op(scalar_op(name)), *inputs)

    def cast(self, x, dtype):
        """`x` converted to `dtype` (x itself when it already has it)."""
        if x.dtype == np.dtype(dtype):
            return x
        return self.apply(elemwise_op(cast_row(dtype)), x)

    def constant(self, value, dtype):
        """A constant holding `value` in `dtype`."""
        return constant(np.asarray(value, dtype=dtype))

    def negative(self, x):
        """`-x`, without building a double negation."""
        inner = producer(x, "negative")
        return inner.inputs[0] if inner is not None else self.elemwise("negative", x)


def producer(var, row_name):
    """The node computing `var` when it is the element-wise row `row_name`, else None."""
    owner = var.owner
    if owner is not None and type(owner.op) is Elemwise and owner.op.scalar.name == row_name:
        return owner
    return None


def producer_of_type(var, op_type):
    """The node computing `var` when its op is an `op_type`, else None."""
    owner = var.owner
    if owner is not None and isinstance(owner.op, op_type):
        return owner
    return None


def fill_value(var):
    """The value of every element of a non-empty constant whose elements are all equal, else None."""
    if not isinstance(var, Constant):
        return None
    data = var.data
    if data.size == 0 or data.size > MAX_FOLDED_SIZE:
        return None
    first = data.flat[0]
    if data.size > 1 and not np.all(data == first):
        return None
    return first.item()


def is_filled_with(var, value):
    """Is `var` a constant whose elements all equal `value` (NaN never does)?"""
    found = fill_value(var)
    return found is not None and found == value


def broadcasts_into(small, big):
    """Is broadcasting `big` with `small` certain to give `big`'s shape (so `small` changes no size)?"""
    return shapes_broadcast_into(small.type.shape, big.type.shape)


def factor_orders(node):
    """Both orders of the two operands of a binary node (for matching a commutative op)."""
    return node.inputs, node.inputs[::-1]


def quotients(var, build):
    """The (v, d) pairs with `var` built as v / d: v * reciprocal(d) (either order), true_divide(v, d), or
    reciprocal(d) with v a ones constant of var's rank and dtype (what the pullbacks build when the incoming
    gradient is 1 and `multiply_one` removed it)."""
    pairs = []
    node = producer(var, "multiply")
    if node is not None:
        for value, factor in (node.inputs, node.inputs[::-1]):
            reciprocal = producer(factor, "reciprocal")
            if reciprocal is not None:
                pairs.append((value, reciprocal.inputs[0]))
    node = producer(var, "true_divide")
    if node is not None:
        pairs.append(tuple(node.inputs))
    node = producer(var, "reciprocal")
    if node is not None:
        pairs.append((build.constant(np.ones((1,) * var.ndim), var.dtype), node.inputs[0]))
    return pairs


def numerator(var, divisor, build):
    """v when `var` was built as v / `divisor` (see `quotients`), else None."""
    return next((value for value, d in quotients(var, build) if d is divisor), None)
