"""sg.vmap: JAX's in_axes/out_axes meaning, per-example gradients against a Python loop, random draws per
entry, the per-slice fallback (and its note in f.report), gradients through vmap, and errors."""
import numpy as np
import pytest

import symgraph as sg

MODES = [None, "fast_compile"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_vmap_matches_a_loop(mode, dtype, rng):
    w = sg.matrix("w", dtype=dtype)
    xs = sg.tensor("xs", dtype=dtype, shape=(None, None))

    def fn(x):
        return sg.tanh(x @ w).sum() * x

    f = sg.function([xs, w], sg.vmap(fn)(xs), mode=mode)
    x1 = sg.vector("x1", dtype=dtype)
    single = sg.function([x1, w], fn(x1), mode=mode)
    wv = rng.normal(size=(3, 2)).astype(dtype)
    for batch in (0, 1, 4):
        values = rng.normal(size=(batch, 3)).astype(dtype)
        got = f(values, wv)
        assert got.dtype == dtype and got.shape == (batch, 3)
        if batch:
            np.testing.assert_allclose(got, np.stack([single(v, wv) for v in values]), rtol=1e-5)


def test_in_axes_and_out_axes(rng):
    a, b = sg.matrix("a"), sg.vector("b")
    outer, total = sg.vmap(lambda col, v: (sg.outer(col, v), (col * v[0]).sum()), in_axes=(1, None),
                           out_axes=(2, 0))(a, b)
    av, bv = rng.normal(size=(3, 4)), rng.normal(size=5)
    got_outer, got_total = sg.function([a, b], [outer, total])(av, bv)
    np.testing.assert_allclose(got_outer, np.einsum("ik,j->ijk", av, bv))
    np.testing.assert_allclose(got_total, (av * bv[0]).sum(axis=0))
    negative = sg.vmap(lambda row: row * 2, in_axes=-2, out_axes=-1)(a)
    np.testing.assert_allclose(negative.eval({a: av}), (av * 2).T)
    both = sg.vmap(lambda x, y: x + y, in_axes=[0, 1])(a, sg.matrix("c"))
    assert both.ndim == 2


def mlp_per_example_gradients(x, y, params):
    w1, b1, w2, b2 = params
    logits = sg.tanh(x @ w1 + b1) @ w2 + b2
    return sg.grad(-(sg.log_softmax(logits) * y).sum(), params)


@pytest.mark.parametrize("mode", MODES)
def test_per_example_gradients_of_an_mlp_match_a_loop(mode, rng):
    params = [sg.matrix("w1"), sg.vector("b1"), sg.matrix("w2"), sg.vector("b2")]
    xs, ys = sg.matrix("xs"), sg.matrix("ys")
    batched = sg.function([xs, ys] + params,
                          list(sg.vmap(lambda x, y: mlp_per_example_gradients(x, y, params))(xs, ys)), mode=mode)
    x, y = sg.vector("x"), sg.vector("y")
    single = sg.function([x, y] + params, list(mlp_per_example_gradients(x, y, params)), mode=mode)
    values = [rng.normal(size=(6, 5)), np.eye(3)[rng.integers(0, 3, 6)], rng.normal(size=(5, 4)),
              rng.normal(size=4), rng.normal(size=(4, 3)), rng.normal(size=3)]
    got = batched(*values)
    loop = [single(values[0][i], values[1][i], *values[2:]) for i in range(6)]
    for position, gradient in enumerate(got):
        np.testing.assert_allclose(gradient, np.stack([entry[position] for entry in loop]), rtol=1e-10, atol=1e-12)
    assert batched.report.batching_fallbacks == []
    assert "batching fallback" not in str(batched.report)


def test_gradient_through_vmap(rng):
    w = sg.vector("w")
    sg.verify_grad(lambda xs, w: sg.vmap(lambda x: sg.sin(x * w).sum())(xs) ** 2,
                   [rng.normal(size=(3, 4)), rng.normal(size=4)], rng=rng)


def test_random_draws_are_independent_per_entry():
    rng = sg.random.RandomStream(seed=0)
    xs = sg.matrix("xs")
    noisy = sg.vmap(lambda x: x + rng.normal(size=x.shape))(xs)
    dropped = sg.vmap(lambda x: sg.dropout(x, 0.5, rng))(xs)
    f = sg.function([xs], [noisy, dropped])
    a, b = f(np.ones((4, 50)))
    assert len({row.tobytes() for row in a}) == 4
    assert len({row.tobytes() for row in b}) == 4 and set(np.unique(b).tolist()) == {0.0, 2.0}
    again, _ = f(np.ones((4, 50)))
    assert not np.array_equal(a, again)


@pytest.mark.parametrize("static", [True, False])
def test_draws_shaped_by_batched_parameters(static):
    rng = sg.random.RandomStream(seed=1)
    locs = sg.tensor("locs", shape=(3, 4) if static else (None, None))
    scales = sg.tensor("scales", shape=(4,) if static else (None,))
    samples = sg.vmap(lambda loc: rng.normal(loc, scales) + rng.uniform(loc, loc + 1), in_axes=0)(locs)
    locs_value = np.arange(12.0).reshape(3, 4) * 100
    got = sg.function([locs, scales], samples)(locs_value, np.full(4, 1e-3))
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, 2 * locs_value + 0.5, atol=0.6)
    assert len({row.tobytes() for row in got - 2 * locs_value}) == 3


