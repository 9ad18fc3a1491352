"""The Numba backend's vectorizable float64 functions (codegen/numba_backend/vector_math.py): accuracy in
ulps against long-double references, NumPy's special values exactly, the libm fallback of sin and cos
beyond their range, and that loops calling them do vectorize."""
import re

import numpy as np
import pytest

pytest.importorskip("numba")
import numba  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import symgraph as sg  # noqa: E402
from symgraph.codegen.numba_backend import vector_math as vm  # noqa: E402

MAX_ULPS = {"exp": 1.0, "expm1": 1.5, "log": 1.0, "log1p": 1.5, "tanh": 2.5, "sin": 2.5, "cos": 2.5,
            "softplus": 2.0}
RANGES = {"exp": [(-746, 710), (-1, 1), (-1e-8, 1e-8)],
          "expm1": [(-60, 710), (-1, 1), (-0.5, 0.5), (-1e-8, 1e-8)],
          "log": [(0, 10), (0, 1e-300), (0, 1e300), (0.5, 2)],
          "log1p": [(-1, 1), (-1e-10, 1e-10), (0, 1e300), (-1, -0.5)],
          "tanh": [(-25, 25), (-1, 1), (-1e-9, 1e-9)],
          "sin": [(-10, 10), (-1e5, 1e5), (-vm.TRIG_LIMIT, vm.TRIG_LIMIT), (-1e-6, 1e-6)],
          "cos": [(-10, 10), (-1e5, 1e5), (-vm.TRIG_LIMIT, vm.TRIG_LIMIT)],
          "softplus": [(-50, 50), (-1, 1), (-800, 800)]}
NUMPY = {"softplus": lambda x: np.logaddexp(x.dtype.type(0), x)}
"""NumPy's form of a function that NumPy does not name."""
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-310, 2.2250738585072014e-308,
                    1e-300, -1e-300, 1.0, -1.0, 709.78, 709.79, 710.0, -745.13, -745.14, -746.0, -708.4, -720.0,
                    1e-17, -1e-17, 0.5, -0.5, 22.0, -22.0, 23.0, 1e300, -1e300, 1.7976931348623157e308])

def numpy_function(name):
    return NUMPY.get(name) or getattr(np, name)


_loops = {}


def loop_of(name):
    """A compiled Numba loop applying vector_math's `name` to every element."""
    if name not in _loops:
        function = getattr(vm, name)

        @numba.njit(error_model="numpy")
        def apply(out, x):
            for i in range(x.shape[0]):
                out[i] = function(x[i])
        _loops[name] = apply
    return _loops[name]


def apply(name, x):
    out = np.empty_like(x)
    loop_of(name)(out, x)
    return out


def inputs_for(name, rng):
    x = np.concatenate([rng.uniform(low, high, 20_000) for low, high in RANGES[name]] +
                       [np.geomspace(1e-300, 1e300, 2000), -np.geomspace(1e-300, 1e300, 2000), SPECIAL])
    return x[np.abs(x) <= vm.TRIG_LIMIT] if name in ("sin", "cos") else x


def ulps_from(got, reference):
    """|got - reference| in units of the last place of the float64 nearest `reference`."""
    nearest = reference.astype(np.float64)
    return np.abs(got.astype(np.longdouble) - reference) / np.spacing(np.abs(nearest)).astype(np.longdouble)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs an extended-precision long double")
@pytest.mark.parametrize("name", sorted(MAX_ULPS))
def test_accuracy_in_ulps_against_long_double(name):
    x = inputs_for(name, np.random.default_rng(len(name)))
    with np.errstate(all="ignore"):
        reference = numpy_function(name)(x.astype(np.longdouble))
        nearest = reference.astype(np.float64)
        regular = np.isfinite(nearest) & (nearest != 0)
        assert ulps_from(apply(name, x)[regular], reference[regular]).max() <= MAX_ULPS[name]


def assert_same_special_values(got, expected):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    number = ~np.isnan(expected)
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(expected[number]))


