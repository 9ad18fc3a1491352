"""How to draw one random operation over a pool of existing values, family by family.

A draw function takes hypothesis's `draw`, the pool (a list of `Entry`: name and NumPy value) and whether
the case must stay `smooth` (differentiable at its values: away from kinks, jumps and domain edges, so
finite differences are meaningful). It returns a `Candidate` (the symgraph spelling, the NumPy spelling)
or None when it found nothing applicable. Whether NumPy accepts the candidate at all is decided later by
running its NumPy spelling: the draws only aim at well-typed graphs, they do not re-derive NumPy's rules.

Example:
    >>> import numpy as np
    >>> from hypothesis import strategies as st
    >>> pool = [Entry("x0", np.ones((2, 3)))]
    >>> candidate = st.composite(lambda draw: draw_reshape(draw, pool, False))().example()
    >>> candidate.sg_source.count("x0")
    1
"""
import itertools
from collections import namedtuple

import numpy as np
from hypothesis import strategies as st

from symgraph.ops.elemwise import SCALAR_OPS

from .case import quiet
from .fragile import reduced_groups

Entry = namedtuple("Entry", "name value")
Candidate = namedtuple("Candidate", "sg_source np_source")

MARGIN = 0.02
"""How far (in value) a smooth case keeps every operand from the kinks and jumps of its operation."""

FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("int32", "int64")

PYTHON_SCALARS = (0, 1, 2, -1, 3, 0.5, -2.5, 2.0, True, False)

# Rows whose NumPy counterpart is not `np.<name>`.
_NUMPY_NAMES = {
    "eq": "np.equal", "neq": "np.not_equal", "lt": "np.less", "le": "np.less_equal", "gt": "np.greater",
    "ge": "np.greater_equal", "abs": "np.absolute", "round": "np.round", "erf": "erf",
    "erfc": "erfc", "sigmoid": "expit", "gammaln": "gammaln", "digamma": "digamma",
}
_NUMPY_SPELLINGS = {"softplus": "np.logaddexp(0, {0})", "relu": "np.maximum({0}, 0)"}
_OPERATORS = {
    "add": "+", "subtract": "-", "multiply": "*", "true_divide": "/", "floor_divide": "//", "mod": "%",
    "power": "**", "bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "^", "lt": "<", "le": "<=",
    "gt": ">", "ge": ">=",
}
_UNARY_OPERATORS = {"negative": "-{0}", "abs": "abs({0})", "invert": "~{0}"}

ELEMWISE_ROWS = tuple(sorted(name for name, row in SCALAR_OPS.items() if row.nin < 3))


def _is_float(value):
    return np.asarray(value).dtype.kind == "f"


def _all(condition):
    return bool(np.all(condition))


def _exp_sum_is_finite(value, axis):
    """Does the naive sum of exps over `axis` (None: element by element) stay finite, in NumPy's dtype?"""
    with np.errstate(all="ignore"):
        exps = np.exp(value)
        return _all(np.isfinite(exps if axis is None else np.sum(exps, axis=axis)))


def _far_from_integers(value, shift=0.0):
    return _all(np.abs(value - shift - np.round(value - shift)) > MARGIN)


_UNARY_SMOOTH = {  # row -> is it differentiable at every (float) value of the operand?
    "negative": None, "square": None, "sin": None, "cos": None, "arctan": None, "tanh": None, "arcsinh": None,
    "erf": None, "erfc": None, "sigmoid": None, "softplus": None, "isnan": None, "isinf": None,
    "exp": lambda v: _all(v < 20), "exp2": lambda v: _all(v < 20), "expm1": lambda v: _all(v < 20),
    "sinh": lambda v: _all(np.abs(v) < 20), "cosh": lambda v: _all(np.abs(v) < 20),
    "tan": lambda v: _all(np.abs(np.cos(v)) > 0.2),
    "log": lambda v: _all(v > 0.1), "log2": lambda v: _all(v > 0.1), "log10": lambda v: _all(v > 0.1),
    "sqrt": lambda v: _all(v > 0.1), "log1p": lambda v: _all(v > -0.9),
    "reciprocal": lambda v: _all(np.abs(v) > 0.1), "arccosh": lambda v: _all(v > 1.1),
    "arcsin": lambda v: _all(np.abs(v) < 0.9), "arccos": lambda v: _all(np.abs(v) < 0.9),
    "arctanh": lambda v: _all(np.abs(v) < 0.9),
    "abs": lambda v: _all(np.abs(v) > MARGIN), "relu": lambda v: _all(np.abs(v) > MARGIN),
    "sign": lambda v: _all(np.abs(v) > MARGIN), "logical_not": lambda v: _all(np.abs(v) > MARGIN),
    "floor": _far_from_integers, "ceil": _far_from_integers,
    "round": lambda v: _far_from_integers(v, 0.5),
}


