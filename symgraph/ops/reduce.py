"""Reductions: one `Reduce` op parametrized by its kind (sum, mean, max, logsumexp, ...), axes and keepdims.

Each kind is a row of `REDUCTION_KINDS`: its NumPy reference implementation and, for differentiable kinds,
its partial derivative d out / d x (a tensor broadcastable to x, built with symgraph ops). The pullback is
then `gz * partial` with gz's reduced axes restored, and the pushforward `sum(tangent * partial)`.
Output dtypes are whatever NumPy gives, found by running the reference on a tiny array.

Example:
    >>> import symgraph as sg
    >>> x = sg.matrix("x", dtype="int32")
    >>> s = sg.sum(x, axis=-1)
    >>> s.owner.op.name, s.dtype, s.ndim
    ('sum', dtype('int64'), 1)
"""
import builtins
import functools
import math
import warnings

import numpy as np

from ..errors import ShapeError
from ..graph.basic import as_variable, constant
from ..graph.op import Op
from ..graph.type import TensorType, as_dtype
from .elemwise import cast, eq, exp, is_differentiable_dtype, multiply, subtract, true_divide, where
from .shape import expand_dims, normalize_axes, normalize_axis, reshape, transpose
from .shape_of import shape_of

__all__ = ["sum", "mean", "prod", "max", "min", "argmax", "argmin", "var", "std", "logsumexp", "all", "any"]


def reduced_static_shape(shape, axes, keepdims) -> tuple:
    """The static shape left by reducing `axes` of `shape` (kept as size 1 when `keepdims`).

    Example:
        >>> reduced_static_shape((2, None, 4), (1,), keepdims=False)
        (2, 4)
    """
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def restore_reduced_axes(g, axes, keepdims):
    """`g`, the result of a reduction over `axes`, with those axes back as size-1 dims (for broadcasting).

    Example:
        >>> import symgraph as sg
        >>> restore_reduced_axes(sg.vector("g"), (0, 2), keepdims=False).ndim
        3
    """
    if keepdims or not axes:
        return g
    return expand_dims(g, axes)


def reduced_count(x, axes, dtype):
    """How many elements of `x` each reduction over `axes` combines: a Python int when the sizes are
    static, else a symbolic scalar of `dtype`.

    Example:
        >>> import symgraph as sg
        >>> reduced_count(sg.tensor("x", shape=(2, 3)), (0, 1), "float64")
        6
    """
    sizes = [x.type.shape[a] for a in axes]
    if None not in sizes:
        return math.prod(sizes)
    mask = constant(np.isin(np.arange(x.ndim), axes))
    return cast(prod(where(mask, shape_of(x), 1)), dtype)


class ReductionKind:
    """One row of the reduction table: a NumPy reference, the partial derivative (None = no gradient),
    and whether the reduction needs at least one element (no identity: max, argmax, ...).

    `partial(op, x, out_keep)` gets the reducing op, its input and its output with reduced axes kept as
    size 1, and returns d out / d x broadcastable to x: a Variable or a Python number.
    """

    __slots__ = ("name", "impl", "partial", "needs_elements")

    def __init__(self, name, impl, partial=None, needs_elements=False):
        self.name = name
        self.impl = impl
        self.partial = partial
        self.needs_elements = needs_elements


def _numpy_reduction(function):
    def impl(x, axis, keepdims, dtype, ddof):
        return function(x, axis=axis, keepdims=keepdims)

    return impl


def _numpy_reduction_with_dtype(function):
    def impl(x, axis, keepdims, dtype, ddof):
        return function(x, axis=axis, keepdims=keepdims, dtype=dtype)

    return impl


def _numpy_moment(function):
    def impl(x, axis, keepdims, dtype, ddof):
        return function(x, axis=axis, keepdims=keepdims, ddof=ddof)

    return impl


def _numpy_arg_reduction(function):
    def impl(x, axis, keepdims, dtype, ddof):
        # NumPy's argmax takes one axis, or None for the index into the flattened array.
        x = np.asarray(x)
        single = None if len(axis) == x.ndim else axis[0]
        return function(x, axis=single, keepdims=keepdims)

    return impl


