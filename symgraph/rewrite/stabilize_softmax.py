"""Stabilize phase, softmax family: log of softmax, log of a sum of exponentials, and the gradients
autodiff builds for softmax cross-entropy, rewritten into forms that stay finite for extreme logits.

Example:
    >>> import numpy as np, symgraph as sg
    >>> z = sg.vector("z")
    >>> sg.function([z], sg.log(sg.softmax(z)))(np.array([1000.0, -1000.0])).tolist()
    [0.0, -2000.0]
"""
import numpy as np

from ..graph.basic import Constant, constant
from ..ops.creation import Arange, Full
from ..ops.gradient_ops import FitShape
from ..ops.indexing import ARRAY, Index, IndexWrite, index_op
from ..ops.nnet import LogSoftmax, Softmax
from ..ops.reduce import Reduce
from ..ops.shape import NEW_AXIS, BroadcastTo, DimShuffle
from ..ops.shape_of import Shape
from .build import factor_orders, fill_value, is_filled_with, numerator, producer, producer_of_type, quotients
from .registry import register_rewrite


@register_rewrite("log_softmax", "stabilize", tracks=["log"])
def log_softmax(node, build):
    """log(softmax(x)) -> log_softmax(x) + 0 * max(x), and the same under an index,
    log(softmax(x)[idx]) (the form of `categorical_crossentropy(softmax(z), labels)`).

    Finite where softmax underflows to 0, and exact also for logits of large magnitude (log_softmax
    subtracts the maximum before adding the log of the sum, where x - logsumexp(x) would round the log
    away). The `0 * max(x)` term costs one fused multiply-add and keeps NaN where softmax gives NaN: in a
    slice holding NaN, +inf or only -inf (log_softmax alone would give -inf at the slice's finite entries).
    """
    arg = node.inputs[0]
    index = producer_of_type(arg, Index)
    normalized = producer_of_type(index.inputs[0] if index is not None else arg, Softmax)
    if normalized is None:
        return None
    x = normalized.inputs[0]
    dtype = normalized.outputs[0].dtype
    largest = build.apply(Reduce("max", normalized.op.axis, keepdims=True), build.cast(x, dtype))
    normalized_log = build.apply(LogSoftmax(normalized.op.axis), x)
    result = build.elemwise("add", normalized_log, build.elemwise("multiply", build.constant(0, dtype), largest))
    if index is not None:
        result = build.apply(index.op, result, *index.inputs[1:])
    return result


@register_rewrite("logsumexp", "stabilize", tracks=["log"])
def logsumexp(node, build):
    """log(sum(exp(x), axis)) -> logsumexp(x, axis): no overflow for large x."""
    total = producer_of_type(node.inputs[0], Reduce)
    if total is None or total.op.kind != "sum" or total.op.dtype is not None:
        return None
    exponential = producer(total.inputs[0], "exp")
    if exponential is None:
        return None
    result = build.apply(Reduce("logsumexp", total.op.axis, total.op.keepdims), exponential.inputs[0])
    return build.cast(result, node.outputs[0].dtype)


def _restores_axes(node, axes):
    """Is `node` the DimShuffle that puts the reduced `axes` back as size-1 axes, in place?"""
    kept = iter(range(node.op.input_ndim))
    order = tuple(NEW_AXIS if axis in axes else next(kept) for axis in range(node.op.input_ndim + len(axes)))
    return node.op.order == order


def _sum_of(var, summand):
    """The Reduce node of `var` when it is sum(summand) (with no accumulator dtype), else None."""
    total = producer_of_type(var, Reduce)
    if total is None or total.op.kind != "sum" or total.op.dtype is not None or total.inputs[0] is not summand:
        return None
    return total


def _fits_to_shape_of(shape_node, exponential):
    """Is `shape_node` a fit_shape to the run-time shape of exp(x) (or of x, its shape)? For a gradient of
    x's rank whose sizes are x's or 1, that is a pure broadcast."""
    target = producer_of_type(shape_node.inputs[1], Shape)
    sources = (exponential, exponential.owner.inputs[0])
    return shape_node.op.batch_ndim == 0 and target is not None and any(target.inputs[0] is v for v in sources)


