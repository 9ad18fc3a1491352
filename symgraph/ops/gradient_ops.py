"""Ops that exist for differentiation: `stop_gradient`, and fitting a gradient to its input's shape.

A pullback may return a gradient whose shape only broadcasts to or from its input's shape (the
gradient of `x + y` with respect to a broadcast `y` has the output's shape). `fit_gradient` is the one
place that sums such a gradient back over broadcast dimensions, broadcasts it over dimensions it lacks,
and casts it to the input's dtype: with plain `sum`/`broadcast_to` nodes when the static shapes make
the answer certain, and with a `FitShape` node that decides from the actual shapes at run time
otherwise (a size that is `None` statically may turn out to be 1 and have been broadcast).

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> sg.stop_gradient(x).owner.op.name
    'stop_gradient'
"""
import weakref

import numpy as np

from ..errors import ShapeError
from ..graph.basic import as_variable
from ..graph.op import Op
from ..graph.type import TensorType
from .creation import Full
from .elemwise import Elemwise, cast
from .indexing import IndexWrite
from .nnet import CumProd, CumSum, LogSoftmax, Softmax
from .reduce import sum as reduce_sum
from .shape import BroadcastTo, EnsureShape, Reshape, broadcast_to
from .shape_of import Shape, shape_of

__all__ = ["stop_gradient"]


class StopGradient(Op):
    """The identity, seen by differentiation as a constant: no gradient flows through it."""

    view_map = {0: 0}  # the output is the input itself

    @property
    def name(self):
        return "stop_gradient"

    def output_types(self, x):
        return [x]

    def perform(self, x):
        return x

    def pullback(self, inputs, outputs, output_grads):
        return [None]

    def pushforward(self, inputs, outputs, tangents):
        return [None]


_stop_gradient = StopGradient()


def stop_gradient(x):
    """`x` unchanged in value, but treated as a constant by `sg.grad`, `sg.jvp` and friends.

    Inputs reached only through it are still connected to the cost: their gradient is zeros.

    Example:
        >>> import symgraph as sg
        >>> x = sg.scalar("x")
        >>> float(sg.grad(x * sg.stop_gradient(x), x).eval({x: 3.0}))
        3.0
    """
    return _stop_gradient(as_variable(x))


def fit_array(value, target, batch_ndim=0):
    """`value` summed and broadcast to `target` (a shape), keeping its first `batch_ndim` dims as they are.

    Leading extra dimensions are summed away, dimensions where the target has size 1 are summed with
    keepdims, and missing or size-1 dimensions are broadcast. Raises ShapeError when sizes differ otherwise.

    Example:
        >>> fit_array(np.ones((2, 3, 4)), (1, 4)).tolist()
        [[6.0, 6.0, 6.0, 6.0]]
    """
    if type(value) is not np.ndarray and not hasattr(value, "__array_function__"):
        value = np.asarray(value)  # a lazy array (Dask's) dispatches NumPy's functions itself
    if value.shape == target and not batch_ndim:
        return value  # most gradients already fit, in every step of a loop too: a tenth of the general path
    batch = value.shape[:batch_ndim]
    lead = value.ndim - batch_ndim - len(target)
    if lead > 0:
        value = np.sum(value, axis=tuple(range(batch_ndim, batch_ndim + lead)))
    core = value.shape[batch_ndim:]
    offset = len(target) - len(core)
    summed = []
    for axis, size in enumerate(core):
        wanted = target[offset + axis]
        if size != wanted and size != 1 and wanted != 1:
            raise ShapeError(f"fit_shape: a gradient of shape {value.shape} cannot be fitted to shape {tuple(target)}")
        if size != 1 and wanted == 1:
            summed.append(batch_ndim + axis)
    if summed:
        value = np.sum(value, axis=tuple(summed), keepdims=True)
    full = batch + tuple(target)
    if value.shape == full:
        return value
    aligned = value.reshape(batch + (1,) * offset + value.shape[batch_ndim:])
    # A broadcast view is read-only and aliased; gradients are ordinary arrays that later steps may reuse.
    return np.broadcast_to(aligned, full).copy()


class FitShape(Op):
    """Fit a gradient to a target shape decided at run time (see `fit_array`).

    Inputs: the gradient and the target shape (an int64 vector, usually `shape_of(x)`). `shape` is the
    target's static shape and `batch_ndim` the number of leading gradient dims kept apart (for batching).
    """

    __props__ = ("shape", "batch_ndim")
    view_map = {0: 0}  # a gradient that already fits is returned as it is

    def __init__(self, shape, batch_ndim=0):
        self.shape = tuple(shape)
        self.batch_ndim = batch_ndim

    @property
    def name(self):
        return "fit_shape"

    def output_types(self, g, target_shape):
        if target_shape.ndim != 1 or target_shape.shape[0] not in (None, len(self.shape)):
            raise TypeError(f"fit_shape: the target shape must be a vector of length {len(self.shape)}, got {target_shape}")
        if g.ndim < self.batch_ndim:
            raise TypeError(f"fit_shape: a gradient of type {g} has fewer than {self.batch_ndim} batch dimensions")
        return [TensorType(g.dtype, g.shape[: self.batch_ndim] + self.shape)]

    def perform(self, g, target_shape):
        return fit_array(g, tuple(np.asarray(target_shape).tolist()), self.batch_ndim)

    def pullback(self, inputs, outputs, output_grads):
        g, _ = inputs
        (gz,) = output_grads
        if self.batch_ndim == 0:
            # Summing is the adjoint of broadcasting and vice versa: the engine fits gz back to g's shape.
            return [gz, None]
        back = FitShape(g.type.shape[self.batch_ndim:], self.batch_ndim)
        return [back(gz, shape_of(g)[self.batch_ndim:]), None]

    def pushforward(self, inputs, outputs, tangents):
        tangent = tangents[0]
        return [None if tangent is None else self(tangent, inputs[1])]


