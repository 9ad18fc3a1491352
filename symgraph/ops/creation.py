"""Creation: `zeros ones full *_like arange eye`, with sizes that may be symbolic.

A shape is an int, a tuple mixing ints and symbolic int scalars (`(x.shape[0], 3)`), or a symbolic int
vector of static length (`x.shape`). Sizes known while building (Python ints, constants, static entries
of `x.shape`) become the static shape of the result; the others are given at run time by an input.

Example:
    >>> import symgraph as sg
    >>> x = sg.tensor("x", shape=(None, 3))
    >>> sg.zeros((x.shape[0], 2)).type
    TensorType(float64, (None, 2))
    >>> sg.ones_like(x).type
    TensorType(float64, (None, 3))
"""
import functools
import math

import numpy as np

from ..config import config
from ..errors import ShapeError
from ..graph.basic import Constant, Variable, as_variable, constant
from ..graph.op import Op
from ..graph.type import TensorType, as_dtype
from .elemwise import (
    cast, clip, eq, floor, gt, is_differentiable_dtype, lift_operands, logical_and, lt, maximum, mod, where,
)
from .shape import (
    _check_shape_input, _shape_argument, _shape_text, broadcast_to, concatenate, moveaxis, normalize_axis, reshape, static_int,
)
from .shape_of import shape_of

