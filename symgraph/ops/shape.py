"""Shape operations: reshape, broadcast_to, transpose/expand_dims/squeeze, concatenate and stack.

Axis permutations, new axes and squeezed axes are one op (`DimShuffle`), named after what it does
("transpose", "expand_dims", "squeeze"), so that gradients of each are the same op again.
Sizes may be symbolic: `reshape(x, (n, -1))` with `n` a symbolic int, or `broadcast_to(x, y.shape)`.
Static sizes are used wherever they are known, and certain contradictions raise `ShapeError` while the
graph is built.
Ops whose output may share memory with an input say so in `view_map` (output index -> input index),
so that buffer-reuse rewrites never write into a view of a caller's array.

Example:
    >>> import symgraph as sg
    >>> x = sg.tensor("x", shape=(2, 3))
    >>> sg.reshape(x, (3, -1)).type
    TensorType(float64, (3, 2))
    >>> x.T.owner.op.name
    'transpose'
"""
import builtins
import math
from functools import cached_property

import numpy as np

from ..errors import ShapeError
from ..graph.basic import Constant, Variable, as_variable, constant
from ..graph.op import Op
from ..graph.type import TensorType
from .elemwise import add, cast, floor_divide, is_differentiable_dtype, maximum, minimum, mod, neq, subtract
from .indexing import getitem, static_int
from .shape_of import Shape, shape_of

__all__ = [
    "reshape",
    "flatten",
    "expand_dims",
    "squeeze",
    "transpose",
    "swapaxes",
    "moveaxis",
    "ravel",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "flip",
    "roll",
    "tile",
    "repeat",
    "split",
    "array_split",
    "diff",
    "broadcast_to",
    "concatenate",
    "stack",
]

NEW_AXIS = "x"
"""An entry of a DimShuffle order that inserts a new axis of size 1."""


def normalize_axis(axis, ndim, op_name, operand_type):
    """`axis` in [0, ndim), NumPy style (negative counts from the end).

    Raises TypeError for a non-integer axis and `np.exceptions.AxisError` (a ValueError and an
    IndexError, as in NumPy) naming the op and the operand type when it is out of range.

    Example:
        >>> normalize_axis(-1, 3, "sum", "float64[?,?,?]")
        2
    """
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op_name}: an axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"{op_name}: axis {axis} is out of bounds for operand {operand_type} of rank {ndim}"
        )
    return int(axis) % ndim


def _axis_tuple(axes, op_name):
    if _is_int(axes):
        return (axes,)
    try:
        return tuple(axes)
    except TypeError:
        raise TypeError(f"{op_name}: an axis must be an int or a tuple of ints, got {axes!r}") from None


def normalize_axes(axes, ndim, op_name, operand_type):
    """A tuple of distinct axes in [0, ndim) from an int or a sequence of ints.

    Example:
        >>> normalize_axes((0, -1), 3, "sum", "float64[?,?,?]")
        (0, 2)
    """
    axes = _axis_tuple(axes, op_name)
    result = tuple(normalize_axis(a, ndim, op_name, operand_type) for a in axes)
    if len(set(result)) != len(result):
        raise ValueError(f"{op_name}: repeated axis in {axes!r} for operand {operand_type}")
    return result


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def static_ints(vector):
    """The entries of a 1-d integer variable of static length: int where known while building, else None.

    Example:
        >>> import symgraph as sg
        >>> static_ints(sg.tensor("y", shape=(4, None)).shape)
        (4, None)
    """
    if isinstance(vector, Constant):
        return tuple(int(v) for v in vector.data)
    owner = vector.owner
    if owner is not None and isinstance(owner.op, Shape):
        return owner.inputs[0].type.shape
    if owner is not None and isinstance(owner.op, Stack):
        return tuple(static_int(v) for v in owner.inputs)
    return (None,) * vector.type.shape[0]


def _as_int_scalar(value, op_name):
    if _is_int(value):
        return int(value)
    if isinstance(value, Variable) and value.ndim == 0 and value.dtype.kind in "iu":
        known = static_int(value)
        return value if known is None else known
    raise TypeError(f"{op_name}: a size must be an int or a 0-d integer variable, got {value!r}")


def _shape_argument(shape, op_name):
    """(static entries, int64 vector giving them at run time or None) from a user's shape argument.

    `shape` is an int, a sequence of ints and 0-d integer variables, or a 1-d integer variable of
    static length (such as `y.shape`). Entries unknown while building are None.
    """
    if isinstance(shape, Variable) and shape.ndim == 1:
        if shape.dtype.kind not in "iu":
            raise TypeError(f"{op_name}: the shape must have an integer dtype, got {shape.type}")
        if shape.type.shape[0] is None:
            raise TypeError(f"{op_name}: a shape vector needs a static length, got {shape.type}")
        entries = static_ints(shape)
        return entries, (None if None not in entries else cast(shape, "int64"))
    if isinstance(shape, Variable) and shape.ndim != 0:
        raise TypeError(f"{op_name}: the shape must be a 1-d integer vector, got {shape.type}")
    if _is_int(shape) or isinstance(shape, Variable):
        shape = (shape,)
    elif not isinstance(shape, (tuple, list, np.ndarray)):
        raise TypeError(f"{op_name}: the shape must be an int or a tuple of ints, got {shape!r}")
    sizes = [_as_int_scalar(s, op_name) for s in shape]
    entries = tuple(s if isinstance(s, int) else None for s in sizes)
    if None not in entries:
        return entries, None
    return entries, stack([cast(s, "int64") if isinstance(s, Variable) else constant(s, dtype="int64") for s in sizes])