def _apart(a, b):
    return _all(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)) > MARGIN)


def _quotient_smooth(a, b):
    with np.errstate(all="ignore"):
        return _all(np.abs(b) > 0.1) and _far_from_integers(np.asarray(a, dtype=float) / b)


def _power_smooth(a, b):
    if not _is_float(b):
        return _all(np.abs(a) > 0.1)
    return _all(np.asarray(a) > 0.1) and _all(np.abs(b) <= 4)


def _truthy_smooth(a, b):
    return _all(np.abs(a) > MARGIN) and _all(np.abs(b) > MARGIN)


_BINARY_SMOOTH = {  # row -> is it differentiable at every pair of values (when an operand is a float)?
    "add": None, "subtract": None, "multiply": None,
    "true_divide": lambda a, b: _all(np.abs(b) > 0.1),
    "floor_divide": _quotient_smooth, "mod": _quotient_smooth, "power": _power_smooth,
    "maximum": _apart, "minimum": _apart, "lt": _apart, "le": _apart, "gt": _apart, "ge": _apart,
    "eq": _apart, "neq": _apart,
    "arctan2": lambda a, b: _all(np.asarray(a) ** 2 + np.asarray(b) ** 2 > MARGIN),
    "logical_and": _truthy_smooth, "logical_or": _truthy_smooth, "logical_xor": _truthy_smooth,
}


def smooth_elemwise(row, operands):
    """Is the element-wise `row` differentiable at these operand values (trivially so without floats)?"""
    if not any(_is_float(v) for v in operands):
        return True
    table = _UNARY_SMOOTH if len(operands) == 1 else _BINARY_SMOOTH
    if row not in table:
        return False
    check = table[row]
    with np.errstate(all="ignore"):
        return check is None or check(*operands)


def pick(draw, pool, accept=lambda value: True):
    """An entry of `pool` whose value `accept`s, or None (shrinks towards the leaves)."""
    choices = [entry for entry in pool if accept(entry.value)]
    return draw(st.sampled_from(choices)) if choices else None


def _broadcasts(*shapes):
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def draw_operands(draw, pool, count, allow_scalars):
    """`count` operands (entries, or Python scalars when allowed) whose shapes broadcast together."""
    first = pick(draw, pool)
    operands = [first]
    shapes = [first.value.shape]
    for _ in range(count - 1):
        if allow_scalars and draw(st.integers(0, 3)) == 0:
            operands.append(draw(st.sampled_from(PYTHON_SCALARS)))
            continue
        entry = pick(draw, pool, lambda value: _broadcasts(*shapes, value.shape))
        operands.append(entry)
        shapes.append(entry.value.shape)
    order = draw(st.permutations(range(count))) if count > 1 else [0]
    return [operands[i] for i in order]


def _spelled(operand):
    if isinstance(operand, Entry):
        return operand.name
    return f"({operand!r})" if isinstance(operand, (int, float)) and operand < 0 else repr(operand)


def _value(operand):
    return operand.value if isinstance(operand, Entry) else operand


def draw_elemwise(draw, pool, smooth):
    """A unary or binary row of the element-wise table, by function or operator, maybe with a Python scalar."""
    row = draw(st.sampled_from(ELEMWISE_ROWS))
    nin = SCALAR_OPS[row].nin
    operands = draw_operands(draw, pool, nin, allow_scalars=True)
    if all(not isinstance(o, Entry) for o in operands):
        return None
    if smooth and not smooth_elemwise(row, [_value(o) for o in operands]):
        return None
    names = [_spelled(o) for o in operands]
    numpy_spelling = _NUMPY_SPELLINGS.get(row, _NUMPY_NAMES.get(row, f"np.{row}") + "(" + ", ".join(
        f"{{{i}}}" for i in range(nin)) + ")")
    sg_spelling = f"sg.{row}(" + ", ".join(f"{{{i}}}" for i in range(nin)) + ")"
    operator = _OPERATORS.get(row) if nin == 2 else _UNARY_OPERATORS.get(row)
    if operator is not None and draw(st.booleans()):
        sg_spelling = f"({{0}} {operator} {{1}})" if nin == 2 else f"({operator})"
        # a tensor `**` is np.power (NumPy's operator squares only for a Python 2, as symgraph's does)
        numpy_spelling = numpy_spelling if row == "power" else sg_spelling
    return Candidate(sg_spelling.format(*names), numpy_spelling.format(*names))