def _static_fit_plan(grad_shape, target_shape):
    """How to fit a gradient of static shape `grad_shape` to `target_shape`, or None if only run time can tell.

    Returns (leading axes to sum away, axes to sum with keepdims afterwards, whether to broadcast).
    """
    lead = len(grad_shape) - len(target_shape)
    core = tuple(grad_shape[max(lead, 0):])
    padded = (1,) * max(-lead, 0) + core
    keep_axes = []
    broadcast = lead < 0  # a gradient of lower rank needs the target's leading axes, even of size 1
    for axis, (size, wanted) in enumerate(zip(padded, target_shape)):
        if wanted == 1:
            if size != 1:
                keep_axes.append(axis + min(lead, 0))
        elif size == 1:
            broadcast = True
        elif wanted is None:
            return None  # the input may be 1 at run time and have been broadcast to this size
        elif size is None:
            broadcast = True  # broadcast_to is right whether the gradient turns out 1 or `wanted`
        elif size != wanted:
            raise ShapeError(f"fit_gradient: a gradient of shape {grad_shape} cannot be fitted to shape {target_shape}")
    return tuple(range(max(lead, 0))), tuple(keep_axes), broadcast


def _cannot_widen(var, ndim):
    """True when `var` broadcast against tensors of rank `ndim` never changes their shape (all sizes 1)."""
    return var.ndim <= ndim and all(size == 1 for size in var.type.shape)


def _shaped_like(shape_vector):
    """The variable `shape_vector` is the shape of (None unless it is `shape_of(y)`)."""
    node = shape_vector.owner
    return node.inputs[0] if node is not None and isinstance(node.op, Shape) else None


def _shape_source(var):
    """Variables whose common run-time shape is provably that of `var` (empty when there are none)."""
    node = var.owner
    if node is None:
        return []
    op = node.op
    if isinstance(op, _SHAPED_LIKE_FIRST_INPUT):
        return [node.inputs[0]]
    if isinstance(op, _SHAPED_BY_SHAPE_INPUT) and len(node.inputs) == 2 and getattr(op, "batch_ndim", 0) == 0:
        source = _shaped_like(node.inputs[1])
        return [] if source is None else [source]
    if isinstance(op, Elemwise):
        shaping = [v for v in node.inputs if not _cannot_widen(v, var.ndim)]
        if all(v.ndim == var.ndim for v in shaping):
            return shaping
    return []


_SHAPED_LIKE_FIRST_INPUT = (StopGradient, IndexWrite, Softmax, LogSoftmax, CumSum, CumProd)
"""Op types whose output always has the shape of their first input."""

_SHAPED_BY_SHAPE_INPUT = (FitShape, BroadcastTo, Reshape, Full, EnsureShape)
"""Op types whose output has the shape given by their second input when that is `shape_of(y)`."""

_shape_classes: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def shape_class(var):
    """A representative variable: two variables with the same one have equal shapes whenever the graph runs.

    Followed through element-wise ops whose operands share a shape, broadcasts to `shape_of(y)`, and
    gradient fitting; iterative and memoized, so deep graphs are cheap.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> shape_class(sg.exp(x) * 2 + x) is x
        True
    """
    pending = [var]
    while pending:
        current = pending[-1]
        if current in _shape_classes:
            pending.pop()
            continue
        sources = _shape_source(current)
        unknown = [v for v in sources if v not in _shape_classes]
        if unknown:
            pending.extend(unknown)
            continue
        classes = {id(_shape_classes[v]): _shape_classes[v] for v in sources}
        _shape_classes[current] = classes.popitem()[1] if len(classes) == 1 else current
        pending.pop()
    return _shape_classes[var]


def fit_gradient(grad, x):
    """`grad` summed or broadcast to `x`'s shape and cast to `x`'s dtype: the one place gradients are fitted.

    Example:
        >>> import symgraph as sg
        >>> b = sg.tensor("b", shape=(1, 3))
        >>> fit_gradient(sg.matrix("g"), b).type
        TensorType(float64, (1, 3))
    """
    grad = as_variable(grad)
    target = x.type.shape
    plan = _static_fit_plan(grad.type.shape, target)
    if plan is None:
        same = grad.ndim == x.ndim and shape_class(grad) is shape_class(x)
        fitted = grad if same else FitShape(target)(grad, shape_of(x))
    else:
        lead_axes, keep_axes, broadcast = plan
        fitted = grad
        if lead_axes:
            fitted = reduce_sum(fitted, axis=lead_axes)
        if keep_axes:
            fitted = reduce_sum(fitted, axis=keep_axes, keepdims=True)
        if broadcast:
            fitted = broadcast_to(fitted, shape_of(x))
    return cast(fitted, x.dtype)