def _unbroadcast(var, exponential):
    """(the shape nodes outermost first, base): `var` seen through an optional broadcast (broadcast_to, or
    fit_shape to exp(x)'s shape) and an optional DimShuffle below it (how a reduction's pullback restores the
    reduced axes)."""
    chain = []
    for op_type in (BroadcastTo, FitShape, DimShuffle):
        shape_node = producer_of_type(var, op_type)
        if shape_node is not None and (op_type is not FitShape or _fits_to_shape_of(shape_node, exponential)):
            chain.append(shape_node)
            var = shape_node.inputs[0]
    return chain, var


def _puts_back_axes(chain, total):
    """Do the shape nodes `chain` put the axes that `total` reduced back in place (so its result lines up
    with the summed tensor)?"""
    expands = [shape_node for shape_node in chain if isinstance(shape_node.op, DimShuffle)]
    if total.op.keepdims or not total.op.axis:
        return not expands
    return len(expands) == 1 and _restores_axes(expands[0], total.op.axis)


@register_rewrite("logsumexp_gradient", "stabilize", tracks=["multiply"])
def logsumexp_gradient(node, build):
    """(g / sum(exp(x), axis)) * exp(x), with g's summed axes put back (and broadcast),
    -> g * exp(x - logsumexp(x, axis, keepdims=True)), that is g * softmax(x, axis): the pullback of
    log(sum(exp(x))) without 0 * inf (or inf / inf) where exp(x) overflows."""
    for restored, exponential in factor_orders(node):
        exp_node = producer(exponential, "exp")
        if exp_node is None:
            continue
        chain, quotient = _unbroadcast(restored, exponential)
        for g, divisor in quotients(quotient, build):
            total = _sum_of(divisor, exponential)
            if total is None or g.ndim != quotient.ndim or not _puts_back_axes(chain, total):
                continue
            for shape_node in reversed(chain):
                g = build.apply(shape_node.op, g, *shape_node.inputs[1:])
            x = build.cast(exp_node.inputs[0], exponential.dtype)
            # exp(x - logsumexp(x)) rather than the softmax op: an entry at +inf gives NaN at that entry
            # and 0 at the others, as the original formula does.
            log_total = build.apply(Reduce("logsumexp", total.op.axis, keepdims=True), x)
            normalized = build.elemwise("exp", build.elemwise("subtract", x, log_total))
            return build.cast(build.elemwise("multiply", g, normalized), node.outputs[0].dtype)
    return None


def _times_softmax(var, s, build):
    """A variable equal to var * s (mathematically) without dividing by s, when var was built as
    something / s (or as a scatter of something / s[idx]); else None."""
    quotient = numerator(var, s, build)
    if quotient is not None:
        return quotient
    write = producer_of_type(var, IndexWrite)
    if write is None or write.op.mode != "inc" or not _is_zeros(write.inputs[0]):
        return None
    zeros, value, *index_inputs = write.inputs
    selected = build.apply(index_op(write.op.index), s, *index_inputs)
    quotient = numerator(value, selected, build)
    if quotient is None:
        return None
    return build.apply(write.op, zeros, quotient, *index_inputs)


@register_rewrite("softmax_gradient_of_log", "stabilize", tracks=["multiply"])
def softmax_gradient_of_log(node, build):
    """The softmax pullback of the gradient of log(softmax(z)): s * (v - sum(v * s)) with v = g / s
    -> g - s * sum(g): no division by probabilities that underflow to 0 (what log_softmax's pullback is)."""
    for s, difference in (node.inputs, node.inputs[::-1]):
        softmax = producer_of_type(s, Softmax)
        subtract = producer(difference, "subtract")
        if softmax is None or subtract is None:
            continue
        v, total = subtract.inputs
        reduction = producer_of_type(total, Reduce)
        if (reduction is None or reduction.op.kind != "sum" or reduction.op.axis != softmax.op.axis
                or not reduction.op.keepdims or reduction.op.dtype is not None):
            continue
        product = producer(reduction.inputs[0], "multiply")
        if product is None or set(map(id, product.inputs)) != {id(v), id(s)}:
            continue
        g = _times_softmax(v, s, build)
        copies = None if g is None else _broadcast_copies(g, s, reduction.op.axis)
        if copies is None or g.dtype != v.dtype:
            continue
        summed = build.apply(reduction.op, g)
        if copies != 1:
            summed = build.elemwise("multiply", summed, build.constant(copies, g.dtype))
        result = build.elemwise("subtract", g, build.elemwise("multiply", s, summed))
        return build.cast(result, node.outputs[0].dtype)
    return None


