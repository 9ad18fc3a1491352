"""Unsafe rewrites (group "unsafe", off by default): algebra that is exact for finite numbers only.

`x * 0 -> 0`, `x - x -> 0` and `x / x -> 1` change results where x is NaN or infinite (NaN * 0 is NaN,
inf - inf is NaN) and, for `x / x`, where x is 0. Switch them on with `sg.Mode(include=["unsafe"])`
when inputs are known to be finite.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], x - x, mode=sg.Mode(include=["unsafe"]))
    >>> f([1.0, float("inf")])
    array([0., 0.])
"""
from ..ops.creation import Full
from ..ops.shape_of import Shape
from .build import broadcasts_into, is_filled_with
from .registry import register_rewrite

_shape = Shape()


def _filled_like(build, x, value, dtype):
    """A tensor of x's shape filled with `value` in `dtype`."""
    fill = build.constant(value, dtype)
    static = x.type.shape
    if None in static:
        return build.apply(Full(static, dtype.name), fill, build.apply(_shape, x))
    return build.apply(Full(static, dtype.name), fill)


@register_rewrite("multiply_zero", "canonicalize", tracks=["multiply"], extra_groups=("unsafe",))
def multiply_zero(node, build):
    """x * 0 -> zeros (NaN * 0 and inf * 0 are NaN, so this is unsafe)."""
    x, y = node.inputs
    for kept, zero in ((x, y), (y, x)):
        if is_filled_with(zero, 0) and broadcasts_into(zero, kept):
            return _filled_like(build, kept, 0, node.outputs[0].dtype)
    return None


@register_rewrite("subtract_self", "canonicalize", tracks=["subtract"], extra_groups=("unsafe",))
def subtract_self(node, build):
    """x - x -> zeros (inf - inf is NaN, so this is unsafe)."""
    x, y = node.inputs
    return _filled_like(build, x, 0, node.outputs[0].dtype) if x is y else None


@register_rewrite("divide_self", "canonicalize", tracks=["true_divide"], extra_groups=("unsafe",))
def divide_self(node, build):
    """x / x -> ones (0 / 0 and inf / inf are NaN, so this is unsafe)."""
    x, y = node.inputs
    return _filled_like(build, x, 1, node.outputs[0].dtype) if x is y else None
