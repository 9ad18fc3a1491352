"""The differentiation engine: sg.grad, sg.jvp/vjp, stop_gradient, gradient fitting and sg.verify_grad."""
import warnings

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.op import Op
from symgraph.ops.gradient_ops import FitShape, fit_array, fit_gradient


def numeric_gradient(f, values, position, eps=1e-6):
    """Central differences of the scalar f(*values) with respect to values[position], entry by entry."""
    result = np.zeros_like(values[position])
    for entry in np.ndindex(values[position].shape):
        shifted = [v.copy() for v in values]
        shifted[position][entry] += eps
        plus = float(f(*shifted))
        shifted[position][entry] -= 2 * eps
        result[entry] = (plus - float(f(*shifted))) / (2 * eps)
    return result


class Twice(Op):
    """A test op computing 2x whose pullback is wrong on purpose (it returns 3 * gz)."""

    def output_types(self, x):
        return [x]

    def perform(self, x):
        return 2 * x

    def pullback(self, inputs, outputs, output_grads):
        return [output_grads[0] * 3.0]


class NoGradient(Op):
    """A test op without pullback or pushforward."""

    def output_types(self, x):
        return [x]

    def perform(self, x):
        return x + 1


# ---------------------------------------------------------------- structure and dtypes


def test_grad_returns_the_structure_of_wrt():
    x, y = sg.scalar("x"), sg.scalar("y")
    cost = x * y
    assert isinstance(sg.grad(cost, x), sg.Variable)
    as_list = sg.grad(cost, [x, y])
    as_tuple = sg.grad(cost, (x, y))
    assert isinstance(as_list, list) and isinstance(as_tuple, tuple)
    f = sg.function([x, y], as_list)
    assert [float(v) for v in f(2.0, 5.0)] == [5.0, 2.0]