def draw_where(draw, pool, smooth):
    """`where(condition, a, b)` with a condition of any dtype (NumPy uses its truth value)."""
    condition, a, b = draw_operands(draw, pool, 3, allow_scalars=True)
    if not isinstance(condition, Entry):
        return None
    if smooth and _is_float(condition.value) and not _all(np.abs(condition.value) > MARGIN):
        return None
    names = [_spelled(o) for o in (condition, a, b)]
    return Candidate("sg.where({}, {}, {})".format(*names), "np.where({}, {}, {})".format(*names))


def draw_clip(draw, pool, smooth):
    """`clip(x, lo, hi)` with bounds that are tensors, scalars or None (one of them)."""
    x, lo, hi = draw_operands(draw, pool, 3, allow_scalars=True)
    if not isinstance(x, Entry):
        lo, x = x, lo
    if not isinstance(x, Entry):
        return None
    missing = draw(st.sampled_from(["none", "none", "lo", "hi"]))
    lo = None if missing == "lo" else lo
    hi = None if missing == "hi" else hi
    if smooth:
        bounds = [_value(b) for b in (lo, hi) if b is not None]
        if any(_is_float(v) for v in [x.value] + bounds) and not all(
                _apart(a, b) for a, b in itertools.combinations([x.value] + bounds, 2)):
            return None
    names = [_spelled(o) for o in (x, lo, hi)]
    spelling = "{0}.clip({1}, {2})" if draw(st.booleans()) else "{{lib}}.clip({0}, {1}, {2})"
    spelling = spelling.format(*names)
    return Candidate(spelling.replace("{lib}", "sg"), spelling.replace("{lib}", "np"))


def draw_cast(draw, pool, smooth):
    """`cast`/`astype` to any dtype; float to integer only where that is defined (finite, in range)."""
    x = pick(draw, pool)
    dtype = draw(st.sampled_from(FLOAT_DTYPES + INT_DTYPES + ("bool",)))
    value = x.value
    if _is_float(value) and np.dtype(dtype).kind == "i":
        if not _all(np.isfinite(value)) or not _all(np.abs(value.astype(np.float64)) < 2**31 - 1):
            return None
        if smooth and not _far_from_integers(value):
            return None
    if smooth and _is_float(value) and dtype == "bool" and not _all(np.abs(value) > MARGIN):
        return None
    if smooth and dtype == "float32":
        return None  # finite differences in float32 are too coarse to check
    if draw(st.booleans()):
        return Candidate(f"{x.name}.astype({dtype!r})", f"{x.name}.astype({dtype!r})")
    return Candidate(f"sg.cast({x.name}, {dtype!r})", f"{x.name}.astype({dtype!r})")


def draw_axes(draw, ndim, allow_tuple=True):
    """An `axis` argument: None, an int (maybe negative) or a tuple of distinct ints."""
    choices = ["none"] + (["int"] if ndim else []) + (["tuple"] if allow_tuple else [])
    kind = draw(st.sampled_from(choices))
    if kind == "none":
        return None
    if kind == "int":
        return _maybe_negative(draw, draw(st.integers(0, ndim - 1)), ndim)
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return tuple(_maybe_negative(draw, a, ndim) for a in axes)


def _maybe_negative(draw, axis, ndim):
    return axis - ndim if draw(st.booleans()) else axis


def _axes_tuple(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim for a in axes)


def _gaps_along(value, axes, largest):
    """The smallest gap between the two largest (or smallest) values of the reduced groups (inf if none)."""
    groups = reduced_groups(value, axes)
    if groups.shape[-1] < 2 or groups.size == 0:
        return np.inf
    ordered = np.sort(groups, axis=-1)
    gap = ordered[..., -1] - ordered[..., -2] if largest else ordered[..., 1] - ordered[..., 0]
    return float(np.min(gap))


REDUCTIONS = ("sum", "mean", "prod", "max", "min", "argmax", "argmin", "var", "std", "logsumexp", "all", "any")


