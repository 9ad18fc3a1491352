"""The element-wise rows of issue 14 (hypot, logaddexp, logaddexp2, sinc, deg2rad, rad2deg, fmod, copysign,
heaviside, isfinite, signbit, gammaln, digamma) and nan_to_num beyond the table-driven tests of
test_elemwise.py and test_grad_rules.py: special values, fused kernels, derivatives at kinks, the NumPy
fallbacks of the SciPy functions, forward mode and second derivatives."""
import math
import pickle

import numpy as np
import pytest
import scipy.special

import symgraph as sg
from symgraph.ops import elemwise
from symgraph.ops.elemwise import Elemwise, polygamma_row

from numpy_checks import check
from op_testing import assert_jvp_matches_finite_differences

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e300, -1e300, 1e-300, np.inf, -np.inf, np.nan])

UNARY = {
    "sinc": np.sinc, "deg2rad": np.deg2rad, "rad2deg": np.rad2deg, "isfinite": np.isfinite,
    "signbit": np.signbit, "gammaln": scipy.special.gammaln, "digamma": scipy.special.digamma,
}
BINARY = {
    "hypot": np.hypot, "logaddexp": np.logaddexp, "logaddexp2": np.logaddexp2, "fmod": np.fmod,
    "copysign": np.copysign, "heaviside": np.heaviside,
}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_unary_rows_match_numpy_on_special_values(name):
    check(getattr(sg, name), UNARY[name], [SPECIAL])


@pytest.mark.parametrize("name", BINARY)
def test_binary_rows_match_numpy_on_every_pair_of_special_values(name):
    a, b = np.meshgrid(SPECIAL, SPECIAL)
    check(getattr(sg, name), BINARY[name], [a, b])


@pytest.mark.parametrize("name", UNARY)
def test_unary_rows_fuse_and_keep_nan_and_inf(name, rng):
    x = sg.vector("x")
    f = sg.function([x], getattr(sg, name)(x * 2.0) * 3 + 1)
    assert [node.op.name for node in f.graph.nodes] == ["fused"]
    values = np.concatenate([SPECIAL, rng.normal(size=20)])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(f(values), UNARY[name](values * 2.0) * 3 + 1)


@pytest.mark.parametrize("name", BINARY)
def test_binary_rows_fuse_and_keep_nan_and_inf(name, rng):
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], getattr(sg, name)(x - 1.0, y) * 2)
    assert [node.op.name for node in f.graph.nodes] == ["fused"]
    a, b = (np.concatenate([v.ravel(), rng.normal(size=20)]) for v in np.meshgrid(SPECIAL, SPECIAL))
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(f(a, b), BINARY[name](a - 1.0, b) * 2)


