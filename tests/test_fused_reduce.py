"""Full reductions of element-wise kernels fused into `FusedReduce`: the rewrite, its results (direct,
blocked and threaded paths), its errors, its inspection and its pickling. Reductions over some axes,
logsumexp and the softmaxes are in test_fused_partial_reduce.py."""
import inspect
import pickle
import re
import tracemalloc
import warnings

import numpy as np
import pytest

import symgraph as sg
from symgraph.codegen.numpy_backend.blocked import BLOCK_ELEMENTS, THREADED_MIN_NANOSECONDS, blocked_min_elements, elements_for
from symgraph.codegen.numpy_backend.blocked_reduce import BlockedReduction
from symgraph.ops.elemwise import scalar_op
from symgraph.ops.fused import FusedReduce
from symgraph.ops.reduce import Reduce

KINDS = {"sum": (sg.sum, np.sum), "mean": (sg.mean, np.mean), "max": (sg.max, np.max), "min": (sg.min, np.min)}
RTOL = {"float32": 1e-5, "float64": 1e-12}
LARGE = 300_000


def kernel_reduction(kind, x, y, keepdims=False):
    return KINDS[kind][0](sg.exp(x) * y - 0.5, keepdims=keepdims)


def numpy_kernel_reduction(kind, x, y, keepdims=False):
    return KINDS[kind][1](np.exp(x) * y - np.asarray(0.5, dtype=x.dtype), keepdims=keepdims)


def fused_reduce_nodes(f):
    return [node for node in f.graph.nodes if isinstance(node.op, FusedReduce)]


def results_or_errors(function, *values):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return function(*values)
        except ValueError as exc:
            return type(exc)


def assert_same_result(got, expected, dtype):
    if isinstance(expected, type):
        assert got is expected
        return
    got = np.asarray(got)
    assert got.dtype == np.asarray(expected).dtype and got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype])


@pytest.mark.parametrize("size", [0, 1, 10, LARGE])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("kind", list(KINDS))
def test_fused_reduction_equals_numpy_and_the_unoptimized_graph(rng, kind, keepdims, dtype, size):
    x, y = sg.vector("x", dtype=dtype), sg.vector("y", dtype=dtype)
    expression = kernel_reduction(kind, x, y, keepdims)
    f = sg.function([x, y], expression)
    reference = sg.function([x, y], expression, mode="fast_compile")
    assert f.report.rewrites["reduction_fusion"] == 1 and len(f.graph.nodes) == 1
    assert f.graph.nodes[0].outputs[0].type == expression.type
    values = rng.uniform(-2, 2, (2, size)).astype(dtype)
    expected = results_or_errors(lambda a, b: numpy_kernel_reduction(kind, a, b, keepdims), *values)
    assert_same_result(results_or_errors(f, *values), expected, dtype)
    assert_same_result(results_or_errors(reference, *values), expected, dtype)


@pytest.mark.parametrize("kind", list(KINDS))
def test_matrices_with_a_scalar_operand_take_the_blocked_path(rng, kind):
    x, c = sg.matrix("x"), sg.scalar("c")
    f = sg.function([x, c], KINDS[kind][0](sg.tanh(x) * c, keepdims=True))
    values = rng.standard_normal((600, 700)), np.float64(1.5)
    expected = KINDS[kind][1](np.tanh(values[0]) * values[1], keepdims=True)
    np.testing.assert_allclose(f(*values), expected, rtol=1e-12)
    assert BlockedReduction(f.graph.nodes[0].op, [np.dtype("float64")] * 2, 2).try_run(*values) is not None


def test_a_non_contiguous_operand_falls_back_to_the_direct_path(rng):
    x = sg.matrix("x")
    f = sg.function([x], sg.sum(sg.exp(x.T) * 2.0))
    value = rng.standard_normal((500, 400))
    np.testing.assert_allclose(f(value), np.sum(np.exp(value.T) * 2.0), rtol=1e-12)