def _reduction_smooth(name, value, axes):
    if not _is_float(value):
        return True
    if name in ("max", "min", "argmax", "argmin"):
        return _gaps_along(value, axes, largest=name in ("max", "argmax")) > MARGIN
    if name == "std":
        return _all(np.var(value, axis=axes) > MARGIN)
    if name in ("all", "any"):
        return _all(np.abs(value) > MARGIN)
    return True


def draw_reduction(draw, pool, smooth):
    """A reduction over random axes, with or without keepdims, as a function or a method."""
    name = draw(st.sampled_from(REDUCTIONS))
    x = pick(draw, pool)
    ndim = x.value.ndim
    axis = draw_axes(draw, ndim, allow_tuple=not name.startswith("arg"))
    keepdims = draw(st.booleans())
    extra = f", ddof={draw(st.integers(0, 1))}" if name in ("var", "std") and draw(st.booleans()) else ""
    if smooth:
        with quiet():
            if not _reduction_smooth(name, x.value, _axes_tuple(axis, ndim)):
                return None
    arguments = f"axis={axis!r}, keepdims={keepdims}{extra}"
    if name == "logsumexp":
        return Candidate(f"sg.logsumexp({x.name}, {arguments})", f"logsumexp({x.name}, {arguments})")
    if name != "logsumexp" and draw(st.booleans()):
        return Candidate(f"{x.name}.{name}({arguments})", f"{x.name}.{name}({arguments})")
    return Candidate(f"sg.{name}({x.name}, {arguments})", f"np.{name}({x.name}, {arguments})")


_PRODUCTS = (
    ("sg.matmul({0}, {1})", "np.matmul({0}, {1})"),
    ("({0} @ {1})", "({0} @ {1})"),
    ("sg.dot({0}, {1})", "dot({0}, {1})"),
    ("{0}.dot({1})", "dot({0}, {1})"),
    ("sg.outer({0}, {1})", "np.outer({0}, {1})"),
    ("sg.tensordot({0}, {1}, axes=1)", "np.tensordot({0}, {1}, axes=1)"),
)


def draw_product(draw, pool, smooth):
    """matmul/dot/outer/tensordot of two entries (maybe the same one, maybe transposed)."""
    sg_spelling, np_spelling = draw(st.sampled_from(_PRODUCTS))
    a = pick(draw, pool)
    if draw(st.booleans()):
        return Candidate(sg_spelling.format(a.name, f"{a.name}.T"), np_spelling.format(a.name, f"{a.name}.T"))
    b = pick(draw, pool)
    return Candidate(sg_spelling.format(a.name, b.name), np_spelling.format(a.name, b.name))


def draw_einsum(draw, pool, smooth):
    """An explicit-subscript einsum of one or two entries: a contraction, a transpose or a trace."""
    a = pick(draw, pool, lambda value: 1 <= value.ndim <= 3)
    if a is None:
        return None
    letters = "ijk"[: a.value.ndim]
    b = pick(draw, pool, lambda value: value.ndim >= 1 and value.ndim <= 3)
    shared = draw(st.integers(0, min(a.value.ndim, b.value.ndim)))
    b_letters = letters[a.value.ndim - shared:] + "lmn"[: b.value.ndim - shared]
    free = [c for c in letters + b_letters if (c in letters) != (c in b_letters)]
    kept = [c for c in letters if c in b_letters and draw(st.booleans())]
    output = "".join(draw(st.permutations(free + kept)))
    subscripts = f"{letters},{b_letters}->{output}"
    return Candidate(f"sg.einsum({subscripts!r}, {a.name}, {b.name})",
                     f"np.einsum({subscripts!r}, {a.name}, {b.name})")


def _factorizations(size, rank):
    """Shapes of `rank` whose product is `size` (sizes up to 6; size 0 puts the 0 anywhere)."""
    sizes = range(0, 7) if size == 0 else [d for d in range(1, size + 1) if size % d == 0]
    return [shape for shape in itertools.product(sizes, repeat=rank) if int(np.prod(shape)) == size]


