"""Canonicalize phase, element-wise algebra: identities removed, negations and constants gathered.

Every rewrite here keeps the result's dtype (operands are cast to the node's dtype where promotion
differs) and its shape (an identity operand is dropped only when it cannot enlarge the result by
broadcasting: `x + zeros((3, 4))` with `x` of shape (4,) is not `x`). NaN, infinities and signed zeros come
out as before: a float `x + 0.0` keeps its addition, since `-0.0 + 0.0` is `+0.0` and `1 / (x + 0.0)` must stay
`+inf` there (only `x + (-0.0)`, and integer sums, drop the zero). The float forms that ignore the sign of
zero (`add_float_zero`, `subtract_from_float_zero`) are in the "unsafe" group, off by default, like the
rewrites in `unsafe.py` that change NaN/inf results (`x * 0 -> 0`).

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> sg.optimize((x + 1.0) + 2.0).owner.inputs[1].data.item()
    3.0
"""
import math

import numpy as np

from ..graph.basic import Constant
from .build import MAX_FOLDED_SIZE, broadcasts_into, is_filled_with, producer
from .registry import register_rewrite


def _drop_identity(pairs, value):
    """The `keep` of the first (keep, identity) pair whose identity is a constant filled with `value`
    that changes no size by broadcasting, else None."""
    for keep, identity in pairs:
        if is_filled_with(identity, value) and broadcasts_into(identity, keep):
            return keep
    return None


def _is_negative_zero(var):
    """Is `var` a constant holding only -0.0 (in both parts, for complex numbers)?"""
    data = var.data
    parts = (data.real, data.imag) if data.dtype.kind == "c" else (data,)
    return all(bool(np.all(np.signbit(part))) for part in parts)


def _exact_zero_pairs(pairs, has_signed_zeros):
    """The (keep, zero) pairs whose zero can be dropped without changing the sign of a zero result: any zero
    where `has_signed_zeros(keep)` is False, else only a constant -0.0."""
    return [(keep, zero) for keep, zero in pairs
            if isinstance(zero, Constant) and (not has_signed_zeros(keep) or _is_negative_zero(zero))]


def _add_zero(node, build, exact):
    x, y = node.inputs
    pairs = ((x, y), (y, x))
    if exact:
        pairs = _exact_zero_pairs(pairs, lambda keep: keep.dtype.kind in "fc")
    kept = _drop_identity(pairs, 0)
    return None if kept is None else build.cast(kept, node.outputs[0].dtype)


@register_rewrite("add_zero", "canonicalize", tracks=["add"])
def add_zero(node, build):
    """x + 0 -> x for integers, and x + (-0.0) -> x for floats (x + 0.0 is +0.0 at x = -0.0, so it stays)."""
    return _add_zero(node, build, exact=True)


@register_rewrite("add_float_zero", "canonicalize", tracks=["add"], extra_groups=("unsafe",))
def add_float_zero(node, build):
    """x + 0.0 -> x for floats too (unsafe: at x = -0.0 the result's zero changes sign, so 1 / (x + 0.0) is -inf)."""
    return _add_zero(node, build, exact=False)


@register_rewrite("multiply_one", "canonicalize", tracks=["multiply"])
def multiply_one(node, build):
    """x * 1 -> x and 1 * x -> x."""
    x, y = node.inputs
    kept = _drop_identity(((x, y), (y, x)), 1)
    return None if kept is None else build.cast(kept, node.outputs[0].dtype)


@register_rewrite("multiply_minus_one", "canonicalize", tracks=["multiply"])
def multiply_minus_one(node, build):
    """x * -1 -> -x (exact, also for NaN, infinities and signed zeros)."""
    x, y = node.inputs
    kept = _drop_identity(((x, y), (y, x)), -1)
    if kept is None or node.outputs[0].dtype.kind == "b":
        return None
    return build.negative(build.cast(kept, node.outputs[0].dtype))


@register_rewrite("divide_one", "canonicalize", tracks=["true_divide"])
def divide_one(node, build):
    """x / 1 -> x (converted to the quotient's float dtype)."""
    x, y = node.inputs
    kept = _drop_identity(((x, y),), 1)
    return None if kept is None else build.cast(kept, node.outputs[0].dtype)


@register_rewrite("power_one", "canonicalize", tracks=["power"])
def power_one(node, build):
    """x ** 1 -> x."""
    x, y = node.inputs
    kept = _drop_identity(((x, y),), 1)
    return None if kept is None else build.cast(kept, node.outputs[0].dtype)


@register_rewrite("double_negation", "canonicalize", tracks=["negative"])
def double_negation(node, build):
    """-(-x) -> x."""
    inner = producer(node.inputs[0], "negative")
    return None if inner is None else inner.inputs[0]