def logsumexp_reference(x, axis, keepdims):
    """log(sum(exp(x))) over `axis` (a tuple), shifted by the maximum so large inputs stay finite.

    Like `scipy.special.logsumexp`: all -inf gives -inf, an empty reduction gives -inf.

    Example:
        >>> float(logsumexp_reference(np.array([1000.0, 1000.0]), (0,), False))
        1000.6931471805599
    """
    x = np.asarray(x)
    x = x.astype(np.result_type(x.dtype, np.float16), copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        # A non-finite maximum (all -inf, or +inf) cannot shift; exp/log then give -inf or +inf as they should.
        shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype, copy=False)
        result = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return result if keepdims else np.squeeze(result, axis=axis)


def _logsumexp_impl(x, axis, keepdims, dtype, ddof):
    return logsumexp_reference(x, axis, keepdims)


def _partial_one(op, x, out_keep):
    return 1


def _partial_mean(op, x, out_keep):
    count = reduced_count(x, op.axis, out_keep.dtype)
    if isinstance(count, int):
        # An empty reduction has no element to pass a gradient to: any finite partial will do.
        return 1 / count if count else 0
    return true_divide(1, count)


def _partial_prod(op, x, out_keep):
    # d prod / d x_i is the product of the other elements: out / x_i without zeros; with exactly one zero,
    # the product of the non-zeros at the zero and 0 elsewhere; with two or more zeros, 0 everywhere.
    # The zeros that make a value 0 stay in it as factors (`zeros`, the sum of the zero entries, is 0 but
    # has derivative 1 at each of them), so that its derivative, the Hessian, is exact too.
    is_zero = eq(x, 0)
    nonzero_x = where(is_zero, 1, x)
    nonzero_product = prod(nonzero_x, axis=op.axis, keepdims=True, dtype=op.dtype)
    zero_count = sum(is_zero, axis=op.axis, keepdims=True)
    zeros = sum(where(is_zero, x, 0), axis=op.axis, keepdims=True)
    other_zero = multiply(nonzero_product, subtract(zeros, x))
    at_zero = where(eq(zero_count, 1), nonzero_product, where(eq(zero_count, 2), other_zero, 0))
    others = true_divide(nonzero_product, nonzero_x)
    elsewhere = where(eq(zero_count, 0), others, where(eq(zero_count, 1), multiply(others, zeros), 0))
    return where(is_zero, at_zero, elsewhere)


def _partial_extremum(op, x, out_keep):
    # The gradient goes to the positions that attain the extremum, shared equally between ties.
    hits = cast(eq(x, out_keep), out_keep.dtype)
    return true_divide(hits, sum(hits, axis=op.axis, keepdims=True))


def _deviation_and_dof(op, x, out_keep):
    deviation = subtract(x, mean(x, axis=op.axis, keepdims=True))
    count = reduced_count(x, op.axis, out_keep.dtype)
    dof = count - op.ddof if isinstance(count, int) else subtract(count, op.ddof)
    return deviation, dof


def _partial_var(op, x, out_keep):
    deviation, dof = _deviation_and_dof(op, x, out_keep)
    return true_divide(multiply(2, deviation), dof)


def _partial_std(op, x, out_keep):
    # Where std is 0 every deviation is 0 too: dividing by 1 there gives the subgradient 0, not 0/0.
    deviation, dof = _deviation_and_dof(op, x, out_keep)
    return true_divide(deviation, multiply(dof, where(eq(out_keep, 0), 1, out_keep)))


def _partial_logsumexp(op, x, out_keep):
    return exp(subtract(x, out_keep))