def _shape_text(entries):
    return "(" + ", ".join("?" if s is None else str(s) for s in entries) + ("," if len(entries) == 1 else "") + ")"


def _check_shape_input(op, entries, shape_types):
    """The optional shape input exists exactly when some entry is unknown, and is an int vector of the right length."""
    if (None in entries) != bool(shape_types):
        raise TypeError(f"{op.name}: expected {'a' if None in entries else 'no'} shape input for shape {_shape_text(entries)}")
    for t in shape_types:
        if t.ndim != 1 or t.dtype.kind not in "iu" or t.shape[0] != len(entries):
            raise TypeError(f"{op.name}: the shape input must be an int vector of length {len(entries)}, got {t}")


class Reshape(Op):
    """`np.reshape` to `shape`: entries are ints (one may be -1) or None when given at run time by an input."""

    __props__ = ("shape",)
    view_map = {0: 0}

    def __init__(self, shape):
        self.shape = tuple(shape)

    @property
    def name(self):
        return "reshape"

    def output_types(self, x, *shape_types):
        _check_shape_input(self, self.shape, shape_types)
        return [TensorType(x.dtype, self._static_output_shape(x))]

    def _static_output_shape(self, x):
        def contradiction():
            return ShapeError(f"reshape: cannot reshape operand {x} to shape {_shape_text(self.shape)}")

        known_product = math.prod(s for s in self.shape if s is not None and s != -1)
        free = [i for i, s in enumerate(self.shape) if s is None or s == -1]
        if -1 in self.shape and known_product == 0:
            raise contradiction()
        if None in x.shape:
            return tuple(None if s == -1 else s for s in self.shape)
        size = math.prod(x.shape)
        if (known_product == 0 and size != 0) or (known_product and size % known_product):
            raise contradiction()
        if len(free) == 1 and known_product:
            return tuple(size // known_product if i in free else s for i, s in enumerate(self.shape))
        if not free and size != known_product:
            raise contradiction()
        return tuple(None if s == -1 else s for s in self.shape)

    def perform(self, x, shape=None):
        return np.reshape(x, self.shape if shape is None else shape)

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        x = inputs[0]
        grads = [None] * len(inputs)
        if gz is not None and is_differentiable_dtype(x.dtype):
            grads[0] = reshape(gz, shape_of(x))
        return grads

    def pushforward(self, inputs, outputs, tangents):
        tangent = tangents[0]
        return [None if tangent is None else self(tangent, *inputs[1:])]


def reshape(x, shape):
    """Give `x` a new shape with the same elements in C order, like `np.reshape`.

    `shape` is an int, a tuple of ints and 0-d integer variables (one entry may be -1), or a 1-d
    integer variable such as `y.shape`.

    Example:
        >>> import symgraph as sg
        >>> x = sg.tensor("x", shape=(2, 6))
        >>> sg.reshape(x, (3, -1)).type
        TensorType(float64, (3, 4))
    """
    x = as_variable(x)
    entries, shape_input = _shape_argument(shape, "reshape")
    for s in entries:
        if s is not None and s < -1:
            raise ValueError(f"reshape: negative size {s} in shape {_shape_text(entries)} (only -1 is allowed)")
    if entries.count(-1) > 1:
        raise ValueError(f"reshape: can only specify one unknown (-1) size, got {_shape_text(entries)}")
    if shape_input is None and entries == x.type.shape:
        return x
    return Reshape(entries)(x, *([] if shape_input is None else [shape_input]))


def flatten(x):
    """A 1-d copy of `x`'s elements in C order, like `ndarray.flatten`.

    Example:
        >>> import symgraph as sg
        >>> sg.flatten(sg.tensor("x", shape=(2, 3))).type
        TensorType(float64, (6,))
    """
    return reshape(x, (-1,))


class BroadcastTo(Op):
    """`np.broadcast_to` to `shape`: entries are ints or None when given at run time by an input."""

    __props__ = ("shape",)
    view_map = {0: 0}

    def __init__(self, shape):
        self.shape = tuple(shape)

    @property
    def name(self):
        return "broadcast_to"

    def output_types(self, x, *shape_types):
        _check_shape_input(self, self.shape, shape_types)
        if x.ndim > len(self.shape):
            raise ShapeError(f"broadcast_to: operand {x} has more dimensions than the shape {_shape_text(self.shape)}")
        padded = (1,) * (len(self.shape) - x.ndim) + x.shape
        result = []
        for size, target in zip(padded, self.shape):
            if size is not None and size != 1 and target is not None and size != target:
                raise ShapeError(f"broadcast_to: cannot broadcast operand {x} to shape {_shape_text(self.shape)}")
            result.append(target if target is not None or size == 1 else size)
        return [TensorType(x.dtype, result)]

    def perform(self, x, shape=None):
        return np.broadcast_to(x, self.shape if shape is None else shape)

    def pullback(self, inputs, outputs, output_grads):
        # The autodiff engine sums gradients back to each input's shape.
        return [output_grads[0] if is_differentiable_dtype(inputs[0].dtype) else None] + [None] * (len(inputs) - 1)

    def pushforward(self, inputs, outputs, tangents):
        tangent = tangents[0]
        return [None if tangent is None else self(tangent, *inputs[1:])]


def broadcast_to(x, shape):
    """Broadcast `x` to `shape` (ints and/or symbolic sizes), like `np.broadcast_to`.

    Example:
        >>> import symgraph as sg
        >>> sg.broadcast_to(sg.vector("v", shape=(3,)), (2, 3)).type
        TensorType(float64, (2, 3))
    """
    x = as_variable(x)
    entries, shape_input = _shape_argument(shape, "broadcast_to")
    for s in entries:
        if s is not None and s < 0:
            raise ValueError(f"broadcast_to: negative size {s} in shape {_shape_text(entries)}")
    if shape_input is None and entries == x.type.shape:
        return x
    return BroadcastTo(entries)(x, *([] if shape_input is None else [shape_input]))


class EnsureShape(Op):
    """Its first input unchanged, once a run-time check has found that its shape is `shape` exactly.

    `shape` holds ints, or None for sizes given at run time by the optional int64 shape-vector input;
    the first `batch_ndim` axes are not checked (they hold a batch, see `sg.vmap`). `what` names the value
    in the error. The output's type has the static sizes of both, so later nodes may rely on them.
    With `checks_target`, the value checked is the one whose shape the vector gives (see `pullback`).
    """

    __props__ = ("shape", "what", "batch_ndim", "checks_target")
    view_map = {0: 0}

    def __init__(self, shape, what, batch_ndim=0, checks_target=False):
        self.shape = tuple(shape)
        self.what = what
        self.batch_ndim = batch_ndim
        self.checks_target = checks_target

    @property
    def name(self):
        return "ensure_shape"

    def __str__(self):
        return f"ensure_shape{{{_shape_text(self.shape)}}}"

    __repr__ = __str__

    def output_types(self, x, *shape_types):
        _check_shape_input(self, self.shape, shape_types)
        core = x.shape[self.batch_ndim:]
        if len(core) != len(self.shape) or any(a is not None and b is not None and a != b
                                               for a, b in zip(core, self.shape)):
            raise ShapeError(f"{self.what} has type {x}, expected shape {_shape_text(self.shape)}")
        merged = tuple(b if b is not None else a for a, b in zip(core, self.shape))
        return [TensorType(x.dtype, x.shape[: self.batch_ndim] + merged)]

    def perform(self, x, shape=None):
        expected = self.shape if shape is None else tuple(int(size) for size in shape)
        actual = np.shape(x)[self.batch_ndim:]
        if actual != expected:
            if self.checks_target:
                actual, expected = expected, actual
            raise ValueError(f"{self.what} has shape {actual}, expected {expected}")
        return x

    def pullback(self, inputs, outputs, output_grads):
        x, gz = inputs[0], output_grads[0]
        grads = [None] * len(inputs)
        if gz is None or not is_differentiable_dtype(x.dtype):
            return grads
        # gz has the checked shape. A gradient may not need the forward value (that of 2 * x), so the check
        # is made again here: gz against the run-time shape of x, reported as a wrong shape of x.
        core = x.type.shape[self.batch_ndim:]
        if None not in core:
            grads[0] = gz
        else:
            target = shape_of(x)[self.batch_ndim:] if self.batch_ndim else shape_of(x)
            grads[0] = EnsureShape(core, self.what, self.batch_ndim, not self.checks_target)(gz, target)
        return grads

    def pushforward(self, inputs, outputs, tangents):
        tangent = tangents[0]
        return [None if tangent is None else self(tangent, *inputs[1:])]


def ensure_shape(x, shape, what):
    """`x`, checked to have the shape `shape` (ints and/or symbolic sizes, or a shape vector such as
    `y.shape`): while building where static sizes decide (ShapeError), else at run time (ValueError).
    `what` names `x` in the error. Returns `x` itself when its static shape is `shape` already.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> ensure_shape(x, (3,), "x").type
        TensorType(float64, (3,))
        >>> ensure_shape(x, (3,), "the argument x").eval({x: [1.0, 2.0]})
        Traceback (most recent call last):
        ...
        ValueError: the argument x has shape (2,), expected (3,) ...
    """
    x = as_variable(x)
    entries, shape_input = _shape_argument(shape, "ensure_shape")
    if shape_input is None and entries == x.type.shape:
        return x
    return EnsureShape(entries, what)(x, *([] if shape_input is None else [shape_input]))


class DimShuffle(Op):
    """Permute, insert and drop axes in one step.

    `order` lists, for each output axis, the input axis it takes or NEW_AXIS ("x") for a new axis
    of size 1; input axes missing from `order` are squeezed away (their size must be 1).
    """

    __props__ = ("input_ndim", "order")
    view_map = {0: 0}

    def __init__(self, input_ndim, order):
        self.input_ndim = input_ndim
        self.order = tuple(order)

    @cached_property
    def dropped(self):
        """Input axes squeezed away."""
        return tuple(axis for axis in range(self.input_ndim) if axis not in self.order)

    @cached_property
    def kept(self):
        """Input axes that remain, in output order."""
        return tuple(axis for axis in self.order if axis != NEW_AXIS)

    @cached_property
    def permutation(self):
        """The transposition of the kept axes, numbered after squeezing."""
        ranks = sorted(self.kept)
        return tuple(ranks.index(axis) for axis in self.kept)

    @cached_property
    def new_axes(self):
        """Output positions of the new axes."""
        return tuple(i for i, axis in enumerate(self.order) if axis == NEW_AXIS)

    @property
    def name(self):
        reordered = list(self.kept) != sorted(self.kept)
        if reordered and not self.new_axes and not self.dropped:
            return "transpose"
        if not reordered and not self.dropped:
            return "expand_dims"
        if not reordered and not self.new_axes:
            return "squeeze"
        return "dimshuffle"

    def output_types(self, x):
        if x.ndim != self.input_ndim:
            raise ShapeError(f"{self.name}: expected an operand of rank {self.input_ndim}, got {x}")
        for axis in self.dropped:
            if x.shape[axis] not in (1, None):
                raise ShapeError(f"squeeze: cannot squeeze axis {axis} of size {x.shape[axis]} of operand {x}")
        return [TensorType(x.dtype, tuple(1 if axis == NEW_AXIS else x.shape[axis] for axis in self.order))]

    def perform(self, x):
        if self.dropped:
            x = np.squeeze(x, axis=self.dropped)
        if self.permutation != tuple(range(len(self.permutation))):
            x = np.transpose(x, self.permutation)
        if self.new_axes:
            x = np.expand_dims(x, self.new_axes)
        return x

    def inverse(self):
        """The DimShuffle mapping this op's output back to its input's layout."""
        return DimShuffle(len(self.order), [self.order.index(a) if a in self.order else NEW_AXIS for a in range(self.input_ndim)])

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if gz is None or not is_differentiable_dtype(inputs[0].dtype):
            return [None]
        return [self.inverse()(gz)]

    def pushforward(self, inputs, outputs, tangents):
        (tangent,) = tangents
        return [None if tangent is None else self(tangent)]


def _dimshuffle(x, order):
    order = tuple(order)
    if order == tuple(range(x.ndim)):
        return x
    return DimShuffle(x.ndim, order)(x)


def transpose(x, axes=None):
    """Permute the axes of `x` (reverse them when `axes` is None), like `np.transpose`; also `x.T`.

    Example:
        >>> import symgraph as sg
        >>> sg.transpose(sg.tensor("x", shape=(2, 3, 4)), (1, 0, 2)).type
        TensorType(float64, (3, 2, 4))
    """
    x = as_variable(x)
    if axes is None:
        return _dimshuffle(x, reversed(range(x.ndim)))
    permutation = normalize_axes(axes, x.ndim, "transpose", x.type)
    if len(permutation) != x.ndim:
        raise ValueError(f"transpose: axes {axes!r} don't match operand {x.type} of rank {x.ndim}")
    return _dimshuffle(x, permutation)


def swapaxes(x, axis1, axis2):
    """Interchange two axes of `x`, like `np.swapaxes`.

    Example:
        >>> import symgraph as sg
        >>> sg.swapaxes(sg.tensor("x", shape=(2, 3, 4)), 0, -1).type
        TensorType(float64, (4, 3, 2))
    """
    x = as_variable(x)
    a = normalize_axis(axis1, x.ndim, "swapaxes", x.type)
    b = normalize_axis(axis2, x.ndim, "swapaxes", x.type)
    order = list(range(x.ndim))
    order[a], order[b] = order[b], order[a]
    return _dimshuffle(x, order)


def moveaxis(x, source, destination):
    """Move axes of `x` from positions `source` to `destination` (ints or sequences of equal length), the
    other axes keeping their order, like `np.moveaxis`.

    Example:
        >>> import symgraph as sg
        >>> sg.moveaxis(sg.tensor("x", shape=(2, 3, 4)), 0, -1).type
        TensorType(float64, (3, 4, 2))
    """
    x = as_variable(x)
    sources = normalize_axes(source, x.ndim, "moveaxis", x.type)
    destinations = normalize_axes(destination, x.ndim, "moveaxis", x.type)
    if len(sources) != len(destinations):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} must have the same number of elements")
    order = [axis for axis in range(x.ndim) if axis not in sources]
    for position, axis in sorted(zip(destinations, sources)):
        order.insert(position, axis)
    return _dimshuffle(x, order)