def test_gradient_matches_finite_differences_of_a_composite(rng):
    x, w = sg.vector("x"), sg.matrix("w")
    cost = sg.sum(sg.tanh(w @ x) ** 2) + sg.log1p(sg.exp(x)).mean()
    values = [rng.standard_normal(3), rng.standard_normal((2, 3))]
    cost_fn = sg.function([x, w], cost)
    gx, gw = sg.function([x, w], sg.grad(cost, [x, w]))(*values)
    np.testing.assert_allclose(gx, numeric_gradient(cost_fn, values, 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gw, numeric_gradient(cost_fn, values, 1), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_has_the_dtype_of_its_variable(dtype):
    x = sg.vector("x", dtype=dtype)
    y = sg.vector("y", dtype="float64" if dtype == "float32" else "float32")
    g = sg.grad(sg.sum(x * y), x)
    assert g.dtype == np.dtype(dtype)
    value = sg.function([x, y], g)(np.ones(2, dtype), np.full(2, 3.0, y.dtype))
    assert value.dtype == np.dtype(dtype)
    np.testing.assert_allclose(value, [3.0, 3.0])


def test_integer_variable_gets_zeros_of_floatx():
    n = sg.vector("n", dtype="int64")
    x = sg.vector("x")
    g = sg.grad(sg.sum(x * n), n)
    assert g.dtype == np.dtype(sg.config.floatX)
    np.testing.assert_array_equal(sg.function([n], g)([3, 4]), [0.0, 0.0])


@pytest.mark.parametrize("make_cost, message", [
    (lambda x: x * 2, r"0-d \(scalar\).*float64\[\?\]"),
    (lambda x: 3.0, "must be a symbolic variable"),
])
def test_bad_cost_is_a_type_error(make_cost, message):
    x = sg.vector("x")
    with pytest.raises(TypeError, match=message):
        sg.grad(make_cost(x), x)


@pytest.mark.parametrize("make_cost", [lambda x: sg.argmax(x), lambda x: sg.sum(x > 0),
                                       lambda x: sg.cast(x, "int64").sum(), lambda x: sg.all(x > 0)],
                         ids=["argmax", "count", "int cast", "all"])
def test_gradient_of_an_integer_or_bool_cost_is_zeros_as_in_pytensor(make_cost):
    x = sg.vector("x")
    g = sg.grad(make_cost(x), x)
    assert g.dtype == x.dtype
    np.testing.assert_array_equal(sg.function([x], g)([1.0, -2.0]), [0.0, 0.0])


def test_integer_cost_without_a_path_to_the_variable_is_still_disconnected():
    x, y = sg.vector("x"), sg.vector("y")
    with pytest.raises(sg.DisconnectedInputError, match="y"):
        sg.grad(sg.argmax(x), y)


def test_bad_arguments_are_reported():
    x = sg.scalar("x")
    with pytest.raises(TypeError, match="every variable in wrt must be a symbolic variable"):
        sg.grad(x * 2, [x, 1.0])
    with pytest.raises(ValueError, match="disconnected_inputs must be one of"):
        sg.grad(x * 2, x, disconnected_inputs="never")
    with pytest.raises(TypeError, match="cost may be None only when known_grads is given"):
        sg.grad(None, x)


# ---------------------------------------------------------------- connectivity


def test_disconnected_input_raises_naming_it():
    x, y = sg.scalar("x"), sg.scalar("lonely")
    with pytest.raises(sg.DisconnectedInputError, match="lonely"):
        sg.grad(x * 2, [x, y])
    assert issubclass(sg.DisconnectedInputError, ValueError)


def test_disconnected_input_warns_and_gives_zeros():
    x, y = sg.scalar("x"), sg.vector("lonely")
    with pytest.warns(UserWarning, match="lonely"):
        gx, gy = sg.grad(x * 2, [x, y], disconnected_inputs="warn")
    np.testing.assert_array_equal(sg.function([y], gy)([1.0, 2.0, 3.0]), np.zeros(3))


def test_disconnected_input_ignored_gives_zeros_silently():
    x, y = sg.scalar("x"), sg.matrix("lonely")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gy = sg.grad(x * 2, y, disconnected_inputs="ignore")
    np.testing.assert_array_equal(sg.function([y], gy)(np.ones((2, 3))), np.zeros((2, 3)))


@pytest.mark.parametrize("through", [
    lambda x: sg.cast(x > 0, "float64"),
    lambda x: sg.cast(sg.argmax(x), "float64"),
    lambda x: sg.floor(x),
    lambda x: sg.stop_gradient(x),
    lambda x: sg.cast(sg.eq(x, 1.0), "float64"),
    lambda x: sg.sign(x),
], ids=["comparison", "argmax", "floor", "stop_gradient", "eq", "sign"])
def test_path_through_piecewise_constant_ops_is_connected_with_zero_gradient(through):
    x = sg.vector("x")
    cost = sg.sum(through(x) * 3.0)
    g = sg.grad(cost, x)  # no DisconnectedInputError
    np.testing.assert_array_equal(sg.function([x], g)([0.5, -2.0, 3.0]), np.zeros(3))


def test_consider_constant_blocks_the_gradient():
    x = sg.scalar("x")
    y = x * x
    cost = y * x
    g_full = sg.grad(cost, x)
    g_partial = sg.grad(cost, x, consider_constant=[y])
    f = sg.function([x], [g_full, g_partial])
    full, partial = f(3.0)
    assert float(full) == pytest.approx(27.0)  # d(x^3)/dx
    assert float(partial) == pytest.approx(9.0)  # y held constant: d(y x)/dx = y


def test_consider_constant_disconnects_what_it_hides():
    x = sg.scalar("x")
    y = sg.exp(x)
    with pytest.raises(sg.DisconnectedInputError):
        sg.grad(y * 2, x, consider_constant=[y])


def test_gradient_with_respect_to_intermediate_variables():
    x = sg.vector("x")
    h = sg.tanh(x)
    cost = sg.sum(h ** 2) + sg.sum(x)
    gh, gx = sg.grad(cost, [h, x])
    values = np.array([0.3, -1.2])
    got_h, got_x = sg.function([x], [gh, gx])(values)
    np.testing.assert_allclose(got_h, 2 * np.tanh(values))
    np.testing.assert_allclose(got_x, 2 * np.tanh(values) * (1 - np.tanh(values) ** 2) + 1)


def test_gradient_of_the_cost_itself_is_one():
    x = sg.scalar("x")
    cost = sg.sin(x)
    assert float(sg.function([x], sg.grad(cost, cost), on_unused_input="ignore")(0.3)) == 1.0


def test_known_grads_seed_intermediate_variables(rng):
    x = sg.vector("x")
    h = sg.exp(x)
    seed = sg.vector("seed")
    g = sg.grad(None, x, known_grads={h: seed})
    values, seed_value = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(sg.function([x, seed], g)(values, seed_value), seed_value * np.exp(values))
    with_cost = sg.grad(sg.sum(h), x, known_grads={h: seed})
    np.testing.assert_allclose(sg.function([x, seed], with_cost)(values, seed_value), (seed_value + 1) * np.exp(values))


def test_known_grads_of_the_wrong_shape_is_a_shape_error():
    x = sg.tensor("x", shape=(3,))
    with pytest.raises(sg.ShapeError, match="known gradient"):
        sg.grad(None, x, known_grads={sg.exp(x): sg.constant(np.ones(4))})


def test_ten_thousand_deep_chain():
    x = sg.scalar("x")
    y = x
    for _ in range(10_000):
        y = sg.sin(y)
    g = sg.grad(y, x)
    slope = sg.function([x], g)(0.0)
    assert float(slope) == pytest.approx(1.0)  # every step has slope cos(0) = 1 at 0


# ---------------------------------------------------------------- errors from the ops


def test_op_without_gradient_names_the_op_and_its_creation_site():
    x = sg.vector("x")
    y = NoGradient()(x)  # the site recorded for this node
    line = test_op_without_gradient_names_the_op_and_its_creation_site.__code__.co_firstlineno + 2
    with pytest.raises(sg.NotDifferentiableError, match=rf"nogradient.*test_grad\.py:{line}"):
        sg.grad(sg.sum(y), x)
    with pytest.raises(sg.NotDifferentiableError, match=rf"nogradient.*test_grad\.py:{line}"):
        sg.jvp(y, x, sg.vector("t"))


def test_op_without_gradient_off_the_path_is_harmless():
    x, n = sg.vector("x"), sg.vector("n")
    cost = sg.sum(x) + sg.sum(NoGradient()(n))
    np.testing.assert_array_equal(sg.function([x], sg.grad(cost, x))([1.0, 2.0]), [1.0, 1.0])


# ---------------------------------------------------------------- broadcasting decided at run time


@pytest.mark.parametrize("shape_a, shape_b", [
    ((3, 1), (1, 4)),
    ((1, 1), (2, 3)),
    ((2, 3), (3,)),
    ((1,), (4,)),
    ((), (2, 2)),
    ((2, 1, 3), (4, 1)),
])
def test_gradients_sum_over_dimensions_broadcast_at_run_time(rng, shape_a, shape_b):
    a = sg.tensor("a", shape=(None,) * len(shape_a))
    b = sg.tensor("b", shape=(None,) * len(shape_b))
    weights = rng.standard_normal(np.broadcast_shapes(shape_a, shape_b))
    cost = sg.sum(sg.sin(a) * b * sg.constant(weights))
    values = [rng.standard_normal(shape_a), rng.standard_normal(shape_b)]
    cost_fn = sg.function([a, b], cost)
    ga, gb = sg.function([a, b], sg.grad(cost, [a, b]))(*values)
    assert ga.shape == shape_a and gb.shape == shape_b
    np.testing.assert_allclose(ga, numeric_gradient(cost_fn, values, 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gb, numeric_gradient(cost_fn, values, 1), rtol=1e-6, atol=1e-8)


def test_second_derivative_through_run_time_broadcasting(rng):
    a, b, v = sg.matrix("a"), sg.matrix("b"), sg.matrix("v")
    ga = sg.grad(sg.sum((a * b) ** 3), a)
    hessian_vector = sg.grad(sg.sum(ga * v), b)
    values = [rng.standard_normal((3, 1)), rng.standard_normal((1, 4))]
    direction = rng.standard_normal((3, 1))
    got = sg.function([a, b, v], hessian_vector)(*values, direction)
    grad_fn = sg.function([a, b], ga)
    expected = numeric_gradient(lambda av, bv: np.sum(grad_fn(av, bv) * direction), values, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_fit_array_sums_and_broadcasts():
    value = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(fit_array(value, (3, 1)), value.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_array_equal(fit_array(np.ones((1, 4)), (2, 3, 4)), np.ones((2, 3, 4)))
    np.testing.assert_array_equal(fit_array(value, (1,), batch_ndim=1), value.sum(axis=(1, 2)).reshape(2, 1))
    np.testing.assert_array_equal(fit_array(np.ones((2, 3)), (4, 3), batch_ndim=1), np.ones((2, 4, 3)))
    with pytest.raises(sg.ShapeError, match="fit_shape"):
        fit_array(np.ones((3, 4)), (5, 4))


@pytest.mark.parametrize("batch_ndim", [0, 1])
def test_fit_shape_pullback_matches_finite_differences(rng, batch_ndim):
    target = sg.constant(np.array([1, 4]))
    sg.verify_grad(lambda g: FitShape((1, 4), batch_ndim)(g, target) * 1.5, [rng.standard_normal((2, 3, 4))], rng=0)


def test_fit_gradient_is_static_when_shapes_decide():
    g = sg.tensor("g", shape=(2, 3, 4))
    target = sg.tensor("x", shape=(3, 1))
    fitted = fit_gradient(g, target)
    assert fitted.type == target.type
    assert not any(isinstance(n.op, FitShape) for n in sg.graph.toposort([fitted]))
    assert fit_gradient(target, target) is target


def test_fit_gradient_defers_to_run_time_when_sizes_are_unknown():
    fitted = fit_gradient(sg.matrix("g"), sg.matrix("x"))
    assert isinstance(fitted.owner.op, FitShape)
    f = sg.function([fitted.owner.inputs[0], fitted.owner.inputs[1].owner.inputs[0]], fitted)
    np.testing.assert_array_equal(f(np.ones((2, 3)), np.zeros((1, 3))), np.full((1, 3), 2.0))


def test_fit_gradient_skips_provably_equal_shapes():
    x = sg.matrix("x")
    same = sg.exp(x) * 2.0 + x
    assert fit_gradient(same, x) is same


def test_fit_gradient_rejects_static_contradictions():
    with pytest.raises(sg.ShapeError, match="cannot be fitted"):
        fit_gradient(sg.tensor("g", shape=(3, 4)), sg.tensor("x", shape=(5, 4)))


# ---------------------------------------------------------------- stop_gradient


def test_stop_gradient_keeps_the_value_and_blocks_the_gradient():
    x = sg.vector("x")
    frozen = sg.stop_gradient(x)
    assert frozen.owner.op.name == "stop_gradient"
    f = sg.function([x], [frozen, sg.grad(sg.sum(x * frozen), x)])
    value, gradient = f([2.0, -3.0])
    np.testing.assert_array_equal(value, [2.0, -3.0])
    np.testing.assert_array_equal(gradient, [2.0, -3.0])
    np.testing.assert_array_equal(sg.function([x], sg.jvp(frozen, x, sg.constant([1.0, 1.0])))([1.0, 2.0]), [0.0, 0.0])


# ---------------------------------------------------------------- forward mode and vector-Jacobian products


def _layer(x, w):
    return sg.tanh(w @ x) * sg.exp(-sg.sum(x) / 4)


def test_jvp_and_vjp_agree_on_the_bilinear_form(rng):
    x, w, u, v = sg.vector("x"), sg.matrix("w"), sg.vector("u"), sg.vector("v")
    y = _layer(x, w)
    forward = sg.function([x, w, u], sg.jvp(y, x, u))
    reverse = sg.function([x, w, v], sg.vjp(y, x, v))
    xv, wv, uv, vv = rng.standard_normal(4), rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    assert float(vv @ forward(xv, wv, uv)) == pytest.approx(float(reverse(xv, wv, vv) @ uv), rel=1e-10)


def test_jvp_matches_finite_differences(rng):
    x, w, u = sg.vector("x"), sg.matrix("w"), sg.vector("u")
    y = _layer(x, w)
    f = sg.function([x, w], y)
    forward = sg.function([x, w, u], sg.jvp(y, x, u))
    xv, wv, uv = rng.standard_normal(4), rng.standard_normal((3, 4)), rng.standard_normal(4)
    eps = 1e-6
    np.testing.assert_allclose(forward(xv, wv, uv), (f(xv + eps * uv, wv) - f(xv - eps * uv, wv)) / (2 * eps), rtol=1e-6)


def test_jvp_and_vjp_structures_and_aliases():
    x, y = sg.vector("x"), sg.vector("y")
    outputs = [x * y, sg.exp(x)]
    tangents = sg.jvp(outputs, [x, y], [sg.vector("tx"), sg.vector("ty")])
    assert isinstance(tangents, list) and len(tangents) == 2
    cotangents = sg.vjp(outputs, (x, y), [sg.vector("a"), sg.vector("b")])
    assert isinstance(cotangents, tuple) and len(cotangents) == 2
    assert sg.Rop is sg.jvp and sg.Lop is sg.vjp


def test_products_for_unconnected_variables_are_zeros():
    x, y, t = sg.vector("x"), sg.vector("y"), sg.vector("t")
    unrelated, doubled = sg.jvp([sg.exp(x), y * 2], y, t)
    np.testing.assert_array_equal(sg.function([x], unrelated)([1.0, 2.0]), np.zeros(2))
    np.testing.assert_array_equal(sg.function([y, t], doubled)([1.0, 2.0], [3.0, 4.0]), [6.0, 8.0])
    back = sg.vjp(sg.exp(x), [x, y], sg.vector("c"))
    np.testing.assert_array_equal(sg.function([y], back[1])([1.0, 2.0, 3.0]), np.zeros(3))


def test_mismatched_tangents_are_reported():
    x, y = sg.vector("x"), sg.vector("y")
    with pytest.raises(ValueError, match="got 1 tangents for 2 variables"):
        sg.jvp(x * y, [x, y], [sg.vector("t")])
    with pytest.raises(ValueError, match="rank"):
        sg.vjp(x * y, x, sg.matrix("c"))


# ---------------------------------------------------------------- verify_grad


def test_verify_grad_accepts_right_gradients(rng):
    sg.verify_grad(lambda a, b: sg.sum(sg.tanh(a @ b)), [rng.standard_normal((2, 3)), rng.standard_normal(3)], rng=0)
    sg.verify_grad(lambda a: sg.softmax(a) * 3.0, [rng.standard_normal((4, 30))], rng=np.random.default_rng(1))


def test_verify_grad_reports_the_worst_entry():
    value = np.array([1.0, -2.0, 0.5])
    with pytest.raises(sg.GradientError, match=r"point 0, entry \(0,\): analytic 3\.0, numeric 2\.0") as info:
        sg.verify_grad(lambda x: sg.sum(Twice()(x) * sg.constant([1.0, 0.1, 0.1])), [value], rng=0)
    error = info.value
    assert error.index == (0, (0,))
    assert error.analytic == pytest.approx(3.0) and error.numeric == pytest.approx(2.0)
    assert error.abs_err == pytest.approx(1.0) and error.rel_err == pytest.approx(1 / 3)


def test_verify_grad_finds_wrong_gradients_of_large_inputs_along_directions(rng):
    with pytest.raises(sg.GradientError, match="along random direction"):
        sg.verify_grad(lambda x: Twice()(x), [rng.standard_normal((10, 10))], rng=3)


def test_verify_grad_reports_the_seed_it_drew():
    with pytest.raises(sg.GradientError, match=r"rng seed \d+"):
        sg.verify_grad(lambda x: Twice()(x), [np.ones(3)])


def test_verify_grad_uses_looser_tolerances_for_float32(rng):
    point = rng.standard_normal((3, 4)).astype("float32")
    sg.verify_grad(lambda x: sg.exp(x) * sg.sin(x), [point], rng=0)
    with pytest.raises(sg.GradientError):
        sg.verify_grad(lambda x: Twice()(x), [point], rng=0)


@pytest.mark.parametrize("fn, points, error, message", [
    (lambda x: x, [np.array([1, 2])], TypeError, "point 0 has dtype int64"),
    (lambda x: 1.0, [np.ones(2)], TypeError, "must return one symbolic variable"),
    (lambda x: x > 0, [np.ones(2)], TypeError, "must be float"),
])
def test_verify_grad_rejects_bad_arguments(fn, points, error, message):
    with pytest.raises(error, match=message):
        sg.verify_grad(fn, points, rng=0)


def test_verify_grad_rejects_a_bad_rng():
    with pytest.raises(TypeError, match="rng must be"):
        sg.verify_grad(lambda x: x, [np.ones(2)], rng="seed")



A, B = sg.scalar("a"), sg.scalar("b")
W, T = sg.tensor("w", shape=(2,)), sg.tensor("t", shape=(2,))
STATIC_DERIVATIVES = [
    ("grad of a linear scalar function", lambda: sg.grad(3 * A + 1, A), [A], 3.0),
    ("grad of a product", lambda: sg.grad(A * B, A), [A, B], 3.0),
    ("grad of a sum over a static shape", lambda: sg.grad(W.sum(), W), [W], np.ones(2)),
    ("disconnected gradient, ignored", lambda: sg.grad(B * 2, A, disconnected_inputs="ignore"), [A], 0.0),
    ("hessian of a quadratic", lambda: sg.hessian((W * W).sum(), W), [W], 2 * np.eye(2)),
    ("jacobian of a linear map", lambda: sg.jacobian(2 * W, W), [W], 2 * np.eye(2)),
    ("jvp of a linear map", lambda: sg.jvp(3 * W, W, T), [W, T], [1.5, 12.0]),
    ("vjp of a linear map", lambda: sg.vjp(3 * W, W, T), [W, T], [1.5, 12.0]),
]


@pytest.mark.parametrize("name, build, inputs, expected", STATIC_DERIVATIVES, ids=[c[0] for c in STATIC_DERIVATIVES])
def test_derivative_that_depends_only_on_static_shapes_still_takes_its_variable_as_input(name, build, inputs, expected):
    # as in PyTensor: sg.function([a, b], sg.grad(a * b, a)) compiles, although the gradient b never reads a
    values = {A: 2.0, B: 3.0, W: np.array([1.0, -2.0]), T: np.array([0.5, 4.0])}
    f = sg.function(inputs, build())
    np.testing.assert_allclose(f(*[values[v] for v in inputs]), expected)
    assert f.report.nodes_after <= 2  # the read of the variable folds away


@pytest.mark.parametrize("exponent", [0, 0.0])
def test_gradient_of_a_power_with_constant_exponent_zero_is_zero_at_zero(exponent):
    # as jax.grad(lambda x: x ** 0)(0.0): 0 * x ** -1 would be NaN there
    x = sg.vector("x")
    np.testing.assert_array_equal(sg.grad((x ** exponent).sum(), x).eval({x: np.array([0.0, 2.0])}), [0.0, 0.0])
    np.testing.assert_array_equal(sg.jvp(x ** exponent, x, x).eval({x: np.array([0.0, 2.0])}), [0.0, 0.0])


def test_a_disconnected_input_warning_points_at_the_call_of_grad():
    x, y = sg.scalar("x"), sg.vector("lonely")
    with pytest.warns(UserWarning, match="sg.grad: input lonely") as caught:
        sg.grad(x * 2, [x, y], disconnected_inputs="warn")
    assert caught[0].filename == __file__
