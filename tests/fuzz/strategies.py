"""Hypothesis strategies for random well-typed symgraph graphs (`graph_cases`).

Leaves get random dtypes (float32/float64/int32/int64/bool), shapes that broadcast against one base shape
(sizes 0 and 1 included), static shapes with unknown sizes, and are inputs, shared variables or constants.
Then operations are drawn one by one over the pool of everything built so far, so later nodes reuse
earlier ones (DAGs, not trees). Each operation is kept only if NumPy accepts its NumPy spelling on the
current values; its NumPy result joins the pool, so later draws see real shapes, dtypes and values.

`graph_cases(smooth=True)` draws graphs that are differentiable at their values (float64 leaves of
normal values; no kinks, jumps or domain edges within reach of finite differences).

Example:
    >>> case = graph_cases().example()
    >>> len(case.outputs) >= 1
    True
"""
import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

import symgraph as sg

from .case import LEAF_KINDS, GraphCase, Leaf, Step, evaluate_numpy
from .op_draws import FAMILY_WEIGHTS, OPERATION_FAMILIES, Entry

DTYPES = ("float64", "float32", "int64", "int32", "bool")
SIZES = (1, 2, 3, 0)
NICE_FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, 2.0)
NON_FINITE = (np.nan, np.inf, -np.inf, 1e30, -1e30)
SMOOTH_BOUND = 1e4
"""Smooth cases keep every float value below this, so finite differences stay accurate."""

_FAMILIES = [name for name in OPERATION_FAMILIES for _ in range(FAMILY_WEIGHTS.get(name, 1))]


def base_shapes():
    """The shape all leaves broadcast to: rank 0 to 3, sizes 0 to 3 (0 rarely)."""
    return st.lists(st.sampled_from(SIZES), max_size=3).map(tuple)


@st.composite
def leaf_shapes(draw, base):
    """A trailing part of `base` in which some sizes are replaced by 1 (so it broadcasts to `base`)."""
    rank = draw(st.integers(0, len(base)))
    trailing = base[len(base) - rank:]
    return tuple(1 if draw(st.integers(0, 3)) == 0 else size for size in trailing)


def _float_elements(dtype, non_finite):
    width = np.finfo(dtype).bits
    special = NICE_FLOATS + (NON_FINITE if non_finite else ())
    special = tuple(float(np.asarray(v, dtype=dtype)) for v in special)
    return st.one_of(st.floats(-4, 4, width=width), st.floats(-4, 4, width=width), st.sampled_from(special))


def _int_elements(dtype, extreme):
    info = np.iinfo(dtype)
    elements = st.integers(-4, 5)
    return st.one_of(elements, st.sampled_from([int(info.min), int(info.max)])) if extreme else elements


def forward_values(dtype, shape):
    """Arrays of `dtype`: small values, signed zeros, and in some leaves NaN, inf and huge values."""
    kind = np.dtype(dtype).kind
    if kind == "b":
        return npst.arrays(dtype, shape, elements=st.booleans())
    return st.booleans().flatmap(lambda unusual: npst.arrays(
        dtype, shape, elements=_float_elements(dtype, unusual) if kind == "f" else _int_elements(dtype, unusual)))


@st.composite
def smooth_values(draw, dtype, shape, stream):
    """Arrays of `dtype` from a drawn seed and the leaf's `stream` (so that leaves differ even when their
    seeds shrink to the same): normal floats (sometimes all positive), small ints, booleans."""
    rng = np.random.default_rng([draw(st.integers(0, 2**32 - 1)), stream])
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind == "i":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    values = rng.standard_normal(shape)
    return np.abs(values) + 0.5 if draw(st.booleans()) else values


@st.composite
def leaves(draw, index, base, smooth):
    """Leaf `x{index}`: kind, dtype, shape, static shape (sizes known or None) and value."""
    first = index == 0
    dtype = "float64" if smooth and first else draw(st.sampled_from(
        ("float64", "float64", "int64", "int32", "bool") if smooth else DTYPES))
    kind = "input" if first else draw(st.sampled_from(LEAF_KINDS + ("input", "input")))
    shape = draw(leaf_shapes(base))
    value = draw(smooth_values(dtype, shape, index) if smooth else forward_values(dtype, shape))
    value.setflags(write=False)
    static_shape = tuple(size if draw(st.booleans()) else None for size in shape)
    return Leaf(f"x{index}", kind, value, static_shape)


def _acceptable(value, smooth):
    """Smooth cases keep floats in float64 (finite differences in float16 see nothing), finite and bounded."""
    if not smooth or value.dtype.kind != "f":
        return True
    return bool(value.dtype == np.float64 and np.all(np.isfinite(value)) and np.all(np.abs(value) < SMOOTH_BOUND))


@st.composite
def graph_cases(draw, smooth=False, max_leaves=3, max_steps=16):
    """A GraphCase: 1 to `max_leaves` leaves, then up to `max_steps` operations over the growing pool
    (fewer when a drawn operation does not apply)."""
    base = draw(base_shapes())
    leaf_list = [draw(leaves(i, base, smooth)) for i in range(draw(st.integers(1, max_leaves)))]
    pool = [Entry(leaf.name, leaf.value) for leaf in leaf_list]
    values = {leaf.name: leaf.value for leaf in leaf_list}
    steps = []
    # The largest of three draws: hypothesis favours tiny counts, and most bugs need a few nodes.
    attempts = max(draw(st.integers(1, max_steps)) for _ in range(3))
    for _ in range(attempts):
        family = draw(st.sampled_from(_FAMILIES))
        candidate = OPERATION_FAMILIES[family](draw, pool, smooth)
        if candidate is None:
            continue
        try:
            value = evaluate_numpy(candidate.np_source, values)
        except Exception:  # NumPy rejects it: not a well-typed graph, so not drawn
            continue
        if not _acceptable(value, smooth):
            continue
        name = f"v{len(pool)}"
        steps.append(Step(name, candidate.sg_source, candidate.np_source))
        pool.append(Entry(name, value))
        values[name] = value
    assume(steps)
    others = [entry.name for entry in pool[:-1]]
    extra = draw(st.lists(st.sampled_from(others), max_size=2, unique=True)) if others else []
    return GraphCase(tuple(leaf_list), tuple(steps), tuple(extra + [pool[-1].name]), smooth)


OPTIONAL_GROUPS = ("merge", "constant_folding", "canonicalize", "stabilize", "specialize", "fusion", "inplace")
"""The rewrite groups outside "unsafe": switching any of them off must not change results."""


def partial_modes():
    """fast_run with a random set of rewrite groups switched off (a mode no test spells out by hand)."""
    return st.lists(st.sampled_from(OPTIONAL_GROUPS), unique=True, max_size=4).map(
        lambda groups: sg.Mode(exclude=groups))