def expand_dims(x, axis):
    """Insert axes of size 1 at positions `axis` (int or tuple) of the result, like `np.expand_dims`.

    Example:
        >>> import symgraph as sg
        >>> sg.expand_dims(sg.vector("v", shape=(3,)), (0, -1)).type
        TensorType(float64, (1, 3, 1))
    """
    x = as_variable(x)
    out_ndim = x.ndim + len(_axis_tuple(axis, "expand_dims"))
    new_positions = normalize_axes(axis, out_ndim, "expand_dims", x.type)
    remaining = iter(range(x.ndim))
    return _dimshuffle(x, [NEW_AXIS if i in new_positions else next(remaining) for i in range(out_ndim)])


def squeeze(x, axis=None):
    """Remove axes of size 1, like `np.squeeze`.

    With `axis=None`, the axes removed are those whose size is statically 1 (an axis of unknown size
    is kept, as its size is only known at run time). A given axis of static size other than 1 raises
    ShapeError; one of unknown size is checked at run time.

    Example:
        >>> import symgraph as sg
        >>> sg.squeeze(sg.tensor("x", shape=(1, 3, 1))).type
        TensorType(float64, (3,))
    """
    x = as_variable(x)
    if axis is None:
        removed = tuple(i for i, size in enumerate(x.type.shape) if size == 1)
    else:
        removed = normalize_axes(axis, x.ndim, "squeeze", x.type)
    for i in removed:
        if x.type.shape[i] not in (1, None):
            raise ShapeError(f"squeeze: cannot squeeze axis {i} of size {x.type.shape[i]} of operand {x.type}")
    return _dimshuffle(x, [i for i in range(x.ndim) if i not in removed])


