"""Indexing: `x[idx]` (reads) and `set_subtensor` / `inc_subtensor` (writes), with NumPy's rules.

An index is described by a hashable tuple of entries (the op's `index` parameter), one per item of
the user's index; the symbolic parts (integer scalars, slice bounds, index arrays, masks) are inputs
of the node after the indexed tensor, in the order of the entries:

- an int, `None` (new axis) or `Ellipsis`: as in NumPy;
- `SYMBOLIC`: an integer given by a 0-d integer input;
- `("slice", start, stop, step)`: each part None, an int, or `SYMBOLIC` (a 0-d integer input);
- `ARRAY`: an integer index array input;
- `("mask", count)`: a boolean mask input; `count` (its number of True entries) is an int when the
  mask is a constant, else None.

Indexes with only ints, slices, new axes and Ellipsis are `BasicIndex` (a view); any index array or
mask makes an `AdvancedIndex` (a copy), where NumPy's placement rule for the advanced dimensions
applies: they replace the indexed axes in place when the advanced items are adjacent, else they go
first. Integers count as advanced items there, exactly as in NumPy.
Ops whose output may share memory with an input say so in `view_map` (output index -> input index),
so that buffer-reuse rewrites never write into a view of a caller's array.

Example:
    >>> import symgraph as sg
    >>> x = sg.tensor("x", shape=(5, 6, 7))
    >>> x[0, :, [1, 2]].type
    TensorType(float64, (2, 6))
    >>> x[1:-1:2, None].type
    TensorType(float64, (2, 1, 6, 7))
"""
import numpy as np

from ..graph.basic import Constant, Variable, constant
from ..graph.op import Op
from ..graph.type import TensorType, broadcast_static_shapes
from ..errors import ShapeError
from .elemwise import is_differentiable_dtype, lift_operands
from .shape_of import Shape

__all__ = ["getitem", "set_subtensor", "inc_subtensor"]

SYMBOLIC = "?"
"""An index entry (or slice part) given at run time by a 0-d integer input."""

ARRAY = "array"
"""An index entry given by an integer index array input."""

def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def entry_kind(entry):
    """The kind of an index entry: int, symbolic, slice, newaxis, ellipsis, array or mask."""
    if entry is None:
        return "newaxis"
    if entry is Ellipsis:
        return "ellipsis"
    if isinstance(entry, int):
        return "int"
    if entry == SYMBOLIC:
        return "symbolic"
    if entry == ARRAY:
        return "array"
    return entry[0]


def static_int(var):
    """The value of a 0-d integer variable when it is known while building, else None.

    Known values are constants and the statically known entries of `y.shape`.

    Example:
        >>> import symgraph as sg
        >>> static_int(sg.tensor("y", shape=(4, None)).shape[0])
        4
    """
    if isinstance(var, Constant):
        return int(var.data)
    owner = var.owner
    if owner is not None and isinstance(owner.op, BasicIndex) and len(owner.op.index) == 1:
        (entry,) = owner.op.index
        source = owner.inputs[0].owner
        if isinstance(entry, int) and source is not None and isinstance(source.op, Shape):
            return source.inputs[0].type.shape[entry]
    return None


def _describe(item):
    return f"{item.type} variable" if isinstance(item, Variable) else repr(item)


def _index_error(message):
    """A TypeError for an index item of the wrong kind (IndexError is kept for values out of range)."""
    return TypeError(
        f"getitem: {message}; only integers, slices, None, Ellipsis, integer arrays and boolean masks are valid indices"
    )


def _parse_slice_part(part):
    """(entry part, input or None) for a slice's start, stop or step."""
    if part is None or _is_int(part):
        return (None if part is None else int(part)), None
    if isinstance(part, Variable) and part.ndim == 0 and part.dtype.kind in "iu":
        known = static_int(part)
        return (SYMBOLIC, part) if known is None else (known, None)
    raise _index_error(f"slice bound {_describe(part)} is not an integer")


def _parse_array(value):
    """(entry, input) for a NumPy array or list used as an index."""
    array = np.asarray(value)
    if array.size == 0 and array.dtype.kind == "f":
        array = array.astype(np.int64)  # NumPy reads an empty list as an empty integer index
    if array.dtype.kind == "b":
        return ("mask", int(array.sum())), constant(array)
    if array.dtype.kind in "iu":
        if array.ndim == 0:
            return int(array), None
        return ARRAY, constant(array)
    raise _index_error(f"an index array of dtype {array.dtype} is not an integer or boolean array")


