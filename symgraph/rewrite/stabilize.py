"""Stabilize phase, element-wise part: formulas rewritten into forms that do not overflow, underflow or
cancel (the softmax family is in `stabilize_softmax.py`).

Example:
    >>> import symgraph as sg
    >>> x = sg.scalar("x")
    >>> float(sg.function([x], sg.log(1 + x))(1e-20))
    1e-20
"""
from .build import broadcasts_into, is_filled_with, producer
from .registry import register_rewrite


def _plus_constant(var, value):
    """(other operand, constant) when `var` is `other + c` or `c + other` with c filled with `value`
    (or `other - c` with c filled with -value) and c changes no size; else None."""
    node = producer(var, "add")
    if node is not None:
        x, y = node.inputs
        for other, c in ((x, y), (y, x)):
            if is_filled_with(c, value) and broadcasts_into(c, other):
                return other, c
    node = producer(var, "subtract")
    if node is not None:
        other, c = node.inputs
        if is_filled_with(c, -value) and broadcasts_into(c, other):
            return other, c
    return None


def _one_minus(var):
    """`s` when `var` is `1 - s` (the 1 changing no size), else None."""
    node = producer(var, "subtract")
    if node is not None:
        one, s = node.inputs
        if is_filled_with(one, 1) and broadcasts_into(one, s):
            return s
    return None


@register_rewrite("expm1", "stabilize", tracks=["add", "subtract"])
def expm1(node, build):
    """exp(x) - 1 -> expm1(x): exact near x = 0."""
    found = _plus_constant(node.outputs[0], -1)
    if found is None:
        return None
    exponential = producer(found[0], "exp")
    dtype = node.outputs[0].dtype
    if exponential is None or dtype.kind not in "fc":
        return None
    return build.elemwise("expm1", build.cast(exponential.inputs[0], dtype))


@register_rewrite("log_sigmoid", "stabilize", tracks=["log"])
def log_sigmoid(node, build):
    """log(sigmoid(x)) -> -softplus(-x): finite where sigmoid underflows to 0."""
    s = producer(node.inputs[0], "sigmoid")
    if s is None:
        return None
    x = build.cast(s.inputs[0], node.inputs[0].dtype)
    return build.negative(build.elemwise("softplus", build.negative(x)))


@register_rewrite("log_one_minus_sigmoid", "stabilize", tracks=["log"])
def log_one_minus_sigmoid(node, build):
    """log(1 - sigmoid(x)) -> -softplus(x): finite where sigmoid rounds to 1."""
    subtracted = _one_minus(node.inputs[0])
    s = None if subtracted is None else producer(subtracted, "sigmoid")
    if s is None:
        return None
    return build.negative(build.elemwise("softplus", build.cast(s.inputs[0], node.inputs[0].dtype)))


@register_rewrite("log1p", "stabilize", tracks=["log"])
def log1p(node, build):
    """log(1 + x) -> log1p(x) and log(1 - x) -> log1p(-x): exact near x = 0."""
    (arg,) = node.inputs
    found = _plus_constant(arg, 1)
    if found is not None:
        return build.elemwise("log1p", build.cast(found[0], arg.dtype))
    subtracted = _one_minus(arg)
    if subtracted is not None and subtracted.dtype.kind != "u":
        return build.elemwise("log1p", build.negative(build.cast(subtracted, arg.dtype)))
    return None