def dimshuffle(x, *pattern):
    """Theano's `dimshuffle`: output axis i is input axis `pattern[i]`, or a new axis of size 1 where it is
    "x"; input axes left out must have size 1 and are removed. Also the method `x.dimshuffle(...)`.

    Example:
        >>> import symgraph as sg
        >>> from symgraph.ops.shape import dimshuffle
        >>> dimshuffle(sg.tensor("b", shape=(4, 1)), "x", 0, "x").type
        TensorType(float64, (1, 4, 1))
    """
    x = as_variable(x)
    if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
        pattern = tuple(pattern[0])
    axes = [p for p in pattern if p != NEW_AXIS]
    if any(not isinstance(p, (int, np.integer)) or not 0 <= p < x.ndim for p in axes) or len(set(axes)) < len(axes):
        raise ValueError(f"dimshuffle: pattern {pattern!r} must hold distinct axes of operand {x.type} "
                         f"(0 to {x.ndim - 1}) and 'x'")
    return _dimshuffle(x, [NEW_AXIS if p == NEW_AXIS else int(p) for p in pattern])

def _join_operands(tensors, op_name):
    if isinstance(tensors, Variable) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op_name}: expected a list or tuple of tensors, got {tensors!r}")
    if not tensors:
        raise ValueError(f"{op_name}: need at least one tensor")
    return [as_variable(t) for t in tensors]