def _parse_item(item):
    """(entry, [inputs]) for one item of a user's index."""
    if item is None or item is Ellipsis:
        return item, []
    if _is_int(item):
        return int(item), []
    if isinstance(item, slice):
        parts = [_parse_slice_part(p) for p in (item.start, item.stop, item.step)]
        if parts[2][0] == 0:
            raise ValueError("getitem: slice step cannot be zero")
        return ("slice", *(entry for entry, _ in parts)), [v for _, v in parts if v is not None]
    if isinstance(item, Variable):
        if item.dtype.kind == "b":
            return ("mask", int(item.data.sum()) if isinstance(item, Constant) else None), [item]
        if item.dtype.kind not in "iu":
            raise _index_error(f"index {_describe(item)} is not of integer or boolean dtype")
        if item.ndim > 0:
            return ARRAY, [item]
        known = static_int(item)
        return (SYMBOLIC, [item]) if known is None else (known, [])
    if isinstance(item, (list, np.ndarray, bool, np.bool_)):
        entry, value = _parse_array(item)
        return entry, [] if value is None else [value]
    raise _index_error(f"index {_describe(item)} is not valid")


def _parse_index(index):
    """(entries, index inputs) describing a user's index."""
    items = index if isinstance(index, tuple) else (index,)
    entries = []
    inputs = []
    for item in items:
        entry, item_inputs = _parse_item(item)
        entries.append(entry)
        inputs.extend(item_inputs)
    if entries.count(Ellipsis) > 1:
        raise IndexError("getitem: an index can only have a single ellipsis ('...')")
    return tuple(entries), inputs


def _slice_length(entry, size):
    start, stop, step = entry[1:]
    if size is None or SYMBOLIC in (start, stop, step):
        return None
    return len(range(*slice(start, stop, step).indices(size)))


def _check_int_index_type(t, op_name):
    if t.ndim != 0 or t.dtype.kind not in "iu":
        raise TypeError(f"{op_name}: an integer index must be a 0-d integer tensor, got {t}")


def _check_bounds(value, size, axis, x, op_name):
    if size is not None and not -size <= value < size:
        raise IndexError(f"{op_name}: index {value} is out of bounds for axis {axis} with size {size} (operand {x})")


def _check_mask(mask, x, axis, op_name):
    if mask.dtype.kind != "b":
        raise TypeError(f"{op_name}: a mask must have dtype bool, got {mask}")
    for offset, size in enumerate(mask.shape):
        expected = x.shape[axis + offset]
        if size is not None and expected is not None and size != expected:
            raise IndexError(
                f"{op_name}: boolean index {mask} does not match operand {x} along axis {axis + offset}: "
                f"size {size} instead of {expected}"
            )


def _entry_input_types(index, kinds, index_types):
    """For each entry, the type of its input (None without one; a list of types for a slice)."""
    types = iter(index_types)
    result = []
    for entry, kind in zip(index, kinds):
        if kind in ("symbolic", "array", "mask"):
            result.append(next(types))
        elif kind == "slice":
            result.append([next(types) for part in entry[1:] if part == SYMBOLIC])
        else:
            result.append(None)
    return result


def _consumed_ndim(kind, input_type):
    if kind == "mask":
        return input_type.ndim
    return 1 if kind in ("int", "symbolic", "slice", "array") else 0


def _advanced_shape(entry, kind, input_type):
    """The shape an advanced item contributes to the broadcast block (a mask gives its True count)."""
    if kind == "array":
        return input_type.shape
    if kind == "mask":
        return (entry[1],)
    return ()