def draw_reshape(draw, pool, smooth):
    """reshape to a random shape of the same size (sometimes with -1), or flatten."""
    x = pick(draw, pool)
    if draw(st.integers(0, 4)) == 0:
        return Candidate(f"{x.name}.flatten()", f"{x.name}.flatten()")
    shapes = _factorizations(x.value.size, draw(st.integers(0, 3)))
    if not shapes:
        return None
    shape = list(draw(st.sampled_from(shapes)))
    if shape and x.value.size and draw(st.booleans()):
        shape[draw(st.integers(0, len(shape) - 1))] = -1
    shape = tuple(shape)
    if draw(st.booleans()):
        return Candidate(f"{x.name}.reshape({shape!r})", f"{x.name}.reshape({shape!r})")
    return Candidate(f"sg.reshape({x.name}, {shape!r})", f"np.reshape({x.name}, {shape!r})")


def draw_axes_change(draw, pool, smooth):
    """transpose, .T, swapaxes, expand_dims, squeeze (of axes of size 1) or broadcast_to."""
    x = pick(draw, pool)
    ndim = x.value.ndim
    kind = draw(st.sampled_from(["transpose", "T", "swapaxes", "expand_dims", "squeeze", "broadcast_to"]))
    if kind == "T":
        return Candidate(f"{x.name}.T", f"{x.name}.T")
    if kind == "transpose":
        order = tuple(_maybe_negative(draw, a, ndim) for a in draw(st.permutations(range(ndim))))
        return Candidate(f"sg.transpose({x.name}, {order!r})", f"np.transpose({x.name}, {order!r})")
    if kind == "swapaxes" and ndim:
        first, second = (_maybe_negative(draw, draw(st.integers(0, ndim - 1)), ndim) for _ in range(2))
        return Candidate(f"sg.swapaxes({x.name}, {first}, {second})", f"np.swapaxes({x.name}, {first}, {second})")
    if kind == "expand_dims":
        count = draw(st.integers(1, 2))
        axes = draw(st.lists(st.integers(0, ndim + count - 1), min_size=count, max_size=count, unique=True))
        axis = tuple(_maybe_negative(draw, a, ndim + count) for a in axes)
        axis = axis[0] if count == 1 and draw(st.booleans()) else axis
        return Candidate(f"sg.expand_dims({x.name}, {axis!r})", f"np.expand_dims({x.name}, {axis!r})")
    if kind == "squeeze":
        ones = [a for a in range(ndim) if x.value.shape[a] == 1]
        if not ones:
            return None
        axes = tuple(draw(st.lists(st.sampled_from(ones), min_size=1, unique=True)))
        return Candidate(f"sg.squeeze({x.name}, {axes!r})", f"np.squeeze({x.name}, {axes!r})")
    if kind == "broadcast_to":
        lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        shape = lead + tuple(draw(st.sampled_from([1, 2])) if s == 1 else s for s in x.value.shape)
        return Candidate(f"sg.broadcast_to({x.name}, {shape!r})", f"np.broadcast_to({x.name}, {shape!r})")
    return None


def _draw_slice(draw, size):
    bound = st.one_of(st.none(), st.integers(-size - 1, size + 1))
    start, stop = draw(bound), draw(bound)
    step = draw(st.sampled_from([None, None, 1, 2, -1, -2]))
    parts = ["" if start is None else str(start), "" if stop is None else str(stop)]
    return ":".join(parts) + ("" if step is None else f":{step}")


def _draw_index_entries(draw, shape):
    """Index items for `shape`: ints, slices, None, Ellipsis, at most two integer arrays, at most one mask."""
    entries = []
    axis = 0
    arrays = 0
    masked = False
    while axis < len(shape) and draw(st.integers(0, 3)) > 0:
        size = shape[axis]
        kind = draw(st.sampled_from(["int", "slice", "slice", "none", "array", "mask"]))
        if kind == "int" and size:
            entries.append(str(_maybe_negative(draw, draw(st.integers(0, size - 1)), size)))
        elif kind == "array" and size and arrays < 2:
            arrays += 1
            positions = draw(st.lists(st.integers(-size, size - 1), max_size=4))
            entries.append(f"np.array({positions!r}, dtype='int64')")
        elif kind == "mask" and not masked and arrays == 0:
            masked = True
            mask = draw(st.lists(st.booleans(), min_size=size, max_size=size))
            entries.append(f"np.array({mask!r}, dtype=bool)")
        elif kind == "none":
            entries.append("None")
            continue
        else:
            entries.append(_draw_slice(draw, size))
        axis += 1
    if draw(st.integers(0, 5)) == 0:
        # Placed before items only when they index every axis, so each item stays on the axis drawn for it.
        consumed = sum(entry != "None" for entry in entries)
        entries.insert(draw(st.integers(0, len(entries))) if consumed == len(shape) else len(entries), "...")
    return entries or [":"]