def _unify_sizes(types, axes, op_name):
    """For each axis in `axes`, the common static size of `types` (None if all unknown); ShapeError on conflict."""
    result = {}
    for axis in axes:
        known = {t.shape[axis] for t in types if t.shape[axis] is not None}
        if len(known) > 1:
            raise ShapeError(
                f"{op_name}: operands {', '.join(map(str, types))} differ in size along axis {axis}"
            )
        result[axis] = known.pop() if known else None
    return result


def _join_dtype(types, op_name):
    try:
        return np.result_type(*(t.dtype for t in types))
    except TypeError as exc:
        raise TypeError(f"{op_name}: no common dtype for operands {', '.join(map(str, types))} ({exc})") from None


class Concatenate(Op):
    """`np.concatenate` of its inputs along `axis` (non-negative)."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    @property
    def name(self):
        return "concatenate"

    def output_types(self, *types):
        ndim = types[0].ndim
        if ndim == 0 or any(t.ndim != ndim for t in types):
            raise ShapeError(
                f"concatenate: operands {', '.join(map(str, types))} must have the same rank of at least 1"
            )
        sizes = _unify_sizes(types, [a for a in range(ndim) if a != self.axis], "concatenate")
        lengths = [t.shape[self.axis] for t in types]
        sizes[self.axis] = None if None in lengths else sum(lengths)
        return [TensorType(_join_dtype(types, "concatenate"), [sizes[a] for a in range(ndim)])]

    def perform(self, *values):
        return np.concatenate(values, axis=self.axis)

    def _segment_bounds(self, inputs):
        """(start, stop) of each input along the axis: ints where known, else symbolic."""
        bounds = []
        start = 0
        for x in inputs:
            length = x.type.shape[self.axis]
            if length is None:
                length = shape_of(x)[self.axis]
            stop = start + length if isinstance(start, int) and isinstance(length, int) else add(start, length)
            bounds.append((start, stop))
            start = stop
        return bounds

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if gz is None:
            return [None] * len(inputs)
        leading = (slice(None),) * self.axis
        return [
            getitem(gz, leading + (slice(start, stop),)) if is_differentiable_dtype(x.dtype) else None
            for x, (start, stop) in zip(inputs, self._segment_bounds(inputs))
        ]

    def pushforward(self, inputs, outputs, tangents):
        return [_join_tangents(self, inputs, outputs, tangents)]


def _join_tangents(op, inputs, outputs, tangents):
    """`op` applied to the tangents, with zeros standing in for missing ones (None when all are missing)."""
    if all(t is None for t in tangents) or not is_differentiable_dtype(outputs[0].dtype):
        return None
    if None in tangents:
        from .creation import zeros_like

        tangents = [zeros_like(x) if t is None else t for x, t in zip(inputs, tangents)]
    return op(*tangents)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis, like `np.concatenate`; `axis=None` joins them flattened.

    Example:
        >>> import symgraph as sg
        >>> a, b = sg.tensor("a", shape=(2, 3)), sg.tensor("b", shape=(4, 3))
        >>> sg.concatenate([a, b]).type
        TensorType(float64, (6, 3))
        >>> sg.concatenate([a, b], axis=None).type
        TensorType(float64, (18,))
    """
    tensors = _join_operands(tensors, "concatenate")
    if axis is None:  # NumPy flattens every operand first (0-d ones included)
        tensors = [flatten(t) for t in tensors]
        axis = 0
    if tensors[0].ndim == 0:
        raise ShapeError(f"concatenate: zero-dimensional operand {tensors[0].type} cannot be concatenated")
    return Concatenate(normalize_axis(axis, tensors[0].ndim, "concatenate", tensors[0].type))(*tensors)


