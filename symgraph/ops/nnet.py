"""Neural-net helpers: `softmax` and `log_softmax` (stable, max-shifted ops), `cumsum`, `one_hot`,
`binary_crossentropy` and `categorical_crossentropy`.

softmax and log_softmax are ops of their own, not compositions, so rewrites can recognise them.

Example:
    >>> import symgraph as sg
    >>> z = sg.matrix("z")
    >>> sg.softmax(z).owner.op.name, sg.log_softmax(z, axis=0).owner.op.name
    ('softmax', 'log_softmax')
"""
import functools

import numpy as np

from ..config import config
from ..graph.basic import as_variable
from ..graph.op import Op
from ..graph.type import TensorType
from .creation import arange
from .elemwise import (cast, eq, exp, is_differentiable_dtype, log, log1p, logical_and, multiply, negative, softplus,
                       subtract, where)
from .reduce import logsumexp_reference, reduction_axes, sum
from .shape import expand_dims, flatten, normalize_axis

__all__ = ["softmax", "log_softmax", "cumsum", "cumprod", "one_hot", "binary_crossentropy", "categorical_crossentropy"]


def _float_dtype(dtype) -> np.dtype:
    """The dtype of `np.exp` on `dtype`: floats keep theirs, integers and bools become floats."""
    return np.result_type(dtype, np.float16)


def softmax_reference(x, axis):
    """exp(x) / sum(exp(x)) over `axis` (a tuple), shifted by the maximum so large inputs stay finite.

    Example:
        >>> softmax_reference(np.array([1000.0, 1000.0]), (0,))
        array([0.5, 0.5])
    """
    x = np.asarray(x)
    x = x.astype(_float_dtype(x.dtype), copy=False)
    with np.errstate(invalid="ignore"):
        shifted = np.exp(x - np.max(x, axis=axis, keepdims=True, initial=-np.inf))
        return shifted / np.sum(shifted, axis=axis, keepdims=True)