def draw_index(draw, pool, smooth):
    """x[index] with basic and advanced items, or a slice with a symbolic bound."""
    x = pick(draw, pool, lambda value: value.ndim >= 1)
    if x is None:
        return None
    bound = pick(draw, pool, lambda value: value.ndim == 0 and value.dtype.kind == "i")
    if bound is not None and draw(st.integers(0, 3)) == 0:
        return Candidate(f"{x.name}[{bound.name}:]", f"{x.name}[int({bound.name}):]")
    entries = _draw_index_entries(draw, x.value.shape)
    index = ", ".join(entries) + ("," if len(entries) == 1 else "")
    return Candidate(f"{x.name}[{index}]", f"{x.name}[{index}]")


def draw_index_write(draw, pool, smooth):
    """set_subtensor or inc_subtensor of x[index] with a value that broadcasts into the indexed part."""
    x = pick(draw, pool, lambda value: value.ndim >= 1)
    if x is None:
        return None
    entries = _draw_index_entries(draw, x.value.shape)
    index = ", ".join(entries) + ("," if len(entries) == 1 else "")
    with np.errstate(all="ignore"):
        try:
            target_shape = eval(f"x[{index}]", {"np": np, "x": x.value}).shape
        except (IndexError, ValueError):
            return None
    value = pick(draw, pool, lambda v: _broadcasts(v.shape, target_shape) and
                 np.broadcast_shapes(v.shape, target_shape) == target_shape and
                 np.can_cast(v.dtype, x.value.dtype, "same_kind"))
    if value is None:
        return None
    mode = draw(st.sampled_from(["set", "inc"]))
    return Candidate(f"sg.{mode}_subtensor({x.name}[{index}], {value.name})",
                     f"{mode}_at({x.name}, np.index_exp[{index}], {value.name})")


def draw_normalizer(draw, pool, smooth):
    """softmax or log_softmax over a random axis (or axes), or cumsum along one."""
    x = pick(draw, pool)
    name = draw(st.sampled_from(["softmax", "log_softmax", "cumsum"]))
    if name == "cumsum":
        axis = draw_axes(draw, x.value.ndim, allow_tuple=False)
        if draw(st.booleans()):
            return Candidate(f"{x.name}.cumsum(axis={axis!r})", f"{x.name}.cumsum(axis={axis!r})")
        return Candidate(f"sg.cumsum({x.name}, axis={axis!r})", f"np.cumsum({x.name}, axis={axis!r})")
    axis = draw_axes(draw, x.value.ndim)
    return Candidate(f"sg.{name}({x.name}, axis={axis!r})", f"{name}({x.name}, axis={axis!r})")


def draw_join(draw, pool, smooth):
    """concatenate or stack two or three entries (maybe repeated) that agree outside the joined axis."""
    first = pick(draw, pool)
    ndim = first.value.ndim
    stack = draw(st.booleans())
    if stack:
        axis = _maybe_negative(draw, draw(st.integers(0, ndim)), ndim + 1)
        others = [e for e in pool if e.value.shape == first.value.shape]
    else:
        if not ndim:
            return None
        axis = _maybe_negative(draw, draw(st.integers(0, ndim - 1)), ndim)
        others = [e for e in pool if e.value.ndim == ndim and all(
            a == b for i, (a, b) in enumerate(zip(e.value.shape, first.value.shape)) if i != axis % ndim)]
    parts = [first] + draw(st.lists(st.sampled_from(others), min_size=1, max_size=2))
    names = ", ".join(p.name for p in parts)
    function = "stack" if stack else "concatenate"
    return Candidate(f"sg.{function}([{names}], axis={axis})", f"np.{function}([{names}], axis={axis})")


