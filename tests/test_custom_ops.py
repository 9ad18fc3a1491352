"""User-defined ops: OpFromGraph, custom_gradient and as_op (values, gradients, printing, pickling, errors)."""
import pickle

import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.custom import OpFromGraph

MODES = [None, "fast_compile"]


def doubled_gradient(inputs, outputs, output_grads):
    """A grad_override at module level (so that it pickles): twice each input's cotangent."""
    return [2 * output_grads[0], None]


def make_axpy(**options):
    a, b = sg.vector("a"), sg.vector("b")
    return OpFromGraph([a, b], [sg.exp(a) * b], name="expmul", **options)


def nodes_named(function, name):
    return [node for node in function.graph.nodes if node.op.name == name]


# ---------------------------------------------------------------- OpFromGraph

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_op_from_graph_values_match_numpy(mode, dtype, rng):
    a, b = sg.tensor("a", dtype=dtype, shape=(None, None)), sg.tensor("b", dtype=dtype, shape=(None,))
    op = OpFromGraph([a, b], [a @ b, (a * 2).sum(axis=0)], name="pair")
    x = sg.tensor("x", dtype=dtype, shape=(None, None))
    y = sg.tensor("y", dtype=dtype, shape=(3,))
    first, second = op(x, y)
    f = sg.function([x, y], [first + 1, second], mode=mode)
    for rows in (0, 1, 4):
        xv, yv = rng.normal(size=(rows, 3)).astype(dtype), rng.normal(size=3).astype(dtype)
        got = f(xv, yv)
        np.testing.assert_allclose(got[0], xv @ yv + 1, rtol=1e-5)
        np.testing.assert_allclose(got[1], (xv * 2).sum(axis=0), rtol=1e-5)
        assert got[0].dtype == dtype
    assert len(nodes_named(f, "pair")) == 1


def test_op_from_graph_is_one_node_and_reusable():
    op = make_axpy()
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], op(x, y) + op(y, x))
    assert len(nodes_named(f, "expmul")) == 2
    np.testing.assert_allclose(f([0.0, 1.0], [2.0, 3.0]), np.exp([0, 1]) * [2, 3] + np.exp([2, 3]) * [0, 1])


def test_gradients_through_the_inner_graph(rng):
    op = make_axpy()
    sg.verify_grad(lambda x, y: op(x, y * y), [rng.normal(size=3), rng.normal(size=3)], rng=rng)
    x = sg.vector("x")
    # second derivative: d2/dx2 of sum(exp(x) * x) = exp(x) * (x + 2)
    g = sg.grad(op(x, x).sum(), x)
    h = sg.grad(g.sum(), x)
    point = np.array([0.3, -1.0])
    np.testing.assert_allclose(h.eval({x: point}), np.exp(point) * (point + 2))


def test_forward_mode_through_the_inner_graph(rng):
    op = make_axpy()
    x, y = sg.vector("x"), sg.vector("y")
    out = op(x, y)
    tx, ty = rng.normal(size=3), rng.normal(size=3)
    (forward,) = sg.jvp([out], [x, y], [sg.constant(tx), sg.constant(ty)])
    xv, yv = rng.normal(size=3), rng.normal(size=3)
    eps = 1e-6
    f = sg.function([x, y], out)
    finite = (f(xv + eps * tx, yv + eps * ty) - f(xv - eps * tx, yv - eps * ty)) / (2 * eps)
    np.testing.assert_allclose(sg.function([x, y], forward)(xv, yv), finite, rtol=1e-6)


@pytest.mark.parametrize("inline", [False, True])
def test_grad_override_replaces_the_gradient(inline):
    op = make_axpy(grad_override=doubled_gradient, inline=inline)
    x, y = sg.vector("x"), sg.vector("y")
    gx, gy = sg.grad(op(x, y).sum(), [x, y])
    f = sg.function([x, y], [gx, gy])
    got_x, got_y = f([1.0, 2.0], [3.0, 4.0])
    np.testing.assert_array_equal(got_x, [2.0, 2.0])
    np.testing.assert_array_equal(got_y, [0.0, 0.0])


def test_inline_expands_into_the_graph():
    x = sg.vector("x")
    kept = sg.function([x], make_axpy()(x, x))
    inlined = sg.function([x], make_axpy(inline=True)(x, x))
    assert len(nodes_named(kept, "expmul")) == 1
    assert nodes_named(inlined, "expmul") == []
    assert inlined.report.rewrites.get("inline_op_from_graph") == 1
    np.testing.assert_allclose(inlined([1.0]), kept([1.0]))
    excluded = sg.function([x], make_axpy(inline=True)(x, x), mode=sg.Mode(exclude=["inline_op_from_graph"]))
    assert len(nodes_named(excluded, "expmul")) == 1