def indexed_type(op_name, index, x, index_types):
    """The TensorType of `x[index]` given the types of the index inputs (NumPy's rules).

    Raises IndexError naming `op_name` and the operand type for too many indices, an integer out of
    the bounds of a static size, a mask whose shape contradicts the indexed axes, or index arrays
    that cannot broadcast together; TypeError for an index input of the wrong dtype.

    Example:
        >>> from symgraph.graph.type import TensorType
        >>> t = TensorType("float64", (5, 6, 7))
        >>> indexed_type("getitem", (0, ("slice", None, None, None), ARRAY), t, [TensorType("int64", (2,))]).shape
        (2, 6)
    """
    kinds = [entry_kind(e) for e in index]
    entry_types = _entry_input_types(index, kinds, index_types)
    consumed = sum(_consumed_ndim(kind, t) for kind, t in zip(kinds, entry_types))
    if consumed > x.ndim:
        raise IndexError(f"{op_name}: too many indices for operand {x}: {consumed} dimensions indexed")
    advanced_mode = "array" in kinds or "mask" in kinds
    shape = []
    axis = 0
    advanced_shapes, advanced_positions, block_start = [], [], None
    for position, (entry, kind, t) in enumerate(zip(index, kinds, entry_types)):
        if kind == "newaxis":
            shape.append(1)
        elif kind == "ellipsis":
            covered = x.ndim - consumed
            shape.extend(x.shape[axis:axis + covered])
            axis += covered
        elif kind == "slice":
            for part_type in t:
                _check_int_index_type(part_type, op_name)
            shape.append(_slice_length(entry, x.shape[axis]))
            axis += 1
        else:
            if kind == "int":
                _check_bounds(entry, x.shape[axis], axis, x, op_name)
            elif kind == "symbolic":
                _check_int_index_type(t, op_name)
            elif kind == "array" and t.dtype.kind not in "iu":
                raise TypeError(f"{op_name}: an index array must have an integer dtype, got {t}")
            elif kind == "mask":
                _check_mask(t, x, axis, op_name)
            if advanced_mode:
                advanced_shapes.append(_advanced_shape(entry, kind, t))
                advanced_positions.append(position)
                block_start = len(shape) if block_start is None else block_start
            axis += _consumed_ndim(kind, t)
    shape.extend(x.shape[axis:])
    if advanced_mode:
        try:
            block = broadcast_static_shapes(*advanced_shapes)
        except ShapeError:
            described = ", ".join(str(t) for t in index_types)
            raise IndexError(f"{op_name}: index arrays {described} cannot be broadcast together") from None
        adjacent = advanced_positions == list(range(advanced_positions[0], advanced_positions[-1] + 1))
        at = block_start if adjacent else 0
        shape[at:at] = block
    return TensorType(x.dtype, shape)


def index_key(index, index_values):
    """The NumPy index tuple for `index` given the run-time values of its inputs.

    Example:
        >>> index_key((0, ("slice", 1, SYMBOLIC, None), ARRAY), [3, [2, 0]])
        (0, slice(1, 3, None), [2, 0])
    """
    values = iter(index_values)
    key = []
    for entry in index:
        kind = entry_kind(entry)
        if kind == "symbolic":
            key.append(int(next(values)))
        elif kind == "slice":
            key.append(slice(*(int(next(values)) if part == SYMBOLIC else part for part in entry[1:])))
        elif kind in ("array", "mask"):
            key.append(next(values))
        else:
            key.append(entry)
    return tuple(key)


def index_source(index, names, symbolic_int="int({})"):
    """The subscript text of `index` (as in `x[...]`), taking its symbolic parts from `names` in order.

    Integers are formatted here and names are used as given, so the text is safe to generate code from
    when the names are.

    Example:
        >>> index_source((0, ("slice", 1, SYMBOLIC, None), None), ["v3"])
        '0, 1:int(v3), None'
    """
    names = iter(names)

    def part(value):
        if value is None:
            return ""
        return symbolic_int.format(next(names)) if value == SYMBOLIC else str(int(value))

    items = []
    for entry in index:
        kind = entry_kind(entry)
        if kind == "slice":
            start, stop, step = entry[1:]
            items.append(f"{part(start)}:{part(stop)}" + ("" if step is None else f":{part(step)}"))
        elif kind in ("array", "mask"):
            items.append(next(names))
        elif kind == "newaxis":
            items.append("None")
        elif kind == "ellipsis":
            items.append("...")
        else:
            items.append(part(entry))
    return ", ".join(items)


def is_advanced(index):
    """Whether an index holds an index array or a mask (NumPy's advanced indexing, which copies)."""
    return any(entry_kind(e) in ("array", "mask") for e in index)


