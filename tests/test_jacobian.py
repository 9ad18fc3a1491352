"""sg.jacobian and sg.hessian (batched reverse mode), the batching rules behind them, and the textbook facts
of backpropagation."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.autodiff.jacobian import _by_columns as by_columns
from symgraph.autodiff.vectorize import PerSliceLoop, vectorize
from symgraph.graph.op import Op
from symgraph.ops.linalg import DiagonalMatrix
from symgraph.graph.traversal import toposort


def numeric_jacobian(f, values, position, eps=1e-6):
    """Central differences: shape f(...).shape + values[position].shape."""
    point = values[position]
    columns = []
    for entry in np.ndindex(point.shape):
        shifted = [v.copy() for v in values]
        shifted[position][entry] += eps
        plus = np.asarray(f(*shifted))
        shifted[position][entry] -= 2 * eps
        columns.append((plus - np.asarray(f(*shifted))) / (2 * eps))
    out_shape = np.shape(f(*values))
    return np.stack(columns, axis=-1).reshape(out_shape + point.shape)


def op_names(variables):
    return [node.op.name for node in toposort(variables)]


JACOBIAN_CASES = [
    ("elemwise", lambda x, w: sg.tanh(x) * x[0] + sg.exp(-x), [(4,), (3,)]),
    ("broadcast", lambda x, w: (x[:, None] * w).sum(axis=0), [(4,), (4, 3)]),
    ("matrix_vector", lambda x, w: sg.tanh(w @ x), [(3,), (4, 3)]),
    ("vector_matrix", lambda x, w: x @ w, [(4,), (4, 3)]),
    ("matrix_matrix", lambda x, w: (w.T @ sg.outer(x, x))[0], [(4,), (4, 3)]),
    ("batched_matmul", lambda x, w: sg.sum(sg.reshape(x, (2, 1, 2)) @ sg.reshape(w, (2, 2, 3)), axis=0), [(4,), (4, 3)]),
    ("dot", lambda x, w: sg.dot(w.T, sg.sin(x)), [(4,), (4, 3)]),
    ("tensordot", lambda x, w: sg.tensordot(sg.reshape(x, (2, 2)), sg.reshape(w, (2, 2, 3)), axes=([0, 1], [0, 1])), [(4,), (4, 3)]),
    ("einsum", lambda x, w: sg.einsum("i,ij,i->j", x, w, x), [(4,), (4, 3)]),
    ("reductions", lambda x, w: sg.stack([x.max(), x.min(), x.prod(), x.var(), x.std(), sg.logsumexp(x), x.mean()]), [(4,), (1,)]),
    ("reduce_axis", lambda x, w: (w * x[:, None]).sum(axis=1) + (w * x[:, None]).max(axis=1), [(4,), (4, 3)]),
    ("softmax", lambda x, w: sg.softmax(x * 2), [(4,), (1,)]),
    ("log_softmax", lambda x, w: sg.log_softmax(sg.reshape(x, (2, 2)), axis=0).flatten(), [(4,), (1,)]),
    ("cumsum", lambda x, w: sg.cumsum(x ** 2), [(4,), (1,)]),
    ("reshape_transpose", lambda x, w: sg.reshape(x, (2, 2)).T.flatten() * 3, [(4,), (1,)]),
    ("broadcast_to", lambda x, w: sg.broadcast_to(x, (2, 4)).flatten() * sg.arange(8), [(4,), (1,)]),
    ("concatenate_stack", lambda x, w: sg.concatenate([x, sg.stack([x[0], x[1] * 2])]) * w[0, 0], [(4,), (1, 1)]),
    ("getitem", lambda x, w: x[[0, 0, 3]] * x[1:3].sum() + x[::-1][0], [(4,), (1,)]),
    ("getitem_mask", lambda x, w: sg.sum(x[x > 0] ** 2), [(4,), (1,)]),
    ("set_subtensor", lambda x, w: sg.set_subtensor(x[1:3], x[:2] ** 2), [(4,), (1,)]),
    ("inc_subtensor", lambda x, w: sg.inc_subtensor(w[[0, 0]], x[:3]).flatten(), [(3,), (2, 3)]),
    ("apart_advanced_read", lambda x, w: sg.reshape(x, (2, 2, 2))[0, :, [1, 0, 1]].flatten() ** 2, [(8,), (1,)]),
    ("apart_advanced_write", lambda x, w: sg.set_subtensor(sg.reshape(x, (2, 3, 2))[[1, 0], :, 0], w).flatten(),
     [(12,), (2, 3)]),
    ("apart_advanced_write_value", lambda x, w: sg.inc_subtensor(w[[1, 0], :, 0], sg.reshape(x, (2, 3))).flatten(),
     [(6,), (2, 3, 2)]),
    ("where_clip", lambda x, w: sg.where(x > 0, x ** 2, sg.clip(x, -0.5, 0.5)), [(4,), (1,)]),
    ("full_like", lambda x, w: sg.full_like(w, x[0]) * w, [(4,), (2, 3)]),
    ("crossentropy", lambda x, w: sg.categorical_crossentropy(sg.softmax(sg.reshape(x, (2, 2))), np.array([1, 0])),
     [(4,), (1,)]),
]


@pytest.mark.parametrize("name, build, shapes", JACOBIAN_CASES, ids=[c[0] for c in JACOBIAN_CASES])
@pytest.mark.parametrize("static", [True, False], ids=["static", "unknown_sizes"])
def test_jacobian_matches_finite_differences_and_uses_batching_rules(name, build, shapes, static, rng):
    values = [rng.standard_normal(shape) for shape in shapes]
    x, w = (sg.tensor(n, shape=v.shape if static else (None,) * v.ndim) for n, v in zip("xw", values))
    expr = build(x, w)
    jac = sg.jacobian(expr, x)
    assert "per_slice_loop" not in op_names([jac])
    got = sg.function([x, w], jac, on_unused_input="ignore")(*values)
    f = sg.function([x, w], expr, on_unused_input="ignore")
    np.testing.assert_allclose(got, numeric_jacobian(f, values, 0), rtol=1e-6, atol=1e-8)


def test_jacobian_shape_is_expr_shape_plus_wrt_shape_with_symbolic_sizes(rng):
    x, w = sg.matrix("x"), sg.tensor("w", shape=(None, None, 2))
    expr = sg.tensordot(x, w, axes=1)  # shape (a, c, 2)
    jac = sg.jacobian(expr, [x, w])
    assert [j.ndim for j in jac] == [5, 6]
    xv, wv = rng.standard_normal((2, 3)), rng.standard_normal((3, 4, 2))
    jx, jw = sg.function([x, w], jac)(xv, wv)
    assert jx.shape == (2, 4, 2, 2, 3) and jw.shape == (2, 4, 2, 3, 4, 2)
    f = sg.function([x, w], expr)
    np.testing.assert_allclose(jw, numeric_jacobian(f, [xv, wv], 1), rtol=1e-6, atol=1e-8)


def test_jacobian_of_a_scalar_is_the_gradient(rng):
    x = sg.vector("x")
    cost = sg.sum(sg.sin(x))
    values = rng.standard_normal(3)
    np.testing.assert_allclose(sg.function([x], sg.jacobian(cost, x))(values), np.cos(values))


def test_jacobian_structure_and_unconnected_variables():
    x, y = sg.vector("x"), sg.vector("y")
    assert isinstance(sg.jacobian(x * 2, (x,)), tuple)
    with pytest.raises(sg.DisconnectedInputError, match="y"):
        sg.jacobian(x * 2, [x, y])
    jy = sg.jacobian(x * 2, y, disconnected_inputs="ignore")
    np.testing.assert_array_equal(sg.function([x, y], jy)([1.0, 2.0], [3.0, 4.0, 5.0]), np.zeros((2, 3)))


def test_jacobian_rejects_integer_expressions():
    x = sg.vector("x")
    with pytest.raises(TypeError, match="float dtype"):
        sg.jacobian(sg.argmax(x), x)


def test_jacobian_graph_size_does_not_grow_with_the_output_size():
    def graph_size(n):
        x = sg.vector("x", shape=(n,))
        w = sg.constant(np.ones((n, n)))
        return len(toposort([sg.jacobian(sg.tanh(w @ x), x)]))

    assert graph_size(3) == graph_size(300)


def test_jacobian_of_a_large_map_is_the_forward_product_and_a_row_scaling(rng):
    n = 300
    w_value, x_value = rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n)
    x = sg.vector("x")
    jac = sg.function([x], sg.jacobian(sg.tanh(sg.constant(w_value) @ x), x))
    products = [node for node in jac.graph.nodes if node.op.name in ("matmul", "tensordot", "einsum", "dot")]
    assert len(products) == 1  # the forward matrix-vector product; the 300 rows are w's rows scaled
    expected = (1 - np.tanh(w_value @ x_value) ** 2)[:, None] * w_value
    np.testing.assert_allclose(jac(x_value), expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- the batching fallback


class Cube(Op):
    """A test op with no batching rule: x ** 3, whose pullback is built from another rule-less op."""

    def output_types(self, x):
        return [x]

    def perform(self, x):
        return x ** 3

    def pullback(self, inputs, outputs, output_grads):
        return [Scale3Square()(inputs[0], output_grads[0])]

    def pushforward(self, inputs, outputs, tangents):
        return [Scale3Square()(inputs[0], tangents[0])]


class Scale3Square(Op):
    """3 x^2 * g, a test op with no batching rule."""

    def output_types(self, x, g):
        return [g]

    def perform(self, x, g):
        return 3 * x ** 2 * g

    def pullback(self, inputs, outputs, output_grads):
        x, g = inputs
        return [6.0 * x * g * output_grads[0], Scale3Square()(x, output_grads[0])]

    def pushforward(self, inputs, outputs, tangents):
        return [None if tangents[1] is None else Scale3Square()(inputs[0], tangents[1])]


def test_ops_without_batching_rule_fall_back_to_a_per_slice_loop(rng):
    x = sg.vector("x")
    jac = sg.jacobian(Cube()(x) * 2.0, x)
    assert "per_slice_loop" in op_names([jac])
    values = rng.standard_normal(3)
    np.testing.assert_allclose(sg.function([x], jac)(values), np.diag(6 * values ** 2))
    # the loop's derivative is its op's own, batched: d/dx of sum(diag(6 x**2)) = 12 x
    np.testing.assert_allclose(sg.function([x], sg.grad(sg.sum(jac), x))(values), 12 * values)


def test_per_slice_loop_handles_an_empty_batch():
    loop = PerSliceLoop(Scale3Square(), (False, True))
    result = loop.perform(np.ones(3), np.zeros((0, 3)))
    assert result.shape == (0, 3)


def test_vectorize_repeats_unbatched_results():
    x, xs, c = sg.vector("x"), sg.matrix("xs"), sg.vector("c")
    batched, unbatched = vectorize([sg.exp(x), c * 2], {x: xs}, xs.shape[0])
    f = sg.function([xs, c], [batched, unbatched])
    got, repeated = f(np.zeros((2, 3)), [1.0, 2.0])
    np.testing.assert_array_equal(got, np.ones((2, 3)))
    np.testing.assert_array_equal(repeated, [[2.0, 4.0], [2.0, 4.0]])


PRODUCT_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                  ((2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3,))]


@pytest.mark.parametrize("product", [sg.matmul, lambda a, b: sg.tensordot(a, b, axes=([a.ndim - 1], [max(b.ndim - 2, 0)]))],
                         ids=["matmul", "tensordot"])
@pytest.mark.parametrize("shapes", PRODUCT_SHAPES, ids=[f"{a}@{b}" for a, b in PRODUCT_SHAPES])
@pytest.mark.parametrize("which", ["a", "b", "both"])
def test_product_batching_rules_match_a_loop_over_the_batch(product, shapes, which, rng):
    a, b = sg.tensor("a", shape=shapes[0]), sg.tensor("b", shape=shapes[1])
    batch = {"a": [a], "b": [b], "both": [a, b]}[which]
    stacked = {v: sg.tensor(f"{v.name}s", shape=(2,) + v.type.shape) for v in batch}
    [result] = vectorize([product(a, b)], stacked, 2)
    assert "per_slice_loop" not in op_names([result])
    values = {v: rng.standard_normal(v.type.shape) for v in (a, b)}
    batched_values = {v: rng.standard_normal(s.type.shape) for v, s in stacked.items()}
    inputs = [stacked.get(v, v) for v in (a, b)]
    got = sg.function(inputs, result)(*[batched_values.get(v, values[v]) for v in (a, b)])
    single = sg.function([a, b], product(a, b))
    expected = [single(*[batched_values[v][i] if v in stacked else values[v] for v in (a, b)]) for i in range(2)]
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-12, atol=1e-12)


def test_vectorize_stop_gradient():
    x, xs = sg.vector("x"), sg.matrix("xs")
    [out] = vectorize([sg.stop_gradient(x) * 2], {x: xs}, 2)
    np.testing.assert_array_equal(sg.function([xs], out)([[1.0], [2.0]]), [[2.0], [4.0]])


def test_vectorize_writes_an_unbatched_value_where_numpy_moves_the_index_block(rng):
    x, xs, w = sg.tensor("x", shape=(2, 3, 2)), sg.tensor("xs", shape=(4, 2, 3, 2)), sg.matrix("w")
    written = sg.set_subtensor(x[[1, 0], :, 0], w)
    [batched] = vectorize([written], {x: xs}, 4)
    xs_value, w_value = rng.standard_normal((4, 2, 3, 2)), rng.standard_normal((2, 3))
    expected = xs_value.copy()
    for entry in expected:
        entry[[1, 0], :, 0] = w_value
    np.testing.assert_array_equal(sg.function([xs, w], batched)(xs_value, w_value), expected)


# ---------------------------------------------------------------- Hessians


def test_hessian_matches_finite_differences_of_the_gradient(rng):
    x, a = sg.vector("x"), sg.matrix("a")
    cost = sg.sum(sg.tanh(a @ x) ** 2) + sg.logsumexp(x) + sg.sum(x ** 4) / 4
    values = [rng.standard_normal(3), rng.standard_normal((2, 3))]
    hess = sg.function([x, a], sg.hessian(cost, x))(*values)
    gradient = sg.function([x, a], sg.grad(cost, x))
    np.testing.assert_allclose(hess, numeric_jacobian(gradient, values, 0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-12)


def test_hessian_of_a_list_is_the_list_of_diagonal_blocks(rng):
    x, w = sg.vector("x"), sg.matrix("w")
    cost = sg.sum((w @ x) ** 2)
    hx, hw = sg.hessian(cost, [x, w])
    xv, wv = rng.standard_normal(3), rng.standard_normal((2, 3))
    got_x, got_w = sg.function([x, w], [hx, hw])(xv, wv)
    np.testing.assert_allclose(got_x, 2 * wv.T @ wv)
    assert got_w.shape == (2, 3, 2, 3)
    expected_w = np.einsum("ik,j,l->ijkl", 2 * np.eye(2), xv, xv)
    np.testing.assert_allclose(got_w, expected_w)


def test_hessian_of_a_quadratic_form(rng):
    x = sg.vector("x")
    a_value = rng.standard_normal((4, 4))
    cost = x @ sg.constant(a_value) @ x
    np.testing.assert_allclose(sg.function([x], sg.hessian(cost, x))(rng.standard_normal(4)), a_value + a_value.T)


def test_grad_of_grad_of_a_scalar_function():
    x = sg.scalar("x")
    y = sg.sin(x) * x ** 3
    second = sg.grad(sg.grad(y, x), x)
    value = 0.7
    expected = -np.sin(value) * value ** 3 + 6 * np.cos(value) * value ** 2 + 6 * np.sin(value) * value
    assert float(sg.function([x], second)(value)) == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- the textbook facts of backpropagation


@pytest.mark.parametrize("activation, derivative", [
    (sg.sigmoid, lambda pre: 1 / (1 + np.exp(-pre)) * (1 - 1 / (1 + np.exp(-pre)))),
    (sg.relu, lambda pre: (pre > 0).astype(float)),
    (sg.tanh, lambda pre: 1 - np.tanh(pre) ** 2),
], ids=["sigmoid", "relu", "tanh"])
def test_layer_jacobian_is_the_weights_with_rows_scaled_by_the_activation_slope(rng, activation, derivative):
    x = sg.vector("x")
    w_value, b_value, x_value = rng.standard_normal((5, 3)), rng.standard_normal(5), rng.standard_normal(3)
    layer = activation(sg.constant(w_value) @ x + sg.constant(b_value))
    jac = sg.function([x], sg.jacobian(layer, x))(x_value)
    pre = w_value @ x_value + b_value
    np.testing.assert_allclose(jac, derivative(pre)[:, None] * w_value, rtol=1e-10, atol=1e-12)
    if activation is sg.relu:
        assert np.all(jac[pre <= 0] == 0)  # inactive units pass no gradient


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot(rng):
    z, label = sg.vector("z"), sg.scalar("label", dtype="int64")
    loss = -sg.log_softmax(z)[label]
    logits = rng.standard_normal(5)
    got = sg.function([z, label], sg.grad(loss, z))(logits, 3)
    np.testing.assert_allclose(got, np.exp(logits) / np.exp(logits).sum() - np.eye(5)[3], rtol=1e-12, atol=1e-14)


def test_squared_error_gradient_is_the_residual(rng):
    y, target = sg.vector("y"), sg.vector("target")
    loss = 0.5 * sg.sum((target - y) ** 2)
    yv, tv = rng.standard_normal(4), rng.standard_normal(4)
    np.testing.assert_allclose(sg.function([y, target], sg.grad(loss, y))(yv, tv), yv - tv, rtol=1e-12)


def test_jacobian_of_a_composition_is_the_product_of_the_jacobians(rng):
    x, h = sg.vector("x"), sg.vector("h")
    a_value = rng.standard_normal((3, 4))
    inner = sg.tanh(sg.constant(a_value) @ x)
    outer_of_h = sg.sin(h) * sg.sum(h)
    composed = sg.sin(inner) * sg.sum(inner)
    x_value = rng.standard_normal(4)
    h_value = sg.function([x], inner)(x_value)
    j_total = sg.function([x], sg.jacobian(composed, x))(x_value)
    j_inner = sg.function([x], sg.jacobian(inner, x))(x_value)
    j_outer = sg.function([h], sg.jacobian(outer_of_h, h))(h_value)
    np.testing.assert_allclose(j_total, j_outer @ j_inner, rtol=1e-10, atol=1e-12)


def test_weight_gradient_is_the_outer_product_of_error_and_input(rng):
    x, w, target = sg.vector("x"), sg.matrix("w"), sg.vector("target")
    pre = w @ x
    loss = 0.5 * sg.sum((sg.tanh(pre) - target) ** 2)
    g_w, g_pre = sg.grad(loss, [w, pre])
    xv, wv, tv = rng.standard_normal(3), rng.standard_normal((2, 3)), rng.standard_normal(2)
    weight_gradient, error = sg.function([x, w, target], [g_w, g_pre])(xv, wv, tv)
    np.testing.assert_allclose(weight_gradient, np.outer(error, xv), rtol=1e-12)
    np.testing.assert_allclose(error, (np.tanh(wv @ xv) - tv) * (1 - np.tanh(wv @ xv) ** 2), rtol=1e-12)


def test_forward_and_reverse_products_agree(rng):
    x, u, v = sg.vector("x"), sg.vector("u"), sg.vector("v")
    y = sg.softmax(sg.outer(x, x).sum(axis=0)) * sg.cumsum(x)
    xv, uv, vv = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4)
    jvp = sg.function([x, u], sg.jvp(y, x, u))(xv, uv)
    vjp = sg.function([x, v], sg.vjp(y, x, v))(xv, vv)
    jac = sg.function([x], sg.jacobian(y, x))(xv)
    assert float(vv @ jvp) == pytest.approx(float(vjp @ uv), rel=1e-10)
    np.testing.assert_allclose(jvp, jac @ uv, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- structured diagonals


def diag_of(d):
    return DiagonalMatrix()(d)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("size", [0, 1, 4])
@pytest.mark.parametrize("static", [True, False], ids=["static", "unknown_size"])
@pytest.mark.parametrize("mode", ["fast_run", "fast_compile"])
def test_diagonal_matrix_is_np_diag(dtype, size, static, mode, rng):
    value = rng.standard_normal(size).astype(dtype)
    d = sg.vector("d", dtype=dtype, shape=(size,) if static else (None,))
    out = diag_of(d)
    assert out.type == sg.TensorType(dtype, (size, size) if static else (None, None))
    result = sg.function([d], out, mode=mode)(value)
    assert result.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(result, np.diag(value))


def test_diagonal_matrix_gradients_and_second_derivative(rng):
    weights = rng.standard_normal((3, 3))
    sg.verify_grad(lambda d: sg.sum(diag_of(d) * weights), [rng.standard_normal(3)])
    sg.verify_grad(lambda d: sg.sum(diag_of(sg.tanh(d)) ** 3), [rng.standard_normal(3)])
    d, t = sg.vector("d"), sg.vector("t")
    d_value, t_value = rng.standard_normal(3), rng.standard_normal(3)
    tangent = sg.jvp(sg.sum(diag_of(d) * weights), d, t).eval({d: d_value, t: t_value})
    np.testing.assert_allclose(tangent, np.diag(weights) @ t_value, rtol=1e-12)
    hessian = sg.hessian(sg.sum(diag_of(d ** 2) * weights), d).eval({d: d_value})
    np.testing.assert_allclose(hessian, np.diag(2 * np.diag(weights)), rtol=1e-12)


def test_diagonal_matrix_batches_by_slices_and_rejects_other_ranks(rng):
    ds, d = sg.matrix("ds"), sg.vector("d")
    [batched] = vectorize([diag_of(d)], {d: ds}, ds.shape[0])
    values = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(batched.eval({ds: values}), np.stack([np.diag(v) for v in values]))
    with pytest.raises(sg.ShapeError, match=r"diag: the diagonal must be 1-d, got type float64\[\?,\?\]"):
        diag_of(ds)


def _layer(activation, n, m, rng, static=True):
    w_value, b_value = rng.standard_normal((n, m)) / np.sqrt(m), rng.standard_normal(n)
    x = sg.vector("x", shape=(m,) if static else (None,))
    w = sg.constant(w_value) if static else sg.matrix("w")
    b = sg.constant(b_value) if static else sg.vector("b")
    return x, w, b, w_value, b_value


def test_layer_jacobian_compiles_to_a_row_scaling_without_a_second_product(rng):
    x, w, b, w_value, b_value = _layer(sg.tanh, 6, 4, rng)
    jacobian = sg.optimize(sg.jacobian(sg.tanh(w @ x + b), x))
    names = op_names([jacobian])
    assert names.count("matmul") + names.count("tensordot") + names.count("einsum") == 1
    assert "diag" not in names and "eye" not in names


@pytest.mark.parametrize("static", [True, False], ids=["static", "unknown_sizes"])
def test_relu_layer_jacobian_reads_as_the_active_rows_of_the_weights(static):
    shapes = {"w": (6, 4), "x": (4,), "b": (6,)} if static else {"w": (None, None), "x": (None,), "b": (None,)}
    w, x, b = sg.matrix("W", shape=shapes["w"]), sg.vector("x", shape=shapes["x"]), sg.vector("b", shape=shapes["b"])
    text = sg.pprint(sg.optimize(sg.jacobian(sg.relu(w @ x + b), x), mode=sg.Mode(exclude=["fusion"])))
    if static:
        assert text == "expand_dims(cast(((W @ x) + b) > 0.0, float64), input_ndim=1, order=(0, 'x')) * W"
    else:  # the same row scaling, inside the fits and reshapes that unknown sizes need
        assert "* cast(" in text and ") * W, shape(x)" in text
    assert "tensordot" not in text and "diag" not in text


def test_relu_layer_jacobian_with_a_broadcast_bias(rng):
    w, x, b = sg.matrix("W"), sg.vector("x"), sg.vector("b")
    f = sg.function([w, x, b], sg.jacobian(sg.relu(w @ x + b), x))
    w_value, x_value, b_value = rng.standard_normal((1, 3)), rng.standard_normal(3), rng.standard_normal(5)
    expected = (w_value @ x_value + b_value > 0)[:, None] * np.broadcast_to(w_value, (5, 3))
    np.testing.assert_array_equal(f(w_value, x_value, b_value), expected)


@pytest.mark.parametrize("activation, slope", [
    (sg.tanh, lambda pre: 1 - np.tanh(pre) ** 2), (sg.relu, lambda pre: (pre > 0).astype(float)),
], ids=["tanh", "relu"])
def test_layer_jacobian_is_exact_where_the_weights_hold_infinities_and_nan(activation, slope, rng):
    x, w, b, w_value, b_value = _layer(activation, 5, 4, rng)
    w_value[1, 2], w_value[3, 0], w_value[0, 3] = np.inf, -np.inf, np.nan
    w = sg.constant(w_value)
    x_value = rng.standard_normal(4)
    x_value[[0, 2, 3]] = 0.0  # so no infinity reaches the forward value of the rows not holding one
    with np.errstate(all="ignore"):
        pre = w_value @ x_value + b_value
        got = sg.function([x], sg.jacobian(activation(w @ x + b), x))(x_value)
        expected = slope(pre)[:, None] * w_value
    np.testing.assert_array_equal(got, expected)  # assert_array_equal treats NaN as equal to NaN
    assert np.isfinite(got[2]).all() and np.isfinite(got[4]).all()


@pytest.mark.parametrize("mode", ["fast_run", "fast_compile"])
@pytest.mark.parametrize("static", [True, False], ids=["static", "unknown_sizes"])
@pytest.mark.parametrize("size", [1, 7])
def test_layer_jacobian_matches_the_closed_form(mode, static, size, rng):
    x, w, b, w_value, b_value = _layer(sg.tanh, size, 3, rng, static)
    x_value = rng.standard_normal(3)
    inputs, arguments = ([x], [x_value]) if static else ([x, w, b], [x_value, w_value, b_value])
    got = sg.function(inputs, sg.jacobian(sg.tanh(w @ x + b), x), mode=mode)(*arguments)
    expected = (1 - np.tanh(w_value @ x_value + b_value) ** 2)[:, None] * w_value
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_jacobian_of_a_three_layer_mlp_is_the_chained_closed_form(rng):
    sizes = [5, 8, 8, 4]
    weights = [rng.standard_normal((n, m)) / np.sqrt(m) for m, n in zip(sizes, sizes[1:])]
    x = sg.vector("x", shape=(5,))
    h = x
    for weight in weights:
        h = sg.tanh(sg.constant(weight) @ h)
    x_value = rng.standard_normal(5)
    expected, value = np.eye(5), x_value
    for weight in weights:
        value = np.tanh(weight @ value)
        expected = (1 - value ** 2)[:, None] * (weight @ expected)
    np.testing.assert_allclose(sg.function([x], sg.jacobian(h, x))(x_value), expected, rtol=1e-12, atol=1e-15)


def test_hessian_of_an_element_wise_cost_is_a_diagonal(rng):
    x = sg.vector("x")
    x_value = rng.standard_normal(6)
    hessian = sg.function([x], sg.hessian(sg.sum(sg.sin(x) * 3.0), x))(x_value)
    np.testing.assert_array_equal(hessian, np.diag(-3.0 * np.sin(x_value)))


def test_tall_jacobians_of_static_sizes_come_from_batched_forward_products(rng):
    """8x4x16x16 outputs and 108 kernel entries: 108 forward products instead of 8192 reverse ones; the
    same values as the reverse form (symbolic sizes) and as the convolution written out."""
    x_value, w_value = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    x, w = sg.tensor("x", shape=x_value.shape), sg.tensor("w", shape=w_value.shape)
    forward = sg.jacobian(sg.conv(x, w, 1, "same"), w)
    assert forward.type.shape == (2, 4, 6, 6, 4, 3, 3, 3)
    assert by_columns(sg.conv(x, w, 1, "same"), w, 2 * 4 * 6 * 6) is not None
    xs, ws = sg.tensor("xs", shape=(None,) * 4), sg.tensor("ws", shape=(None,) * 4)
    assert by_columns(sg.conv(xs, ws, 1, "same"), ws, 2 * 4 * 6 * 6) is None  # sizes unknown: reverse
    reverse = sg.function([xs, ws], sg.jacobian(sg.conv(xs, ws, 1, "same"), ws))(x_value, w_value)
    result = sg.function([x, w], forward)(x_value, w_value)  # w is an input although the conv is linear in it
    np.testing.assert_allclose(result, reverse, rtol=1e-12, atol=1e-12)
    padded = np.pad(x_value, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for o, c, i, j in [(0, 0, 0, 0), (3, 2, 1, 2), (1, 1, 2, 0)]:  # d out[n, o] / d w[o, c, i, j] = x shifted
        np.testing.assert_array_equal(result[:, o, :, :, o, c, i, j], padded[:, c, i:i + 6, j:j + 6])
    assert not result[:, 0, :, :, 1].any()


def test_forward_jacobian_blocks_match_finite_differences_through_nonlinear_steps(rng):
    a_value, b_value = rng.standard_normal((5, 4)), rng.standard_normal(3)
    a, b = sg.matrix("a", shape=(5, 4)), sg.vector("b", shape=(3,))
    expr = sg.tanh(a[:, :, None] * b) ** 2  # (5, 4, 3) outputs against b's 3 entries: forward
    blocks = sg.function([a, b], sg.jacobian(expr, [a, b]))(a_value, b_value)
    f = sg.function([a, b], expr)
    eps = 1e-6
    for k in range(3):
        step = np.eye(3)[k] * eps
        np.testing.assert_allclose(blocks[1][..., k], (f(a_value, b_value + step) - f(a_value, b_value - step)) / (2 * eps),
                                   rtol=1e-6, atol=1e-8)
    assert blocks[0].shape == (5, 4, 3, 5, 4)  # a has 20 entries < 60: forward too
    np.testing.assert_allclose(np.einsum("ijkij->ijk", blocks[0]), 2 * np.tanh(a_value[:, :, None] * b_value) *
                               (1 - np.tanh(a_value[:, :, None] * b_value) ** 2) * b_value, rtol=1e-10)


@pytest.mark.parametrize("build, message", [
    (lambda x, v, u: sg.jacobian(x * 2, u), "sg.jacobian: input u is not connected to expr"),
    (lambda x, v, u: sg.jacobian(v * 2, u), "sg.jacobian: input u is not connected to expr"),
    (lambda x, v, u: sg.hessian(x * 2, u), "sg.hessian: input u is not connected to the cost"),
])
def test_disconnected_inputs_are_reported_by_the_function_called(build, message):
    with pytest.raises(sg.DisconnectedInputError, match=message):
        build(sg.scalar("x"), sg.vector("v"), sg.vector("u"))


def test_a_disconnected_input_warning_points_at_the_users_call():
    v, u = sg.vector("v"), sg.vector("u")
    with pytest.warns(UserWarning, match="sg.jacobian: input u") as caught:
        sg.jacobian(v * 2, u, disconnected_inputs="warn")
    assert caught[0].filename == __file__


def test_a_non_scalar_hessian_cost_is_reported_by_hessian():
    with pytest.raises(TypeError, match="sg.hessian: cost must be a 0-d"):
        sg.hessian(sg.vector("v"), sg.vector("v"))
