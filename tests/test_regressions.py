"""One test per bug the differential fuzzer (tests/fuzz) found; each name says what broke."""
import numpy as np
import pytest

import symgraph as sg

MODES = ["fast_run", "fast_compile"]
INT64_MIN = np.iinfo(np.int64).min


def compiled(inputs, outputs, mode):
    return sg.function(inputs, outputs, mode=mode, on_unused_input="ignore")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("condition_dtype", ["float64", "int32"])
@pytest.mark.parametrize("values, value_dtype", [((0, 1), "int32"), ((2.5, 0), "float32"), ((1, 0), None)])
def test_where_condition_dtype_takes_no_part_in_the_values_promotion(mode, condition_dtype, values, value_dtype):
    condition = sg.vector("c", condition_dtype)
    a, b = values
    if value_dtype is not None:  # one operand a tensor, the other a Python scalar
        a = sg.vector("a", value_dtype)
    result = sg.where(condition, a, b)
    c_value = np.array([0, 2, -1], dtype=condition_dtype)
    a_value = np.array([7, 8, 9], dtype=value_dtype) if value_dtype is not None else values[0]
    expected = np.where(c_value, a_value, b)
    assert result.dtype == expected.dtype
    inputs = [condition] + ([a] if value_dtype is not None else [])
    arguments = [c_value] + ([a_value] if value_dtype is not None else [])
    actual = compiled(inputs, result, mode)(*arguments)
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype, offset, rtol", [("float32", 1e6, 1e-6), ("float64", 1e15, 1e-14), ("int64", INT64_MIN, 1e-14)])
@pytest.mark.parametrize("build", [sg.log_softmax, lambda x: sg.log(sg.softmax(x))], ids=["log_softmax", "log_of_softmax"])
def test_log_softmax_keeps_precision_for_inputs_of_large_magnitude(mode, dtype, offset, rtol, build):
    # x - logsumexp(x) rounds log(2) away next to 1e6 in float32: the maximum must be subtracted first.
    x = sg.vector("x", dtype)
    values = np.array([offset, offset], dtype=dtype)
    result = compiled([x], build(x), mode)(values)
    np.testing.assert_allclose(result, [-np.log(2.0)] * 2, rtol=rtol)


@pytest.mark.parametrize("condition_dtype", ["float64", "int64"])
def test_where_gradient_with_a_non_bool_condition_is_an_indicator_not_the_condition_value(condition_dtype):
    condition, x, y = sg.vector("c", condition_dtype), sg.vector("x"), sg.vector("y")
    grads = sg.grad(sg.sum(sg.where(condition, x, y)), [x, y])
    c_value = np.array([1.5, 0, -3], dtype=condition_dtype)
    gx, gy = compiled([condition, x, y], grads, "fast_run")(c_value, np.zeros(3), np.zeros(3))
    np.testing.assert_array_equal(gx, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.0, 1.0, 0.0])


@pytest.mark.parametrize("mode", MODES)
def test_set_subtensor_gradient_goes_only_to_the_write_that_survives_a_repeated_index(mode):
    x, v = sg.vector("x"), sg.vector("v")
    weights = np.array([10.0, 20.0, 30.0, 40.0])
    written = sg.set_subtensor(x[[0, 0, 2, 0]], v)
    gx, gv = compiled([x, v], sg.grad(sg.sum(written * weights), [x, v]), mode)(np.zeros(4), np.ones(4))
    np.testing.assert_array_equal(gx, [0.0, 20.0, 0.0, 40.0])
    np.testing.assert_array_equal(gv, [0.0, 0.0, 30.0, 10.0])  # position 0 keeps the last of its three writes
    sg.verify_grad(lambda x, v: sg.set_subtensor(x[[1, 1, 0]], v), [np.zeros(3), np.array([1.0, 2.0, 3.0])], rng=0)


def test_set_subtensor_gradient_of_a_broadcast_value_over_a_repeated_index():
    x, v = sg.vector("x"), sg.scalar("v")
    written = sg.set_subtensor(x[[2, 2, 2]], v)
    gv = sg.function([x, v], sg.grad(sg.sum(written), v), on_unused_input="ignore")(np.zeros(3), 1.0)
    assert float(gv) == 1.0  # one element receives v, however many times it was written


