"""TensorType: a dtype plus a static shape whose entries are ints or None (unknown until run time).

Example:
    >>> from symgraph.graph.type import TensorType
    >>> str(TensorType("float32", (None, 3)))
    'float32[?,3]'
"""
import numpy as np

from ..errors import ShapeError

_ALLOWED_KINDS = "biufc"


def as_dtype(dtype, op_name=None) -> np.dtype:
    """Turn any NumPy dtype spelling into an `np.dtype`, rejecting non-numeric kinds; an error names
    `op_name`, the operation the dtype was given to, when there is one.

    Example:
        >>> as_dtype("int32")
        dtype('int32')
        >>> as_dtype("nope", "cast")
        Traceback (most recent call last):
        TypeError: cast: 'nope' is not a NumPy dtype
    """
    prefix = "" if op_name is None else f"{op_name}: "
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{prefix}{dtype!r} is not a NumPy dtype") from exc
    if result.kind not in _ALLOWED_KINDS:
        raise TypeError(f"{prefix}dtype {result} is not supported: symgraph handles bool, integer, float and "
                        "complex tensors")
    return result


def as_static_shape(shape) -> tuple:
    """Validate a static shape: a tuple of non-negative ints or None.

    Example:
        >>> as_static_shape([None, 3])
        (None, 3)
    """
    try:
        entries = tuple(shape)
    except TypeError as exc:
        raise TypeError(f"a static shape must be a tuple of int or None, got {shape!r}") from exc
    result = []
    for entry in entries:
        if entry is None:
            result.append(None)
            continue
        if isinstance(entry, (bool, np.bool_)) or not isinstance(entry, (int, np.integer)):
            raise TypeError(f"a static shape must be a tuple of int or None, got {shape!r}")
        if entry < 0:
            raise ValueError(f"a static shape cannot hold a negative size, got {shape!r}")
        result.append(int(entry))
    return tuple(result)


class TensorType:
    """The type of a symbolic tensor: `dtype` (np.dtype) and `shape` (tuple of int or None).

    Example:
        >>> import symgraph as sg
        >>> t = sg.TensorType("float32", (None, 3))
        >>> t.dtype, t.shape, t.ndim, str(t)
        (dtype('float32'), (None, 3), 2, 'float32[?,3]')
        >>> sg.matrix("m", dtype="float32", shape=(None, 3)).type == t
        True
    """

    __slots__ = ("dtype", "shape", "_hash")

    def __init__(self, dtype, shape=()):
        self.dtype = as_dtype(dtype)
        self.shape = as_static_shape(shape)
        self._hash = hash((self.dtype, self.shape))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __eq__(self, other):
        return type(other) is TensorType and self.dtype == other.dtype and self.shape == other.shape

    def __hash__(self):
        return self._hash

    def __repr__(self):
        return f"TensorType({self.dtype.name}, {self.shape})"

    def __str__(self):
        return f"{self.dtype.name}[{','.join('?' if s is None else str(s) for s in self.shape)}]"

    def __reduce__(self):
        return TensorType, (self.dtype.name, self.shape)

    def is_compatible(self, other) -> bool:
        """Same dtype and rank, and no static size that contradicts the other's."""
        return (
            self.dtype == other.dtype
            and self.ndim == other.ndim
            and all(a is None or b is None or a == b for a, b in zip(self.shape, other.shape))
        )


def broadcast_static_shapes(*shapes, op_name="broadcast", types=None) -> tuple:
    """NumPy broadcasting of static shapes where None means "unknown until run time".

    A known size other than 1 wins over None (None must then be 1 or that size at run time).
    Raises ShapeError naming `op_name` when two known sizes cannot broadcast.

    Example:
        >>> broadcast_static_shapes((None, 1), (3,))
        (None, 3)
    """
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result = []
    for axis in range(ndim):
        sizes = [s[axis] for s in padded]
        known = {n for n in sizes if n is not None and n != 1}
        if len(known) > 1:
            described = ", ".join(str(t) for t in types) if types else ", ".join(map(str, shapes))
            raise ShapeError(f"{op_name}: operands with shapes {described} cannot be broadcast together")
        if known:
            result.append(known.pop())
        elif any(n is None for n in sizes):
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


def broadcasts_into(small_shape, big_shape) -> bool:
    """Is broadcasting a shape `big_shape` with `small_shape` certain to give `big_shape` (static shapes,
    None unknown), so that the smaller operand changes no size?

    Example:
        >>> broadcasts_into((1, 3), (None, 3)), broadcasts_into((None,), (None,))
        (True, False)
    """
    if len(small_shape) > len(big_shape):
        return False
    offset = len(big_shape) - len(small_shape)
    return all(s == 1 or (b is not None and b == s) for s, b in zip(small_shape, big_shape[offset:]))