def _subtract_from_zero(node, build, exact):
    x, y = node.inputs
    pairs = ((y, x),)
    if exact:
        float_result = node.outputs[0].dtype.kind in "fc"
        pairs = _exact_zero_pairs(pairs, lambda keep: float_result)
    kept = _drop_identity(pairs, 0)
    return None if kept is None else build.negative(build.cast(kept, node.outputs[0].dtype))


@register_rewrite("subtract_from_zero", "canonicalize", tracks=["subtract"])
def subtract_from_zero(node, build):
    """0 - x -> -x for integer results, and (-0.0) - x -> -x for floats (0.0 - 0.0 is +0.0, not -0.0)."""
    return _subtract_from_zero(node, build, exact=True)


@register_rewrite("subtract_from_float_zero", "canonicalize", tracks=["subtract"], extra_groups=("unsafe",))
def subtract_from_float_zero(node, build):
    """0.0 - x -> -x for floats too (unsafe: at x = +0.0 the result is -0.0 instead of +0.0)."""
    return _subtract_from_zero(node, build, exact=False)


def _negation_to_undo(var, node):
    """The node computing `var` as -y, if undoing it inside `node` keeps the value: -y wraps around in y's
    integer dtype (-INT_MIN is INT_MIN), which only the same wrap-around in the result's dtype undoes."""
    negated = producer(var, "negative")
    if negated is None:
        return None
    operand = negated.inputs[0]
    return negated if operand.dtype.kind in "fc" or operand.dtype == node.outputs[0].dtype else None


@register_rewrite("subtract_negative", "canonicalize", tracks=["subtract"])
def subtract_negative(node, build):
    """x - (-y) -> x + y."""
    x, y = node.inputs
    negated = _negation_to_undo(y, node)
    return None if negated is None else build.elemwise("add", x, negated.inputs[0])


@register_rewrite("add_negative", "canonicalize", tracks=["add"])
def add_negative(node, build):
    """x + (-y) -> x - y and (-x) + y -> y - x."""
    x, y = node.inputs
    negated = _negation_to_undo(y, node)
    if negated is not None:
        return build.elemwise("subtract", x, negated.inputs[0])
    negated = _negation_to_undo(x, node)
    if negated is not None:
        return build.elemwise("subtract", y, negated.inputs[0])
    return None


def _negation_is_exact(data):
    """Does x - c equal x + (-c) for every x? True for floats, and for signed ints without their minimum."""
    kind = data.dtype.kind
    if kind in "fc":
        return True
    return kind == "i" and not np.any(data == np.iinfo(data.dtype).min)


@register_rewrite("subtract_constant", "canonicalize", tracks=["subtract"])
def subtract_constant(node, build):
    """x - c -> x + (-c), so that constants gather in sums (x - 1 + 3 -> x + 2)."""
    x, c = node.inputs
    if not isinstance(c, Constant) or c.data.size > MAX_FOLDED_SIZE or not _negation_is_exact(c.data):
        return None
    return build.elemwise("add", x, build.constant(np.negative(c.data), c.dtype))


def _constant_operand(node):
    """(other operand, constant operand) of a binary node with exactly one Constant operand, else None."""
    x, y = node.inputs
    if isinstance(y, Constant) and not isinstance(x, Constant):
        return x, y
    if isinstance(x, Constant) and not isinstance(y, Constant):
        return y, x
    return None


def _combine_constants(node, combine, is_unsafe):
    """(x op c1) op c2 -> x op (c1 op c2), computed in the result's dtype, unless `is_unsafe(c1, c2,
    combined)`."""
    outer = _constant_operand(node)
    if outer is None:
        return None
    inner_var, c2 = outer
    inner_node = inner_var.owner
    if inner_node is None or inner_node.op != node.op:
        return None
    inner = _constant_operand(inner_node)
    if inner is None:
        return None
    x, c1 = inner
    dtype = node.outputs[0].dtype
    # the inner operation must already compute in the result's dtype: an int32 x - 1 wraps around (and a
    # float32 one overflows) before a wider outer + 1 could undo it
    if inner_node.outputs[0].dtype != dtype:
        return None
    shape = np.broadcast_shapes(c1.data.shape, c2.data.shape)
    if math.prod(shape) > MAX_FOLDED_SIZE:
        return None
    a, b = c1.data.astype(dtype), c2.data.astype(dtype)
    with np.errstate(all="ignore"):
        combined = combine(a, b)
    if is_unsafe(a, b, combined):
        return None
    return x, combined


def _overflows(a, b, combined):
    """Did combining finite constants make an infinity (x + 1e308 + 1e308 is not x + inf at x = -inf)?"""
    if combined.dtype.kind not in "fc":
        return False
    return bool(np.any(~np.isfinite(combined) & np.isfinite(a) & np.isfinite(b)))