def draw_shape_use(draw, pool, smooth):
    """Symbolic sizes: x.shape[i], x.size, zeros/ones/arange of a symbolic size, *_like."""
    x = pick(draw, pool)
    kind = draw(st.sampled_from(["size", "dim", "zeros", "arange", "like"]))
    if kind == "size":
        return Candidate(f"{x.name}.size", f"np.int64({x.name}.size)")
    if kind == "like":
        function, fill = draw(st.sampled_from([("zeros_like", ""), ("ones_like", ""), ("full_like", ", 2.5")]))
        return Candidate(f"sg.{function}({x.name}{fill})", f"np.{function}({x.name}{fill})")
    if not x.value.ndim:
        return None
    axis = _maybe_negative(draw, draw(st.integers(0, x.value.ndim - 1)), x.value.ndim)
    if kind == "dim":
        return Candidate(f"{x.name}.shape[{axis}]", f"np.int64({x.name}.shape[{axis}])")
    if kind == "zeros":
        return Candidate(f"sg.ones(({x.name}.shape[{axis}], 2))", f"np.ones(({x.name}.shape[{axis}], 2))")
    return Candidate(f"sg.arange({x.name}.shape[{axis}])", f"np.arange({x.name}.shape[{axis}])")


def draw_stop_gradient(draw, pool, smooth):
    """stop_gradient (the identity in value; not in smooth cases, whose gradients are checked)."""
    if smooth:
        return None
    x = pick(draw, pool)
    return Candidate(f"sg.stop_gradient({x.name})", x.name)


# (symgraph spelling, NumPy spelling or None when it is the same text, where it is smooth: True everywhere,
# False nowhere, or a predicate on the operand values): expressions that the optimizer rewrites, so that
# random graphs exercise every rewrite outside "unsafe".
REWRITE_PATTERNS = (
    ("({0} + 0)", None, True), ("(0 + {0})", None, True), ("({0} * 1)", None, True), ("(1 * {0})", None, True),
    ("({0} * -1)", None, True), ("({0} / 1)", None, True), ("({0} ** 1)", "np.power({0}, 1)", True),
    ("(-(-{0}))", None, True), ("(0 - {0})", None, True), ("(-0.0 - {0})", None, True), ("({0} - 0.0)", None, True),
    ("({0} - (-{1}))", None, True),
    ("({0} + (-{1}))", None, True), ("((-{0}) + {1})", None, True), ("({0} - 1.5)", None, True),
    ("(({0} + 1) + 2)", None, True), ("(({0} * 2) * 3)", None, True), ("(({0} - 1) + {1})", None, True),
    ("({0} / 4)", None, True), ("({0} / 3.0)", None, True), ("({0} / 0.0)", None, False),
    ("sg.where(True, {0}, {1})", "np.where(True, {0}, {1})", True),
    ("sg.where(False, {0}, {1})", "np.where(False, {0}, {1})", True),
    ("sg.where(True, {0}, 2.0)", "np.where(True, {0}, 2.0)", True),
    ("{0}.shape", "np.array({0}.shape, dtype=np.int64)", True),
    ("({0} @ {1}.T).shape[0]", "np.int64(({0} @ {1}.T).shape[0])", True),
    ("sg.tanh({0}).shape", "np.array(np.tanh({0}).shape, dtype=np.int64)", True),
    ("{0}.T.T", None, True), ("sg.transpose({0}.T)", "np.transpose({0}.T)", True),
    ("sg.squeeze(sg.expand_dims({0}, 0), 0)", "np.squeeze(np.expand_dims({0}, 0), 0)", True),
    ("{0}.flatten().reshape({0}.shape)", None, True), ("{0}.reshape({0}.shape)", None, True),
    ("sg.broadcast_to({0}, {0}.shape)", "np.broadcast_to({0}, {0}.shape)", True),
    ("({0}.T @ {1}.T)", None, True),
    # a dead matmul result that the element-wise kernel after it writes into (memory plan, "inplace")
    ("(sg.exp({0} @ {1}.T) * 0.5)", "(np.exp({0} @ {1}.T) * 0.5)", True),
    ("({0} ** 2)", "np.square({0})", True), ("({0} ** 3)", "np.power({0}, 3)", True), ("({0} ** 4)", "np.power({0}, 4)", True),
    ("({0} ** 0.5)", "np.power({0}, 0.5)", False), ("({0} ** -1)", "np.power({0}, -1)", False), ("({0} * {0})", None, True),
    ("sg.sum({0} * {1})", "np.sum({0} * {1})", True), ("sg.sum({0} * sg.exp({0}))", "np.sum({0} * np.exp({0}))", True),
    ("(sg.exp({0}) - 1)", "(np.exp({0}) - 1)", True),
    ("sg.log(sg.sigmoid({0}))", "np.log(expit({0}))", True),
    # 1 - sigmoid(x) cancels for large x: finite differences of the naive formula drown in rounding noise.
    ("sg.log(1 - sg.sigmoid({0}))", "np.log(1 - expit({0}))", lambda x: _all(np.abs(x) < 5)),
    ("sg.log1p(-sg.sigmoid({0}))", "np.log1p(-expit({0}))", lambda x: _all(np.abs(x) < 5)),
    # the naive formula, which the stabilize group turns into softplus: judged where exp(x) does not overflow
    ("sg.log(1 + sg.exp({0}))", "np.log(1 + np.exp({0}))", lambda x: _exp_sum_is_finite(x, None)),
    # 1 + x rounds for tiny x, where log1p is the accurate one (sqrt(log(1 - 1e-38)) is 0 naively, NaN stabilized)
    ("sg.log(1 + {0})", "np.log(1 + {0})", lambda x: _all(x > -0.9) and _all(np.abs(x) > 1e-6)),
    ("sg.log(1 - {0})", "np.log(1 - {0})", lambda x: _all(x < 0.9) and _all(np.abs(x) > 1e-6)),
    ("sg.log(sg.softmax({0}, axis=-1))", "np.log(softmax({0}, axis=-1))", True),
    ("sg.log(sg.softmax({0}, axis=-1))[..., 0]", "np.log(softmax({0}, axis=-1))[..., 0]", True),
    # logsumexp stays finite where the naive sum of exps overflows (x = 2**63 - 1 gives inf naively)
    ("sg.log(sg.sum(sg.exp({0}), axis=(-1,)))", "np.log(np.sum(np.exp({0}), axis=(-1,)))",
     lambda x: _exp_sum_is_finite(x, -1)),
    ("sg.log(sg.sum(sg.exp({0})))", "np.log(np.sum(np.exp({0})))", lambda x: _exp_sum_is_finite(x, None)),
    ("sg.set_subtensor({0}[0], sg.broadcast_to({1}[0], {0}[0].shape))",
     "set_at({0}, 0, np.broadcast_to({1}[0], {0}[0].shape))", True),
    ("sg.zeros_like({0}) + sg.ones_like({1})", "np.zeros_like({0}) + np.ones_like({1})", True),
    # Constants too large to be interned: equal ones are merged.
    ("({0} + sg.constant(np.full(1025, 0.5))[:1] * sg.constant(np.full(1025, 0.5))[-1])",
     "({0} + np.full(1025, 0.5)[:1] * np.full(1025, 0.5)[-1])", True),
)