class _Normalizer(Op):
    """Shared shape and dtype logic of softmax and log_softmax over the sorted axes `axis`."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = tuple(axis)

    def output_types(self, x):
        return [TensorType(_float_dtype(x.dtype), x.shape)]


class Softmax(_Normalizer):
    """softmax over `axis`: exp(x - max) / sum(exp(x - max))."""

    @property
    def name(self):
        return "softmax"

    def perform(self, x):
        return softmax_reference(x, self.axis)

    def _jacobian_product(self, s, v):
        # The softmax Jacobian diag(s) - s s^T is symmetric: the same product serves both directions.
        return multiply(s, subtract(v, sum(multiply(v, s), axis=self.axis, keepdims=True)))

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if gz is None or not is_differentiable_dtype(inputs[0].dtype):
            return [None]
        return [self._jacobian_product(outputs[0], gz)]

    def pushforward(self, inputs, outputs, tangents):
        (tangent,) = tangents
        return [None if tangent is None else self._jacobian_product(outputs[0], tangent)]


class LogSoftmax(_Normalizer):
    """log_softmax over `axis`: x - logsumexp(x), computed with the max shift."""

    @property
    def name(self):
        return "log_softmax"

    def perform(self, x):
        x = np.asarray(x)
        x = x.astype(_float_dtype(x.dtype), copy=False)
        with np.errstate(invalid="ignore"):
            # Shift first: x - logsumexp(x) would lose log(sum(...)) to rounding when |max(x)| is large.
            shift = np.max(x, axis=self.axis, keepdims=True, initial=-np.inf)
            shifted = x - np.where(np.isfinite(shift), shift, 0)
            return shifted - logsumexp_reference(shifted, self.axis, keepdims=True)

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if gz is None or not is_differentiable_dtype(inputs[0].dtype):
            return [None]
        probabilities = exp(outputs[0])
        return [subtract(gz, multiply(probabilities, sum(gz, axis=self.axis, keepdims=True)))]

    def pushforward(self, inputs, outputs, tangents):
        (tangent,) = tangents
        if tangent is None:
            return [None]
        probabilities = exp(outputs[0])
        return [subtract(tangent, sum(multiply(probabilities, tangent), axis=self.axis, keepdims=True))]


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over `axis` (an int, a tuple, or None for all axes), like
    `scipy.special.softmax`, computed stably: inputs of size 1e3 give finite results.

    Example:
        >>> import symgraph as sg
        >>> sg.softmax(sg.constant([1000.0, 1000.0])).eval()
        array([0.5, 0.5])
    """
    x = as_variable(x)
    return Softmax(reduction_axes(axis, x.ndim, "softmax", x.type))(x)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) over `axis`, like `scipy.special.log_softmax`, computed stably.

    Example:
        >>> import symgraph as sg
        >>> sg.log_softmax(sg.constant([0.0, 0.0])).eval()
        array([-0.69314718, -0.69314718])
    """
    x = as_variable(x)
    return LogSoftmax(reduction_axes(axis, x.ndim, "log_softmax", x.type))(x)


@functools.lru_cache(maxsize=None)
def _cumsum_dtype(dtype) -> np.dtype:
    return np.cumsum(np.ones((1,), dtype=dtype)).dtype


class CumSum(Op):
    """Running sums along `axis`, like `np.cumsum`; with `reverse`, running sums from the end of the axis
    (the pullback of the forward one)."""

    __props__ = ("axis", "reverse")

    def __init__(self, axis, reverse=False):
        self.axis = axis
        self.reverse = bool(reverse)

    @property
    def name(self):
        return "cumsum"

    def output_types(self, x):
        if not 0 <= self.axis < x.ndim:
            raise np.exceptions.AxisError(f"cumsum: axis {self.axis} is out of bounds for operand of type {x}")
        try:
            dtype = _cumsum_dtype(x.dtype)
        except TypeError as exc:
            raise TypeError(f"cumsum: not defined for operand of type {x} ({exc})") from None
        return [TensorType(dtype, x.shape)]

    def perform(self, x):
        if not self.reverse:
            return np.cumsum(x, axis=self.axis)
        return np.flip(np.cumsum(np.flip(x, self.axis), axis=self.axis), self.axis)

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if gz is None or not is_differentiable_dtype(inputs[0].dtype):
            return [None]
        return [CumSum(self.axis, not self.reverse)(gz)]

    def pushforward(self, inputs, outputs, tangents):
        (tangent,) = tangents
        return [None if tangent is None else self(tangent)]


def _running(op_class, name, a, axis, dtype):
    """`op_class` (CumSum or CumProd, called `name` in errors) of `a` along `axis`, in `dtype` when given, with NumPy's rules: over
    the flattened tensor when `axis` is None, and a 0-d input counts as 1-d whatever the axis."""
    a = as_variable(a)
    if dtype is not None:
        a = cast(a, dtype)
    if (axis is None and a.ndim != 1) or a.ndim == 0:
        a = flatten(a)
    if axis is None:
        axis = 0
    result = op_class(normalize_axis(axis, a.ndim, name, a.type))(a)
    # The ops accumulate integers and bools in 64 bits; sums and products wrap modulo the width, so the
    # 64-bit running values cast to `dtype` are exactly those NumPy accumulates in `dtype` itself.
    return result if dtype is None else cast(result, dtype)


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis`, like `np.cumsum`: with `axis=None` over the flattened tensor.
    Integer and bool inputs accumulate in int64 as in NumPy, or in `dtype` when given.

    Example:
        >>> import symgraph as sg
        >>> sg.cumsum(sg.constant([[1, 2], [3, 4]])).eval()
        array([ 1,  3,  6, 10])
        >>> sg.cumsum(sg.constant([100, 100], dtype="int8"), dtype="int8").eval()
        array([100, -56], dtype=int8)
    """
    return _running(CumSum, "cumsum", x, axis, dtype)


