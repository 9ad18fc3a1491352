"""Loops and branches: sg.scan and its folds, sg.while_loop, sg.ifelse, against NumPy for-loops, with their
gradients (finite differences, JAX when installed), their compile-time passes and their error messages."""
import pickle
import re

import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.loops import Scan
from symgraph import ScanError

MODES = ["fast_run", "fast_compile"]
rng = np.random.default_rng(42)


def run(inputs, outputs, *values, mode="fast_run", **kwargs):
    return sg.function(inputs, outputs, mode=mode, **kwargs)(*values)


def numerical_gradient(fn, value, eps=1e-6):
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (fn(up) - fn(down)) / (2 * eps)
    return grad


def rnn_reference(xs, w, h0):
    h, states = h0, []
    for x_t in xs:
        h = np.tanh(h @ w + x_t)
        states.append(h)
    return np.array(states).reshape((len(xs),) + h0.shape)


def rnn(x, w, h0, **kwargs):
    states, updates = sg.scan(lambda x_t, h: sg.tanh(h @ w + x_t), sequences=x, outputs_info=h0, **kwargs)
    return states


# ---------------------------------------------------------------------- forward, against NumPy loops


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("steps", [0, 1, 7])
def test_rnn_matches_a_numpy_loop(mode, steps):
    x, w, h0 = sg.matrix("x"), sg.matrix("w"), sg.vector("h0")
    xs, wv, hv = rng.standard_normal((steps, 4)), rng.standard_normal((4, 4)) * 0.5, rng.standard_normal(4)
    got = run([x, w, h0], rnn(x, w, h0), xs, wv, hv, mode=mode)
    assert got.shape == (steps, 4)
    np.testing.assert_allclose(got, rnn_reference(xs, wv, hv), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_cumulative_sum_keeps_the_dtype(dtype):
    x = sg.vector("x", dtype=dtype)
    total, _ = sg.scan(lambda v, acc: acc + v, sequences=x, outputs_info=sg.zeros((), dtype=dtype))
    values = np.arange(1, 6).astype(dtype)
    got = run([x], total, values)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.cumsum(values))


def test_recurrent_taps_compute_fibonacci():
    start = sg.vector("start")
    fib, _ = sg.scan(lambda a, b: a + b, outputs_info=dict(initial=start, taps=[-2, -1]), n_steps=8)
    np.testing.assert_array_equal(run([start], fib, [0.0, 1.0]), [1, 2, 3, 5, 8, 13, 21, 34])


def test_sequence_taps_see_neighbouring_entries():
    x = sg.vector("x")
    diffs = sg.map(lambda before, now, after: after - 2 * now + before, sequences=dict(input=x, taps=[-1, 0, 1]))
    values = rng.standard_normal(9)
    np.testing.assert_allclose(run([x], diffs, values), values[2:] - 2 * values[1:-1] + values[:-2])


@pytest.mark.parametrize("mode", MODES)
def test_go_backwards_and_foldr_iterate_from_the_end(mode):
    x = sg.vector("x")
    backwards, _ = sg.scan(lambda v, acc: 10 * acc + v, sequences=x, outputs_info=sg.constant(0.0), go_backwards=True)
    assert list(run([x], backwards, [1.0, 2.0, 3.0], mode=mode)) == [3.0, 32.0, 321.0]
    assert float(run([x], sg.foldr(lambda v, acc: 10 * acc + v, x, sg.constant(0.0)), [1.0, 2.0, 3.0])) == 321.0
    assert float(run([x], sg.foldl(lambda v, acc: 10 * acc + v, x, sg.constant(0.0)), [1.0, 2.0, 3.0])) == 123.0


def test_symbolic_n_steps_and_non_sequences():
    n, a = sg.scalar("n", dtype="int64"), sg.scalar("a")
    powers, _ = sg.scan(lambda p, a: p * a, outputs_info=sg.constant(1.0), non_sequences=a, n_steps=n)
    f = sg.function([n, a], powers)
    np.testing.assert_allclose(f(4, 2.0), [2.0, 4.0, 8.0, 16.0])
    assert f(0, 2.0).shape == (0,)


def test_n_steps_shorter_than_the_sequences_uses_their_first_entries():
    x = sg.vector("x")
    doubled, _ = sg.scan(lambda v: 2 * v, sequences=x, n_steps=2)
    np.testing.assert_array_equal(run([x], doubled, [1.0, 2.0, 3.0]), [2.0, 4.0])


def test_plain_and_recurrent_outputs_together():
    x = sg.matrix("x")

    def step(row, acc):
        return [acc + row.sum(), row.max()]

    (sums, maxima), _ = sg.scan(step, sequences=x, outputs_info=[sg.constant(0.0), None])
    values = rng.standard_normal((5, 3))
    got_sums, got_max = run([x], [sums, maxima], values)
    np.testing.assert_allclose(got_sums, np.cumsum(values.sum(axis=1)))
    np.testing.assert_allclose(got_max, values.max(axis=1))


def test_plain_outputs_with_no_steps_are_empty_of_the_right_shape():
    x = sg.tensor("x", shape=(None, 3))
    rows = sg.map(lambda r: r * 2, sequences=x)
    assert run([x], rows, np.zeros((0, 3))).shape == (0, 3)