VECTOR = sg.TensorType("float64", (None,))


@sg.as_op([VECTOR], [VECTOR])
def numpy_sort(values):
    return np.sort(values)


def test_ops_without_a_rule_run_per_entry_and_say_so(rng):
    xs = sg.matrix("xs")
    f = sg.function([xs], sg.vmap(lambda x: numpy_sort(x) * 2)(xs))
    values = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(f(values), np.sort(values, axis=1) * 2)
    assert f.report.batching_fallbacks == ["as_op{numpy_sort}"]
    assert "batching fallback (run once per batch entry, no batching rule): as_op{numpy_sort}" in str(f.report)


def test_vmap_errors():
    xs = sg.matrix("xs")
    with pytest.raises(ValueError, match="vmap: in_axes maps no argument"):
        sg.vmap(lambda x: x, in_axes=None)(xs)
    with pytest.raises(ValueError, match=r"vmap: the mapped axes have different sizes \[2, 3\]"):
        sg.vmap(lambda a, b: a + b)(sg.tensor("a", shape=(2, 4)), sg.tensor("b", shape=(3, 4)))
    with pytest.raises(ValueError, match=r"vmap: argument 0 of type float64\[\] has no axis 0"):
        sg.vmap(lambda x: x)(sg.scalar("s"))
    with pytest.raises(ValueError, match="vmap: in_axes has 1 entries for 2 arguments"):
        sg.vmap(lambda a, b: a, in_axes=[0])(xs, xs)
    with pytest.raises(ValueError, match="vmap: out_axes entries must be ints"):
        sg.vmap(lambda x: x, out_axes=None)(xs)
    with pytest.raises(TypeError, match="vmap: the function must return symbolic variables"):
        sg.vmap(lambda x: 3.0)(xs)
    with pytest.raises(TypeError, match="vmap: expected a function"):
        sg.vmap(3)
    with pytest.raises(np.exceptions.AxisError, match="vmap"):
        sg.vmap(lambda x: x, in_axes=2)(xs)
    with pytest.raises(TypeError, match=r"vmap: in_axes must be an int, None, or a list or tuple of them, got 0.0"):
        sg.vmap(lambda x: x, in_axes=0.0)(xs)


def test_op_from_graph_is_batched_through_its_inner_graph(rng):
    a, b = sg.vector("a"), sg.matrix("b")
    op = sg.OpFromGraph([a, b], sg.exp(a) @ b, name="expmat")
    xs, m = sg.matrix("xs"), sg.matrix("m")
    f = sg.function([xs, m], sg.vmap(lambda x: op(x, m))(xs))
    xv, mv = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    np.testing.assert_allclose(f(xv, mv), np.exp(xv) @ mv)
    assert f.report.batching_fallbacks == []


def test_a_run_time_error_in_a_batched_node_names_the_line_of_the_per_example_function():
    xs, i = sg.matrix("xs"), sg.vector("i", dtype="int64")

    def pick(row):
        return row[i] * 2

    f = sg.function([xs, i], sg.vmap(pick)(xs))
    line = pick.__code__.co_firstlineno + 1
    with pytest.raises(IndexError, match=rf"index 7 is out of bounds.*created at .*test_vmap.py:{line} in pick"):
        f(np.ones((2, 3)), [7])


def _per_example_pick(logits, labels):
    return sg.vmap(lambda row, label: -sg.log_softmax(row)[label])(logits, labels)


