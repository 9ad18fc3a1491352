"""Fusion of element-wise nodes into `Fused` kernels, their results, their errors and their lowering."""
import inspect
import pickle
import re

import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.elemwise import scalar_op
from symgraph.ops.fused import Fused


def fused_nodes(f):
    return [node for node in f.graph.nodes if node.op.name == "fused"]


def test_a_chain_becomes_one_kernel_named_after_its_operations():
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], sg.tanh(sg.exp(x) * y + 1.0))
    (node,) = f.graph.nodes
    assert node.op.name == "fused"
    assert node.op.inner_names == ["exp", "multiply", "add", "tanh"]
    assert f.report.rewrites["elemwise_fusion"] == 1
    np.testing.assert_allclose(f([0.5, 1.0], [2.0, -1.0]), np.tanh(np.exp([0.5, 1.0]) * [2.0, -1.0] + 1.0))


def test_a_value_used_twice_inside_a_kernel_is_computed_once():
    x = sg.vector("x")
    e = sg.exp(x)
    f = sg.function([x], e * 2.0 + e * e)
    (node,) = f.graph.nodes
    assert node.op.inner_names.count("exp") == 1


def test_a_value_needed_outside_ends_a_kernel_and_is_computed_once():
    x, w = sg.matrix("x"), sg.matrix("w")
    hidden = sg.tanh(x * 2.0 + 1.0)
    outputs = [sg.sin(hidden) * 3.0, hidden @ w]
    f = sg.function([x, w], outputs)
    kernels = fused_nodes(f)
    assert sorted(k.op.inner_names for k in kernels) == [["multiply", "add", "tanh"], ["sin", "multiply"]]
    assert sum(names.count("tanh") for names in (k.op.inner_names for k in kernels)) == 1
    x_value, w_value = np.random.default_rng(0).standard_normal((2, 3, 3))
    expected_hidden = np.tanh(x_value * 2.0 + 1.0)
    got = f(x_value, w_value)
    np.testing.assert_allclose(got[0], np.sin(expected_hidden) * 3.0)
    np.testing.assert_allclose(got[1], expected_hidden @ w_value)


def test_a_graph_output_inside_a_chain_stays_available():
    x = sg.vector("x")
    middle = sg.exp(x) + 1.0
    f = sg.function([x], [middle, sg.log(middle) * 2.0])
    a, b = f([0.0, 1.0])
    np.testing.assert_allclose(a, np.exp([0.0, 1.0]) + 1.0)
    np.testing.assert_allclose(b, np.log(a) * 2.0)


def test_fusion_never_makes_a_cycle_through_a_non_elementwise_node():
    x, w = sg.matrix("x"), sg.matrix("w")
    a = sg.exp(x)
    b = (a @ w) + a
    f = sg.function([x, w], sg.tanh(b))
    x_value, w_value = np.random.default_rng(1).standard_normal((2, 3, 3))
    np.testing.assert_allclose(f(x_value, w_value), np.tanh(np.exp(x_value) @ w_value + np.exp(x_value)))


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("int32", "float32"), ("bool", "int64"), ("int64", "int32")])
def test_kernels_keep_numpy_broadcasting_and_promotion(rng, dtypes):
    a = sg.tensor("a", dtype=dtypes[0], shape=(None, 1))
    b = sg.tensor("b", dtype=dtypes[1], shape=(None,))
    expression = sg.maximum(a * 2 + b, b) - a
    f = sg.function([a, b], expression)
    reference = sg.function([a, b], expression, mode="fast_compile")
    assert fused_nodes(f) and not fused_nodes(reference)
    values = [(rng.integers(-3, 4, (3, 1)) > 0 if d == "bool" else rng.integers(-3, 4, s)).astype(d)
              for d, s in zip(dtypes, [(3, 1), (4,)])]
    result, expected = f(*values), reference(*values)
    assert result.dtype == expected.dtype == expression.dtype and result.shape == (3, 4)
    np.testing.assert_array_equal(result, expected)