REDUCTION_KINDS = {
    kind.name: kind
    for kind in [
        ReductionKind("sum", _numpy_reduction_with_dtype(np.sum), _partial_one),
        ReductionKind("prod", _numpy_reduction_with_dtype(np.prod), _partial_prod),
        ReductionKind("mean", _numpy_reduction_with_dtype(np.mean), _partial_mean),
        ReductionKind("max", _numpy_reduction(np.max), _partial_extremum, needs_elements=True),
        ReductionKind("min", _numpy_reduction(np.min), _partial_extremum, needs_elements=True),
        ReductionKind("var", _numpy_moment(np.var), _partial_var),
        ReductionKind("std", _numpy_moment(np.std), _partial_std),
        ReductionKind("logsumexp", _logsumexp_impl, _partial_logsumexp),
        ReductionKind("argmax", _numpy_arg_reduction(np.argmax), needs_elements=True),
        ReductionKind("argmin", _numpy_arg_reduction(np.argmin), needs_elements=True),
        ReductionKind("all", _numpy_reduction(np.all)),
        ReductionKind("any", _numpy_reduction(np.any)),
    ]
}
"""The reduction table: kind name -> ReductionKind."""


@functools.lru_cache(maxsize=None)
def _reduction_dtype(kind, input_dtype, dtype, ddof) -> np.dtype:
    sample = np.ones((2,), dtype=input_dtype)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(REDUCTION_KINDS[kind].impl(sample, (0,), False, dtype, ddof)).dtype


class Reduce(Op):
    """A reduction of kind `kind` over the sorted axes `axis` (a tuple), keeping them as size 1 if `keepdims`.

    `dtype` (a dtype name or None) is the accumulator of sum/prod/mean; `ddof` the delta degrees of
    freedom of var/std.
    """

    __props__ = ("kind", "axis", "keepdims", "dtype", "ddof")

    def __init__(self, kind, axis, keepdims=False, dtype=None, ddof=0):
        self.kind = kind
        self.axis = tuple(axis)
        self.keepdims = bool(keepdims)
        self.dtype = dtype
        self.ddof = ddof

    @property
    def name(self):
        return self.kind

    def __str__(self):
        params = [f"axis={self.axis}"]
        if self.keepdims:
            params.append("keepdims=True")
        if self.dtype is not None:
            params.append(f"dtype={self.dtype}")
        if self.ddof:
            params.append(f"ddof={self.ddof}")
        return f"{self.kind}{{{', '.join(params)}}}"

    __repr__ = __str__

    def output_types(self, x):
        if self.axis and builtins.max(self.axis) >= x.ndim:
            raise np.exceptions.AxisError(f"{self.kind}: axis {self.axis} is out of bounds for operand of type {x}")
        if REDUCTION_KINDS[self.kind].needs_elements and builtins.any(x.shape[a] == 0 for a in self.axis):
            raise ShapeError(f"{self.kind}: cannot reduce an empty axis of operand of type {x} (no identity)")
        try:
            dtype = _reduction_dtype(self.kind, x.dtype, self.dtype, self.ddof)
        except TypeError as exc:
            raise TypeError(f"{self.kind}: not defined for operand of type {x} ({exc})") from None
        return [TensorType(dtype, reduced_static_shape(x.shape, self.axis, self.keepdims))]

    def perform(self, x):
        return REDUCTION_KINDS[self.kind].impl(x, self.axis, self.keepdims, self.dtype, self.ddof)

    def _partial(self, x, out):
        """d out / d x broadcastable to x (a Variable or a number), or None when there is no gradient."""
        partial = REDUCTION_KINDS[self.kind].partial
        if partial is None or not (is_differentiable_dtype(x.dtype) and is_differentiable_dtype(out.dtype)):
            return None
        return partial(self, x, restore_reduced_axes(out, self.axis, self.keepdims))

    def pullback(self, inputs, outputs, output_grads):
        (x,), (out,), (gz,) = inputs, outputs, output_grads
        partial = None if gz is None else self._partial(x, out)
        if partial is None:
            return [None]
        return [_scale(restore_reduced_axes(gz, self.axis, self.keepdims), partial)]

    def pushforward(self, inputs, outputs, tangents):
        (x,), (out,), (tangent,) = inputs, outputs, tangents
        partial = None if tangent is None else self._partial(x, out)
        if partial is None:
            return [None]
        return [sum(_scale(tangent, partial), axis=self.axis, keepdims=self.keepdims)]