def test_gradients_pass_through_the_per_slice_fallback():
    logits, labels = sg.matrix("logits"), sg.vector("labels", dtype="int64")
    weights, picks = sg.matrix("weights"), sg.vector("picks", dtype="int64")
    loss = _per_example_pick(logits, labels)
    rows = sg.vmap(lambda p: weights[p] * 2.0)(picks)  # the fallback reads the unbatched `weights` whole
    f = sg.function([logits, labels, weights, picks],
                    [sg.grad(loss.sum(), logits), sg.jvp(loss, logits, sg.ones_like(logits) * 0.5),
                     sg.grad((rows ** 2).sum(), weights)])
    assert "per_slice_loop" in str(f.report) or "per_slice_loop" in f.source
    values = np.random.default_rng(0).normal(size=(4, 5))
    classes, chosen = np.array([1, 0, 4, 2]), np.array([2, 0, 2])
    table = np.random.default_rng(1).normal(size=(3, 2))
    grad, tangent, table_grad = f(values, classes, table, chosen)
    softmax = np.exp(values) / np.exp(values).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(grad, softmax - np.eye(5)[classes], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tangent, 0.5 * (softmax.sum(axis=1) - 1.0), atol=1e-12)
    expected_table_grad = np.zeros_like(table)
    np.add.at(expected_table_grad, chosen, 8.0 * table[chosen])
    np.testing.assert_allclose(table_grad, expected_table_grad, rtol=1e-12)



def test_entries_of_different_shapes_from_the_per_slice_fallback_are_a_clear_error():
    a = sg.vector("a")

    def grow(scale):
        values, _ = sg.scan(lambda v: (v * scale, sg.until(v * scale > 5.0)), outputs_info=sg.ones_like(scale),
                            n_steps=20)
        return values[-1]

    f = sg.function([a], sg.vmap(grow)(a))
    np.testing.assert_allclose(f([3.0, 4.0]), [9.0, 16.0])  # both stop after 2 steps
    with pytest.raises(sg.ShapeError, match=r"per_slice_loop\{scan\}: the batch entries' results have different "
                                            r"shapes \(3,\) and \(2,\)"):
        f([3.0, 6.0])


def test_a_sample_drawn_outside_the_function_is_shared_by_every_entry_as_in_jax():
    rng = sg.random.RandomStream(seed=0)
    xs = sg.matrix("xs")
    noise = rng.normal(size=3)
    shifted = sg.vmap(lambda row: row + noise)(xs)
    fresh = sg.vmap(lambda row: row + rng.normal(size=3))(xs)
    shifted_value, noise_value, fresh_value = sg.function([xs], [shifted, noise, fresh])(np.zeros((4, 3)))
    np.testing.assert_array_equal(shifted_value, np.tile(noise_value, (4, 1)))
    assert len({row.tobytes() for row in fresh_value}) == 4


@pytest.mark.parametrize("core_shape", [(2, 3), (None, None)], ids=["static", "unknown"])
@pytest.mark.parametrize("target", [(-1,), (3, -1), (-1, 2)], ids=str)
@pytest.mark.parametrize("batch", [0, 2])
def test_vmap_of_a_reshape_with_minus_one_infers_the_size_per_example(core_shape, target, batch):
    # NumPy cannot infer a -1 next to a batch of size 0, so the batched reshape must not leave it to NumPy
    t = sg.tensor("t", shape=(None,) + core_shape)
    values = np.arange(batch * 6.0).reshape(batch, 2, 3)
    result = sg.function([t], sg.vmap(lambda r: r.reshape(target))(t))(values)
    np.testing.assert_array_equal(result, values.reshape((batch,) + np.empty((2, 3)).reshape(target).shape))


def test_vmap_checks_at_run_time_that_mapped_axes_have_one_size():
    # a batch of 1 would broadcast silently against a batch of 3
    p, q = sg.matrix("p"), sg.matrix("q")
    f = sg.function([p, q], sg.vmap(lambda u, v: u @ v, in_axes=(0, 1))(p, q))
    np.testing.assert_array_equal(f(np.ones((3, 2)), np.ones((2, 3))), [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match=r"vmap: argument 1 \(with its mapped axis 1 moved first\) has shape \(1, 2\), expected \(3, 2\)"):
        f(np.ones((3, 2)), np.ones((2, 1)))