def test_a_variable_used_without_being_listed_is_captured():
    x, w = sg.vector("x"), sg.scalar("w")
    scaled = sg.map(lambda v: v * w, sequences=x)
    np.testing.assert_allclose(run([x, w], scaled, [1.0, 2.0], 3.0), [3.0, 6.0])


def test_step_values_that_depend_only_on_outside_values_are_computed_once_outside():
    x, w = sg.matrix("x"), sg.matrix("w")
    h, _ = sg.scan(lambda x_t, h: sg.tanh(h @ w.T + x_t), sequences=x, outputs_info=sg.zeros(3))
    op = h.owner.inputs[0].owner.op
    inner_ops = {type(n.op).__name__ for n in sg.graph.traversal.toposort(list(op.inner_outputs))}
    assert "DimShuffle" not in inner_ops  # w.T is a captured value, not recomputed per step
    xs, wv = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    np.testing.assert_allclose(run([x, w], h, xs, wv), rnn_reference(xs, wv.T, np.zeros(3)))


def test_shared_variable_updates_inside_the_step():
    count = sg.shared(0.0, name="count")
    x = sg.vector("x")
    outputs, updates = sg.scan(lambda v: (v + count, {count: count + 1}), sequences=x)
    f = sg.function([x], outputs, updates=updates)
    np.testing.assert_array_equal(f([10.0, 10.0, 10.0]), [10.0, 11.0, 12.0])
    assert float(count.get_value()) == 3.0
    np.testing.assert_array_equal(f([0.0]), [3.0])
    assert float(count.get_value()) == 4.0


def test_until_stops_after_the_first_step_where_it_holds():
    def double(v):
        y = 2 * v
        return y, sg.until(y > 100)

    x = sg.scalar("x")
    powers, _ = sg.scan(double, outputs_info=x, n_steps=1000)
    for mode in MODES:
        np.testing.assert_array_equal(run([x], powers, 1.0, mode=mode), [2, 4, 8, 16, 32, 64, 128])
        assert run([x], powers, 200.0, mode=mode).tolist() == [400.0]


def test_while_loop_runs_zero_or_more_steps():
    x = sg.scalar("x")
    result = sg.while_loop(lambda v: v < 100, lambda v: 3 * v, x)
    f = sg.function([x], result)
    assert float(f(2.0)) == 162.0
    assert float(f(500.0)) == 500.0  # the condition is false at once: no step
    a, b = sg.scalar("a"), sg.scalar("b")
    gcd = sg.while_loop(lambda a, b: sg.neq(b, 0), lambda a, b: [b, a % b], [a, b])
    assert [float(v) for v in sg.function([a, b], gcd)(84.0, 36.0)] == [12.0, 0.0]


def test_nested_scans():
    x = sg.matrix("x")
    row_cumsums = sg.map(lambda row: sg.scan(lambda v, acc: acc + v, sequences=row,
                                             outputs_info=sg.constant(0.0))[0], sequences=x)
    values = rng.standard_normal((3, 4))
    np.testing.assert_allclose(run([x], row_cumsums, values), np.cumsum(values, axis=1))