def _scale(value, factor):
    """`value * factor`, where a Python number `factor` keeps value's dtype (NumPy 2 weak scalars)."""
    if isinstance(factor, (int, float)) and factor == 1:
        return value
    return multiply(value, factor)


def reduction_axes(axis, ndim, op_name, operand_type) -> tuple:
    """`axis` (None = every axis, an int, or a tuple of ints, negative allowed) as a sorted tuple.

    Example:
        >>> reduction_axes((-1, 0), 3, "sum", "float64[?,?,?]")
        (0, 2)
    """
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted(normalize_axes(axis, ndim, op_name, operand_type)))


_TAKE_AXIS_0_OF_SCALARS = frozenset({"sum", "prod", "max", "min", "all", "any", "argmax", "argmin"})


def _scalar_axis(kind, x, axis):
    """None for an int axis 0 or -1 of a 0-d `x`, which NumPy's ufunc reductions and argmax/argmin take
    as reducing nothing (`np.sum(np.array(2.5), axis=0)` is 2.5); else `axis`."""
    if x.ndim == 0 and kind in _TAKE_AXIS_0_OF_SCALARS and isinstance(axis, (int, np.integer)) and axis in (0, -1):
        return None
    return axis


def _reduce(kind, x, axis, keepdims, dtype=None, ddof=0):
    x = as_variable(x)
    axes = reduction_axes(_scalar_axis(kind, x, axis), x.ndim, kind, x.type)
    if dtype is not None:
        dtype = as_dtype(dtype, kind).name
    if isinstance(ddof, (bool, np.bool_)) or not isinstance(ddof, (int, float, np.integer, np.floating)):
        raise TypeError(f"{kind}: ddof must be a number, got {ddof!r}")
    return Reduce(kind, axes, keepdims, dtype, ddof)(x)


def _reduce_to_one_axis(kind, x, axis, keepdims):
    """argmax or argmin over one axis, all axes (None), or a tuple of axes: the index into those axes
    flattened in C order (as PyTensor gives; NumPy takes no tuple), computed over the axes moved last
    and merged."""
    x = as_variable(x)
    axis = _scalar_axis(kind, x, axis)
    if axis is None:
        return Reduce(kind, tuple(range(x.ndim)), keepdims)(x)
    if not isinstance(axis, (tuple, list)):
        return Reduce(kind, (normalize_axis(axis, x.ndim, kind, x.type),), keepdims)(x)
    axes = sorted(normalize_axes(axis, x.ndim, kind, x.type))
    if not axes:
        raise ValueError(f"{kind}: axis=() reduces no axis of operand {x.type}")
    if len(axes) == 1 or len(axes) == x.ndim:
        return Reduce(kind, tuple(axes) if len(axes) == x.ndim else (axes[0],), keepdims)(x)
    kept = [a for a in range(x.ndim) if a not in axes]
    sizes = shape_of(x)
    merged = reshape(transpose(x, kept + axes), [sizes[a] for a in kept] + [-1])
    result = Reduce(kind, (len(kept),), False)(merged)
    return expand_dims(result, tuple(axes)) if keepdims else result