def test_nan_and_infinity_flow_through_kernels_as_without_fusion():
    x = sg.vector("x")
    expression = sg.exp(-x) * x + sg.sqrt(sg.abs(x)) / x
    values = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 2.0])
    with np.errstate(all="ignore"):
        fused = sg.function([x], expression)(values)
        plain = sg.function([x], expression, mode=sg.Mode(exclude=["fusion"]))(values)
    np.testing.assert_array_equal(fused, plain)


def test_a_kernel_of_ten_thousand_steps_compiles_and_runs():
    x = sg.vector("x")
    y = x
    for _ in range(10_000):
        y = sg.sin(y)
    f = sg.function([x], y)
    (node,) = f.graph.nodes
    assert len(node.op.inner_names) == 10_000
    expected = np.array([1.0])
    for _ in range(10_000):
        expected = np.sin(expected)
    np.testing.assert_allclose(f([1.0]), expected)


def test_fusion_can_be_switched_off():
    x = sg.vector("x")
    f = sg.function([x], sg.exp(x) + 1.0, mode=sg.Mode(exclude=["elemwise_fusion"]))
    assert not fused_nodes(f) and "elemwise_fusion" not in f.report.rewrites


def test_a_failing_step_names_the_operation_its_operands_and_the_users_line():
    x, y = sg.vector("x"), sg.vector("y")
    line = inspect.currentframe().f_lineno + 1
    total = sg.exp(x) * 2.0 + y
    f = sg.function([x, y], sg.tanh(total))
    pattern = rf"add\(float64\[\?\], float64\[\?\]\), created at {re.escape(__file__)}:{line}.*step 3 of fused"
    with pytest.raises(ValueError, match=pattern):
        f(np.ones(2), np.ones(3))


def test_a_fused_kernel_has_no_gradient():
    x = sg.vector("x")
    fused = sg.optimize(sg.exp(x) + 1.0)
    with pytest.raises(sg.NotDifferentiableError, match="fused element-wise kernel.*differentiate"):
        sg.grad(sg.sum(fused), x)


def test_fused_op_rejects_bad_operand_references():
    with pytest.raises(ValueError, match="invalid operand refs"):
        Fused(1, ((scalar_op("add"), (0, 1)),))


def test_fused_op_pickles_and_equal_kernels_are_one_op():
    op = Fused(2, ((scalar_op("exp"), (0,)), (scalar_op("add"), (2, 1))))
    copy = pickle.loads(pickle.dumps(op))
    assert copy == op and hash(copy) == hash(op) and copy.inner_names == ["exp", "add"]
    assert op.perform(np.zeros(2), np.ones(2)).tolist() == [2.0, 2.0]


def test_kernel_lowers_to_one_numpy_call_per_step():
    x, y = sg.vector("x"), sg.vector("y")
    source = sg.function([x, y], sg.sigmoid(x) * y).source
    assert re.search(r"v0_t0 = sigmoid_\d+\(x\)", source)
    assert "v0 = np_multiply(v0_t0, y)" in source  # no out=: only a ufunc's result is surely a new array


def test_compiled_function_has_direct_and_blocked_paths_and_pickles():
    x = sg.vector("x")
    f = sg.function([x], sg.exp(x) * 2.0)
    assert re.search(r"if len\(x\) < \d+ or \(v0 := blocked_kernel_\d+\(x, c_\d+\)\) is None:", f.source)
    again = pickle.loads(pickle.dumps(f))
    np.testing.assert_allclose(again([0.0, 1.0]), f([0.0, 1.0]))
    large = np.linspace(-1, 1, 200_000)
    np.testing.assert_allclose(again(large), np.exp(large) * 2.0)


def test_statically_small_kernels_have_no_blocked_path():
    x = sg.vector("x", shape=(8,))
    assert "blocked_kernel" not in sg.function([x], sg.exp(x) * 2.0).source