def test_reference_implementation_agrees_with_the_generated_loop():
    x, w, h0 = sg.matrix("x"), sg.matrix("w"), sg.vector("h0")
    buffer = rnn(x, w, h0).owner.inputs[0]
    xs, wv, hv = rng.standard_normal((5, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    node = buffer.owner
    n_steps = np.int64(5)
    reference = node.op.perform(n_steps, xs, hv[None], wv)
    np.testing.assert_allclose(reference[1:], rnn_reference(xs, wv, hv))


# ---------------------------------------------------------------------- reverse and forward mode


def test_bptt_gradients_match_finite_differences():
    x, w, h0 = sg.matrix("x"), sg.matrix("w"), sg.vector("h0")
    cost = (rnn(x, w, h0) ** 2).sum()
    f = sg.function([x, w, h0], sg.grad(cost, [x, w, h0]))
    xs, wv, hv = rng.standard_normal((6, 3)), rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3)

    def loss(xs, wv, hv):
        return (rnn_reference(xs, wv, hv) ** 2).sum()

    gx, gw, gh = f(xs, wv, hv)
    np.testing.assert_allclose(gx, numerical_gradient(lambda a: loss(a, wv, hv), xs), atol=1e-7)
    np.testing.assert_allclose(gw, numerical_gradient(lambda a: loss(xs, a, hv), wv), atol=1e-7)
    np.testing.assert_allclose(gh, numerical_gradient(lambda a: loss(xs, wv, a), hv), atol=1e-7)


def test_gradient_of_the_last_state_only():
    sg.verify_grad(lambda x, w, h0: rnn(x, w, h0)[-1].sum(),
                   [rng.standard_normal((4, 2)), rng.standard_normal((2, 2)), rng.standard_normal(2)], rng=0)


def test_gradients_through_taps_backwards_loops_and_plain_outputs():
    def fn(x, a):
        def step(before, now, p1, p2, a):
            return [a * p1 + sg.sin(p2) * now + before, sg.tanh(p1 * now)]

        (s, y), _ = sg.scan(step, sequences=dict(input=x, taps=[-1, 0]),
                            outputs_info=[dict(initial=sg.stack([a, 2 * a]), taps=[-1, -2]), None],
                            non_sequences=a, go_backwards=True)
        return (s ** 2).sum() + y.sum()

    sg.verify_grad(fn, [rng.standard_normal(6), np.float64(0.7)], rng=1)


def test_gradient_with_respect_to_a_shared_variable_read_inside():
    w = sg.shared(np.array([[0.5, -0.2], [0.1, 0.3]]), name="w")
    x = sg.matrix("x")
    cost = rnn(x, w, sg.zeros(2)).sum()
    g = sg.function([x], sg.grad(cost, w))
    xs = rng.standard_normal((3, 2))
    expected = numerical_gradient(lambda a: rnn_reference(xs, a, np.zeros(2)).sum(), w.get_value())
    np.testing.assert_allclose(g(xs), expected, atol=1e-7)


def test_gradient_through_an_until_loop_uses_the_steps_taken():
    x, a = sg.scalar("x"), sg.scalar("a")

    def step(v, a):
        y = a * v + 1
        return y, sg.until(y > 20)

    values, _ = sg.scan(step, outputs_info=x, non_sequences=a, n_steps=100)
    g = sg.function([x, a], sg.grad(values[-1], [x, a]))

    def last(x, a):
        v = x
        while True:
            v = a * v + 1
            if v > 20:
                return v

    gx, ga = g(1.0, 2.0)
    assert abs(gx - (last(1.0 + 1e-6, 2.0) - last(1.0 - 1e-6, 2.0)) / 2e-6) < 1e-5
    assert abs(ga - (last(1.0, 2.0 + 1e-6) - last(1.0, 2.0 - 1e-6)) / 2e-6) < 1e-4


def test_truncate_gradient_backpropagates_through_the_last_k_steps():
    x, w = sg.vector("x"), sg.scalar("w")
    h, _ = sg.scan(lambda v, h: w * h + v, sequences=x, outputs_info=sg.constant(1.0), truncate_gradient=2)
    gx, gw = sg.function([x, w], sg.grad(h[-1], [x, w]))(np.ones(4), 2.0)
    # h_t = w h_{t-1} + x_t: the last two steps give d h_4 / d x = [0, 0, w, 1] and d h_4 / d w = h_3 + w h_2
    np.testing.assert_allclose(gx, [0.0, 0.0, 2.0, 1.0])
    h2, h3 = 2 * (2 * 1 + 1) + 1, 2 * (2 * (2 * 1 + 1) + 1) + 1
    assert gw == pytest.approx(h3 + 2 * h2)


def test_hessian_vector_product_through_a_loop():
    x, w = sg.matrix("x"), sg.matrix("w")
    v = sg.matrix("v")
    cost = (rnn(x, w, sg.zeros(2)) ** 2).sum()
    gw = sg.grad(cost, w)
    hvp = sg.grad((gw * v).sum(), w)
    f = sg.function([x, w, v], hvp)
    xs, wv, vv = rng.standard_normal((3, 2)), rng.standard_normal((2, 2)) * 0.5, rng.standard_normal((2, 2))
    grad_of = sg.function([x, w], gw)
    eps = 1e-5
    expected = (grad_of(xs, wv + eps * vv) - grad_of(xs, wv - eps * vv)) / (2 * eps)
    np.testing.assert_allclose(f(xs, wv, vv), expected, atol=1e-6)


def test_jvp_through_a_loop_matches_finite_differences():
    x, w, h0 = sg.matrix("x"), sg.matrix("w"), sg.vector("h0")
    dx, dw, dh = sg.matrix("dx"), sg.matrix("dw"), sg.vector("dh")
    states = rnn(x, w, h0)
    tangent = sg.function([x, w, h0, dx, dw, dh], sg.jvp(states, [x, w, h0], [dx, dw, dh]))
    values = [rng.standard_normal((4, 3)), rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3)]
    directions = [rng.standard_normal(v.shape) for v in values]
    eps = 1e-6
    up = rnn_reference(*[v + eps * d for v, d in zip(values, directions)])
    down = rnn_reference(*[v - eps * d for v, d in zip(values, directions)])
    np.testing.assert_allclose(tangent(*values, *directions), (up - down) / (2 * eps), atol=1e-7)


def test_bptt_agrees_with_jax_lax_scan():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x, w, h0 = sg.matrix("x"), sg.matrix("w"), sg.vector("h0")
    grads = sg.function([x, w, h0], sg.grad((rnn(x, w, h0) ** 3).sum(), [x, w, h0]))

    def loss(xs, wv, hv):
        _, states = jax.lax.scan(lambda h, x_t: (jnp.tanh(h @ wv + x_t),) * 2, hv, xs)
        return (states ** 3).sum()

    values = [rng.standard_normal((8, 3)), rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3)]
    for got, want in zip(grads(*values), jax.grad(loss, argnums=(0, 1, 2))(*values)):
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10)


# ---------------------------------------------------------------------- compile-time passes and lowering