class CumProd(Op):
    """Running products along `axis`, like `np.cumprod`.

    Its first and second derivatives are exact also where elements are zero: before the first zero of a
    slice the usual quotient formulas hold; at the first zero the derivative is the running product with
    that zero taken as 1; after it every derivative has the first zero as a factor, which is written as a
    product with that element (0 in value) so that differentiating again finds the other factor.
    """

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    @property
    def name(self):
        return "cumprod"

    def output_types(self, x):
        if not 0 <= self.axis < x.ndim:
            raise np.exceptions.AxisError(f"cumprod: axis {self.axis} is out of bounds for operand of type {x}")
        try:
            dtype = _cumsum_dtype(x.dtype)
        except TypeError as exc:
            raise TypeError(f"cumprod: not defined for operand of type {x} ({exc})") from None
        return [TensorType(dtype, x.shape)]

    def perform(self, x):
        return np.cumprod(x, axis=self.axis)

    def _zero_structure(self, x):
        """(before: no zero up to and including here, first: the first zero of the slice, x with that zero
        replaced by 1, x with every zero replaced by 1)."""
        is_zero = eq(x, 0)
        zeros_so_far = CumSum(self.axis)(cast(is_zero, "int64"))
        before = eq(zeros_so_far, 0)
        first = logical_and(is_zero, eq(zeros_so_far, 1))
        return before, first, where(first, 1, x), where(before, x, 1)

    def _first_zero(self, x, first):
        """The first zero of each slice (0 in value, broadcast along the axis): a factor that keeps the
        dependence of later derivatives on that element."""
        return sum(where(first, x, 0), axis=self.axis, keepdims=True)

    def _pullback_value(self, x, gz, z):
        """The vector-Jacobian product at `x` (whose running products are `z`), exact in value; after the
        first zero it is 0 (a constant), so its own derivatives are exact only up to the first zero."""
        before, first, without_first_zero, safe = self._zero_structure(x)
        from_the_end = CumSum(self.axis, reverse=True)
        quotient = from_the_end(multiply(gz, z)) / safe
        at_first_zero = from_the_end(multiply(gz, self(without_first_zero)))
        return before, first, without_first_zero, where(before, quotient, where(first, at_first_zero, 0))

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        (x,) = inputs
        if gz is None or not is_differentiable_dtype(x.dtype):
            return [None]
        before, first, without_first_zero, value = self._pullback_value(x, gz, outputs[0])
        # After the first zero x_k, the derivative is exactly x_k times the derivative of the products
        # with x_k taken as 1.
        beyond = self._pullback_value(without_first_zero, gz, self(without_first_zero))[-1]
        return [where(before, value, where(first, value, multiply(self._first_zero(x, first), beyond)))]

    def _pushforward_value(self, x, tangent, z):
        """The Jacobian-vector product at `x` (running products `z`), exact in value: before the first zero
        of a slice, z times the running sum of tangent / x; from it on, the first zero's tangent times the
        products with that zero taken as 1."""
        before, first, without_first_zero, safe = self._zero_structure(x)
        early = multiply(z, CumSum(self.axis)(where(before, tangent / safe, 0)))
        tangent_at_first_zero = sum(where(first, tangent, 0), axis=self.axis, keepdims=True)
        return before, first, without_first_zero, where(
            before, early, multiply(tangent_at_first_zero, self(without_first_zero)))

    def pushforward(self, inputs, outputs, tangents):
        (tangent,) = tangents
        (x,) = inputs
        if tangent is None or not is_differentiable_dtype(x.dtype):
            return [None]
        before, first, without_first_zero, value = self._pushforward_value(x, tangent, outputs[0])
        # From the first zero x_k on, the product rule splits off x_k: its own tangent's term (in `value`)
        # plus x_k times the tangent of the products with x_k taken as 1 and its tangent left out.
        others = self._pushforward_value(without_first_zero, where(first, 0, tangent), self(without_first_zero))[-1]
        return [where(before, value, value + multiply(self._first_zero(x, first), others))]


def cumprod(a, axis=None, dtype=None):
    """Cumulative product along `axis`, like `np.cumprod`: with `axis=None` over the flattened tensor;
    integers and bools accumulate in int64, or in `dtype` when given. Its first and second derivatives are
    exact also where elements are zero.

    Example:
        >>> import symgraph as sg
        >>> sg.cumprod(sg.constant([[1, 2], [3, 4]]), axis=1).eval()
        array([[ 1,  2],
               [ 3, 12]])
        >>> sg.cumprod(sg.constant([100, 100], dtype="int8"), dtype="int8").eval()
        array([100,  16], dtype=int8)
    """
    return _running(CumProd, "cumprod", a, axis, dtype)