def test_debugprint_shows_the_inner_graph():
    x = sg.vector("x")
    text = sg.debugprint(make_axpy()(x, x))
    assert text == (
        "expmul{2 -> 1} float64[?]\n"
        "├─ x float64[?]\n"
        "└─ x float64[?]\n"
        "\n"
        "Inner graph of expmul{2 -> 1}:\n"
        "  multiply float64[?]\n"
        "  ├─ exp float64[?]\n"
        "  │  └─ a float64[?]\n"
        "  └─ b float64[?]"
    )
    assert sg.to_networkx(make_axpy()(x, x)).nodes  # exported as one operation node


def test_pprint_shows_the_arguments_not_the_arity():
    x = sg.vector("x")
    assert sg.pprint(make_axpy()(x, x) + 1.0) == "expmul(x, x) + 1.0"


def test_op_from_graph_pickles():
    op = make_axpy(grad_override=doubled_gradient)
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], [op(x, y), sg.grad(op(x, y).sum(), x)])
    clone = pickle.loads(pickle.dumps(f))
    for a, b in zip(f([1.0], [2.0]), clone([1.0], [2.0])):
        np.testing.assert_array_equal(a, b)
    restored = pickle.loads(pickle.dumps(op(x, y)))
    assert restored.owner.op.name == "expmul"


def test_op_from_graph_errors():
    a, b = sg.vector("a"), sg.vector("b")
    with pytest.raises(TypeError, match="OpFromGraph: input .* must be a leaf variable"):
        OpFromGraph([a * 2], [a])
    with pytest.raises(ValueError, match="OpFromGraph: the outputs need b:float64"):
        OpFromGraph([a], [a + b])
    with pytest.raises(TypeError, match="OpFromGraph: every output must be a symbolic variable"):
        OpFromGraph([a], [3.0])
    with pytest.raises(TypeError, match="grad_override must be callable"):
        OpFromGraph([a], [a], grad_override=1)
    op = make_axpy()
    with pytest.raises(TypeError, match=r"expmul: input 1 must be of type float64\[\?\], got float64\[\?,\?\]"):
        op(sg.vector("x"), sg.matrix("m"))
    with pytest.raises(TypeError, match="expmul: expected 2 input"):
        op(sg.vector("x"))
    bad = make_axpy(grad_override=lambda inputs, outputs, grads: [grads[0]])
    x = sg.vector("x")
    with pytest.raises(TypeError, match=r"expmul: the grad_override .* returned 1 gradient\(s\) for 2 input\(s\)"):
        sg.grad(bad(x, x).sum(), x)


# ---------------------------------------------------------------- custom_gradient

@sg.custom_gradient
def log1pexp(x):
    return sg.log(1 + sg.exp(x))


@log1pexp.defvjp
def _log1pexp_vjp(inputs, outputs, output_grads):
    return [output_grads[0] * sg.sigmoid(inputs[0])]


@sg.custom_gradient
def straight_through_round(x):
    return sg.round(x)


@straight_through_round.defvjp
def _straight_through(inputs, outputs, output_grads):
    return [output_grads[0]]