@pytest.mark.parametrize("x_value, expected", [(-5.0, (0.0, 0.0, 1.0)), (0.1, (0.0, 0.0, 1.0)), (5.0, (0.0, 0.0, 1.0))])
def test_clip_gradient_when_the_lower_bound_exceeds_the_upper_one(x_value, expected):
    # np.clip(x, lo, hi) is min(max(x, lo), hi): with lo > hi the result is hi, whatever x and lo are.
    x, lo, hi = sg.scalar("x"), sg.scalar("lo"), sg.scalar("hi")
    grads = sg.grad(sg.clip(x, lo, hi), [x, lo, hi])
    result = sg.function([x, lo, hi], grads)(x_value, 0.3, 0.0)
    assert [float(g) for g in result] == list(expected)
    sg.verify_grad(lambda x, lo, hi: sg.clip(x, lo, hi), [np.array([-1.0, 0.2, 2.0]), np.full(3, 0.5), np.full(3, 0.1)], rng=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("divisor_dtype", ["int64", "int32", "bool"])
def test_divide_gradient_with_an_integer_divisor_is_not_an_integer_reciprocal(mode, divisor_dtype):
    x, n = sg.vector("x"), sg.vector("n", divisor_dtype)
    n_value = np.array([2, 4, 1], dtype=divisor_dtype) if divisor_dtype != "bool" else np.array([True, True])
    x_value = np.ones(n_value.shape)
    gradient = compiled([x, n], sg.grad(sg.sum(x / n), x), mode)(x_value, n_value)
    np.testing.assert_allclose(gradient, 1.0 / n_value.astype(float))


@pytest.mark.parametrize("mode", MODES)
def test_arctan2_gradient_with_a_bool_first_operand_builds(mode):
    y, x = sg.vector("y", "bool"), sg.vector("x")
    gradient = compiled([y, x], sg.grad(sg.sum(sg.arctan2(y, x)), x), mode)(np.array([True, False]), np.array([2.0, 3.0]))
    np.testing.assert_allclose(gradient, [-1.0 / 5.0, 0.0])


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
@pytest.mark.parametrize("keepdims", [False, True])
def test_mean_gradient_over_an_axis_of_static_size_zero(keepdims):
    x = sg.tensor("x", shape=(0, None))
    gradient = sg.grad(sg.sum(sg.mean(x, axis=0, keepdims=keepdims)), x)
    assert sg.function([x], gradient)(np.zeros((0, 3))).shape == (0, 3)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("build", [lambda f, i: f - (-i), lambda f, i: f + (-i), lambda f, i: (-i) + f],
                         ids=["subtract_negative", "add_negative", "negative_plus"])
def test_undoing_an_integer_negation_that_wrapped_around_keeps_the_value(mode, build):
    f, i = sg.scalar("f"), sg.scalar("i", "int64")
    with np.errstate(over="ignore"):
        expected = build(np.float64(0.5), np.int64(INT64_MIN))  # -INT64_MIN wraps to INT64_MIN in int64
        result = compiled([f, i], build(f, i), mode)(0.5, INT64_MIN)
    assert float(result) == float(expected)


def test_undoing_a_negation_in_the_same_integer_dtype_is_still_rewritten():
    a, b = sg.scalar("a", "int64"), sg.scalar("b", "int64")
    assert sg.optimize(a - (-b)).owner.op.name == "add"


@pytest.mark.parametrize("mode", MODES)
def test_inc_subtensor_of_one_element_wraps_around_like_numpy(mode):
    x, v = sg.vector("x", "int32"), sg.scalar("v", "int64")
    x_value = np.array([1, 2], dtype="int32")
    expected = x_value.copy()
    np.add.at(expected, 0, np.int64(INT64_MIN))
    with np.errstate(over="ignore"):
        result = compiled([x, v], sg.inc_subtensor(x[0], v), mode)(x_value, INT64_MIN)
    np.testing.assert_array_equal(result, expected)


def test_identity_scaled_product_is_unsafe_so_the_default_keeps_the_nan_and_inf_of_the_product():
    s, b = sg.vector("s"), sg.matrix("b")
    b_value = np.array([[1.0, np.nan], [np.inf, 2.0]])
    s_value = np.array([2.0, 3.0])
    with np.errstate(invalid="ignore"):
        expected = (np.eye(2) * s_value) @ b_value  # every column holds a NaN or inf term: all NaN
        result = sg.function([s, b], (sg.eye(2) * s) @ b)(s_value, b_value)
    np.testing.assert_array_equal(np.isnan(result), np.isnan(expected))


@pytest.mark.parametrize("mode", MODES)
def test_set_subtensor_stores_a_nan_scalar_into_integers_as_numpy_array_assignment_does(mode):
    # The value arrives as a NumPy scalar (a sum): NumPy raises storing a NaN scalar into integers, but casts a
    # 0-d array; the op must not depend on which of the two its input happens to be.
    x, v = sg.vector("x", "int32"), sg.vector("v")
    x_value, v_value = np.array([1, 2], dtype="int32"), np.array([np.nan])
    expected = x_value.copy()
    with np.errstate(invalid="ignore"):
        expected[0] = np.asarray(np.sum(v_value))
        result = compiled([x, v], sg.set_subtensor(x[0], sg.sum(v)), mode)(x_value, v_value)
    np.testing.assert_array_equal(result, expected)


def test_shapes_of_a_deep_chain_resolve_in_one_rewrite_not_a_reported_rewrite_loop():
    # Each element-wise step of the gradient needs the shape of its operand; resolving shape(f(g(...(x))))
    # one node at a time was a chain of rewrites longer than the engine's loop bound.
    x = sg.vector("x")
    y = x
    for i in range(200):
        y = sg.tanh(y) if i % 2 else y * 1.5
    f = sg.function([x], sg.grad(sg.sum(y), x))
    assert f.report.rewrites.get("shape_of_same_shape_input", 0) <= 200
    expected = np.ones(2)
    value = np.array([0.1, -0.2])
    for i in range(200):
        if i % 2:
            expected = expected * (1 - np.tanh(value) ** 2)
            value = np.tanh(value)
        else:
            expected, value = expected * 1.5, value * 1.5
    np.testing.assert_allclose(f(np.array([0.1, -0.2])), expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("other_shape", [(1,), (1, 1), (2, 1)])
def test_jvp_of_a_scalar_broadcast_against_size_one_axes_has_the_output_rank(mode, other_shape):
    x, t = sg.scalar("x"), sg.scalar("t")
    other = sg.tensor("other", shape=other_shape)
    y = x + other  # the tangent of x passes unchanged (partial 1) and must take y's shape
    tangent = sg.jvp(y, x, t)
    assert tangent.type == y.type
    other_value = np.arange(1.0, 1.0 + np.prod(other_shape)).reshape(other_shape)
    result = compiled([x, t, other], [tangent, sg.jvp(sg.stack([y, y]), x, t)], mode)(0.5, 2.0, other_value)
    np.testing.assert_allclose(result[0], np.full(other_shape, 2.0))
    np.testing.assert_allclose(result[1], np.full((2,) + other_shape, 2.0))


@pytest.mark.parametrize("build", [lambda x: 1.0 / (0.0 - x), lambda x: 1.0 / (x + 0.0), lambda x: sg.arctan2(0.0, 0.0 - x)],
                         ids=["reciprocal_of_zero_minus_x", "reciprocal_of_x_plus_zero", "arctan2_of_zero_minus_x"])
def test_removing_a_zero_keeps_the_sign_of_zero_results(build):
    x = sg.vector("x")
    values = np.array([0.0, -0.0])
    with np.errstate(divide="ignore"):
        expected = sg.function([x], build(x), mode="fast_compile")(values)
        result = sg.function([x], build(x))(values)
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("mode", MODES)
def test_constants_are_not_gathered_across_a_widening_that_follows_a_wrap_around(mode):
    # found by the fuzzer: (x - 1) + int64(1) at x = INT32_MIN wraps to INT32_MAX in int32 first, then widens
    x = sg.tensor("x", dtype="int32", shape=())
    one = sg.constant(np.array(1, dtype="int64"))
    f = compiled([x], [(x - 1) + one], mode)
    value = np.array(np.iinfo(np.int32).min, dtype=np.int32)
    with np.errstate(over="ignore"):
        expected = (value - np.int32(1)) + np.int64(1)
    assert f(value)[0] == expected == 2**31


@pytest.mark.parametrize("mode", MODES)
def test_constants_are_not_gathered_across_a_widening_that_follows_an_overflow(mode):
    x = sg.tensor("x", dtype="float32", shape=(None,))
    f = compiled([x], [(x + np.float32(1e38)) + sg.constant(np.array(-1e38))], mode)
    values = np.array([3e38, 1.0], dtype=np.float32)
    with np.errstate(over="ignore"):
        expected = (values + np.float32(1e38)) + np.float64(-1e38)
    np.testing.assert_array_equal(f(values)[0], expected)  # inf where float32 overflowed, as NumPy