@pytest.mark.parametrize("name", sorted(MAX_ULPS))
def test_special_values_are_numpys(name):
    x = inputs_for(name, np.random.default_rng(0))
    with np.errstate(all="ignore"):
        expected = numpy_function(name)(x)
    got = apply(name, x)
    assert_same_special_values(got, expected)
    special = ~np.isfinite(expected) | (expected == 0) | ~np.isfinite(x) | (x == 0)
    np.testing.assert_array_equal(got[special & ~np.isnan(expected)], expected[special & ~np.isnan(expected)])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=16),
       st.sampled_from(sorted(MAX_ULPS)))
def test_any_float_agrees_with_numpy(values, name):
    x = np.array(values)
    x = x[np.abs(x) <= vm.TRIG_LIMIT] if name in ("sin", "cos") else x
    with np.errstate(all="ignore"):
        expected = numpy_function(name)(x)
    got = apply(name, x)
    assert_same_special_values(got, expected)
    finite = np.isfinite(expected) & (expected != 0)
    np.testing.assert_array_max_ulp(got[finite], expected[finite], maxulp=4)


@numba.njit(error_model="numpy")
def _logaddexp_loop(out, a, b):
    for i in range(a.shape[0]):
        out[i] = vm.logaddexp(a[i], b[i])


def test_logaddexp_against_numpy():
    rng = np.random.default_rng(3)
    a, b = (np.concatenate([rng.uniform(-50, 50, 20_000), rng.uniform(-800, 800, 20_000)]) for _ in range(2))
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, 710.0, -746.0])
    a = np.concatenate([a, np.repeat(special, special.size)])
    b = np.concatenate([b, np.tile(special, special.size)])
    got = np.empty_like(a)
    _logaddexp_loop(got, a, b)
    with np.errstate(invalid="ignore"):
        expected = np.logaddexp(a, b)
    assert_same_special_values(got, expected)
    finite = np.isfinite(expected)
    # log(e**a + e**b) near 0 cancels digits (in NumPy's formula too): compare at the arguments' scale
    magnitude = np.maximum(np.abs(np.where(np.isfinite(a), a, 0)), np.abs(np.where(np.isfinite(b), b, 0)))
    scale = np.spacing(np.maximum(magnitude, np.abs(expected)))[finite]
    assert (np.abs(got[finite] - expected[finite]) <= 3 * scale).all()
    np.testing.assert_array_equal(got[~finite], expected[~finite])


@pytest.mark.parametrize("name", sorted(MAX_ULPS))
def test_loops_calling_them_vectorize(name):
    """A branch or a call in one of them would keep LLVM from using vector registers for the loop."""
    loop = loop_of(name)
    apply(name, np.zeros(4))
    assert re.search(r"<\d+ x double>", loop.inspect_llvm(loop.signatures[0]))


BEYOND = np.array([vm.TRIG_LIMIT * 1.5, -1e7, 1e22, -1e300, np.inf, -np.inf, np.nan, 3.0])


@pytest.mark.parametrize("build,reference", [
    (lambda x: sg.sin(x) * 2.0 + sg.cos(x), lambda x: np.sin(x) * 2.0 + np.cos(x)),
    (lambda x: sg.exp(-sg.sin(x * 3.0)) + x, lambda x: np.exp(-np.sin(x * 3.0)) + x),
])
@pytest.mark.parametrize("layout", ["flat", "strided", "reduced"])
def test_sin_and_cos_beyond_their_range_are_libms(build, reference, layout):
    rng = np.random.default_rng(1)
    values = rng.uniform(-4, 4, 20_000)
    values[rng.integers(0, values.size, 10)] = rng.choice(BEYOND, 10)
    x = sg.vector("x")
    backend = sg.backend("numba", parallel=False, min_elements=1)
    with np.errstate(invalid="ignore"):
        if layout == "reduced":
            finite = values[np.isfinite(values)]
            f = sg.function([x], sg.sum(build(x)), backend=backend)
            assert "numba_reduction" in f.source
            np.testing.assert_allclose(f(finite), reference(finite).sum(), rtol=1e-12)
            return
        f = sg.function([x], build(x), backend=backend)
        assert "numba_kernel" in f.source
        operand = values[::2] if layout == "strided" else values  # strided: NumPy's code serves
        got, expected = f(operand), reference(operand)
    beyond = ~(np.abs(operand) <= vm.TRIG_LIMIT)
    np.testing.assert_array_equal(got[beyond], expected[beyond])  # the block recomputed by libm
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-14)