class Index(Op):
    """`x[index]`: the indexed tensor is the first input, the index's symbolic parts the others."""

    __props__ = ("index",)

    def __init__(self, index):
        self.index = tuple(index)

    @property
    def name(self):
        return "getitem"

    def __str__(self):
        return f"getitem[{index_source(self.index, _placeholders(self.index), '{}')}]"

    __repr__ = __str__

    def output_types(self, x, *index_types):
        return [indexed_type(self.name, self.index, x, index_types)]

    def pullback(self, inputs, outputs, output_grads):
        from .creation import zeros_like

        (gz,) = output_grads
        x, *index_inputs = inputs
        grads = [None] * len(inputs)
        if gz is not None and is_differentiable_dtype(x.dtype):
            grads[0] = IndexWrite(self.index, "inc")(zeros_like(x), gz, *index_inputs)
        return grads

    def pushforward(self, inputs, outputs, tangents):
        tangent = tangents[0]
        return [None if tangent is None else self(tangent, *inputs[1:])]


def _placeholders(index):
    """Names for the symbolic parts of `index` in printed ops: "?" for integers, "array" and "mask"."""
    names = []
    for entry in index:
        kind = entry_kind(entry)
        if kind == "slice":
            names.extend("?" for part in entry[1:] if part == SYMBOLIC)
        elif kind == "symbolic":
            names.append("?")
        elif kind in ("array", "mask"):
            names.append(kind)
    return names


class BasicIndex(Index):
    """Indexing with ints, slices, new axes and Ellipsis: the result is a view of the input."""

    view_map = {0: 0}

    def perform(self, x, *index_values):
        key = index_key(self.index, index_values)
        # A trailing Ellipsis makes NumPy return a 0-d array view instead of a scalar copy.
        return x[key if Ellipsis in self.index else key + (Ellipsis,)]


class AdvancedIndex(Index):
    """Indexing with integer arrays and/or masks (and any basic items): the result is a copy."""

    def perform(self, x, *index_values):
        return x[index_key(self.index, index_values)]


def index_op(index):
    """The read op for a parsed index: BasicIndex, or AdvancedIndex when it holds arrays or masks."""
    return (AdvancedIndex if is_advanced(index) else BasicIndex)(index)


def getitem(x, index):
    """`x[index]` with NumPy's semantics; what `Variable.__getitem__` calls.

    Items may be ints or 0-d integer variables (negative counts from the end), slices with int or
    symbolic bounds, None (new axis), Ellipsis, integer arrays (NumPy arrays, lists or integer
    variables) and boolean masks (NumPy arrays or bool variables).

    Example:
        >>> import symgraph as sg
        >>> x = sg.tensor("x", shape=(4, 3))
        >>> x[1:, None, -1].type
        TensorType(float64, (3, 1))
    """
    (x,) = lift_operands((x,))
    entries, inputs = _parse_index(index)
    return index_op(entries)(x, *inputs)


def _region_shape(shape, key):
    """The shape of `x[key]` for an `x` of `shape`, read off a zero-stride view of one-byte elements, so no values of `x` are gathered."""
    return np.broadcast_to(np.zeros((), dtype=np.bool_), shape)[key].shape


