"""Which computed values a last-bit change upstream could flip: the oracle's blind spots.

Rewrites may change floats by rounding (x / 3 -> x * (1/3)) or on purpose (log(1 + x) -> log1p(x) is
exact where the naive formula rounds to 0). Continuous operations keep such changes small, but a
discontinuous one sitting on its jump (a comparison of equal values, floor of an integer, argmax of a tie,
a float cast to int) turns them into different results, and so does a continuous one whose slope there
dwarfs its value (sin, cos or tan of a huge argument, where one ulp of the argument is a large step). The
reference interpreter marks those nodes, and everything computed from them, as fragile; fragile outputs
are compared in dtype and shape only.

Example:
    >>> import numpy as np, symgraph as sg
    >>> x = sg.vector("x")
    >>> node = sg.lt(x, 0.5).owner
    >>> on_a_jump(node, [np.array([0.5, 2.0]), np.array(0.5)])
    True
"""
import numpy as np

from symgraph.ops.elemwise import Elemwise
from symgraph.ops.reduce import Reduce

RTOL = {"float16": 1e-2, "float32": 1e-5, "float64": 1e-12}
ATOL = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-12}

_COMPARISONS = {"eq", "neq", "lt", "le", "gt", "ge"}
_TRUTH_VALUES = {"logical_and", "logical_or", "logical_xor", "logical_not", "sign"}
_STEPS = {"floor", "ceil"}
_POLES = {"true_divide": 1, "reciprocal": 0, "arctan2": 0}
"""Row -> the operand at whose zero the row jumps (so a rounding-level change upstream that makes a zero, or a
tiny number of either sign, decides the result)."""


def _tolerances(values):
    floats = [np.asarray(v).dtype for v in values if np.asarray(v).dtype.kind == "f"]
    least = min(floats, key=lambda d: np.finfo(d).bits).name if floats else "float64"
    return RTOL.get(least, 1e-2), ATOL.get(least, 1e-3)


def _close(a, b, rtol, atol):
    with np.errstate(all="ignore"):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        return bool(np.any(np.abs(a - b) <= rtol * (np.abs(a) + np.abs(b)) + atol))


def _near_integer(x, rtol, atol, shift=0.0):
    with np.errstate(all="ignore"):
        x = np.asarray(x, dtype=np.float64) - shift
        return _close(x, np.round(x), rtol, atol)


_TRIG_SLOPES = {"sin": np.cos, "cos": np.sin, "tan": lambda x: 1 / np.cos(x) ** 2}
"""Row -> the magnitude of its derivative, for judging how much a rounding of the argument moves it."""


def _amplifies_rounding(name, x, rtol, atol):
    """Would a few roundings of the float argument `x` move sin, cos or tan(x) beyond the tolerance?"""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return False
    with np.errstate(all="ignore"):
        wide = x.astype(np.float64)
        step = 4 * np.finfo(x.dtype).eps * np.abs(wide) * np.abs(_TRIG_SLOPES[name](wide))
        value = np.abs(getattr(np, name)(wide))
        return bool(np.any(~(step <= rtol * value + atol)))


def _elemwise_on_jump(name, inputs, output_dtype, rtol, atol):
    if name in _TRIG_SLOPES:
        return _amplifies_rounding(name, inputs[0], rtol, atol)
    if name in _COMPARISONS:
        return _close(inputs[0], inputs[1], rtol, atol)
    if name in _TRUTH_VALUES:
        return any(_close(v, 0, rtol, atol) for v in inputs if np.asarray(v).dtype.kind == "f")
    if name in _STEPS:
        return _near_integer(inputs[0], rtol, atol)
    if name == "round":
        return _near_integer(inputs[0], rtol, atol, shift=0.5)
    if name in ("floor_divide", "mod"):
        with np.errstate(all="ignore"):
            quotient = np.asarray(inputs[0], dtype=np.float64) / np.asarray(inputs[1], dtype=np.float64)
        return (_near_integer(quotient, rtol, atol) or _close(inputs[1], 0, rtol, atol)
                or not np.all(np.isfinite(quotient)))
    if name in _POLES:  # discontinuous at a zero operand (1/x at +-0 is +-inf; arctan2 at y = +-0, x < 0 is +-pi)
        return _close(inputs[_POLES[name]], 0, rtol, atol)
    if name == "power":
        return _close(inputs[0], 0, rtol, atol) and bool(np.any(np.asarray(inputs[1]) < 0))
    if name == "where":
        return np.asarray(inputs[0]).dtype.kind == "f" and _close(inputs[0], 0, rtol, atol)
    if name == "cast" and np.asarray(inputs[0]).dtype.kind == "f" and output_dtype.kind in "biu":
        return _close(inputs[0], 0, rtol, atol) if output_dtype.kind == "b" else _near_integer(inputs[0], rtol, atol)
    return False


def reduced_groups(x, axes):
    """`x` with the reduced `axes` flattened into one last axis (shape: kept sizes + (group size,))."""
    x = np.asarray(x)
    kept = tuple(x.shape[a] for a in range(x.ndim) if a not in axes)
    group_size = int(np.prod([x.shape[a] for a in axes]))
    return np.moveaxis(x, axes, range(x.ndim - len(axes), x.ndim)).reshape(kept + (group_size,))


def _tie_in_reduction(x, axes, rtol, atol):
    """Are the two largest or the two smallest values of some reduced group (nearly) equal?"""
    groups = reduced_groups(np.asarray(x, dtype=np.float64), axes)
    if groups.shape[-1] < 2 or groups.size == 0:
        return False
    ordered = np.sort(groups, axis=-1)
    return _close(ordered[..., -1], ordered[..., -2], rtol, atol) or _close(ordered[..., 0], ordered[..., 1], rtol, atol)


def on_a_jump(node, inputs):
    """Is `node` (with input values `inputs`) discontinuous at these values, within rounding?"""
    rtol, atol = _tolerances(inputs)
    op = node.op
    if isinstance(op, Elemwise):
        return _elemwise_on_jump(op.scalar.name, inputs, node.outputs[0].dtype, rtol, atol)
    if isinstance(op, Reduce) and op.name in ("argmax", "argmin", "all", "any"):
        x = inputs[0]
        if np.asarray(x).dtype.kind != "f":
            return False
        if op.name in ("all", "any"):
            return _close(x, 0, rtol, atol)
        return _tie_in_reduction(x, op.axis, rtol, atol)
    return False
