"""Canonicalize phase, shapes and products: shape arithmetic done while compiling, no-op reshapes,
broadcasts and gradient fits removed, chains of axis shuffles merged, transposes moved out of products.

"No-op" is decided with `ShapeFacts`: `broadcast_to(g, x.shape)` is `g` when the graph proves that g
already has x's shape whenever the function runs (for instance g = `tanh(x) * 2`).

Example:
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> sg.optimize(x.T.T) is x
    True
    >>> sg.optimize(sg.exp(x).shape[1]).owner.inputs[0].owner.inputs[0] is x
    True
"""
from ..ops.gradient_ops import FitShape
from ..ops.indexing import BasicIndex, IndexWrite, index_op
from ..ops.linalg import MatMul
from ..ops.shape import NEW_AXIS, BroadcastTo, DimShuffle, EnsureShape, Reshape
from ..ops.shape_of import Shape
from .build import producer_of_type
from .registry import register_rewrite

_shape = Shape()


@register_rewrite("shape_of_static", "canonicalize", tracks=[Shape])
def shape_of_static(node, build):
    """x.shape -> a constant when every size of x is static."""
    shape = node.inputs[0].type.shape
    if None in shape:
        return None
    return build.constant(shape, "int64")


@register_rewrite("shape_of_same_shape_input", "canonicalize", tracks=[Shape])
def shape_of_same_shape_input(node, build):
    """f(x, ...).shape -> x.shape when the result of f certainly has x's shape (tanh(x), x @ w + b ...),
    as far down as that holds, in one step (a chain of such rewrites through a deep graph is no loop)."""
    (var,) = node.inputs
    source = build.facts.shape_source(var)
    return None if source is var else build.apply(_shape, source)


def _shape_entry_source(node):
    """(variable, axis) when `node` is `x.shape[i]` with a constant i, else None."""
    if not isinstance(node.op, BasicIndex) or len(node.op.index) != 1 or not isinstance(node.op.index[0], int):
        return None
    shape_node = producer_of_type(node.inputs[0], Shape)
    if shape_node is None:
        return None
    var = shape_node.inputs[0]
    return var, node.op.index[0] % var.ndim


@register_rewrite("shape_entry_from_inputs", "canonicalize", tracks=[BasicIndex])
def shape_entry_from_inputs(node, build):
    """x.shape[i] -> a constant when the size is static, or the same size read from a graph input
    ((h @ w).shape[1] -> w.shape[1]), so that x need not be computed for its shape."""
    found = _shape_entry_source(node)
    if found is None:
        return None
    var, axis = found
    key = build.facts.dims(var)[axis]
    if isinstance(key, int):
        return build.constant(key, "int64")
    if key.is_input_axis and key.var is not var:
        return build.apply(BasicIndex((key.index,)), build.apply(_shape, key.var))
    return None


def _composed_order(outer, inner):
    """The DimShuffle order doing `inner` then `outer`."""
    return tuple(NEW_AXIS if axis == NEW_AXIS else inner.order[axis] for axis in outer.order)


@register_rewrite("merge_dimshuffles", "canonicalize", tracks=[DimShuffle])
def merge_dimshuffles(node, build):
    """Two axis shuffles in a row (transpose of transpose, expand_dims of squeeze ...) -> one, or none."""
    inner = producer_of_type(node.inputs[0], DimShuffle)
    if inner is None:
        return None
    x = inner.inputs[0]
    order = _composed_order(node.op, inner.op)
    if order == tuple(range(x.ndim)):
        return x
    return build.apply(DimShuffle(x.ndim, order), x)


@register_rewrite("reshape_of_reshape", "canonicalize", tracks=[Reshape])
def reshape_of_reshape(node, build):
    """reshape(reshape(x, s1), s2) -> reshape(x, s2), where reshaping x to s1 cannot fail (s1 is (-1,), or
    x's size and s1 are static, so building checked them): NumPy raises for a bad s1, and so must we."""
    inner = producer_of_type(node.inputs[0], Reshape)
    if inner is None:
        return None
    checked = None not in inner.inputs[0].type.shape and None not in inner.op.shape
    if not checked and inner.op.shape != (-1,):
        return None
    return build.apply(node.op, inner.inputs[0], *node.inputs[1:])


def _same_shape_as_input(node, build):
    """The node's first input when the node's result certainly has its shape and dtype, else None."""
    x, out = node.inputs[0], node.outputs[0]
    if x.dtype == out.dtype and x.ndim == out.ndim and build.facts.same_shape(x, out):
        return x
    return None


@register_rewrite("useless_reshape", "canonicalize", tracks=[Reshape])
def useless_reshape(node, build):
    """reshape(x, s) -> x when s is certainly x's shape."""
    return _same_shape_as_input(node, build)


@register_rewrite("useless_broadcast_to", "canonicalize", tracks=[BroadcastTo])
def useless_broadcast_to(node, build):
    """broadcast_to(x, s) -> x when s is certainly x's shape."""
    return _same_shape_as_input(node, build)


@register_rewrite("useless_fit_shape", "canonicalize", tracks=[FitShape])
def useless_fit_shape(node, build):
    """A gradient fitted to the shape it certainly has already -> the gradient."""
    return _same_shape_as_input(node, build)


@register_rewrite("useless_ensure_shape", "canonicalize", tracks=[EnsureShape])
def useless_ensure_shape(node, build):
    """A run-time shape check of a value that certainly has the shape checked for -> the value.

    The value is compared with the target, not with the node's output, whose static type already
    claims the checked sizes."""
    x, *target = node.inputs
    facts = build.facts
    expected = facts.vector_dims(target[0]) if target else node.op.shape
    if facts.dims(x)[node.op.batch_ndim:] == tuple(map(facts.find, expected)):
        return x
    return None


def _swaps_last_two_axes(op):
    n = op.input_ndim
    return n >= 2 and op.order == tuple(range(n - 2)) + (n - 1, n - 2)


def _untransposed(var):
    """x when `var` is x with its last two axes swapped, else None."""
    owner = producer_of_type(var, DimShuffle)
    if owner is not None and _swaps_last_two_axes(owner.op):
        return owner.inputs[0]
    return None


@register_rewrite("matmul_of_transposes", "canonicalize", tracks=[MatMul])
def matmul_of_transposes(node, build):
    """A.T @ B.T -> (B @ A).T (one transpose instead of two; batched: the last two axes)."""
    a, b = (_untransposed(v) for v in node.inputs)
    if a is None or b is None:
        return None
    product = build.apply(node.op, b, a)
    n = product.ndim
    return build.apply(DimShuffle(n, tuple(range(n - 2)) + (n - 1, n - 2)), product)


@register_rewrite("useless_broadcast_in_write", "canonicalize", tracks=[IndexWrite])
def useless_broadcast_in_write(node, build):
    """set/inc_subtensor(x[idx], broadcast_to(v, region shape)) -> set/inc_subtensor(x[idx], v):
    the write broadcasts v to the indexed region itself."""
    x, value, *index_inputs = node.inputs
    broadcast = producer_of_type(value, BroadcastTo)
    if broadcast is None:
        return None
    region = build.apply(index_op(node.op.index), x, *index_inputs)
    if not build.facts.same_shape(region, value):
        return None
    return build.apply(node.op, x, broadcast.inputs[0], *index_inputs)