def sum(x, axis=None, keepdims=False, dtype=None):
    """Sum over `axis` (None = all, int or tuple, negative allowed), like `np.sum`.

    Integer and bool inputs accumulate in int64 as in NumPy; `dtype` chooses the accumulator.

    Example:
        >>> import symgraph as sg
        >>> sg.sum([[1, 2], [3, 4]], axis=0).eval()
        array([4, 6])
        >>> sg.sum([True, True, False]).eval()
        array(2)
    """
    return _reduce("sum", x, axis, keepdims, dtype=dtype)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over `axis`, like `np.prod`. Its gradient and Hessian are exact also where some elements are zero.

    Example:
        >>> import symgraph as sg
        >>> sg.prod([[1.0, 2.0], [3.0, 4.0]], axis=-1).eval()
        array([ 2., 12.])
        >>> x = sg.vector("x")
        >>> sg.grad(sg.prod(x), x).eval({x: [0.0, 2.0, 3.0]})
        array([6., 0., 0.])
    """
    return _reduce("prod", x, axis, keepdims, dtype=dtype)


def mean(x, axis=None, keepdims=False, dtype=None):
    """Arithmetic mean over `axis`, like `np.mean` (integer inputs give float64).

    Example:
        >>> import symgraph as sg
        >>> sg.mean(sg.vector("n", dtype="int32")).dtype
        dtype('float64')
    """
    return _reduce("mean", x, axis, keepdims, dtype=dtype)


def max(x, axis=None, keepdims=False):
    """Maximum over `axis`, like `np.max`. Its gradient goes to the maximal elements; ties share it equally.

    Example:
        >>> import symgraph as sg
        >>> sg.max([[1.0, 3.0], [4.0, 2.0]], axis=1, keepdims=True).eval()
        array([[3.],
               [4.]])
        >>> x = sg.vector("x")
        >>> sg.grad(sg.max(x), x).eval({x: [1.0, 3.0, 3.0]})
        array([0. , 0.5, 0.5])
    """
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """Minimum over `axis`, like `np.min`. Its gradient goes to the minimal elements; ties share it equally.

    Example:
        >>> import symgraph as sg
        >>> sg.min([[1.0, 3.0], [4.0, 2.0]], axis=(0, 1)).eval()
        array(1.)
    """
    return _reduce("min", x, axis, keepdims)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along one `axis` (None = into the flattened array), like `np.argmax`; int64.
    A tuple of axes gives the index into those axes flattened in C order (as in PyTensor).

    Example:
        >>> import symgraph as sg
        >>> sg.argmax([[1, 5, 5], [7, 0, 1]], axis=-1).eval()
        array([1, 0])
    """
    return _reduce_to_one_axis("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum along one `axis` (None = into the flattened array), like `np.argmin`; int64.
    A tuple of axes gives the index into those axes flattened in C order (as in PyTensor).

    Example:
        >>> import symgraph as sg
        >>> sg.argmin([3.0, 1.0, 2.0]).eval()
        array(1)
    """
    return _reduce_to_one_axis("argmin", x, axis, keepdims)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over `axis` with `ddof` delta degrees of freedom, like `np.var`.

    Example:
        >>> import symgraph as sg
        >>> sg.var([[1.0, 2.0], [3.0, 6.0]], axis=0, ddof=1).eval()
        array([2., 8.])
    """
    return _reduce("var", x, axis, keepdims, ddof=ddof)


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation over `axis`, like `np.std`. Where the result is 0 its gradient is 0 (a subgradient).

    Example:
        >>> import symgraph as sg
        >>> sg.std([1.0, 3.0]).eval()
        array(1.)
    """
    return _reduce("std", x, axis, keepdims, ddof=ddof)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed stably (shifted by the maximum) like `scipy.special.logsumexp`.

    Rows of only -inf give -inf. The gradient is `softmax(x)` over `axis`.

    Example:
        >>> import symgraph as sg
        >>> float(sg.logsumexp(sg.constant([1000.0, 1000.0])).eval())
        1000.6931471805599
    """
    return _reduce("logsumexp", x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    """Whether every element over `axis` is true (non-zero), like `np.all`; bool.

    Example:
        >>> import symgraph as sg
        >>> sg.all([[True, False], [True, True]], axis=1).eval()
        array([False,  True])
    """
    return _reduce("all", x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    """Whether any element over `axis` is true (non-zero), like `np.any`; bool.

    Example:
        >>> import symgraph as sg
        >>> sg.any([0, 0, 3]).eval()
        array(True)
    """
    return _reduce("any", x, axis, keepdims)