@pytest.mark.parametrize("mode", MODES)
def test_custom_gradient_is_numerically_safe(mode):
    x = sg.vector("x")
    f = sg.function([x], [log1pexp(x), sg.grad(log1pexp(x).sum(), x)], mode=mode)
    values, grads = f([0.0, 1000.0, -1000.0])
    np.testing.assert_allclose(grads, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(values[0], np.log(2.0))


def test_custom_gradient_matches_finite_differences_and_differentiates_again(rng):
    sg.verify_grad(lambda x: log1pexp(x * 2), [rng.normal(size=(2, 3))], rng=rng)
    x = sg.scalar("x")
    second = sg.grad(sg.grad(log1pexp(x), x), x)
    point = 0.7
    sigmoid = 1 / (1 + np.exp(-point))
    np.testing.assert_allclose(second.eval({x: point}), sigmoid * (1 - sigmoid))


def test_straight_through_estimator():
    x = sg.vector("x")
    y = straight_through_round(x * 3)
    f = sg.function([x], [y, sg.grad((y * y).sum(), x)])
    values, grads = f([0.1, 0.4])
    np.testing.assert_array_equal(values, [0.0, 1.0])
    np.testing.assert_allclose(grads, 3 * 2 * values)


def test_custom_gradient_reuses_one_op_per_input_type():
    x, y = sg.vector("x"), sg.vector("y")
    assert log1pexp(x).owner.op is log1pexp(y).owner.op
    assert log1pexp(sg.matrix("m")).owner.op is not log1pexp(x).owner.op
    assert log1pexp.__name__ == "log1pexp"


def test_custom_gradient_without_rule_uses_the_function_gradient():
    @sg.custom_gradient
    def cube(x):
        return x ** 3

    x = sg.scalar("x")
    assert float(sg.grad(cube(x), x).eval({x: 2.0})) == 12.0
    with pytest.raises(TypeError, match="custom_gradient: expected a function"):
        sg.custom_gradient(3)
    with pytest.raises(TypeError, match="cube.defvjp: expected a function"):
        cube.defvjp(None)


# ---------------------------------------------------------------- as_op

VECTOR = sg.TensorType("float64", (None,))


@sg.as_op([VECTOR], [VECTOR])
def numpy_sort(values):
    return np.sort(values)


def _cumulative_grad(inputs, outputs, output_grads):
    return [sg.cumsum(output_grads[0][::-1], axis=0)[::-1]]


@sg.as_op([VECTOR], [VECTOR], grad=_cumulative_grad)
def numpy_cumsum(values):
    return np.cumsum(values)


@sg.as_op([VECTOR], [sg.TensorType("float64", (2,))])
def wrong_shape(values):
    return values


@pytest.mark.parametrize("mode", MODES)
def test_as_op_values(mode, rng):
    x = sg.vector("x")
    f = sg.function([x], numpy_sort(x) * 2, mode=mode)
    for size in (0, 1, 5):
        values = rng.normal(size=size)
        np.testing.assert_array_equal(f(values), np.sort(values) * 2)


def test_as_op_gradient_when_given(rng):
    sg.verify_grad(lambda x: numpy_cumsum(x), [rng.normal(size=4)], rng=rng)


def test_as_op_not_differentiable_names_the_op():
    x = sg.vector("x")
    with pytest.raises(sg.NotDifferentiableError, match="black-box op 'numpy_sort' made by sg.as_op has no gradient"):
        sg.grad(numpy_sort(x).sum(), x)
    with pytest.raises(sg.NotDifferentiableError, match="numpy_sort.*no forward-mode derivative"):
        sg.jvp([numpy_sort(x)], [x], [x])


def test_as_op_errors():
    with pytest.raises(TypeError, match=r"numpy_sort: input 0 must be of type float64\[\?\], got int64\[\?\]"):
        numpy_sort(sg.vector("i", dtype="int64"))
    with pytest.raises(TypeError, match="every entry of itypes must be a sg.TensorType"):
        sg.as_op(["float64"], [VECTOR])
    f = sg.function([x := sg.vector("x")], wrong_shape(x))
    with pytest.raises(ValueError, match=r"wrong_shape: output 0 has shape \(3,\).*while computing node as_op\{wrong_shape\}"):
        f([1.0, 2.0, 3.0])


def test_as_op_pickles():
    x = sg.vector("x")
    f = sg.function([x], numpy_cumsum(x))
    clone = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(clone([1.0, 2.0]), [1.0, 3.0])


def test_jacobians_follow_custom_gradients_on_their_forward_path_too():
    v = sg.tensor("v", shape=(2,))
    matrix = log1pexp(sg.outer(v, sg.ones(3)))  # (2, 3) from 2 entries: the Jacobian may use forward products
    jacobian = sg.jacobian(matrix, v).eval({v: [1000.0, 0.0]})
    np.testing.assert_allclose(jacobian[:, 0, :], [[1.0, 0.0], [0.0, 0.5]])
    rows = [sg.grad(matrix[i, j], v).eval({v: [1000.0, 0.0]}) for i in range(2) for j in range(3)]
    np.testing.assert_allclose(jacobian.reshape(6, 2), rows)


# ---------------------------------------------------------------- gradient rules must fit their inputs

def _with_rule(rule):
    """A custom_gradient `doubled` (2 * v) whose gradient is `rule`."""
    @sg.custom_gradient
    def doubled(v):
        return v * 2

    doubled.defvjp(rule)
    return doubled


def test_a_rule_gradient_of_the_wrong_rank_is_refused_while_building():
    x = sg.vector("x")
    outer = _with_rule(lambda inputs, outputs, grads: [sg.outer(grads[0], inputs[0])])
    with pytest.raises(sg.ShapeError, match=r"doubled: the gradient the defvjp rule .* returned for input 0 has "
                                            r"type float64\[\?,\?\], expected shape \(\?,\)"):
        sg.grad(outer(x).sum(), x)
    summed = _with_rule(lambda inputs, outputs, grads: [grads[0].sum()])
    with pytest.raises(sg.ShapeError, match="returned for input 0 has type float64"):
        sg.grad(summed(x).sum(), x)


def test_a_rule_gradient_of_the_wrong_static_size_is_refused_while_building():
    x = sg.tensor("x", shape=(3,))
    a, b = sg.tensor("a", shape=(3,)), sg.tensor("b", shape=(3,))
    op = OpFromGraph([a, b], [a * b], name="product",
                     grad_override=lambda inputs, outputs, grads: [grads[0][:2], grads[0]])
    with pytest.raises(sg.ShapeError, match=r"product: the gradient the grad_override .* returned for input 0 has type "
                                            r"float64\[2\], expected shape \(3,\)"):
        sg.grad(op(x, x).sum(), x)


def test_a_rule_gradient_of_the_wrong_run_time_size_is_refused_when_run():
    x = sg.vector("x")
    first = _with_rule(lambda inputs, outputs, grads: [grads[0][:1]])
    f = sg.function([x], sg.grad(first(x).sum(), x))
    np.testing.assert_array_equal(f([5.0]), [1.0])  # a size-1 input: the gradient fits
    with pytest.raises(ValueError, match=r"doubled: the gradient the defvjp rule .* returned for input 0 has "
                                         r"shape \(1,\), expected \(2,\)"):
        f([5.0, 6.0])  # it used to be broadcast silently


def test_an_as_op_gradient_of_the_wrong_shape_is_refused():
    @sg.as_op([VECTOR], [VECTOR], grad=lambda inputs, outputs, grads: [grads[0][None]])
    def twice(values):
        return values * 2

    x = sg.vector("x")
    with pytest.raises(sg.ShapeError, match=r"twice: the gradient the grad rule .* returned for input 0 has type "
                                            r"float64\[1,\?\], expected shape \(\?,\)"):
        sg.grad(twice(x).sum(), x)


def test_a_rule_gradient_of_another_float_dtype_is_cast_to_the_input():
    x = sg.vector("x")
    single = _with_rule(lambda inputs, outputs, grads: [sg.cast(grads[0] * 3, "float32")])
    g = sg.grad(single(x).sum(), x)
    assert g.dtype == "float64"
    np.testing.assert_array_equal(g.eval({x: [1.0, 2.0]}), [3.0, 3.0])


def test_a_rule_must_return_a_list_of_the_right_length():
    x = sg.vector("x")
    bare = _with_rule(lambda inputs, outputs, grads: grads[0])
    with pytest.raises(TypeError, match="doubled: the defvjp rule .* must return a list with one gradient"):
        sg.grad(bare(x).sum(), x)
    empty = _with_rule(lambda inputs, outputs, grads: [])
    with pytest.raises(TypeError, match=r"doubled: the defvjp rule .* returned 0 gradient\(s\) for 1 input\(s\)"):
        sg.grad(empty(x).sum(), x)


def test_a_checked_rule_gradient_batches_and_costs_nothing_once_proven():
    xs = sg.matrix("xs")
    identity = _with_rule(lambda inputs, outputs, grads: [grads[0]])
    f = sg.function([xs], sg.vmap(lambda row: sg.grad((identity(row) ** 2).sum(), row))(xs))
    np.testing.assert_array_equal(f(np.ones((3, 2))), 4 * np.ones((3, 2)))
    assert f.report.batching_fallbacks == []
    x = sg.vector("x")
    g = sg.function([x], sg.grad(log1pexp(x).sum(), x))
    assert nodes_named(g, "ensure_shape") == []  # the cotangent provably has the input's shape: no check left


def test_a_rule_gradient_of_a_static_size_is_checked_against_a_run_time_size():
    x = sg.vector("x")
    constant_gradient = _with_rule(lambda inputs, outputs, grads: [sg.ones(1)])
    f = sg.function([x], sg.grad(constant_gradient(x).sum(), x))
    np.testing.assert_array_equal(f([5.0]), [1.0])
    with pytest.raises(ValueError, match=r"returned for input 0 has shape \(1,\), expected \(2,\)"):
        f([5.0, 6.0])


# ---------------------------------------------------------------- arguments must fit the declared shapes

def _twice_of_three(**options):
    s3 = sg.tensor("s3", shape=(3,))
    return OpFromGraph([s3], [s3 * 2], name="twice3", **options)


@pytest.mark.parametrize("inline", [False, True])
def test_an_argument_contradicting_a_static_inner_shape_is_refused_when_run(inline):
    x = sg.vector("x")
    y = _twice_of_three(inline=inline)(x)
    f = sg.function([x], [y, y.shape[0]])
    values, size = f([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(values, [2.0, 4.0, 6.0])
    assert size == 3
    with pytest.raises(ValueError, match=r"twice3: input 0 has shape \(4,\), expected \(3,\)"):
        f(np.ones(4))  # it returned 4 values and a shape of 3


def test_the_gradient_checks_the_argument_too():
    x = sg.vector("x")
    f = sg.function([x], sg.grad(_twice_of_three()(x).sum(), x))  # 2 everywhere: needs no forward value
    np.testing.assert_array_equal(f(np.ones(3)), [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match=r"twice3: input 0 has shape \(5,\), expected \(3,\)"):
        f(np.ones(5))


def test_a_partly_static_inner_shape_checks_its_static_sizes_only():
    m = sg.tensor("m", shape=(None, 2))
    rows = OpFromGraph([m], [m.sum(axis=1)], name="rows")
    x = sg.matrix("x")
    f = sg.function([x], rows(x))
    np.testing.assert_array_equal(f(np.ones((4, 2))), [2.0] * 4)
    with pytest.raises(ValueError, match=r"rows: input 0 has shape \(4, 3\), expected \(4, 2\)"):
        f(np.ones((4, 3)))
    xs = sg.tensor("xs", shape=(None, None, None))
    batched = sg.function([xs], sg.vmap(rows)(xs))
    np.testing.assert_array_equal(batched(np.ones((2, 4, 2))), 2 * np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"rows: input 0 has shape \(4, 3\), expected \(4, 2\)"):
        batched(np.ones((2, 4, 3)))


def test_an_as_op_argument_contradicting_its_itype_is_refused_when_run():
    @sg.as_op([sg.TensorType("float64", (3,))], [VECTOR])
    def scaled(values):
        return values * 2

    x = sg.vector("x")
    f = sg.function([x], scaled(x))
    np.testing.assert_array_equal(f([1.0, 2.0, 3.0]), [2.0, 4.0, 6.0])
    with pytest.raises(ValueError, match=r"scaled: input 0 has shape \(4,\), expected \(3,\)"):
        f(np.ones(4))


# ---------------------------------------------------------------- as_op results are cast as NumPy assigns

@sg.as_op([VECTOR], [sg.TensorType("int64", (None,))])
def halves(values):
    return values / 2


@sg.as_op([VECTOR], [sg.TensorType("float32", (None,)), sg.TensorType("float64", (None,))])
def narrowed(values):
    return values, np.arange(len(values))  # float64 -> float32 and int64 -> float64 are 'same_kind' casts


@sg.as_op([VECTOR], [VECTOR])
def shifted_to_complex(values):
    return values + 1j


def test_as_op_casts_results_under_the_same_kind_rule():
    x = sg.vector("x")
    low, counts = narrowed(x)
    values = sg.function([x], [low, counts])([1.5, 2.5])
    assert values[0].dtype == np.float32 and values[1].dtype == np.float64
    np.testing.assert_array_equal(values[0], [1.5, 2.5])
    with pytest.raises(TypeError, match=r"halves: output 0 has dtype float64, which does not cast to the declared "
                                        r"int64 under NumPy's 'same_kind' rule"):
        halves(x).eval({x: [1.0, 3.0]})  # it truncated to [0, 1]
    with pytest.raises(TypeError, match="shifted_to_complex: output 0 has dtype complex128"):
        shifted_to_complex(x).eval({x: [1.0]})  # it dropped the imaginary part


# ---------------------------------------------------------------- custom_gradient needs its variables as arguments

def test_custom_gradient_asks_for_outside_variables_as_arguments():
    weights = sg.shared(np.eye(2), name="W")

    @sg.custom_gradient
    def layer(x):
        return sg.tanh(x @ weights)

    with pytest.raises(ValueError, match=r"custom_gradient layer: the function uses W:float64\[\?,\?\], which is not "
                                         r"one of its arguments .* pass it .* as an argument of layer"):
        layer(sg.vector("x"))

    @sg.custom_gradient
    def layer_of(x, w):
        return sg.tanh(x @ w)

    x = sg.vector("x")
    np.testing.assert_allclose(layer_of(x, weights).eval({x: [1.0, 2.0]}), np.tanh([1.0, 2.0]))


def test_the_shape_check_of_a_rule_gradient_is_removed_where_the_graph_proves_the_shape():
    x = sg.vector("x")
    f = sg.function([x], sg.grad(log1pexp(x).sum(), x))
    assert f.report.rewrites["useless_ensure_shape"] == 1
    assert "ensure_shape" not in f.source
    np.testing.assert_allclose(f([0.0, 1000.0]), [0.5, 1.0])