@pytest.mark.parametrize("size", [10, LARGE])
@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("kind", list(KINDS))
def test_nan_and_infinity_give_what_numpy_gives(rng, kind, special, size):
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], kernel_reduction(kind, x, y))
    a, b = rng.uniform(-2, 2, (2, size))
    b[size // 3] = special
    expected = results_or_errors(lambda p, q: numpy_kernel_reduction(kind, p, q), a, b)
    np.testing.assert_array_equal(results_or_errors(f, a, b), expected)


def test_blocks_are_reduced_as_they_are_computed_without_a_full_size_array(rng):
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], sg.sum(sg.exp(x) * y))
    a, b = rng.standard_normal((2, 2_000_000))
    f(a, b)  # starts the thread pool, which then allocates nothing more
    tracemalloc.start()
    try:
        result = f(a, b)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    block_buffers = 6 * BLOCK_ELEMENTS * a.itemsize  # a scratch and a result buffer per thread, and slack
    assert peak < block_buffers < a.nbytes / 2
    np.testing.assert_allclose(result, np.sum(np.exp(a) * b), rtol=1e-12)


def test_large_reductions_are_shared_between_threads(rng, monkeypatch):
    from symgraph.codegen.numpy_backend import blocked

    calls = []
    original = BlockedReduction._reduce_blocks
    monkeypatch.setattr(blocked, "_WORKERS", 2)
    monkeypatch.setattr(BlockedReduction, "_reduce_blocks", lambda *args: calls.append(args[-2:]) or original(*args))
    op = FusedReduce(1, ((scalar_op("exp"), (0,)),), Reduce("mean", (0,)))
    value = rng.standard_normal(2 * elements_for(THREADED_MIN_NANOSECONDS, op))
    result = BlockedReduction(op, [value.dtype], 1).try_run(value)
    blocks = -(-value.size // BLOCK_ELEMENTS)
    assert len(calls) == 2 and calls[0][0] == 0 and calls[-1][1] == blocks
    np.testing.assert_allclose(result, np.mean(np.exp(value)), rtol=1e-12)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_single_elementwise_node_is_a_one_step_kernel(rng, kind):
    x = sg.vector("x")
    f = sg.function([x], KINDS[kind][0](sg.sin(x)))
    (node,) = f.graph.nodes
    assert node.op.inner_names == ["sin", kind] and f.report.rewrites["reduction_fusion"] == 1
    value = rng.standard_normal(LARGE)
    np.testing.assert_allclose(f(value), KINDS[kind][1](np.sin(value)), rtol=1e-12)


def kernel_used_as_output(x):
    kernel = sg.exp(x) * 2.0
    return [sg.sum(kernel), kernel]


def kernel_used_twice(x):
    kernel = sg.exp(x) * 2.0
    return [sg.sum(kernel) + sg.max(kernel)]


def kernel_used_elsewhere(x):
    kernel = sg.exp(x) * 2.0
    return [sg.sum(kernel) * sg.reshape(kernel, (-1,))]


@pytest.mark.parametrize("build", [
    kernel_used_as_output,
    kernel_used_twice,
    kernel_used_elsewhere,
    lambda x: [sg.sum(sg.exp(x) * 2.0, axis=())],
    lambda x: [sg.softmax(sg.exp(x) * 2.0, axis=())],
    lambda x: [sg.sum(sg.exp(x) * 2.0, dtype="float32")],
    lambda x: [sg.prod(sg.exp(x) * 2.0)],
    lambda x: [sg.var(sg.exp(x) * 2.0, axis=1)],
    lambda x: [sg.sum(sg.cast(x, "int64") * 2)],
])
def test_the_rewrite_leaves_other_reductions_alone(rng, build):
    x = sg.matrix("x")
    outputs = build(x)
    f = sg.function([x], outputs)
    assert not fused_reduce_nodes(f) and "reduction_fusion" not in f.report.rewrites
    value = rng.standard_normal((3, 4))
    for got, expected in zip(f(value), sg.function([x], outputs, mode="fast_compile")(value)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("excluded", ["fusion", "reduction_fusion"])
def test_the_rewrite_can_be_switched_off(excluded):
    x = sg.vector("x")
    f = sg.function([x], sg.sum(sg.exp(x) * 2.0), mode=sg.Mode(exclude=[excluded]))
    assert not fused_reduce_nodes(f) and "reduction_fusion" not in f.report.rewrites
    assert float(f([0.0, 0.0])) == 4.0


@pytest.mark.parametrize("size", [10, LARGE])
def test_an_error_inside_the_kernel_names_the_users_line(size):
    x, y = sg.vector("x"), sg.vector("y")
    line = inspect.currentframe().f_lineno + 1
    product = sg.exp(x) * y
    f = sg.function([x, y], sg.sum(product))
    pattern = rf"multiply\(float64\[\?\], float64\[\?\]\), created at {re.escape(__file__)}:{line}.*fused"
    with pytest.raises(ValueError, match=pattern):
        f(np.ones(size), np.ones(size + 1))


def test_direct_path_is_readable_numpy():
    x, y = sg.vector("x"), sg.vector("y")
    source = sg.function([x, y], sg.mean((x - y) ** 2, keepdims=True)).source
    assert re.search(r"if len\(x\) < \d+ or \(v0 := blocked_reduction_\d+\(x, y\)\) is None:", source)
    assert "v0_k_t0 = np_subtract(x, y)" in source and "v0_k = np_square(v0_k_t0, out=v0_k_t0)" in source
    assert "v0 = np.mean(v0_k, keepdims=True)" in source
    z = sg.vector("z", shape=(8,))
    small = sg.function([z], sg.sum(sg.exp(z)))
    nodes = fused_reduce_nodes(small)
    assert nodes and "blocked_reduction" not in small.source and blocked_min_elements(nodes[0].op) > 8


def test_to_networkx_shows_a_fused_node_with_the_reduction_inside():
    pytest.importorskip("networkx")
    x = sg.vector("x")
    graph = sg.to_networkx(sg.function([x], sg.max(sg.exp(x) * 2.0)))
    (apply,) = [d for _, d in graph.nodes(data=True) if d["kind"] == "apply"]
    assert apply["op"] == "fused" and apply["inner"] == ["exp", "multiply", "max"]


def test_compiled_function_pickles(rng):
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], sg.mean(sg.exp(x) * y, keepdims=True))
    again = pickle.loads(pickle.dumps(f))
    assert len(fused_reduce_nodes(again)) == 1
    for size in (10, LARGE):
        a, b = rng.standard_normal((2, size))
        np.testing.assert_allclose(again(a, b), f(a, b), rtol=1e-12)


def test_op_pickles_compares_by_value_and_has_no_gradient():
    op = FusedReduce(2, ((scalar_op("exp"), (0,)), (scalar_op("add"), (2, 1))), Reduce("sum", (0,)))
    copy = pickle.loads(pickle.dumps(op))
    assert copy == op and hash(copy) == hash(op) and copy.inner_names == ["exp", "add", "sum"]
    assert float(copy.perform(np.zeros(3), np.ones(3))) == 6.0
    x, y = sg.vector("x"), sg.vector("y")
    with pytest.raises(sg.NotDifferentiableError, match="fused reduction.*differentiate"):
        sg.grad(op(x, y), x)
    with pytest.raises(ValueError, match=r"prod\{axis=\(0,\)\} cannot consume a kernel"):
        FusedReduce(1, ((scalar_op("exp"), (0,)),), Reduce("prod", (0,)))
    with pytest.raises(ValueError, match="at least one axis"):
        FusedReduce(1, ((scalar_op("exp"), (0,)),), Reduce("sum", ()))
    with pytest.raises(TypeError, match="floating point"):
        FusedReduce(1, ((scalar_op("negative"), (0,)),), Reduce("sum", (0,)))(sg.vector("n", dtype="int32"))