def draw_rewrite_pattern(draw, pool, smooth):
    """An expression the optimizer rewrites (x + 0, exp(x) - 1, log(softmax(x)), A.T @ B.T ...) on random
    operands; smooth cases take only those differentiable at their operands, and all cases only those
    well conditioned there."""
    patterns = [p for p in REWRITE_PATTERNS if p[2] is not False or not smooth]
    sg_spelling, np_spelling, smooth_at = draw(st.sampled_from(patterns))
    operands = draw_operands(draw, pool, 2 if "{1}" in sg_spelling else 1, allow_scalars=False)
    # A predicate marks where the naive formula (the oracle) is well conditioned: outside, the stabilized
    # form is the accurate one (log(1 - sigmoid(16)) in float32 is -15.94 naively, -16.0 stabilized), and
    # neither values nor finite differences can be judged against the oracle.
    if callable(smooth_at) and not smooth_at(*(o.value for o in operands)):
        return None
    names = [o.name for o in operands]
    return Candidate(sg_spelling.format(*names), (np_spelling or sg_spelling).format(*names))


OPERATION_FAMILIES = {
    "rewrite_pattern": draw_rewrite_pattern,
    "elemwise": draw_elemwise,
    "where": draw_where,
    "clip": draw_clip,
    "cast": draw_cast,
    "reduction": draw_reduction,
    "product": draw_product,
    "einsum": draw_einsum,
    "reshape": draw_reshape,
    "axes": draw_axes_change,
    "index": draw_index,
    "index_write": draw_index_write,
    "normalizer": draw_normalizer,
    "join": draw_join,
    "shape": draw_shape_use,
    "stop_gradient": draw_stop_gradient,
}
"""Every family of operation a random graph may use, by name."""

FAMILY_WEIGHTS = {"elemwise": 6, "rewrite_pattern": 4, "reduction": 2, "index": 2}
"""How much more often than once a family is drawn."""
