"""Stabilize phase, element-wise part: formulas rewritten into forms that do not overflow, underflow or
cancel (the softmax family is in `stabilize_softmax.py`).

Example:
    >>> import symgraph as sg
    >>> x = sg.scalar("x")
    >>> float(sg.function([x], sg.log(1 + x))(1e-20))
    1e-20
"""
from .build import broadcasts_into, factor_orders, is_filled_with, numerator, producer, quotients
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


@register_rewrite("log1p_of_negative_sigmoid", "stabilize", tracks=["log1p"])
def log1p_of_negative_sigmoid(node, build):
    """log1p(-sigmoid(x)) -> -softplus(x): finite where sigmoid rounds to 1 (binary_crossentropy's form)."""
    negated = producer(node.inputs[0], "negative")
    s = None if negated is None else producer(negated.inputs[0], "sigmoid")
    if s is None:
        return None
    return build.negative(build.elemwise("softplus", build.cast(s.inputs[0], node.inputs[0].dtype)))


@register_rewrite("log1p", "stabilize", tracks=["log"])
def log1p(node, build):
    """log(1 + x) -> log1p(x) and log(1 - x) -> log1p(-x): exact near x = 0. Not for integer x, where 1 + x
    is exact but may wrap around (log1p(x) would be finite where log(1 + x) is -inf or NaN)."""
    (arg,) = node.inputs
    if arg.dtype.kind not in "fc":
        return None
    found = _plus_constant(arg, 1)
    if found is not None:
        return build.elemwise("log1p", build.cast(found[0], arg.dtype))
    subtracted = _one_minus(arg)
    if subtracted is not None:
        return build.elemwise("log1p", build.negative(build.cast(subtracted, arg.dtype)))
    return None


@register_rewrite("softplus", "stabilize", tracks=["log1p"])
def softplus(node, build):
    """log1p(exp(x)) -> softplus(x): no overflow for large x (the log1p rewrite turns log(1 + exp(x)) into
    log1p(exp(x)))."""
    exponential = producer(node.inputs[0], "exp")
    if exponential is None:
        return None
    return build.elemwise("softplus", build.cast(exponential.inputs[0], node.outputs[0].dtype))


def _sigmoid_derivative(var):
    """(s, 1 - s) when `var` is s * (1 - s) with s = sigmoid(x) (the factor of the sigmoid pullback), else None."""
    node = producer(var, "multiply")
    if node is None:
        return None
    for s, complement in factor_orders(node):
        if producer(s, "sigmoid") is not None and _one_minus(complement) is s:
            return s, complement
    return None


def _divides_by_sigmoid_factor(var, s, complement, build):
    """Is `var` (or its negation) a quotient by s or by 1 - s?"""
    negated = producer(var, "negative")
    var = var if negated is None else negated.inputs[0]
    return any(d is s or d is complement for _, d in quotients(var, build))


@register_rewrite("distribute_sigmoid_gradient", "stabilize", tracks=["multiply"])
def distribute_sigmoid_gradient(node, build):
    """(a + b) * (s * (1 - s)) -> a * (s * (1 - s)) + b * (s * (1 - s)) (and a - b) with s = sigmoid(x),
    when a or b divides by s or 1 - s: where sigmoid(x) feeds several terms (log(s) and log(1 - s) of a
    cross-entropy) their gradients meet before sigmoid's pullback, and each product then stabilizes on its
    own (`log_sigmoid_gradient`, `log_one_minus_sigmoid_gradient`)."""
    for total, derivative in factor_orders(node):
        found = _sigmoid_derivative(derivative)
        if found is None:
            continue
        for row in ("add", "subtract"):
            sum_node = producer(total, row)
            if sum_node is None or not any(_divides_by_sigmoid_factor(term, *found, build) for term in sum_node.inputs):
                continue
            a, b = (build.elemwise("multiply", term, derivative) for term in sum_node.inputs)
            return build.cast(build.elemwise(row, a, b), node.outputs[0].dtype)
    return None


@register_rewrite("log_sigmoid_gradient", "stabilize", tracks=["multiply"])
def log_sigmoid_gradient(node, build):
    """(g / s) * (s * (1 - s)) with s = sigmoid(x) -> g * sigmoid(-x): the pullback of log(sigmoid(x))
    without dividing by s, which underflows to 0 for very negative x (0 * inf); sigmoid(-x) rather than
    1 - s keeps the small values for large x."""
    for quotient, derivative in factor_orders(node):
        found = _sigmoid_derivative(derivative)
        g = None if found is None else numerator(quotient, found[0], build)
        if g is None:
            continue
        s = found[0]
        x = build.cast(s.owner.inputs[0], s.dtype)
        result = build.elemwise("multiply", g, build.elemwise("sigmoid", build.negative(x)))
        return build.cast(result, node.outputs[0].dtype)
    return None


@register_rewrite("log_one_minus_sigmoid_gradient", "stabilize", tracks=["multiply"])
def log_one_minus_sigmoid_gradient(node, build):
    """(g / (1 - s)) * (s * (1 - s)) with s = sigmoid(x) -> g * s, and -(g / (1 - s)) * (s * (1 - s))
    -> -(g * s): the pullback of log(1 - sigmoid(x)) without dividing by 1 - s, which rounds to 0 for large
    x (0 * inf)."""
    for quotient, derivative in factor_orders(node):
        found = _sigmoid_derivative(derivative)
        if found is None:
            continue
        s, complement = found
        negated = producer(quotient, "negative")
        g = numerator(quotient if negated is None else negated.inputs[0], complement, build)
        if g is None:
            continue
        result = build.elemwise("multiply", g, s)
        if negated is not None:
            result = build.negative(result)
        return build.cast(result, node.outputs[0].dtype)
    return None


@register_rewrite("softplus_gradient", "stabilize", tracks=["multiply"])
def softplus_gradient(node, build):
    """(g / (1 + exp(x))) * exp(x) -> g * sigmoid(x): the pullback of log(1 + exp(x)) (and of
    log1p(exp(x))) without inf / inf where exp(x) overflows."""
    for quotient, exponential in factor_orders(node):
        exp_node = producer(exponential, "exp")
        if exp_node is None:
            continue
        for g, divisor in quotients(quotient, build):
            found = _plus_constant(divisor, 1)
            if found is not None and found[0] is exponential:
                x = build.cast(exp_node.inputs[0], exponential.dtype)
                result = build.elemwise("multiply", g, build.elemwise("sigmoid", x))
                return build.cast(result, node.outputs[0].dtype)
    return None