def test_the_step_is_optimized_and_written_as_one_loop():
    x = sg.vector("x")
    logs = sg.map(lambda v: sg.log(1 + v), sequences=x)
    f = sg.function([x], logs)
    assert f.source.count("for s0_t in range(s0_n):") == 1
    assert "np_log1p" in f.source and f.report.rewrites["log1p"] == 1
    assert f.report.rewrites["scan_optimize_inner"] == 1
    fast = sg.function([x], logs, mode="fast_compile")
    assert "log1p" not in fast.source
    np.testing.assert_allclose(f([0.5, 2.0]), np.log1p([0.5, 2.0]))


def test_histories_nothing_reads_are_dropped():
    x, w = sg.matrix("x"), sg.matrix("w")
    cost = rnn(x, w, sg.zeros(3))[-1].sum()
    f = sg.function([x, w], [cost, sg.grad(cost, w)])
    kept = sg.function([x, w], [cost, sg.grad(cost, w)], mode=sg.Mode(exclude=["scan_save_memory"]))
    # the forward loop's history feeds the reverse loop; the reverse loop's sums are read at the end only
    assert f.report.rewrites["scan_save_memory"] >= 2
    assert "scan_save_memory" not in kept.report.rewrites
    xs, wv = rng.standard_normal((5, 3)), rng.standard_normal((3, 3))
    for got, want in zip(f(xs, wv), kept(xs, wv)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    scans = [n for n in f.graph.nodes if isinstance(n.op, Scan)]
    assert any(any(n.op.last_only) for n in scans)


def test_compiled_loops_pickle():
    x, w, h0 = sg.matrix("x"), sg.matrix("w"), sg.vector("h0")
    f = sg.function([x, w, h0], sg.grad(rnn(x, w, h0).sum(), w))
    g = pickle.loads(pickle.dumps(f))
    values = [rng.standard_normal((3, 2)), rng.standard_normal((2, 2)), rng.standard_normal(2)]
    np.testing.assert_allclose(g(*values), f(*values))


def test_printers_show_the_loop_and_its_step():
    x, w = sg.vector("x"), sg.scalar("w")
    total, _ = sg.scan(lambda v, acc: sg.tanh(acc * w + v), sequences=x, outputs_info=sg.constant(0.0), name="running")
    tree = sg.debugprint(total)
    assert "scan{running}" in tree and "↻ step:" in tree and "tanh" in tree
    flat = sg.debugprint(total, style="flat")
    assert "  step {" in flat and "= tanh(" in flat
    assert "step=[tanh(('state0[t-1]' * w) + 'x[t]')]" in sg.pprint(total)
    graph = sg.to_networkx(total)
    loops = [data for _, data in graph.nodes(data=True) if data.get("op") == "scan"]
    assert loops and loops[0]["inner"] == ["multiply", "add", "tanh"]
    branch = sg.debugprint(sg.function([w], sg.ifelse(w > 0, sg.exp(w), sg.sin(w))))
    assert "↻ then:" in branch and "↻ else:" in branch


# ---------------------------------------------------------------------- errors


def test_step_output_of_another_rank_is_refused_at_build_time():
    x = sg.matrix("x")
    with pytest.raises(ScanError, match=r"scan 'bad': the step returns a value of type float64\[\?\] for recurrent "
                                         r"output 0, whose initial value has type float64\[\] \(rank 0\)"):
        sg.scan(lambda row, acc: acc + row, sequences=x, outputs_info=sg.constant(0.0), name="bad")


def test_step_output_of_a_lossy_dtype_is_refused_and_a_safe_one_cast():
    x = sg.vector("x")
    with pytest.raises(ScanError, match="returns dtype float64 for recurrent output 0, whose initial value has "
                                        "dtype int64; cast one of them"):
        sg.scan(lambda v, acc: acc + v, sequences=x, outputs_info=sg.constant(0))
    n = sg.vector("n", dtype="int64")
    total, _ = sg.scan(lambda v, acc: acc + v, sequences=n, outputs_info=sg.constant(0.0))
    assert total.dtype == np.float64


def test_sequences_of_different_lengths_are_named_at_run_time():
    x, y = sg.vector("x"), sg.vector("y")
    both = sg.map(lambda a, b: a * b, sequences=[x, y])
    f = sg.function([x, y], both)
    with pytest.raises(ScanError, match=r"sequences x and y have different lengths \(3 and 2 steps\)"):
        f([1.0, 2.0, 3.0], [1.0, 2.0])


def test_negative_and_too_large_n_steps():
    n = sg.scalar("n", dtype="int64")
    x = sg.vector("x")
    ones, _ = sg.scan(lambda v: v, sequences=x, n_steps=n)
    f = sg.function([x, n], ones)
    with pytest.raises(ScanError, match="n_steps is -1; it must be >= 0"):
        f([1.0], -1)
    with pytest.raises(ScanError, match="sequence x has 1 entries, fewer than n_steps=2"):
        f([1.0], 2)
    with pytest.raises(ScanError, match="n_steps is -3"):
        sg.scan(lambda: sg.constant(1.0), n_steps=-3)


def test_wrong_number_of_step_outputs():
    x = sg.vector("x")
    with pytest.raises(ScanError, match="returned 2 outputs, but outputs_info has 1 entries"):
        sg.scan(lambda v, acc: [acc + v, v], sequences=x, outputs_info=sg.constant(0.0))


def test_no_sequences_and_no_n_steps():
    with pytest.raises(ScanError, match="give sequences or n_steps"):
        sg.scan(lambda acc: acc + 1, outputs_info=sg.constant(0.0))


def test_a_run_time_error_inside_the_step_names_the_step_node():
    x = sg.matrix("x")
    h0 = sg.vector("h0")
    y, _ = sg.scan(lambda row, acc: (acc * row).reshape((2,)).sum() + acc, sequences=x, outputs_info=h0)
    f = sg.function([x, h0], y)
    with pytest.raises(ValueError, match=r"of the step of scan.*created at .*test_loops.py"):
        f(np.zeros((2, 3)), np.zeros(3))


def test_work_on_sequence_entries_alone_runs_before_the_loop_for_all_steps():
    x, w = sg.tensor("x", shape=(None, None, None)), sg.matrix("w")
    h, _ = sg.scan(lambda x_t, h: sg.tanh(x_t @ w + h), sequences=x, outputs_info=sg.zeros((2, 3)))
    f = sg.function([x, w], h)
    loop = f.source.index("for s0_t")
    assert "np.tensordot(x, w" in f.source[:loop] and "x[s0_t" not in f.source  # one product for all steps
    xs, wv = rng.standard_normal((4, 2, 3)), rng.standard_normal((3, 3))
    expected, state = [], np.zeros((2, 3))
    for x_t in xs:
        state = np.tanh(x_t @ wv + state)
        expected.append(state)
    np.testing.assert_allclose(f(xs, wv), expected)
    y = sg.map(lambda row: row.reshape((2,)), sequences=x[0])
    with pytest.raises(ValueError, match=r"reshape.*created at .*test_loops.py"):
        sg.function([x], y)(np.zeros((1, 2, 3)))


def test_an_error_in_work_moved_before_the_loop_names_the_steps_line():
    a, i = sg.matrix("a"), sg.vector("i", dtype="int64")

    def step(row, acc):
        return acc * 2 + row[i]  # moved before the loop as a[:, i]

    f = sg.function([a, i], sg.foldl(step, sequences=a, outputs_info=sg.zeros(2)))
    line = step.__code__.co_firstlineno + 1
    with pytest.raises(IndexError, match=rf"index 5 is out of bounds.*created at .*test_loops.py:{line} in step"):
        f(np.ones((3, 2)), [0, 5])


# ---------------------------------------------------------------------- ifelse


@pytest.mark.parametrize("mode", MODES)
def test_ifelse_computes_only_the_branch_taken(mode):
    x = sg.vector("x")
    # the else branch fails whenever it runs on a vector of 3 entries
    y = sg.ifelse(x.sum() > 0, sg.exp(x), x.reshape((2,)).sum() + x)
    f = sg.function([x], y, mode=mode)
    np.testing.assert_allclose(f([1.0, 2.0, 3.0]), np.exp([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="else branch of ifelse"):
        f([-1.0, -2.0, -3.0])
    assert f.report.rewrites["lazy_ifelse"] == 1


def test_ifelse_keeps_values_used_outside_a_branch_outside():
    x = sg.vector("x")
    shared_part = sg.exp(x)
    y = sg.ifelse(x.sum() > 0, shared_part * 2, -x)
    f = sg.function([x], [y, shared_part.sum()])
    branch = re.search(r"\n\s+if v\d+:", f.source)
    assert branch and f.source.index("np_exp") < branch.start()
    result, total = f([1.0, -0.5])
    np.testing.assert_allclose(result, 2 * np.exp([1.0, -0.5]))
    assert total == pytest.approx(np.exp([1.0, -0.5]).sum())


def test_ifelse_gradients_flow_into_the_branch_taken():
    x = sg.vector("x")
    sg.verify_grad(lambda x: sg.ifelse(x.sum() > 0, sg.sin(x), x ** 3).sum(), [np.array([0.3, 0.4])], rng=0)
    sg.verify_grad(lambda x: sg.ifelse(x.sum() > 0, sg.sin(x), x ** 3).sum(), [np.array([-0.3, -0.4])], rng=0)
    t = sg.vector("t")
    tangent = sg.jvp(sg.ifelse(x.sum() > 0, sg.sin(x), x ** 3), x, t)
    np.testing.assert_allclose(tangent.eval({x: [-1.0, -2.0], t: [1.0, 1.0]}), [3.0, 12.0])


def test_nested_ifelse_and_several_outputs():
    a = sg.scalar("a")
    inner = sg.ifelse(a > 10, a * 100, a * 10)
    outer = sg.ifelse(a > 0, [inner, a], [-a, a - 1])
    f = sg.function([a], outer)
    assert [float(v) for v in f(20.0)] == [2000.0, 20.0]
    assert [float(v) for v in f(5.0)] == [50.0, 5.0]
    assert [float(v) for v in f(-5.0)] == [5.0, -6.0]


def test_ifelse_errors():
    x = sg.vector("x")
    with pytest.raises(sg.ShapeError, match="the condition must be 0-d"):
        sg.ifelse(x > 0, x, x)
    with pytest.raises(sg.ShapeError, match="branch value 0 has types float64\\[\\?\\] and float64\\[\\]"):
        sg.ifelse(x.sum() > 0, x, x.sum())
    with pytest.raises(ValueError, match="the branches hold 2 and 1 values"):
        sg.ifelse(x.sum() > 0, [x, x], [x])


def test_switch_is_where():
    assert sg.switch([True, False], [1, 2], [3, 4]).eval().tolist() == [1, 4]


def test_profile_attributes_a_loops_time_to_its_step_nodes():
    x, w = sg.tensor("x", shape=(None, None, None)), sg.matrix("w")
    h, _ = sg.scan(lambda x_t, h: sg.tanh(h @ w + x_t), sequences=x, outputs_info=sg.zeros((2, 3)), name="rnn")
    f = sg.function([x, w], h.sum())
    profile = f.profile(np.ones((5, 2, 3)), np.eye(3), repeat=2)
    [loop_label] = [label for label, _, _ in profile.rows if "scan{rnn}" in label]
    inner = profile.inner_rows[loop_label]
    assert sorted(label.split()[2] for label, _, _ in inner) == ["fused[add,", "matmul"]
    assert all(seconds > 0 for _, seconds, _ in inner)
    assert "step #0 matmul" in str(profile)


# ---------------------------------------------------------------------- random step functions

from hypothesis import given, settings, strategies as st  # noqa: E402

_STEP_OPS = [
    ("tanh", lambda a, b: sg.tanh(a + b), lambda a, b: np.tanh(a + b)),
    ("scaled", lambda a, b: 0.5 * a - b, lambda a, b: 0.5 * a - b),
    ("sin", lambda a, b: sg.sin(a) * b, lambda a, b: np.sin(a) * b),
    ("soft", lambda a, b: sg.softplus(a - b), lambda a, b: np.logaddexp(0, a - b)),
]


@settings(max_examples=25, deadline=None)
@given(ops=st.lists(st.sampled_from(range(len(_STEP_OPS))), min_size=1, max_size=4),
       steps=st.integers(0, 4), backwards=st.booleans(), seed=st.integers(0, 2**16))
def test_random_step_functions_match_a_numpy_loop_with_their_gradients(ops, steps, backwards, seed):
    def symbolic_step(x_t, h):
        for k in ops:
            h = _STEP_OPS[k][1](h, x_t)
        return h

    def numpy_loop(xs, h):
        states = []
        for x_t in (xs[::-1] if backwards else xs):
            for k in ops:
                h = _STEP_OPS[k][2](h, x_t)
            states.append(h)
        return np.array(states).reshape((len(xs),) + np.shape(h))

    x, h0 = sg.matrix("x"), sg.vector("h0")
    states, _ = sg.scan(symbolic_step, sequences=x, outputs_info=h0, go_backwards=backwards)
    values = np.random.default_rng(seed)
    xs, hv = values.uniform(-1, 1, (steps, 2)), values.uniform(-1, 1, 2)
    for mode in MODES:
        np.testing.assert_allclose(run([x, h0], states, xs, hv, mode=mode), numpy_loop(xs, hv), rtol=1e-10, atol=1e-12)
    if steps:
        grads = sg.function([x, h0], sg.grad((states ** 2).sum(), [x, h0]))(xs, hv)
        expected = [numerical_gradient(lambda a: (numpy_loop(a, hv) ** 2).sum(), xs),
                    numerical_gradient(lambda a: (numpy_loop(xs, a) ** 2).sum(), hv)]
        for got, want in zip(grads, expected):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_an_accumulator_is_updated_in_place_in_a_copy_the_loop_owns():
    x = sg.tensor("x", shape=(None, 128, 128))
    start = sg.matrix("start")
    total = sg.foldl(lambda m, acc: acc + m, sequences=x, outputs_info=start)
    f = sg.function([x, start], total)
    assert "out=s0_h0" in f.source and "s0_h0 = " in f.source and ".copy()" in f.source
    xs, initial = rng.standard_normal((3, 128, 128)), rng.standard_normal((128, 128))
    kept = initial.copy()
    np.testing.assert_allclose(f(xs, initial), initial + xs.sum(axis=0))
    np.testing.assert_array_equal(initial, kept)  # the caller's initial value is never written into


# ---------------------------------------------------------------------- batching loops


def test_vmap_of_a_loop_is_one_batched_loop():
    w = sg.matrix("w")

    def last_state(x):  # x: (steps, 3) for one example
        states, _ = sg.scan(lambda x_t, h: sg.tanh(h @ w + x_t), sequences=x, outputs_info=sg.zeros(3))
        return states[-1]

    xs = sg.tensor("xs", shape=(None, None, 3))
    f = sg.function([xs, w], sg.vmap(last_state)(xs))
    assert f.report.batching_fallbacks == []
    values, wv = rng.standard_normal((4, 5, 3)), rng.standard_normal((3, 3)) * 0.5
    expected = [rnn_reference(values[i], wv, np.zeros(3))[-1] for i in range(4)]
    np.testing.assert_allclose(f(values, wv), expected, rtol=1e-12)


def test_per_example_gradients_through_a_loop():
    w = sg.matrix("w")

    def example_grad(x):
        states, _ = sg.scan(lambda x_t, h: sg.tanh(h @ w + x_t), sequences=x, outputs_info=sg.zeros(2))
        return sg.grad((states ** 2).sum(), w)

    xs = sg.tensor("xs", shape=(None, None, 2))
    f = sg.function([xs, w], sg.vmap(example_grad)(xs))
    values, wv = rng.standard_normal((3, 4, 2)), rng.standard_normal((2, 2)) * 0.5
    for i in range(3):
        expected = numerical_gradient(lambda a: (rnn_reference(values[i], a, np.zeros(2)) ** 2).sum(), wv)
        np.testing.assert_allclose(f(values, wv)[i], expected, atol=1e-7)


def test_jacobian_of_a_loop_batches_its_reverse_loop():
    v = sg.vector("v")
    states, _ = sg.scan(lambda a, acc: sg.tanh(acc + a), sequences=v, outputs_info=sg.constant(0.0))
    f = sg.function([v], sg.jacobian(states, v))
    assert f.report.batching_fallbacks == []

    def forward(values):
        acc, out = 0.0, []
        for a in values:
            acc = np.tanh(acc + a)
            out.append(acc)
        return np.array(out)

    point = rng.standard_normal(4)
    expected = np.stack([numerical_gradient(lambda p: forward(p)[i], point) for i in range(4)])
    np.testing.assert_allclose(f(point), expected, atol=1e-7)


def test_a_stop_condition_on_batched_values_runs_once_per_entry():
    def grow(x):
        values, _ = sg.scan(lambda v: (2 * v, sg.until(2 * v > 10)), outputs_info=x, n_steps=100)
        return values[-1]

    xs = sg.vector("xs")
    f = sg.function([xs], sg.vmap(grow)(xs))
    np.testing.assert_allclose(f([1.0, 1.2]), [16.0, 19.2])  # both entries stop after 4 steps
    assert f.report.batching_fallbacks == ["scan"]
    with pytest.raises(ValueError, match="per_slice_loop{scan}"):  # entries of different lengths cannot stack
        f([1.0, 3.0])


def test_a_compiled_loop_may_be_called_from_several_threads():
    import threading

    x, w, h0 = sg.matrix("x"), sg.matrix("w"), sg.vector("h0")
    f = sg.function([x, w, h0], sg.grad((rnn(x, w, h0) ** 2).sum(), w))
    inputs = [(rng.standard_normal((6, 3)), rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3)) for _ in range(4)]
    expected = [f(*values) for values in inputs]
    results = [None] * len(inputs)

    def work(i):
        for _ in range(20):
            results[i] = f(*inputs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def _scan_count(f):
    return sum(type(node.op) is Scan for node in f.graph.nodes)


@pytest.mark.parametrize("steps", [0, 1, 5])
def test_two_independent_scans_over_one_sequence_run_as_one_loop(rng, steps):
    x, h0, w = sg.vector("x"), sg.vector("h0"), sg.matrix("w")
    states, _ = sg.scan(lambda v, h: sg.tanh(h @ w + v), sequences=x, outputs_info=h0)
    partial_sums, _ = sg.scan(lambda v, acc: acc + v * v, sequences=x, outputs_info=sg.constant(0.0))
    doubled = sg.map(lambda v: 2.0 * sg.exp(v), x)
    outputs = [states, partial_sums, doubled] + sg.grad(states.sum() + partial_sums.sum(), [x, h0, w])
    merged = sg.function([x, h0, w], outputs)
    separate = sg.function([x, h0, w], outputs, mode=sg.Mode(exclude=["scan_merge"]))
    assert merged.report.rewrites["scan_merge"] >= 1 and _scan_count(merged) < _scan_count(separate)
    values = rng.standard_normal(steps), rng.standard_normal(3), rng.standard_normal((3, 3))
    for got, expected in zip(merged(*values), separate(*values)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_scans_that_depend_on_each_other_or_differ_in_length_stay_apart():
    x = sg.vector("x")
    first, _ = sg.scan(lambda v, acc: acc + v, sequences=x, outputs_info=sg.constant(0.0))
    chained, _ = sg.scan(lambda v, acc: acc * v, sequences=first, outputs_info=sg.constant(1.0))
    shorter, _ = sg.scan(lambda v, acc: acc - v, sequences=x[1:], outputs_info=sg.constant(0.0))
    stopped, _ = sg.scan(lambda v, acc: (acc + v, sg.until(acc > 2.0)), sequences=x, outputs_info=sg.constant(0.0))
    f = sg.function([x], [chained, shorter, stopped])
    assert "scan_merge" not in f.report.rewrites and _scan_count(f) == 4
    values = np.array([1.0, 2.0, 3.0])
    chained_value, shorter_value, stopped_value = f(values)
    np.testing.assert_allclose(chained_value, np.cumprod(np.cumsum(values)))
    np.testing.assert_allclose(shorter_value, -np.cumsum(values[1:]))
    np.testing.assert_allclose(stopped_value, [1.0, 3.0, 6.0])  # the condition reads the state before the step


def _stream_draws(seed, index=0):
    """The NumPy generator that draw `index` of `sg.random.RandomStream(seed)` starts from."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def test_a_draw_in_a_step_draws_anew_at_every_step_as_numpy_does_in_a_loop():
    x = sg.vector("x")
    stream = sg.random.RandomStream(5)
    noisy, updates = sg.scan(lambda v: v + stream.normal(), sequences=x)
    [(state, after)] = updates.items()
    assert state is stream.state_variables[0]
    f = sg.function([x], noisy)
    values = np.arange(4.0)
    expected = _stream_draws(5)
    np.testing.assert_array_equal(f(values), values + expected.standard_normal(4))
    np.testing.assert_array_equal(f(values), values + expected.standard_normal(4))  # the call advanced the state
    stream.seed(5)
    with_updates = sg.function([x], noisy, updates=updates)  # Theano's spelling: the same single update
    np.testing.assert_array_equal(with_updates(values), values + _stream_draws(5).standard_normal(4))


def test_a_draw_reading_the_state_is_a_random_walk_and_its_gradient_follows_the_drawn_path():
    stream = sg.random.RandomStream(2)
    w = sg.scalar("w")
    path, _ = sg.scan(lambda h: sg.tanh(w * h) + 0.1 * stream.normal(loc=h), outputs_info=sg.constant(0.5), n_steps=5)
    f = sg.function([w], [path, sg.grad(path.sum(), w)])
    expected, h, noise = [], 0.5, _stream_draws(2).standard_normal(5)
    for z in noise:
        h = np.tanh(0.7 * h) + 0.1 * (h + z)
        expected.append(h)
    saved = stream.get_state()
    value, gradient = f(0.7)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    ups, downs = [], []
    for sign, into in ((1, ups), (-1, downs)):
        stream.set_state(saved)
        into.append(f(0.7 + sign * 1e-6)[0].sum())
    np.testing.assert_allclose(gradient, (ups[0] - downs[0]) / 2e-6, rtol=1e-6)


def test_draws_in_nested_steps_and_in_dropout_differ_from_step_to_step():
    x = sg.vector("x")
    stream = sg.random.RandomStream(1)
    masks, _ = sg.scan(lambda v: sg.dropout(sg.ones((64,)) * v, 0.5, stream), sequences=x)
    rows = sg.function([x], masks)(np.ones(3))
    assert len({row.tobytes() for row in rows}) == 3
    inner_sums, _ = sg.scan(lambda v: sg.scan(lambda u: u + stream.uniform(), sequences=sg.ones((2,)) * v)[0].sum(),
                            sequences=x)
    f = sg.function([x], inner_sums)
    first, second = f(np.zeros(3)), f(np.zeros(3))
    assert len(set(first)) == 3 and not np.array_equal(first, second)


def test_scans_with_random_draws_in_their_steps_are_not_merged():
    x = sg.vector("x")
    stream = sg.random.RandomStream(3)
    noisy, _ = sg.scan(lambda v: v + stream.normal(size=()), sequences=x)
    plain, _ = sg.scan(lambda v, acc: acc + v, sequences=x, outputs_info=sg.constant(0.0))
    f = sg.function([x], [noisy, plain])
    assert "scan_merge" not in f.report.rewrites
    values = np.arange(4.0)
    stream.seed(5)
    noisy_value, plain_value = f(values)
    np.testing.assert_array_equal(noisy_value, values + _stream_draws(5).standard_normal(4))
    np.testing.assert_allclose(plain_value, np.cumsum(values))


@pytest.mark.parametrize("mode", ["fast_run", "fast_compile"])
def test_the_last_step_of_a_scan_that_ran_no_steps_is_an_index_error_in_every_mode(mode):
    # scan_save_memory keeps only the final state, which is the initial value after zero steps
    h0, n, x = sg.vector("h0"), sg.scalar("n", dtype="int64"), sg.vector("x")
    hs, _ = sg.scan(lambda h: h * 2, outputs_info=h0, n_steps=n)
    last = sg.function([n, h0], hs[-1], mode=mode)
    folded = sg.function([x], sg.foldl(lambda v, acc: acc + v, x, sg.constant(5.0)), mode=mode)
    np.testing.assert_array_equal(last(3, np.ones(2)), [8.0, 8.0])
    assert folded([1.0, 2.0]) == 8.0
    for call in (lambda: last(0, np.ones(2)), lambda: folded(np.zeros(0))):
        with pytest.raises(IndexError, match="index -1 is out of bounds for axis 0 with size 0"):
            call()


def test_ifelse_treats_a_python_scalar_branch_as_weak_like_where():
    c, half, small = sg.scalar("c"), sg.scalar("half", dtype="float32"), sg.scalar("small", dtype="int8")
    assert sg.ifelse(c > 0, half, 0.0).dtype == np.float32 == sg.where(c > 0, half, 0.0).dtype
    assert [v.dtype for v in sg.ifelse(c > 0, [small, 2], [1, half])] == [np.int8, np.float32]
    assert sg.ifelse(c > 0, 1, 2.5).dtype == np.result_type(1, 2.5)
    assert sg.function([c, half], sg.ifelse(c > 0, half, 0.0))(-1.0, 2.0) == 0.0