def one_hot(labels, num_classes, dtype=None):
    """Rows of the identity picked by integer `labels`: shape `labels.shape + (num_classes,)`, 1 where the
    last index equals the label, else 0; labels outside [0, num_classes) give all-zero rows.
    `num_classes` is an int or a 0-d integer variable; `dtype` defaults to `sg.config.floatX`.

    Example:
        >>> import symgraph as sg
        >>> sg.one_hot(sg.constant([2, 0]), 3).eval()
        array([[0., 0., 1.],
               [1., 0., 0.]])
    """
    labels = as_variable(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must have an integer dtype, got {labels.type}")
    if isinstance(num_classes, (int, np.integer)) and not isinstance(num_classes, bool) and num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be non-negative, got {num_classes}")
    return cast(eq(expand_dims(labels, -1), arange(num_classes)), config.floatX if dtype is None else dtype)


def binary_crossentropy(output, target, from_logits=False):
    """Element-wise `-(target * log(output) + (1 - target) * log(1 - output))`, as PyTensor's
    `binary_crossentropy(output, target)`, for predicted probabilities `output` and targets in [0, 1].

    With `from_logits=True`, `output` holds logits z (output = sigmoid(z)) and the result is computed as
    `softplus(z) - target * z`, which stays finite and accurate for large |z|.

    Example:
        >>> import symgraph as sg
        >>> sg.binary_crossentropy(sg.constant([0.5, 0.9]), sg.constant([1.0, 0.0])).eval()
        array([0.69314718, 2.30258509])
        >>> sg.binary_crossentropy(sg.constant([-800.0]), sg.constant([1.0]), from_logits=True).eval()
        array([800.])
    """
    output, target = as_variable(output), as_variable(target)
    if from_logits:
        return subtract(softplus(output), multiply(target, output))
    return negative(multiply(target, log(output)) + multiply(subtract(1, target), log1p(negative(output))))


def categorical_crossentropy(coding_dist, true_dist, from_logits=False):
    """Cross-entropy between predicted probabilities `coding_dist` and targets `true_dist`, per example
    (the last axis holds the classes), as PyTensor's `categorical_crossentropy`.

    `true_dist` is either probabilities (or one-hot rows) of coding_dist's shape, giving
    `-sum(true_dist * log(coding_dist), axis=-1)`, or integer class labels with one dimension less
    (coding_dist 1-d or 2-d), giving `-log(coding_dist[arange(n), true_dist])`. `coding_dist` must hold
    probabilities, unless `from_logits=True`: then it holds logits and log_softmax replaces log(coding_dist),
    which is more accurate than taking the log of a softmax.

    Example:
        >>> import symgraph as sg
        >>> p, y = sg.matrix("p"), sg.vector("y", dtype="int64")
        >>> sg.categorical_crossentropy(p, y).ndim
        1
        >>> sg.categorical_crossentropy(sg.constant([[0.0, 0.0]]), sg.constant([1]), from_logits=True).eval()
        array([0.69314718])
    """
    coding_dist, true_dist = as_variable(coding_dist), as_variable(true_dist)
    log_probabilities = log_softmax(coding_dist) if from_logits else log(coding_dist)
    if true_dist.dtype.kind in "iu":
        if coding_dist.ndim not in (1, 2) or true_dist.ndim != coding_dist.ndim - 1:
            raise ValueError(
                "categorical_crossentropy: integer labels need coding_dist of rank 1 or 2 and labels of one rank "
                f"less, got types {coding_dist.type} and {true_dist.type}"
            )
        if coding_dist.ndim == 1:
            return negative(log_probabilities[true_dist])
        return negative(log_probabilities[arange(coding_dist.shape[0]), true_dist])
    if true_dist.ndim != coding_dist.ndim:
        raise ValueError(
            "categorical_crossentropy: target probabilities must have coding_dist's rank, got types "
            f"{coding_dist.type} and {true_dist.type}"
        )
    return negative(sum(multiply(true_dist, log_probabilities), axis=-1))
