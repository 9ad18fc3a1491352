"""The optimizer as a whole: modes, the compile report, the engine's guarantees and its loop bound."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.traversal import toposort
from symgraph.rewrite import REWRITES, RewriteError, RewritePass
from symgraph.rewrite.registry import Rewrite
from symgraph.rewrite.report import CompileReport


def stable_log1p_graph():
    x = sg.scalar("x")
    return x, sg.log(1 + x)


def test_report_counts_nodes_rewrites_and_phase_times():
    x = sg.vector("x")
    f = sg.function([x], sg.log(1 + x * 1.0) + 1.0 + 2.0)
    report = f.report
    assert report.nodes_before == 5
    assert report.nodes_after == len(f.graph.nodes) == 1
    assert report.rewrites == {"multiply_one": 1, "log1p": 1, "gather_add_constants": 1, "elemwise_fusion": 1}
    phases = ["merge", "constant_folding", "canonicalize", "stabilize", "specialize", "fusion"]
    assert list(report.timings)[: len(phases)] == phases
    assert all(seconds >= 0 for seconds in report.timings.values())
    text = str(report)
    assert "nodes: 5 -> 1" in text and "log1p" in text and "canonicalize" in text


def test_report_without_rewrites_says_so():
    assert "rewrites fired: none" in str(CompileReport(nodes_before=1, nodes_after=1))


def test_fast_compile_runs_no_optional_rewrite():
    x, y = stable_log1p_graph()
    f = sg.function([x], y, mode="fast_compile")
    assert f.report.rewrites == {} and f.report.nodes_after == f.report.nodes_before == 2
    assert float(f(1e-20)) == 0.0


@pytest.mark.parametrize("switch_off", ["log1p", "stabilize"])
def test_exclude_by_rewrite_name_or_group(switch_off):
    x, y = stable_log1p_graph()
    f = sg.function([x], y, mode=sg.Mode(exclude=[switch_off]))
    assert "log1p" not in f.report.rewrites
    assert float(f(1e-20)) == 0.0


@pytest.mark.parametrize("switch_on", ["log1p", "stabilize"])
def test_include_by_rewrite_name_or_group_on_top_of_fast_compile(switch_on):
    x, y = stable_log1p_graph()
    f = sg.function([x], y, mode=sg.Mode("fast_compile", include=[switch_on]))
    assert f.report.rewrites == {"log1p": 1}
    assert float(f(1e-20)) == 1e-20


def test_every_rewrite_name_in_a_report_can_be_switched_off():
    x, w = sg.matrix("x"), sg.matrix("w")
    outputs = [sg.log(1 + sg.exp(x @ w) * 1.0) ** 2, (x.T @ w.T).sum(), x / 4.0]
    fired = sg.function([x, w], outputs).report.rewrites
    assert len(fired) >= 6
    for name in fired:
        assert name not in sg.function([x, w], outputs, mode=sg.Mode(exclude=[name])).report.rewrites


def test_unknown_rewrite_or_group_name_is_a_value_error():
    with pytest.raises(ValueError, match=r"unknown rewrite or group name\(s\) \['no_such_rewrite'\]"):
        sg.Mode(include=["no_such_rewrite"])
    with pytest.raises(ValueError, match="unknown"):
        sg.Mode(exclude=["fusoin"])


def test_every_group_and_registered_rewrite_is_a_known_name():
    for name in ["merge", "constant_folding", "canonicalize", "stabilize", "specialize", "fusion", "inplace",
                 "unsafe", *REWRITES]:
        sg.Mode(exclude=[name])


def test_optimize_returns_one_variable_for_one_and_a_list_for_a_list():
    x = sg.vector("x")
    assert sg.optimize(x * 1.0) is x
    optimized = sg.optimize((x * 1.0, x / 1.0))
    assert isinstance(optimized, list) and len(optimized) == 2 and all(v is x for v in optimized)


def test_the_users_graph_is_never_changed():
    x, w = sg.matrix("x"), sg.matrix("w")
    y = sg.log(1 + sg.exp(x.T.T @ w) * 1.0) ** 2
    before = [(node, node.op, node.inputs, node.outputs) for node in toposort([y])]
    sg.function([x, w], y)
    sg.optimize(y)
    assert [(node, node.op, node.inputs, node.outputs) for node in toposort([y])] == before


def test_replacement_nodes_keep_the_creation_site_of_the_node_they_replace():
    x = sg.vector("x")
    y = sg.log(1 + x)
    replaced = sg.optimize(y, mode=sg.Mode(exclude=["fusion"]))
    assert replaced.owner.op.name == "log1p"
    assert replaced.owner.site.filename == y.owner.site.filename
    assert replaced.owner.site.lineno == y.owner.site.lineno


def test_equal_constants_are_merged_and_nodes_above_them_too():
    x = sg.vector("x")
    big = np.linspace(0.0, 1.0, 5000)
    a, b = sg.function([x], [x + sg.constant(big), x + sg.constant(big.copy())], mode="fast_compile").graph.outputs
    assert a is b


def test_huge_constants_are_not_folded():
    huge = sg.zeros((3000, 3000))
    x = sg.matrix("x")
    f = sg.function([x], x + huge)
    assert "full" in [node.op.name for node in f.graph.nodes]
    small = sg.function([x], x + sg.zeros((2, 2)))
    assert small.report.rewrites.get("fold_constants", 0) >= 1


def test_deep_chains_optimize_without_recursion():
    x = sg.vector("x")
    y = x
    for _ in range(10_000):
        y = sg.sin(y * 1.0)
    f = sg.function([x], y)
    assert f.report.rewrites["multiply_one"] == 10_000
    reference = np.array([0.5, -1.0])
    for _ in range(10_000):
        reference = np.sin(reference)
    np.testing.assert_allclose(f([0.5, -1.0]), reference)


def _rewrite(name, row, function):
    return Rewrite(name, "canonicalize", function, tracks=[row])


def test_rewrites_that_undo_each_other_are_reported_as_a_loop():
    to_multiply = _rewrite("negative_to_multiply", "negative", lambda node, b: b.elemwise(
        "multiply", node.inputs[0], b.constant(-1.0, node.inputs[0].dtype)))
    to_negative = _rewrite("multiply_to_negative", "multiply", lambda node, b: b.elemwise("negative", node.inputs[0]))
    x = sg.vector("x")
    with pytest.raises(RewriteError, match=r"rewrite loop.*negative_to_multiply.*multiply_to_negative"):
        RewritePass([to_multiply, to_negative], {}).run([sg.exp(-x)])


def test_a_rewrite_that_keeps_growing_the_graph_hits_the_bound():
    grow = _rewrite("exp_of_sum", "exp", lambda node, b: b.elemwise(
        "exp", b.elemwise("add", node.inputs[0], b.constant(0.0, node.inputs[0].dtype))))
    x = sg.vector("x")
    with pytest.raises(RewriteError, match=r"more than \d+ rewrites fired one after the other.*exp_of_sum"):
        RewritePass([grow], {}).run([sg.exp(x)])


def test_a_replacement_of_another_type_is_rejected():
    wrong = _rewrite("exp_to_int", "exp", lambda node, b: b.cast(node.inputs[0], "int64"))
    x = sg.vector("x")
    with pytest.raises(RewriteError, match=r"exp_to_int replaced the output of exp .*incompatible type int64"):
        RewritePass([wrong], {}).run([sg.exp(x)])


def test_shared_subgraphs_are_rewritten_once():
    x = sg.vector("x")
    shared = sg.exp(x * 1.0)
    counts = {}
    outputs = RewritePass([REWRITES["multiply_one"]], counts).run([shared + 1.0, shared * 2.0, shared])
    assert counts == {"multiply_one": 1}
    assert outputs[0].owner.inputs[0] is outputs[2] and outputs[1].owner.inputs[0] is outputs[2]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_fast_run_agrees_with_fast_compile_on_a_mixed_graph(rng, dtype):
    x = sg.tensor("x", dtype=dtype, shape=(None, 3))
    y = sg.tensor("y", dtype=dtype, shape=(3,))
    z = (x * 1 + 0) * y + y * 1
    w = sg.where(x > 0, z, -(-z)) * 2 * 3
    outputs = [w, sg.sum(w, axis=0), z.shape[0] + 0, (x + y).T.T]
    values = [rng.integers(-3, 4, (4, 3)).astype(dtype), rng.integers(-3, 4, 3).astype(dtype)]
    fast = sg.function([x, y], outputs)(*values)
    slow = sg.function([x, y], outputs, mode="fast_compile")(*values)
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_mlp_gradient_graph_is_no_larger_than_hand_written_backprop(rng):
    n, d, h, k = 8, 5, 4, 3
    x, w1, b1 = sg.tensor("x", shape=(n, d)), sg.tensor("w1", shape=(d, h)), sg.tensor("b1", shape=(h,))
    w2, b2, y = sg.tensor("w2", shape=(h, k)), sg.tensor("b2", shape=(k,)), sg.tensor("y", dtype="int64", shape=(n,))
    hidden = sg.tanh(x @ w1 + b1)
    logits = hidden @ w2 + b2
    loss = -sg.mean(sg.log_softmax(logits, axis=1)[sg.arange(n), y])
    dz = (sg.softmax(logits, axis=1) - sg.eq(y[:, None], sg.arange(k)[None, :])) / n  # the textbook derivation
    da = (dz @ w2.T) * (1 - hidden ** 2)
    by_hand = [loss, x.T @ da, da.sum(0), hidden.T @ dz, dz.sum(0)]
    inputs = [x, y, w1, b1, w2, b2]
    automatic = sg.function(inputs, [loss] + sg.grad(loss, [w1, b1, w2, b2]))
    hand_written = sg.function(inputs, by_hand)
    assert automatic.report.nodes_after <= hand_written.report.nodes_after
    values = [rng.standard_normal((n, d)), rng.integers(0, k, n), rng.standard_normal((d, h)), rng.standard_normal(h),
              rng.standard_normal((h, k)), rng.standard_normal(k)]
    for got, expected in zip(automatic(*values), hand_written(*values)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