class IndexWrite(Op):
    """A copy of `x` with `x[index]` set to (`mode="set"`) or incremented by (`mode="inc"`) `v`.

    `v` broadcasts to the indexed region. With repeated integer indices, "inc" accumulates every
    contribution (like `np.add.at`) and "set" keeps the last write (like NumPy assignment).
    """

    __props__ = ("index", "mode")

    def __init__(self, index, mode):
        self.index = tuple(index)
        self.mode = mode

    @property
    def name(self):
        return f"{self.mode}_subtensor"

    def __str__(self):
        return f"{self.name}[{index_source(self.index, _placeholders(self.index), '{}')}]"

    __repr__ = __str__

    def output_types(self, x, v, *index_types):
        region = indexed_type(self.name, self.index, x, index_types)
        if v.ndim > region.ndim:
            raise ShapeError(f"{self.name}: value {v} has more dimensions than the indexed region {region} of {x}")
        for size, target in zip(v.shape[::-1], region.shape[::-1]):
            if size not in (1, None) and target is not None and size != target:
                raise ShapeError(f"{self.name}: value {v} cannot be broadcast to the indexed region {region} of {x}")
        if self.mode == "inc" and not np.can_cast(v.dtype, x.dtype, "same_kind"):
            raise TypeError(f"{self.name}: cannot add a value of type {v} to operand {x} of dtype {x.dtype}")
        return [TensorType(x.dtype, x.shape)]

    def perform(self, x, v, *index_values):
        result = np.array(x, copy=True)
        key = index_key(self.index, index_values)
        if self.mode == "set":
            # As an array, so the conversion to x's dtype is NumPy's array casting whether `v` arrives as an
            # array or a NumPy scalar (a scalar NaN stored into integers raises, a 0-d array NaN does not).
            result[key] = np.asarray(v)
        elif is_advanced(self.index):
            # NumPy's add.at reads past the end of a value it has to broadcast along a leading axis of an
            # integer-indexed region (NumPy 2.4), so it gets the value already broadcast, as a view.
            np.add.at(result, key, np.broadcast_to(v, _region_shape(result.shape, key)))
        else:
            # Through a view, also for a single element (`result[key] += v` would go through a scalar, which
            # NumPy refuses to store when an integer sum leaves the target's range instead of wrapping).
            region = result[key if Ellipsis in self.index else key + (Ellipsis,)]
            np.add(region, v, out=region, casting="same_kind")
        return result

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        x, v, *index_inputs = inputs
        grads = [None] * len(inputs)
        if gz is None:
            return grads
        if is_differentiable_dtype(x.dtype):
            grads[0] = gz if self.mode == "inc" else IndexWrite(self.index, "set")(gz, constant(0, dtype=gz.dtype), *index_inputs)
        if is_differentiable_dtype(v.dtype):
            grads[1] = index_op(self.index)(gz, *index_inputs)
            if self.mode == "set" and is_advanced(self.index):
                grads[1] = grads[1] * self._surviving_writes(x, index_inputs)
        return grads

    def _surviving_writes(self, x, index_inputs):
        """1 where an element of the indexed region is the write that survives at its position, else 0.

        An index array may name a position twice; only the last write there reaches the output, so only
        it gets a gradient. Each write is numbered, the numbers are written like the values, and a write
        survives where its number is read back.
        """
        from .creation import arange, zeros_like
        from .elemwise import cast, eq
        from .reduce import prod
        from .shape import reshape
        from .shape_of import shape_of

        region_shape = shape_of(index_op(self.index)(x, *index_inputs))
        numbers = reshape(arange(prod(region_shape)), region_shape)
        written = IndexWrite(self.index, "set")(zeros_like(x, dtype=numbers.dtype), numbers, *index_inputs)
        return cast(eq(index_op(self.index)(written, *index_inputs), numbers), x.dtype)

    def pushforward(self, inputs, outputs, tangents):
        from .creation import zeros_like

        x, v, *index_inputs = inputs
        tx, tv = tangents[:2]
        if not is_differentiable_dtype(x.dtype) or (tx is None and tv is None):
            return [None]
        if tv is None:
            tv = constant(0, dtype=x.dtype) if self.mode == "set" else None
        if tv is None:
            return [tx]
        return [self(zeros_like(x) if tx is None else tx, tv, *index_inputs)]


def _write(mode, target, value):
    op_name = f"{mode}_subtensor"
    owner = target.owner if isinstance(target, Variable) else None
    if owner is None or not isinstance(owner.op, Index):
        raise TypeError(
            f"{op_name}: the first argument must be the result of indexing a tensor, such as x[idx], got {target!r}"
        )
    x, *index_inputs = owner.inputs
    (_, value) = lift_operands((x, value))
    return IndexWrite(owner.op.index, mode)(x, value, *index_inputs)


def set_subtensor(target, value):
    """A new tensor equal to `x` with `x[idx]` replaced by `value`; `target` is `x[idx]`.

    `value` broadcasts to the indexed region and is cast to x's dtype, as NumPy assignment does;
    with repeated indices the last write wins. `x` itself is never modified.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> y = sg.set_subtensor(x[1:], 0.0)
        >>> y.eval({x: [1.0, 2.0, 3.0]})
        array([1., 0., 0.])
    """
    return _write("set", target, value)


def inc_subtensor(target, value):
    """A new tensor equal to `x` with `value` added to `x[idx]`; `target` is `x[idx]`.

    `value` broadcasts to the indexed region; repeated indices accumulate every contribution, like
    `np.add.at`. `x` itself is never modified.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> sg.inc_subtensor(x[[0, 0, 2]], 1.0).eval({x: [0.0, 0.0, 0.0]})
        array([2., 0., 1.])
    """
    return _write("inc", target, value)