__all__ = ["zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "arange", "eye", "linspace", "meshgrid", "pad"]


class Full(Op):
    """`np.full`: a new array of `dtype` whose entries are the fill value (broadcast to the shape).

    `shape` holds ints, or None for sizes given at run time by the optional int64 shape-vector input.
    """

    __props__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = dtype

    @property
    def name(self):
        return "full"

    def output_types(self, value, *shape_types):
        _check_shape_input(self, self.shape, shape_types)
        padded = (1,) * (len(self.shape) - value.ndim) + value.shape
        if value.ndim > len(self.shape) or any(
            v not in (None, 1) and s is not None and v != s for v, s in zip(padded, self.shape)
        ):
            raise ShapeError(f"full: fill value of type {value} does not broadcast to shape {_shape_text(self.shape)}")
        return [TensorType(self.dtype, self.shape)]

    def perform(self, value, shape=None):
        return np.full(self.shape if shape is None else tuple(shape), value, dtype=self.dtype)

    def _carries_gradient(self, value):
        return is_differentiable_dtype(value.dtype) and is_differentiable_dtype(self.dtype)

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        value_grad = gz if gz is not None and self._carries_gradient(inputs[0]) else None
        return [value_grad] + [None] * (len(inputs) - 1)

    def pushforward(self, inputs, outputs, tangents):
        tangent = tangents[0]
        if tangent is None or not self._carries_gradient(inputs[0]):
            return [None]
        return [self(tangent, *inputs[1:])]


def is_zeros(var):
    """Is `var` made by `full` from a constant zero (as the zero gradients of unused outputs are)?"""
    node = var.owner
    return (node is not None and isinstance(node.op, Full) and isinstance(node.inputs[0], Constant)
            and not node.inputs[0].data.any())


def _full(shape, value, dtype, op_name):
    entries, shape_input = _shape_argument(shape, op_name)
    if any(size is not None and size < 0 for size in entries):
        raise ValueError(f"{op_name}: negative dimensions are not allowed, got shape {_shape_text(entries)}")
    return Full(entries, as_dtype(dtype, op_name).name)(value, *([] if shape_input is None else [shape_input]))


def zeros(shape, dtype=None):
    """A tensor of zeros of `shape` (ints and/or symbolic sizes); `dtype` defaults to `sg.config.floatX`.

    Example:
        >>> import symgraph as sg
        >>> sg.zeros((2, 3), dtype="int32").type
        TensorType(int32, (2, 3))
    """
    dtype = as_dtype(dtype or config.floatX, "zeros")
    return _full(shape, constant(0, dtype=dtype), dtype, "zeros")


def ones(shape, dtype=None):
    """A tensor of ones of `shape` (ints and/or symbolic sizes); `dtype` defaults to `sg.config.floatX`.

    Example:
        >>> import symgraph as sg
        >>> n = sg.scalar("n", dtype="int64")
        >>> sg.ones(n).type
        TensorType(float64, (None,))
    """
    dtype = as_dtype(dtype or config.floatX, "ones")
    return _full(shape, constant(1, dtype=dtype), dtype, "ones")


def full(shape, fill_value, dtype=None):
    """A tensor of `shape` filled with `fill_value` (a number, array or symbolic tensor broadcastable to
    `shape`), like `np.full`; `dtype` defaults to the fill value's dtype.

    Example:
        >>> import symgraph as sg
        >>> sg.full((2, 2), 7).dtype
        dtype('int64')
    """
    value = as_variable(fill_value)
    _check_python_int_fits(fill_value, dtype or value.dtype, "full")
    return _full(shape, value, dtype or value.dtype, "full")


def _check_python_int_fits(fill_value, dtype, op_name):
    """OverflowError, as NumPy 2 raises, for a Python int fill value outside an integer `dtype`'s range
    (NumPy casts arrays and NumPy scalars as they are, so only Python ints are checked)."""
    dtype = as_dtype(dtype, op_name)
    if type(fill_value) is int and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not info.min <= fill_value <= info.max:
            raise OverflowError(f"{op_name}: Python integer {fill_value} out of bounds for {dtype}")


def zeros_like(x, dtype=None):
    """Zeros with the shape of `x` (known at build or at run time) and its dtype unless `dtype` is given.

    Example:
        >>> import symgraph as sg
        >>> sg.zeros_like(sg.matrix("m", dtype="int32")).type
        TensorType(int32, (None, None))
    """
    x = as_variable(x)
    dtype = as_dtype(dtype or x.dtype, "zeros_like")
    return _full(shape_of(x), constant(0, dtype=dtype), dtype, "zeros_like")


def ones_like(x, dtype=None):
    """Ones with the shape of `x` and its dtype unless `dtype` is given.

    Example:
        >>> import symgraph as sg
        >>> sg.ones_like(sg.tensor("t", shape=(2, None))).type
        TensorType(float64, (2, None))
    """
    x = as_variable(x)
    dtype = as_dtype(dtype or x.dtype, "ones_like")
    return _full(shape_of(x), constant(1, dtype=dtype), dtype, "ones_like")


def full_like(x, fill_value, dtype=None):
    """`fill_value` (cast to x's dtype unless `dtype` is given) in the shape of `x`, like `np.full_like`.

    Example:
        >>> import symgraph as sg
        >>> sg.full_like(sg.vector("v", dtype="int64"), 2.7).dtype
        dtype('int64')
    """
    x = as_variable(x)
    _check_python_int_fits(fill_value, dtype or x.dtype, "full_like")
    return _full(shape_of(x), as_variable(fill_value), dtype or x.dtype, "full_like")


def _static_number(var):
    """The value of a 0-d variable when it is known while building (constants, static sizes), else None."""
    if isinstance(var, Constant):
        return var.data.item()
    if var.dtype.kind in "iu":
        return static_int(var)
    return None


def _scalar_argument(value, role, op_name, kinds):
    var = as_variable(value)
    if var.ndim != 0 or var.dtype.kind not in kinds:
        raise TypeError(f"{op_name}: {role} must be a 0-d number of kind {kinds!r}, got {var.type}")
    return var


def arange_length(start, stop, step) -> int:
    """How many values `np.arange(start, stop, step)` yields (NumPy's formula: ceil((stop - start) / step)).

    Example:
        >>> arange_length(0, 10, 3)
        4
    """
    if all(isinstance(v, (int, np.integer)) for v in (start, stop, step)):
        length = -((start - stop) // step)
    else:
        length = math.ceil((stop - start) / step)
    return max(int(length), 0)


@functools.lru_cache(maxsize=None)
def _arange_dtype(*dtypes) -> np.dtype:
    start, stop, step = (np.array(v, dtype=d) for v, d in zip((0, 1, 1), dtypes))
    return np.arange(start, stop, step).dtype


class Arange(Op):
    """`np.arange(start, stop, step, dtype)` on three 0-d inputs; `length` is the static size or None."""

    __props__ = ("dtype", "length")

    def __init__(self, dtype, length=None):
        self.dtype = dtype
        self.length = length

    @property
    def name(self):
        return "arange"

    def output_types(self, start, stop, step):
        return [TensorType(self.dtype, (self.length,))]

    def perform(self, start, stop, step):
        return np.arange(start, stop, step, dtype=self.dtype)

    def pullback(self, inputs, outputs, output_grads):
        return [None, None, None]

    def pushforward(self, inputs, outputs, tangents):
        return [None]


def arange(start=None, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop), like `np.arange`; the bounds and step may be symbolic scalars.

    `arange(n)` counts from 0. The dtype is NumPy's for the arguments unless `dtype` is given; the length
    is static when all three arguments are known while building.

    Example:
        >>> import symgraph as sg
        >>> sg.arange(5).type
        TensorType(int64, (5,))
        >>> sg.arange(sg.scalar("n", dtype="int64")).type
        TensorType(int64, (None,))
    """
    if start is None and stop is None:
        raise TypeError("arange: stop must be given")
    if stop is None:
        start, stop = 0, start
    if start is None:
        start = 0
    if step is None:
        step = 1
    operands = [_scalar_argument(v, role, "arange", "biuf") for v, role in zip((start, stop, step), ("start", "stop", "step"))]
    if dtype is None:
        dtype = _arange_dtype(*(v.dtype for v in operands))
    static = [_static_number(v) for v in operands]
    if static[2] == 0:
        raise ValueError("arange: step must not be zero")
    length = None if None in static else arange_length(*static)
    return Arange(as_dtype(dtype, "arange").name, length)(*operands)


class Eye(Op):
    """`np.eye(n, m, k, dtype)` on three 0-d int inputs; `shape` holds the static sizes (int or None)."""

    __props__ = ("dtype", "shape")

    def __init__(self, dtype, shape):
        self.dtype = dtype
        self.shape = tuple(shape)

    @property
    def name(self):
        return "eye"

    def output_types(self, rows, columns, diagonal):
        return [TensorType(self.dtype, self.shape)]

    def perform(self, rows, columns, diagonal):
        return np.eye(int(rows), int(columns), int(diagonal), dtype=self.dtype)

    def pullback(self, inputs, outputs, output_grads):
        return [None, None, None]

    def pushforward(self, inputs, outputs, tangents):
        return [None]


def eye(N, M=None, k=0, dtype=None):
    """A 2-d tensor with ones on diagonal `k` and zeros elsewhere, like `np.eye`; N, M, k may be symbolic.

    `dtype` defaults to `sg.config.floatX`.

    Example:
        >>> import symgraph as sg
        >>> sg.eye(3, k=1).type
        TensorType(float64, (3, 3))
    """
    rows = _scalar_argument(N, "N", "eye", "iu")
    columns = rows if M is None else _scalar_argument(M, "M", "eye", "iu")
    diagonal = _scalar_argument(k, "k", "eye", "iu")
    shape = tuple(_static_number(v) for v in (rows, columns))
    if any(size is not None and size < 0 for size in shape):
        raise ValueError(f"eye: negative dimensions are not allowed, got N={N!r}, M={M!r}")
    return Eye(as_dtype(dtype or config.floatX, "eye").name, shape)(rows, columns, diagonal)


def _sample_count(num, op_name):
    """`num` as an int when known while building (checked non-negative), else a 0-d integer variable."""
    if isinstance(num, (int, np.integer)) and not isinstance(num, (bool, np.bool_)):
        if num < 0:
            raise ValueError(f"{op_name}: number of samples, {num}, must be non-negative")
        return int(num)
    count = _scalar_argument(num, "num", op_name, "iu")
    known = _static_number(count)
    return count if known is None else _sample_count(known, op_name)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced samples from `start` to `stop` (included unless `endpoint=False`), like
    `np.linspace`, with NumPy's formula so that the values agree to the last bit. `start` and `stop` may be
    symbolic and broadcast against each other (the samples then run along `axis`); `num` is an int or a
    symbolic int scalar. With `retstep`, returns `(samples, step)`.

    Example:
        >>> import symgraph as sg
        >>> sg.linspace(0.0, 1.0, 5).eval()
        array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    count = _sample_count(num, "linspace")
    start, stop = lift_operands((start, stop))
    dtype_float = np.result_type(start.dtype, stop.dtype, float(1))
    start, stop = cast(start, dtype_float), cast(stop, dtype_float)
    divisions = (count - 1 if endpoint else count)
    delta = stop - start
    if isinstance(divisions, int):
        step = delta / divisions if divisions > 0 else delta * np.nan
        scale = step if divisions > 0 else delta
    else:
        positive = gt(divisions, 0)
        step = where(positive, delta / cast(where(positive, divisions, 1), dtype_float), np.nan)
        scale = where(positive, step, delta)
    steps = cast(arange(count), dtype_float)
    steps = reshape(steps, (count,) + (1,) * delta.ndim)
    samples = steps * scale + start
    if endpoint:
        last = logical_and(eq(arange(count), count - 1), gt(count, 1))
        samples = where(reshape(last, (count,) + (1,) * delta.ndim), stop, samples)
    if dtype is not None:
        target = as_dtype(dtype, "linspace")
        samples = cast(floor(samples) if target.kind in "iu" else samples, target)
    samples = moveaxis(samples, 0, normalize_axis(axis, samples.ndim, "linspace", samples.type))
    return (samples, step) if retstep else samples


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate tensors from 1-d coordinate vectors, like `np.meshgrid`: a tuple with one tensor per
    input. `indexing="xy"` (Cartesian) swaps the first two axes of the outputs, `"ij"` (matrix) does not;
    `sparse=True` leaves each output with size 1 along the other axes. `copy` is accepted for NumPy's
    signature (results are always new values).

    Example:
        >>> import symgraph as sg
        >>> x, y = sg.meshgrid([1, 2, 3], [10, 20])
        >>> x.eval()
        array([[1, 2, 3],
               [1, 2, 3]])
        >>> y.eval()
        array([[10, 10, 10],
               [20, 20, 20]])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    vectors = [reshape(as_variable(x), (-1,)) for x in xi]
    ndim = len(vectors)
    axes = list(range(ndim))
    if indexing == "xy" and ndim > 1:
        axes[0], axes[1] = 1, 0
    sizes = [None] * ndim
    for vector, axis in zip(vectors, axes):
        sizes[axis] = vector.type.shape[0] if vector.type.shape[0] is not None else shape_of(vector)[0]
    outputs = []
    for vector, axis in zip(vectors, axes):
        shaped = reshape(vector, tuple(-1 if a == axis else 1 for a in range(ndim)))
        outputs.append(shaped if sparse else broadcast_to(shaped, tuple(sizes)))
    return tuple(outputs)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_pairs(pad_width, ndim):
    """pad_width as one (before, after) pair of ints per axis, broadcast as NumPy does."""
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must be of integral type, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(widths, (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit an operand of rank {ndim}: give an int, "
                         "a (before, after) pair or one pair per axis") from None
    if (pairs < 0).any():
        raise ValueError(f"pad: pad_width {pad_width!r} contains negative values")
    return [(int(before), int(after)) for before, after in pairs]


def _pad_source_indices(size, before, after, mode):
    """For each position of the padded axis, the index of the element of the axis that it copies."""
    if isinstance(size, int):
        return np.pad(np.arange(size), (before, after), mode=mode)
    position = arange(size + after + before) - before
    if mode == "wrap":
        return mod(position, maximum(size, 1))
    if mode == "edge":
        return clip(position, 0, size - 1)
    if mode == "reflect":
        period = maximum(2 * (size - 1), 1)
        folded = mod(position, period)
        return where(eq(size, 1), 0, where(lt(folded, size), folded, period - folded))
    period = maximum(2 * size, 1)  # symmetric
    folded = mod(position, period)
    return where(lt(folded, size), folded, period - 1 - folded)


def _constant_values(constant_values, ndim):
    if isinstance(constant_values, Variable):
        if constant_values.ndim != 0:
            raise ValueError(f"pad: a symbolic constant value must be 0-d, got {constant_values.type}")
        return [(constant_values, constant_values)] * ndim
    values = np.asarray(constant_values)
    try:
        pairs = np.broadcast_to(values, (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: constant_values {constant_values!r} does not fit an operand of rank {ndim}") from None
    return [tuple(pair) for pair in pairs]


def pad(array, pad_width, mode="constant", constant_values=0):
    """`array` padded along each axis, like `np.pad`: `pad_width` is an int, a (before, after) pair or one
    pair per axis. `mode` is `"constant"` (the values `constant_values`: a number, pairs as in NumPy, or a
    0-d variable, which then receives a gradient), `"edge"` (the edge values repeated), `"reflect"` (mirrored
    without the edge), `"symmetric"` (mirrored with the edge) or `"wrap"` (the other end); widths larger
    than the axis repeat the pattern as NumPy does.

    Example:
        >>> import symgraph as sg
        >>> sg.pad([1, 2, 3], (2, 1), mode="reflect").eval()
        array([3, 2, 1, 2, 3, 2])
        >>> sg.pad([[1, 2]], 1, constant_values=9).eval()
        array([[9, 9, 9, 9],
               [9, 1, 2, 9],
               [9, 9, 9, 9]])
    """
    x = as_variable(array)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; use one of {', '.join(_PAD_MODES)}")
    pairs = _pad_pairs(pad_width, x.ndim)
    if mode == "constant":
        values = _constant_values(constant_values, x.ndim)
    for axis, (before, after) in enumerate(pairs):
        if before == after == 0:
            continue
        size = x.type.shape[axis] if x.type.shape[axis] is not None else shape_of(x)[axis]
        if mode == "constant":
            parts = [x]
            for width, value, at_end in ((before, values[axis][0], False), (after, values[axis][1], True)):
                if width:
                    sizes = [s if s is not None else shape_of(x)[a] for a, s in enumerate(x.type.shape)]
                    sizes[axis] = width
                    block = full(tuple(sizes), cast(as_variable(value), x.dtype))
                    parts = parts + [block] if at_end else [block] + parts
            x = concatenate(parts, axis)
            continue
        if size == 0:
            raise ValueError(f"pad: cannot extend empty axis {axis} of operand {x.type} with mode {mode!r}")
        indices = _pad_source_indices(size, before, after, mode)
        x = x[(slice(None),) * axis + (indices,)]
    return x