class Stack(Op):
    """`np.stack` of its inputs along a new axis `axis` (non-negative)."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    @property
    def name(self):
        return "stack"

    def output_types(self, *types):
        ndim = types[0].ndim
        if any(t.ndim != ndim for t in types):
            raise ShapeError(f"stack: operands {', '.join(map(str, types))} must have the same shape")
        sizes = _unify_sizes(types, range(ndim), "stack")
        shape = [sizes[a] for a in range(ndim)]
        shape.insert(self.axis, len(types))
        return [TensorType(_join_dtype(types, "stack"), shape)]

    def perform(self, *values):
        return np.stack(values, axis=self.axis)

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        leading = (slice(None),) * self.axis
        return [
            getitem(gz, leading + (i,)) if gz is not None and is_differentiable_dtype(x.dtype) else None
            for i, x in enumerate(inputs)
        ]

    def pushforward(self, inputs, outputs, tangents):
        return [_join_tangents(self, inputs, outputs, tangents)]


def stack(tensors, axis=0):
    """Join tensors of equal shape along a new axis, like `np.stack`.

    Example:
        >>> import symgraph as sg
        >>> a, b = sg.vector("a", shape=(3,)), sg.vector("b", shape=(3,))
        >>> sg.stack([a, b], axis=1).type
        TensorType(float64, (3, 2))
    """
    tensors = _join_operands(tensors, "stack")
    return Stack(normalize_axis(axis, tensors[0].ndim + 1, "stack", tensors[0].type))(*tensors)


def ravel(a, order="C"):
    """The elements of `a` as a 1-d tensor in C order, like `np.ravel` (only `order="C"` is supported).

    Example:
        >>> import symgraph as sg
        >>> sg.ravel([[1, 2], [3, 4]]).eval()
        array([1, 2, 3, 4])
    """
    if order != "C":
        raise ValueError(f"ravel: only order='C' is supported, got order={order!r}")
    return flatten(as_variable(a))


def _at_least(arys, ndim, positions):
    """Each array with axes of size 1 added where `positions[rank]` says, for ranks below `ndim`."""
    results = []
    for a in arys:
        a = as_variable(a)
        results.append(expand_dims(a, positions[a.ndim]) if a.ndim < ndim else a)
    return results[0] if len(results) == 1 else tuple(results)


def atleast_1d(*arys):
    """Each input viewed with at least one dimension (0-d becomes shape (1,)), like `np.atleast_1d`: one
    variable for one input, a tuple for several.

    Example:
        >>> import symgraph as sg
        >>> sg.atleast_1d(sg.scalar("s")).type
        TensorType(float64, (1,))
    """
    return _at_least(arys, 1, {0: 0})


def atleast_2d(*arys):
    """Each input with at least two dimensions, like `np.atleast_2d`: (N,) becomes (1, N).

    Example:
        >>> import symgraph as sg
        >>> sg.atleast_2d(sg.vector("v", shape=(3,))).type
        TensorType(float64, (1, 3))
    """
    return _at_least(arys, 2, {0: (0, 1), 1: 0})


def atleast_3d(*arys):
    """Each input with at least three dimensions, like `np.atleast_3d`: (N,) becomes (1, N, 1) and (M, N)
    becomes (M, N, 1).

    Example:
        >>> import symgraph as sg
        >>> sg.atleast_3d(sg.matrix("m", shape=(2, 3))).type
        TensorType(float64, (2, 3, 1))
    """
    return _at_least(arys, 3, {0: (0, 1, 2), 1: (0, 2), 2: 2})


def _along(axis, item):
    """An index applying `item` to axis `axis` (non-negative) and taking every other axis whole."""
    return (slice(None),) * axis + (item,)


def flip(m, axis=None):
    """`m` with the order of its elements reversed along `axis` (an int, a tuple, or None for every axis),
    like `np.flip`.

    Example:
        >>> import symgraph as sg
        >>> sg.flip([[1, 2], [3, 4]], axis=-1).eval()
        array([[2, 1],
               [4, 3]])
    """
    m = as_variable(m)
    axes = range(m.ndim) if axis is None else normalize_axes(axis, m.ndim, "flip", m.type)
    index = [slice(None)] * m.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return getitem(m, tuple(index)) if axes else m


def _static_int_argument(value, role, op_name):
    if not _is_int(value):
        raise TypeError(f"{op_name}: {role} must be an int, got {value!r}")
    return int(value)


def _axis_size(x, axis):
    """The size of `x` along `axis`: an int when static, else a symbolic int64 scalar."""
    size = x.type.shape[axis]
    return size if size is not None else shape_of(x)[axis]


def _roll_axis(a, shift, axis):
    size = _axis_size(a, axis)
    if isinstance(size, int):
        if size == 0 or shift % size == 0:
            return a
        split_at = size - shift % size
    else:
        # The size may be 0 at run time: then the modulus below is taken by 1 and both parts are empty.
        split_at = size - mod(shift, maximum(size, 1))
    return concatenate([getitem(a, _along(axis, slice(split_at, None))), getitem(a, _along(axis, slice(None, split_at)))], axis)


def roll(a, shift, axis=None):
    """`a` with its elements shifted by `shift` positions along `axis`, those pushed off one end coming back
    at the other, like `np.roll`; with `axis=None` the flattened tensor is rolled and reshaped back.
    `shift` and `axis` may be tuples (broadcast together; shifts along a repeated axis add up).

    Example:
        >>> import symgraph as sg
        >>> sg.roll([1, 2, 3, 4], 1).eval()
        array([4, 1, 2, 3])
    """
    a = as_variable(a)
    if axis is None:
        return reshape(roll(flatten(a), shift, 0), shape_of(a))
    shifts = [_static_int_argument(s, "a shift", "roll") for s in np.atleast_1d(np.asarray(shift, dtype=object))]
    axes = _axis_tuple(axis, "roll")
    if len(shifts) != len(axes) and 1 not in (len(shifts), len(axes)):
        raise ValueError(f"roll: shift {shift!r} and axis {axis!r} must have the same length or one of them 1")
    total = {}
    for s, ax in zip(shifts * (len(axes) if len(shifts) == 1 else 1), axes * (len(shifts) if len(axes) == 1 else 1)):
        ax = normalize_axis(ax, a.ndim, "roll", a.type)
        total[ax] = total.get(ax, 0) + s
    for ax, s in total.items():
        a = _roll_axis(a, s, ax)
    return a


def tile(A, reps):
    """`A` repeated `reps[i]` times along axis i, like `np.tile` (the shorter of A's shape and `reps` is
    padded with leading ones). `reps` is an int or a tuple of non-negative ints.

    Example:
        >>> import symgraph as sg
        >>> sg.tile([[1, 2]], (2, 2)).eval()
        array([[1, 2, 1, 2],
               [1, 2, 1, 2]])
    """
    A = as_variable(A)
    reps = tuple(reps) if isinstance(reps, (tuple, list, np.ndarray)) else (reps,)
    reps = tuple(_static_int_argument(r, "a repetition count", "tile") for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: negative repetition count in reps {reps!r}")
    ndim = builtins.max(A.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    sizes = (1,) * (ndim - A.ndim) + tuple(_axis_size(A, i) for i in range(A.ndim))
    if A.ndim < ndim:
        A = reshape(A, sizes)
    # (s0, s1, ...) -> (r0, s0, r1, s1, ...) by broadcasting, then each pair of axes merged.
    spread = getitem(A, tuple(item for _ in range(ndim) for item in (None, slice(None))))
    repeated = broadcast_to(spread, tuple(size for pair in zip(reps, sizes) for size in pair))
    return reshape(repeated, tuple(r * s for r, s in zip(reps, sizes)))


def repeat(a, repeats, axis=None):
    """Each element of `a` repeated along `axis`, like `np.repeat`: `repeats` is a non-negative int, or a
    static sequence of them with one count per element along the axis (then the axis size must be known
    while building). With `axis=None` the flattened tensor is repeated.

    Example:
        >>> import symgraph as sg
        >>> sg.repeat([[1, 2], [3, 4]], [1, 2], axis=0).eval()
        array([[1, 2],
               [3, 4],
               [3, 4]])
    """
    a = as_variable(a)
    if axis is None:
        a, axis = flatten(a), 0
    if a.ndim == 0:
        a = flatten(a)
    axis = normalize_axis(axis, a.ndim, "repeat", a.type)
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise TypeError(f"repeat: repeats must be an int or a sequence of ints, got {repeats!r}")
    if (counts < 0).any():
        raise ValueError(f"repeat: negative repetition count in repeats {repeats!r}")
    if counts.ndim == 1 and counts.size != 1:
        size = a.type.shape[axis]
        if size is None:
            raise ValueError(f"repeat: a sequence of repeats needs the size of axis {axis} of operand {a.type} "
                             "while building; give the operand a static shape or repeat by an int")
        if size != counts.size:
            raise ValueError(f"repeat: {counts.size} repeats for axis {axis} of size {size} (operand {a.type})")
        return getitem(a, _along(axis, np.repeat(np.arange(size), counts)))
    count = int(counts.reshape(()))
    sizes = tuple(_axis_size(a, i) for i in range(a.ndim))
    spread = expand_dims(a, axis + 1)
    repeated = broadcast_to(spread, sizes[: axis + 1] + (count,) + sizes[axis + 1 :])
    return reshape(repeated, sizes[:axis] + (sizes[axis] * count,) + sizes[axis + 1 :])


def _split_bounds(size, indices_or_sections, equal, op_name, operand_type, axis):
    """The (start, stop) of each part along the axis: ints, or symbolic where the size is unknown."""
    if _is_int(indices_or_sections):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"{op_name}: the number of sections must be larger than 0, got {sections}")
        if isinstance(size, int):
            if equal and size % sections:
                raise ValueError(f"{op_name}: axis {axis} of size {size} of operand {operand_type} does not divide "
                                 f"into {sections} equal sections")
            starts = [i * (size // sections) + min(i, size % sections) for i in range(sections + 1)]
        elif equal:
            raise ValueError(f"{op_name}: cannot check that axis {axis} of operand {operand_type}, of size unknown "
                             f"while building, divides into {sections} equal sections; use array_split or indices")
        else:
            base, extra = floor_divide(size, sections), mod(size, sections)
            starts = [0] + [base * i + minimum(extra, i) for i in range(1, sections)] + [size]
        return list(zip(starts[:-1], starts[1:]))
    try:
        indices = [int(i) for i in indices_or_sections]
    except (TypeError, ValueError):
        raise TypeError(f"{op_name}: indices_or_sections must be an int or a sequence of ints, "
                        f"got {indices_or_sections!r}") from None
    return list(zip([None] + indices, indices + [None]))


def _split(ary, indices_or_sections, axis, equal, op_name):
    ary = as_variable(ary)
    if ary.ndim == 0:
        raise ValueError(f"{op_name}: operand {ary.type} must have at least 1 dimension")
    axis = normalize_axis(axis, ary.ndim, op_name, ary.type)
    bounds = _split_bounds(_axis_size(ary, axis), indices_or_sections, equal, op_name, ary.type, axis)
    return [getitem(ary, _along(axis, slice(start, stop))) for start, stop in bounds]


def split(ary, indices_or_sections, axis=0):
    """`ary` cut along `axis` into a list of parts, like `np.split`: `indices_or_sections` is a number of
    equal sections (the axis size must be divisible, and known while building) or a sequence of cut indices.

    Example:
        >>> import symgraph as sg
        >>> [part.eval() for part in sg.split([1, 2, 3, 4, 5], [2, 3])]
        [array([1, 2]), array([3]), array([4, 5])]
    """
    return _split(ary, indices_or_sections, axis, True, "split")


def array_split(ary, indices_or_sections, axis=0):
    """`ary` cut along `axis` into a list of parts like `np.array_split`: as `split`, but a number of sections
    need not divide the axis (the first `size % sections` parts get one element more), and the axis size
    may be unknown while building.

    Example:
        >>> import symgraph as sg
        >>> [part.eval() for part in sg.array_split([1, 2, 3, 4, 5], 2)]
        [array([1, 2, 3]), array([4, 5])]
    """
    return _split(ary, indices_or_sections, axis, False, "array_split")


_NO_VALUE = object()


def diff(a, n=1, axis=-1, prepend=_NO_VALUE, append=_NO_VALUE):
    """The n-th discrete difference `a[1:] - a[:-1]` along `axis`, like `np.diff` (bools give `a[1:] != a[:-1]`);
    `prepend` and `append` are values (broadcast across the other axes) joined to `a` along the axis first.

    Example:
        >>> import symgraph as sg
        >>> sg.diff([1, 4, 9, 16], n=2).eval()
        array([2, 2])
    """
    a = as_variable(a)
    n = _static_int_argument(n, "the order n", "diff")
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n}")
    if n == 0:
        return a
    if a.ndim == 0:
        raise ValueError(f"diff: operand {a.type} must have at least 1 dimension")
    axis = normalize_axis(axis, a.ndim, "diff", a.type)
    parts = []
    for value, at_end in ((prepend, False), (append, True)):
        if value is _NO_VALUE:
            continue
        value = as_variable(value)
        if value.ndim == 0:
            sizes = tuple(1 if i == axis else _axis_size(a, i) for i in range(a.ndim))
            value = broadcast_to(value, sizes)
        parts.append((at_end, value))
    if parts:
        a = concatenate([v for end, v in parts if not end] + [a] + [v for end, v in parts if end], axis)
    difference = neq if a.dtype.kind == "b" else subtract
    for _ in range(n):
        a = difference(getitem(a, _along(axis, slice(1, None))), getitem(a, _along(axis, slice(None, -1))))
    return a
