"""Conversion and checking of the values given to compiled functions and shared variables.

NumPy arrays convert when `np.can_cast(..., "safe")` holds. Python scalars and lists are "weak" as in
NumPy 2: they take the target dtype when their values survive the conversion exactly (ints in range,
bools to anything numeric, Python floats to any float dtype).

Example:
    >>> from symgraph.graph.type import TensorType
    >>> convert_argument([1, 2], TensorType("float32", (None,)), "input x").dtype
    dtype('float32')
"""
import numpy as np


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"array of dtype {value.dtype} and shape {value.shape}"
    return f"{type(value).__name__} {value!r}"[:200]


def _big_ints_as(value, dtype, natural):
    """Python ints beyond 64 bits (NumPy holds them as objects) as floats of `dtype` when they are finite
    there, as NumPy converts them; else `natural` unchanged."""
    try:
        with np.errstate(over="ignore"):
            converted = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        return natural
    return converted if np.all(np.isfinite(converted)) else natural


def _convert_weak(value, dtype, label):
    try:
        natural = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{label}: cannot convert {_describe(value)} to an array ({exc})") from None
    if natural.dtype.kind == "O" and dtype.kind in "fc":
        natural = _big_ints_as(value, dtype, natural)
    if natural.dtype.kind not in "biufc":
        raise TypeError(f"{label}: expected numbers of dtype {dtype}, got {_describe(value)}")
    # An empty list has no values to lose (NumPy still calls it float64).
    if np.can_cast(natural.dtype, dtype, "safe") or natural.size == 0:
        return natural.astype(dtype, copy=False)
    kinds_ok = (dtype.kind == "f" and natural.dtype.kind in "iuf") or (dtype.kind in "iu" and natural.dtype.kind in "iu") \
        or (dtype.kind == "c" and natural.dtype.kind in "iufc")
    if kinds_ok:
        with np.errstate(all="ignore"):
            converted = natural.astype(dtype)
        if dtype.kind in "iu":
            # A range check, not a round trip: int64 <-> uint64 wraps around and back without a trace.
            info = np.iinfo(dtype)
            exact = bool(info.min <= natural.min() and natural.max() <= info.max)
        else:
            exact = bool(np.all(np.isfinite(converted) | ~np.isfinite(natural)))
        if exact:
            return converted
    raise TypeError(
        f"{label}: expected dtype {dtype}, got {_describe(value)} that does not convert to {dtype} without loss"
    )


def convert_argument(value, type_, label):
    """Return `value` as an ndarray of `type_`'s dtype, checking rank and static sizes.

    Raises TypeError naming `label` for a lossy dtype or a wrong rank, ValueError for a size that
    contradicts the static shape.
    """
    dtype = type_.dtype
    value = _as_plain(value, label)
    if isinstance(value, np.ndarray):
        if value.dtype != dtype:
            if not np.can_cast(value.dtype, dtype, "safe"):
                raise TypeError(
                    f"{label}: expected dtype {dtype}, got an array of dtype {value.dtype} "
                    f"(a cast to {dtype} would lose information; convert it explicitly with .astype)"
                )
            value = value.astype(dtype)
    elif isinstance(value, np.generic):
        if not np.can_cast(value.dtype, dtype, "safe"):
            raise TypeError(f"{label}: expected dtype {dtype}, got a NumPy scalar of dtype {value.dtype}")
        value = np.asarray(value, dtype=dtype)
    elif isinstance(value, (bool, int, float, complex, list, tuple)):
        value = _convert_weak(value, dtype, label)
    else:
        raise TypeError(f"{label}: expected an array-like of dtype {dtype}, got {_describe(value)}")
    check_shape(value, type_, label)
    return value


def _as_plain(value, label):
    """`value` with array-likes (JAX arrays, objects with `__array__`, buffers) and ndarray subclasses
    (`np.matrix`, memmaps) as plain ndarrays, whose indexing and products the generated code assumes;
    a range as a list. A masked array is refused: its mask would be silently dropped."""
    if type(value) is np.ndarray:  # the common case first: this runs on every call
        return value
    if isinstance(value, range):
        return list(value)
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{label}: masked arrays are not supported (the mask would be lost); "
                        "pass value.filled(fill_value) or np.asarray(value) explicitly")
    if isinstance(value, np.ndarray):
        return np.asarray(value)
    if isinstance(value, memoryview) or any(hasattr(value, name) for name in _ARRAY_PROTOCOLS):
        return np.asarray(value)
    return value


_ARRAY_PROTOCOLS = ("__array__", "__array_interface__", "__array_struct__")


def check_shape(value, type_, label):
    """Raise TypeError (rank) or ValueError (static size) when `value` does not fit `type_`."""
    if value.ndim != type_.ndim:
        raise TypeError(
            f"{label}: expected a {type_.ndim}-d array (type {type_}), got {value.ndim}-d with shape {value.shape}"
        )
    for axis, (expected, actual) in enumerate(zip(type_.shape, value.shape)):
        if expected is not None and expected != actual:
            raise ValueError(
                f"{label}: expected size {expected} in dimension {axis} (type {type_}), got shape {value.shape}"
            )