def _broadcast_copies(g, s, axes):
    """How many times each entry of `g` counts in a sum over `axes` of g broadcast to s's shape (g may be a
    one-element ones constant standing for a gradient of ones), or None when a broadcast size is unknown."""
    copies = 1
    for axis in axes:
        if g.type.shape[axis] == s.type.shape[axis]:
            continue
        if g.type.shape[axis] != 1 or s.type.shape[axis] is None:
            return None
        copies *= s.type.shape[axis]
    return copies


def _normalized_exp(var, axis):
    """Is `var` softmax(z) or exp(log_softmax(z)) over `axis`?"""
    exponential = producer(var, "exp")
    source = exponential.inputs[0] if exponential is not None else var
    node = producer_of_type(source, LogSoftmax if exponential is not None else Softmax)
    return node is not None and node.op.axis == axis


def _is_zeros(var):
    full = producer_of_type(var, Full)
    return is_filled_with(full.inputs[0] if full is not None else var, 0)


def _covers_rows_in_order(rows, row_key, facts):
    """Is `rows` arange(n) for the n rows of the scattered tensor (symbolic, or folded to a constant)?"""
    if isinstance(rows, Constant):
        return isinstance(row_key, int) and np.array_equal(rows.data, np.arange(row_key))
    return producer_of_type(rows, Arange) is not None and facts.dims(rows) == (row_key,)


def _scalar_value(value):
    """The single value broadcast by `value` (a 0-d or statically one-element variable, its broadcast, or a
    uniform constant), else None. A one-element result keeps its shape: it broadcasts like a 0-d one."""
    broadcast = producer_of_type(value, BroadcastTo)
    if broadcast is not None:
        value = broadcast.inputs[0]
    if value.ndim <= 1 and all(size == 1 for size in value.type.shape):
        return value
    uniform = fill_value(value)
    return None if uniform is None else constant(np.asarray(uniform, dtype=value.dtype))


def _row_scatter_value(g, facts):
    """c when `g` is zeros(n, k) with the single value c added at [arange(n), y], one entry per row (len(y)
    is provably n: with n = 1, indexing broadcasts arange(1) against all of y, putting len(y) entries in
    row 0), else None."""
    write = producer_of_type(g, IndexWrite)
    if write is None or write.op.mode != "inc" or write.op.index != (ARRAY, ARRAY) or g.ndim != 2:
        return None
    zeros, value, rows, labels = write.inputs
    row_key = facts.dims(g)[0]
    if not _is_zeros(zeros) or not _covers_rows_in_order(rows, row_key, facts):
        return None
    if labels.ndim != 1 or facts.dims(labels) != (row_key,):
        return None
    return _scalar_value(value)


@register_rewrite("softmax_cross_entropy_gradient", "stabilize", tracks=["subtract"])
def softmax_cross_entropy_gradient(node, build):
    """The log_softmax pullback of a one-hot gradient, g - softmax(z) * sum(g, axis=1, keepdims=True)
    with g = c * onehot(y), -> g - softmax(z) * c, that is c * (onehot(y) - softmax(z)): the row sums of a
    one-hot scatter are known (each row holds one entry), so they are not computed."""
    g, product = node.inputs
    product_node = producer(product, "multiply")
    if product_node is None:
        return None
    for normalized, total in (product_node.inputs, product_node.inputs[::-1]):
        reduction = producer_of_type(total, Reduce)
        if (reduction is None or reduction.inputs[0] is not g or reduction.op.kind != "sum"
                or reduction.op.axis != (1,) or not reduction.op.keepdims or reduction.op.dtype is not None):
            continue
        if not _normalized_exp(normalized, (1,)):
            continue
        value = _row_scatter_value(g, build.facts)
        if value is None:
            return None
        scaled = build.elemwise("multiply", normalized, build.cast(value, total.dtype))
        return build.cast(build.elemwise("subtract", g, scaled), node.outputs[0].dtype)
    return None