@pytest.mark.parametrize("name", ["sinc", "gammaln", "logaddexp"])
def test_large_fused_kernels_run_blocked_and_match_numpy(name, rng):
    x = sg.vector("x")
    build = getattr(sg, name)
    f = sg.function([x], sg.exp(-x * x) + (build(x * 0.5) if name != "logaddexp" else build(x, 0.5 * x)))
    values = rng.uniform(0.1, 5, 300_000)
    reference = UNARY.get(name)
    expected = np.exp(-values * values) + (reference(values * 0.5) if reference else np.logaddexp(values, 0.5 * values))
    np.testing.assert_allclose(f(values), expected, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("name", list(UNARY) + list(BINARY))
def test_rows_give_numpys_dtype(name, dtype, rng):
    value = (rng.random((2, 3)) > 0.5) if dtype == "bool" else (rng.uniform(0.5, 3, (2, 3)) * 2).astype(dtype)
    if name in BINARY:
        check(getattr(sg, name), BINARY[name], [value, value[::-1]], rtol=2e-3 if dtype == "bool" else None)
    else:
        reference = UNARY[name]
        if name in ("gammaln", "digamma"):  # NumPy's float type for the operand, as np.sin gives it
            def reference(v, _f=UNARY[name]):
                return _f(v).astype(np.sin(v).dtype)
        check(getattr(sg, name), reference, [value], rtol=2e-3 if dtype == "bool" else None)


def test_sinc_derivatives_at_zero_are_exact():
    x = sg.scalar("x")
    first = sg.grad(sg.sinc(x), x)
    second = sg.grad(first, x)
    f = sg.function([x], [first, second])
    for mode in (None, "fast_compile"):
        d1, d2 = sg.function([x], [first, second], mode=mode)(0.0)
        assert d1 == 0.0
        assert d2 == pytest.approx(-math.pi**2 / 3, rel=1e-12)
    d1, d2 = f(0.3)
    h = 1e-5
    assert d1 == pytest.approx((np.sinc(0.3 + h) - np.sinc(0.3 - h)) / (2 * h), rel=1e-8)
    assert d2 == pytest.approx((np.sinc(0.3 + h) - 2 * np.sinc(0.3) + np.sinc(0.3 - h)) / h**2, rel=1e-4)


def test_sinc_jvp_at_zero_is_zero():
    x, t = sg.vector("x"), sg.vector("t")
    np.testing.assert_array_equal(sg.function([x, t], sg.jvp(sg.sinc(x), x, t))([0.0, 0.0], [1.0, -2.0]), [0.0, 0.0])


def test_hypot_gradient_at_the_origin_is_zero_and_finite_elsewhere():
    x, y = sg.vector("x"), sg.vector("y")
    gx, gy = sg.grad(sg.sum(sg.hypot(x, y)), [x, y])
    f = sg.function([x, y], [gx, gy])
    rx, ry = f([0.0, 3.0], [0.0, 4.0])
    np.testing.assert_allclose(rx, [0.0, 0.6])
    np.testing.assert_allclose(ry, [0.0, 0.8])


def test_logaddexp_gradients_stay_finite_for_large_inputs():
    x, y = sg.vector("x"), sg.vector("y")
    gx, gy = sg.grad(sg.sum(sg.logaddexp(x, y) + sg.logaddexp2(x, y)), [x, y])
    rx, ry = sg.function([x, y], [gx, gy])([1000.0, -1000.0], [1000.0, 0.0])
    np.testing.assert_allclose(rx, [1.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(ry, [1.0, 2.0], atol=1e-300)


def test_heaviside_gradient_flows_to_the_value_at_zero_only():
    x1, x2 = sg.vector("x1"), sg.vector("x2")
    g1, g2 = sg.grad(sg.sum(sg.heaviside(x1, x2)), [x1, x2])
    r1, r2 = sg.function([x1, x2], [g1, g2])([-1.0, 0.0, 2.0], [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(r1, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(r2, [0.0, 1.0, 0.0])


@pytest.mark.parametrize("build, domain", [
    (lambda x, y: sg.hypot(x, y), "real"),
    (lambda x, y: sg.logaddexp(x, y) * sg.logaddexp2(y, x), "real"),
    (lambda x, y: sg.fmod(x * 3, y), "positive"),
    (lambda x, y: sg.copysign(x, y), "real"),
    (lambda x, y: sg.sinc(x) + sg.deg2rad(y) * sg.rad2deg(x), "real"),
    (lambda x, y: sg.gammaln(x) * sg.digamma(y), "positive"),
])
def test_forward_mode_matches_finite_differences(build, domain, rng):
    low, high = (-2, 2) if domain == "real" else (0.6, 3)
    values = [rng.uniform(low, high, (3, 4)), rng.uniform(low, high, (3, 4))]
    assert_jvp_matches_finite_differences(build, values, rng)


def test_second_and_third_derivatives_of_digamma_match_scipy():
    x = sg.vector("x")
    first = sg.grad(sg.sum(sg.gammaln(x)), x)
    second = sg.grad(sg.sum(first), x)
    third = sg.grad(sg.sum(second), x)
    values = np.array([0.3, 1.0, 4.5])
    for mode in (None, "fast_compile"):
        d1, d2, d3 = sg.function([x], [first, second, third], mode=mode)(values)
        np.testing.assert_allclose(d1, scipy.special.digamma(values), rtol=1e-13)
        np.testing.assert_allclose(d2, scipy.special.polygamma(1, values), rtol=1e-13)
        np.testing.assert_allclose(d3, scipy.special.polygamma(2, values), rtol=1e-13)
    sg.verify_grad(lambda v: sg.digamma(v) * 2, [values + 0.5], rng=0)


def test_a_compiled_polygamma_gradient_pickles():
    x = sg.vector("x")
    f = sg.function([x], sg.grad(sg.sum(sg.digamma(x)), x))
    g = pickle.loads(pickle.dumps(f))
    np.testing.assert_allclose(g([1.5, 2.0]), scipy.special.polygamma(1, [1.5, 2.0]), rtol=1e-13)
    assert pickle.loads(pickle.dumps(polygamma_row(3))) is polygamma_row(3)


def test_polygamma_rows_round_trip_through_sympy():
    x = sg.vector("x")
    trigamma = Elemwise(polygamma_row(1))(x)
    expression, symbols = sg.to_sympy(trigamma, return_symbols=True)
    rebuilt = sg.from_sympy(expression, symbols)
    values = np.array([0.4, 2.0])
    np.testing.assert_allclose(rebuilt.eval({x: values}), scipy.special.polygamma(1, values), rtol=1e-13)


# ---------------------------------------------------------------- NumPy fallbacks of the SciPy functions

FALLBACK_POINTS = np.concatenate([
    np.random.default_rng(7).uniform(-30, 30, 5000), np.random.default_rng(8).uniform(1e-3, 2, 500),
    np.array([1e-8, 1e3, 1e8, 0.5, 1.0, 2.0, -0.5, -1.5, -2.000001, -9.99999]),
])


def _assert_close(actual, expected, rtol):
    # Relative to |value| + 1: near a zero of the function only the absolute error can be small.
    error = np.abs(actual - expected) / (np.abs(expected) + 1)
    assert np.nanmax(error) < rtol
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))


def test_gammaln_fallback_matches_scipy():
    _assert_close(elemwise._gammaln_numpy(FALLBACK_POINTS), scipy.special.gammaln(FALLBACK_POINTS), 1e-13)
    special = np.array([0.0, -1.0, -2.0, np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(elemwise._gammaln_numpy(special), scipy.special.gammaln(special))


def test_digamma_fallback_matches_scipy():
    _assert_close(elemwise._digamma_numpy(FALLBACK_POINTS), scipy.special.digamma(FALLBACK_POINTS), 1e-11)
    positive = FALLBACK_POINTS[FALLBACK_POINTS > 0]
    np.testing.assert_allclose(elemwise._digamma_numpy(positive), scipy.special.digamma(positive), rtol=1e-12, atol=1e-13)
    special = np.array([0.0, -0.0, -1.0, -3.0, np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(elemwise._digamma_numpy(special), scipy.special.digamma(special))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_polygamma_fallback_matches_scipy(n):
    points = FALLBACK_POINTS[np.abs(FALLBACK_POINTS) < 30]
    np.testing.assert_allclose(elemwise._polygamma_numpy(n, points), scipy.special.polygamma(n, points), rtol=1e-12)
    special = np.array([0.0, -1.0, np.inf, np.nan])
    np.testing.assert_array_equal(elemwise._polygamma_numpy(n, special), scipy.special.polygamma(n, special))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_fallbacks_keep_the_float_dtype(dtype):
    values = np.array([0.5, 2.0], dtype=dtype)
    assert elemwise._gammaln_numpy(values).dtype == dtype
    assert elemwise._digamma_numpy(values).dtype == dtype
    assert elemwise._polygamma_numpy(1, values).dtype == dtype


# ---------------------------------------------------------------- nan_to_num

NAN_INF = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0, 1e300])


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("kwargs", [{}, {"nan": -1.0}, {"posinf": 7.0, "neginf": -7.0}, {"posinf": 1e300}, {"nan": 2}])
def test_nan_to_num_matches_numpy(dtype, kwargs):
    with np.errstate(all="ignore"):
        values = NAN_INF.astype(dtype)
    with np.errstate(all="ignore"):
        check(lambda x: sg.nan_to_num(x, **kwargs), lambda v: np.nan_to_num(v, **kwargs), [values])


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_nan_to_num_leaves_integers_and_bools_alone(dtype, rng):
    x = sg.vector("x", dtype=dtype)
    assert sg.nan_to_num(x) is x
    values = (rng.random(4) > 0.5).astype(dtype)
    check(sg.nan_to_num, np.nan_to_num, [values])


def test_nan_to_num_takes_numpys_positional_arguments():
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(sg.nan_to_num(NAN_INF, True, 3.0, 4.0, 5.0).eval(),
                                      np.nan_to_num(NAN_INF, True, 3.0, 4.0, 5.0))


def test_nan_to_num_gradient_is_one_where_finite_and_zero_elsewhere():
    x = sg.vector("x")
    g = sg.grad(sg.sum(sg.nan_to_num(x) * 3), x)
    np.testing.assert_array_equal(g.eval({x: NAN_INF}), [0.0, 0.0, 0.0, 3.0, 3.0, 3.0])
    t = sg.vector("t")
    np.testing.assert_array_equal(sg.jvp(sg.nan_to_num(x), x, t).eval({x: NAN_INF, t: np.ones(6)}),
                                  [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])


def test_nan_to_num_refuses_complex_operands():
    with pytest.raises(TypeError, match=r"nan_to_num: operand of type .*complex128.* is not supported"):
        sg.nan_to_num(sg.vector("z", dtype="complex128"))


@pytest.mark.parametrize("name", ["signbit", "heaviside", "hypot", "copysign", "logaddexp"])
def test_rows_refuse_complex_operands_as_numpy_does_naming_the_op(name):
    z = sg.vector("z", dtype="complex128")
    with pytest.raises(TypeError, match=rf"{name}: not defined for operands of types complex128\[\?\]"):
        getattr(sg, name)(*[z] * elemwise.SCALAR_OPS[name].nin)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "uint16", "int32", "uint64"])
def test_sigmoid_of_integers_and_bools_computes_in_the_float_type_exp_gives(dtype):
    v = sg.vector("v", dtype=dtype)
    values = np.array([0, 1, 1], dtype) if dtype == "bool" else np.array([0, 3, 100], dtype)
    got = sg.function([v], sg.sigmoid(v))(values)
    as_float = values.astype(np.result_type(values.dtype, np.float16))
    assert got.dtype == np.exp(values).dtype
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-as_float.astype(np.float64))), rtol=1e-3)