def _overflows_or_underflows(a, b, combined):
    """Also a zero product of non-zero constants (x * 1e-200 * 1e-200 is not x * 0 at x = inf)."""
    if _overflows(a, b, combined):
        return True
    return combined.dtype.kind in "fc" and bool(np.any((combined == 0) & (a != 0) & (b != 0)))


def _sum_may_overflow_back(a, b, combined):
    """Could (x + a) + b be infinite at a finite x where x + (a + b) is not? When a reaches half the spacing
    of the largest float (below it, x + a rounds to a finite value for every finite x) and b has the other
    sign: (1e308 + 1e300) - 1e300 is inf, 1e308 + 0 is not. Also when a + b overflows (`_overflows`)."""
    if _overflows(a, b, combined):
        return True
    if combined.dtype.kind != "f":
        return False
    largest = np.finfo(combined.dtype).max
    reach = (largest - np.nextafter(largest, 0)) / 2
    return bool(np.any((np.abs(a) >= reach) & (np.sign(a) * np.sign(b) < 0)))


def _product_may_overflow_back(a, b, combined):
    """Could (x * a) * b be infinite or zero at a finite nonzero x where x * (a * b) is not? When |a| > 1
    (x * a may overflow) and |b| < 1 (b may bring it back): (1e10 * 1e300) * 1e-300 is inf, 1e10 * 1.0 is
    not; and the mirror, |a| < 1 (x * a may underflow) and |b| > 1: (1e-30 * 1e-300) * 1e300 is 0. Also
    when a * b overflows or underflows (`_overflows_or_underflows`)."""
    if _overflows_or_underflows(a, b, combined):
        return True
    if combined.dtype.kind not in "fc":
        return False
    size_a, size_b = np.abs(a), np.abs(b)
    return bool(np.any(((size_a > 1) & (size_b < 1)) | ((size_a < 1) & (size_a > 0) & (size_b > 1))))


@register_rewrite("gather_add_constants", "canonicalize", tracks=["add"])
def gather_add_constants(node, build):
    """(x + c1) + c2 -> x + (c1 + c2), in any operand order, unless that changes where the result is
    infinite (`_sum_may_overflow_back`)."""
    found = _combine_constants(node, np.add, _sum_may_overflow_back)
    if found is None:
        return None
    x, combined = found
    return build.elemwise("add", x, build.constant(combined, combined.dtype))


@register_rewrite("gather_multiply_constants", "canonicalize", tracks=["multiply"])
def gather_multiply_constants(node, build):
    """(x * c1) * c2 -> x * (c1 * c2), in any operand order, unless that changes where the result is
    infinite or zero (`_product_may_overflow_back`)."""
    found = _combine_constants(node, np.multiply, _product_may_overflow_back)
    if found is None:
        return None
    x, combined = found
    return build.elemwise("multiply", x, build.constant(combined, combined.dtype))


def _safe_reciprocal(data, dtype):
    """1 / data in `dtype` when it is finite and normal for every element (so x * r overflows and underflows
    where x / c does; it may differ from x / c in the last bit), else None."""
    with np.errstate(all="ignore"):
        reciprocal = np.reciprocal(data.astype(dtype))
    finite = np.isfinite(data) & np.isfinite(reciprocal) & (data != 0)
    if not np.all(finite) or np.any(np.abs(reciprocal) < np.finfo(dtype).tiny):
        return None
    return reciprocal


@register_rewrite("divide_by_constant", "canonicalize", tracks=["true_divide"])
def divide_by_constant(node, build):
    """x / c -> x * (1 / c) for float results, when 1 / c is a finite normal number."""
    x, c = node.inputs
    dtype = node.outputs[0].dtype
    if not isinstance(c, Constant) or dtype.kind != "f" or c.data.size > MAX_FOLDED_SIZE:
        return None
    if np.result_type(x.dtype, dtype) != dtype:
        return None
    reciprocal = _safe_reciprocal(c.data, dtype)
    if reciprocal is None:
        return None
    return build.elemwise("multiply", x, build.constant(reciprocal, dtype))


@register_rewrite("where_constant_condition", "canonicalize", tracks=["where"])
def where_constant_condition(node, build):
    """where(True, a, b) -> a and where(False, a, b) -> b, when the dropped operands change no size."""
    condition, a, b = node.inputs
    for value, kept, dropped in ((True, a, b), (False, b, a)):
        if is_filled_with(condition, value) and broadcasts_into(condition, kept) and broadcasts_into(dropped, kept):
            return build.cast(kept, node.outputs[0].dtype)
    return None
