"""Kernels feeding a reduction over some axes, a logsumexp, a softmax or a log_softmax, fused into one
`FusedReduce` and evaluated tile by tile (codegen/numpy_backend/blocked_reduce.py): results against NumPy and the
unoptimized graph on every layout, broadcast operands, special values, threads, memory, writing into a
dead operand, the direct path's source, and errors."""
import inspect
import re
import tracemalloc
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph as sg
from symgraph.codegen.numpy_backend import blocked
from symgraph.codegen.numpy_backend.blocked_reduce import BlockedReduction
from symgraph.ops.elemwise import scalar_op
from symgraph.ops.fused import FusedReduce
from symgraph.ops.nnet import LogSoftmax, Softmax
from symgraph.ops.reduce import Reduce


def numpy_logsumexp(z, axis, keepdims=False):
    shift = np.max(z, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    result = np.log(np.sum(np.exp(z - shift), axis=axis, keepdims=True)) + shift
    return result if keepdims else np.squeeze(result, axis=axis)


def numpy_softmax(z, axis):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def numpy_log_softmax(z, axis):
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


CONSUMERS = {
    "sum": (lambda z, axis: sg.sum(z, axis=axis), lambda z, axis: np.sum(z, axis=axis)),
    "mean": (lambda z, axis: sg.mean(z, axis=axis, keepdims=True), lambda z, axis: np.mean(z, axis=axis, keepdims=True)),
    "max": (lambda z, axis: sg.max(z, axis=axis), lambda z, axis: np.max(z, axis=axis)),
    "min": (lambda z, axis: sg.min(z, axis=axis, keepdims=True), lambda z, axis: np.min(z, axis=axis, keepdims=True)),
    "logsumexp": (lambda z, axis: sg.logsumexp(z, axis=axis), numpy_logsumexp),
    "softmax": (lambda z, axis: sg.softmax(z, axis=axis), numpy_softmax),
    "log_softmax": (lambda z, axis: sg.log_softmax(z, axis=axis), numpy_log_softmax),
}
RTOL = {"float32": 2e-5, "float64": 1e-11}


@pytest.fixture
def blocked_calls(monkeypatch):
    """Whether each call of a BlockedReduction took the blocked path (True) or declined it (False)."""
    calls = []
    original = BlockedReduction.try_run

    def spy(self, *arrays, **kwargs):
        result = original(self, *arrays, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(BlockedReduction, "try_run", spy)
    return calls


def fused_reduce_ops(f):
    return [node.op for node in f.graph.nodes if isinstance(node.op, FusedReduce)]


def check(f, expression, inputs, values, expected, dtype):
    """f (optimized) and the unoptimized graph both give `expected`, with its dtype and shape."""
    reference = sg.function(inputs, expression, mode="fast_compile")
    for got in (f(*values), reference(*values)):
        got = np.asarray(got)
        assert got.dtype == np.dtype(dtype) and got.shape == np.shape(expected)
        np.testing.assert_allclose(got, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-3)


LAYOUTS = [  # (kernel shape, axis): rows, columns, a middle axis, leading and trailing pairs, edge sizes
    ((500, 700), 1), ((500, 700), 0), ((500, 700), -1), ((40, 60, 90), 1), ((40, 60, 90), (0, 1)),
    ((40, 60, 90), (1, 2)), ((300_000, 1), 0), ((1, 300_000), 1), ((3, 300_000), 0), ((300_000, 3), 1),
    ((1, 1), 0), ((7, 1), 1), ((2, 3), 0),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis", LAYOUTS)
@pytest.mark.parametrize("kind", list(CONSUMERS))
def test_equals_numpy_and_the_unoptimized_graph(rng, blocked_calls, kind, shape, axis, dtype):
    x = sg.tensor("x", dtype=dtype, shape=(None,) * len(shape))
    c = sg.scalar("c", dtype=dtype)
    expression = CONSUMERS[kind][0](sg.tanh(x) * c + 0.5, axis)
    f = sg.function([x, c], expression)
    assert [op.kind for op in fused_reduce_ops(f)] == [kind] and len(f.graph.nodes) == 1
    value, scale = rng.uniform(-2, 2, shape).astype(dtype), np.asarray(1.5, dtype=dtype)
    expected = CONSUMERS[kind][1](np.tanh(value) * scale + np.asarray(0.5, dtype=dtype), axis)
    check(f, expression, [x, c], [value, scale], expected, dtype)
    large = value.size >= 100_000
    assert blocked_calls[:1] == ([True] if large else [])


@pytest.mark.parametrize("kind", list(CONSUMERS))
@pytest.mark.parametrize("axis", [0, 1, None])
def test_bias_rows_columns_and_scalars_are_sliced_per_tile(rng, blocked_calls, kind, axis):
    if axis is None and kind in ("softmax", "log_softmax"):
        axis = (0, 1)
    x, row, column, c = sg.matrix("x"), sg.vector("row"), sg.tensor("column", shape=(None, 1)), sg.scalar("c")
    expression = CONSUMERS[kind][0]((x - row) * column + c, axis)
    f = sg.function([x, row, column, c], expression)
    values = (rng.standard_normal((700, 600)), rng.standard_normal(600), rng.uniform(0.5, 2, (700, 1)),
              np.float64(0.25))
    expected = CONSUMERS[kind][1]((values[0] - values[1]) * values[2] + values[3], axis)
    check(f, expression, [x, row, column, c], values, expected, "float64")
    # a softmax over every axis needs the whole array in one tile, which a bias row does not allow
    assert blocked_calls == [not (kind.endswith("softmax") and axis == (0, 1))]


@pytest.mark.parametrize("kind", list(CONSUMERS))
@pytest.mark.parametrize("axis,operand_shape", [((0, 2), (60, 1, 80)), (2, (50, 1))],
                         ids=["non-consecutive axes", "an operand spanning part of a group"])
def test_layouts_that_do_not_tile_take_the_direct_path(rng, blocked_calls, kind, axis, operand_shape):
    x, y = sg.tensor("x", shape=(None, None, None)), sg.tensor("y", shape=tuple(n if n == 1 else None for n in operand_shape))
    expression = CONSUMERS[kind][0](sg.exp(x) * y, axis)
    f = sg.function([x, y], expression)
    x_value, y_value = rng.standard_normal((60, 50, 80)), rng.standard_normal(operand_shape)
    expected = CONSUMERS[kind][1](np.exp(x_value) * y_value, axis)
    check(f, expression, [x, y], [x_value, y_value], expected, "float64")
    assert blocked_calls == [False]


def test_a_transposed_operand_takes_the_direct_path(rng, blocked_calls):
    x = sg.matrix("x")
    f = sg.function([x], sg.softmax(sg.exp(x.T) * 2.0, axis=1))
    value = rng.standard_normal((500, 400))
    np.testing.assert_allclose(f(value), numpy_softmax(np.exp(value.T) * 2.0, 1), rtol=1e-12)
    assert blocked_calls == [False]


SPECIAL_ROWS = {
    "nan": [np.nan, 0.0, 1.0],
    "+inf": [np.inf, 0.0, 1.0],
    "-inf": [-np.inf, 0.0, 1.0],
    "all -inf": [-np.inf, -np.inf, -np.inf],
    "+inf and -inf": [np.inf, -np.inf, 0.0],
    "huge": [1000.0, 999.0, -1000.0],
}


@pytest.mark.parametrize("special", list(SPECIAL_ROWS))
@pytest.mark.parametrize("kind", list(CONSUMERS))
def test_special_values_give_what_the_unfused_graph_gives(rng, kind, special):
    x, c = sg.matrix("x"), sg.scalar("c")
    expression = CONSUMERS[kind][0](x * c, 1)
    f = sg.function([x, c], expression)
    reference = sg.function([x, c], expression, mode="fast_compile")
    value = rng.standard_normal((200_000, 3))
    value[12_345] = SPECIAL_ROWS[special]
    value[150_000] = SPECIAL_ROWS[special][::-1]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        got, expected = f(value, 1.0), reference(value, 1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, equal_nan=True)
    assert np.array_equal(np.isnan(got), np.isnan(expected)) and np.array_equal(np.isinf(got), np.isinf(expected))


@pytest.mark.parametrize("kind,shape,axis", [
    (kind, shape, axis) for kind in ["sum", "logsumexp", "softmax"]
    for shape, axis in [((2000, 500), 1), ((500, 2000), 0), ((1_000_000,), 0)]
    if not (kind == "softmax" and len(shape) == 1)  # a softmax over one vector is one tile
])
def test_threads_share_tiles_and_combine_partial_results(rng, monkeypatch, kind, shape, axis):
    monkeypatch.setattr(blocked, "_WORKERS", 2)
    shares = []
    original = blocked.share
    monkeypatch.setattr("symgraph.codegen.numpy_backend.blocked_reduce.share",
                        lambda count, *args: shares.append(count) or original(count, *args))
    x = sg.tensor("x", shape=(None,) * len(shape))
    f = sg.function([x], CONSUMERS[kind][0](sg.exp(x) * 0.5, axis))
    value = rng.standard_normal(shape)
    np.testing.assert_allclose(f(value), CONSUMERS[kind][1](np.exp(value) * 0.5, axis), rtol=1e-11)
    assert shares and shares[0] >= 2


def test_a_softmax_never_makes_the_kernels_full_size_temporaries(rng):
    x, mu, sigma = sg.matrix("x"), sg.vector("mu"), sg.vector("sigma")
    f = sg.function([x, mu, sigma], sg.softmax((x - mu) / sigma, axis=1))
    values = rng.standard_normal((2000, 1000)), rng.standard_normal(1000), rng.uniform(0.5, 2, 1000)
    f(*values)  # starts the thread pool
    tracemalloc.start()
    try:
        result = f(*values)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < result.nbytes * 1.25  # the result and a few tiles; NumPy's formula makes five full arrays
    z = (values[0] - values[1]) / values[2]
    np.testing.assert_allclose(result, numpy_softmax(z, 1), rtol=1e-12)


def test_a_softmax_writes_into_a_dead_matmul_result(rng):
    x, w, b = sg.matrix("x"), sg.matrix("w"), sg.vector("b")
    f = sg.function([x, w, b], sg.softmax(x @ w + b))
    assert re.search(r"blocked_reduction_\d+\(v0, b, out=v0\)", f.source) and f.report.rewrites["buffer_reuse"] == 1
    values = rng.standard_normal((1000, 50)), rng.standard_normal((50, 400)), rng.standard_normal(400)
    np.testing.assert_allclose(f(*values), numpy_softmax(values[0] @ values[1] + values[2], 1), rtol=1e-12)


def test_the_result_of_a_fused_reduction_is_written_into_by_the_next_kernel():
    x, y = sg.matrix("x"), sg.matrix("y")
    f = sg.function([x, y], sg.softmax(sg.exp(x) * 2.0) * y + 1.0)
    assert re.search(r"np_multiply\(v0, y, out=v0\)", f.source), f.source


def test_direct_path_is_readable_numpy():
    x, row = sg.matrix("x"), sg.vector("row")
    source = sg.function([x, row], sg.sum((x - row) ** 2, axis=1, keepdims=True)).source
    assert re.search(r"if x.size < \d+ or \(v0 := blocked_reduction_\d+\(x, row\)\) is None:", source)
    assert "v0 = np.sum(v0_k, axis=(1,), keepdims=True)" in source
    source = sg.function([x, row], sg.log_softmax(sg.exp(x) * row, axis=0)).source
    assert re.search(r"v0 = log_softmax_\d+\(v0_k\)", source)


@pytest.mark.parametrize("rows", [10, 400_000])
def test_an_error_inside_the_kernel_names_the_users_line(rows):
    x, row = sg.matrix("x"), sg.vector("row")
    line = inspect.currentframe().f_lineno + 1
    shifted = x - row
    f = sg.function([x, row], sg.softmax(shifted))
    pattern = rf"subtract\(float64\[\?,\?\], float64\[\?\]\), created at {re.escape(__file__)}:{line}.*fused"
    with pytest.raises(ValueError, match=pattern):
        f(np.ones((rows, 3)), np.ones(4))


def test_inspection_shows_the_consumer_with_its_axes():
    x = sg.matrix("x")
    f = sg.function([x], sg.logsumexp(sg.exp(x) * 2.0, axis=1))
    (op,) = fused_reduce_ops(f)
    assert op.inner_names == ["exp", "multiply", "logsumexp"] and op.axis == (1,)
    assert "fused{exp,multiply,logsumexp{axis=(1,)}}" == str(op) and "· logsumexp" in sg.debugprint(f)


KERNEL_STEPS = (  # tanh(a * b + c): three operands, a transcendental step, results in float
    (scalar_op("multiply"), (0, 1)), (scalar_op("add"), (3, 2)), (scalar_op("tanh"), (4,)))


def consumer_op(kind, axis, keepdims):
    if kind in ("softmax", "log_softmax"):
        return (Softmax if kind == "softmax" else LogSoftmax)(axis)
    return Reduce(kind, axis, keepdims)


@st.composite
def tiled_cases(draw):
    """A kernel shape, consecutive (or all) reduced axes, a consumer, and operands that are full, single
    elements, or broadcast along random axes (some of which do not tile)."""
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3)))
    start = draw(st.integers(0, len(shape) - 1))
    stop = draw(st.integers(start + 1, len(shape)))
    axis = tuple(range(start, stop))
    kind = draw(st.sampled_from(list(CONSUMERS)))
    operands = []
    for index in range(3):
        ones = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
        operand_shape = tuple(1 if one else n for one, n in zip(ones, shape))
        operand_shape = operand_shape[draw(st.integers(0, len(shape))):]  # leading axes may be missing
        seed = draw(st.integers(0, 2**16))
        operands.append(np.random.default_rng(seed).uniform(-2, 2, operand_shape))
    operands[0] = np.random.default_rng(0).uniform(-2, 2, shape)  # one full operand fixes the kernel's shape
    block = draw(st.sampled_from([1, 2, 3, 5, 8, 64]))
    return shape, axis, kind, draw(st.booleans()), operands, block


@settings(max_examples=300, deadline=None)
@given(tiled_cases())
def test_tiles_of_any_size_give_the_unfused_result(case):
    shape, axis, kind, keepdims, operands, block = case
    op = FusedReduce(3, KERNEL_STEPS, consumer_op(kind, axis, keepdims))
    reduction = BlockedReduction(op, [np.dtype("float64")] * 3, len(shape))
    reduction.kernel.threaded_min_elements = 1  # thread even these small arrays
    with mock.patch.object(blocked, "_WORKERS", 2), mock.patch.object(blocked, "BLOCK_ELEMENTS", block), \
            mock.patch("symgraph.codegen.numpy_backend.blocked_reduce.BLOCK_ELEMENTS", block):
        got = reduction.try_run(*operands)
    expected = op.perform(*operands)
    fits = _tiles(shape, axis, kind, [operand.shape for operand in operands if operand.size != 1])
    assert (got is not None) == fits
    if got is not None:
        assert got.shape == np.shape(expected) and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def _tiles(shape, axis, kind, full_shapes):
    """Should a kernel of `shape` with operands of `full_shapes` (those of more than one element) be tiled?
    When some operand is full and one split of the axes into (outer, reduced, inner) groups suits them
    all: each spans each group or is 1 throughout it. A reduction over all axes may split them into
    leading and trailing axes."""
    def suits(padded, groups):
        return all(padded[a:b] == shape[a:b] or set(padded[a:b]) <= {1} for a, b in groups)

    splits = [((0, axis[0]), (axis[0], axis[-1] + 1), (axis[-1] + 1, len(shape)))]
    if len(axis) == len(shape) and kind not in ("softmax", "log_softmax"):
        splits += [((0, 0), (0, k), (k, len(shape))) for k in range(1, len(shape))]
    padded = [(1,) * (len(shape) - len(s)) + tuple(s) for s in full_shapes]
    return bool(full_shapes) and any(all(suits(p, groups) for p in padded) for groups in splits)


@pytest.mark.parametrize("kind", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("rows", [3, 300])
def test_multi_pass_consumers_of_any_value_are_tiled_with_an_empty_kernel(rng, blocked_calls, kind, rows):
    x, w = sg.matrix("x"), sg.matrix("w")
    a, b = rng.standard_normal((rows, 1000)), rng.standard_normal((1000, 600))
    for expression, inputs, values, expected in [
        (CONSUMERS[kind][0](x, 1), [x], [a], CONSUMERS[kind][1](a, 1)),
        (CONSUMERS[kind][0](x @ w, 0), [x, w], [a, b], CONSUMERS[kind][1](a @ b, 0)),
    ]:
        f = sg.function(inputs, expression)
        (op,) = fused_reduce_ops(f)
        assert op.steps == () and op.inner_names == [kind]
        check(f, expression, inputs, values, expected, "float64")
    assert blocked_calls == ([True, True] if rows == 300 else [])


def test_an_empty_kernels_softmax_writes_into_the_dead_matmul_result(rng):
    x, w = sg.matrix("x"), sg.matrix("w")
    f = sg.function([x, w], sg.log_softmax(x @ w))
    assert re.search(r"blocked_reduction_\d+\(v0, out=v0\)", f.source)
    assert re.search(r"v1 = log_softmax_\d+\(v0\)", f.source)  # the direct path: the reference on the operand
    values = rng.standard_normal((500, 30)), rng.standard_normal((30, 400))
    np.testing.assert_allclose(f(*values), numpy_log_softmax(values[0] @ values[1], 1), rtol=1e-12)


@pytest.mark.parametrize("build", [
    lambda x: sg.sum(x, axis=1),  # NumPy's own reduction is one pass already
    lambda x: sg.max(x @ x.T),
    lambda x: sg.softmax(sg.cast(x, "int32")),  # softmax of integers computes in floats: not a float kernel
])
def test_single_pass_reductions_and_integer_operands_get_no_empty_kernel(rng, build):
    x = sg.matrix("x")
    f = sg.function([x], build(x))
    assert not fused_reduce_ops(f)
    value = rng.standard_normal((4, 5)) * 3
    np.testing.assert_allclose(f(value), sg.function([x], build(x), mode="fast_compile")(value), rtol=1e-12)


def test_an_empty_kernel_has_one_input():
    with pytest.raises(ValueError, match="no steps has one input, not 2"):
        FusedReduce(2, (), Softmax((0,)))


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "logsumexp"])
def test_a_full_reduction_with_a_bias_row_shares_the_reduced_rows_between_threads(rng, monkeypatch, kind):
    monkeypatch.setattr(blocked, "_WORKERS", 2)
    shares = []
    original = BlockedReduction._reduce_along
    monkeypatch.setattr(BlockedReduction, "_reduce_along", lambda *args: shares.append(args[-2:]) or original(*args))
    x, row = sg.matrix("x"), sg.vector("row")
    f = sg.function([x, row], CONSUMERS[kind][0](sg.exp(x) * row, None))
    values = rng.standard_normal((400_000, 3)), rng.uniform(0.5, 2, 3)
    expected = CONSUMERS[kind][1](np.exp(values[0]) * values[1], None)
    np.testing.assert_allclose(f(*values), expected, rtol=1e-11)
    assert len(shares) == 2 and sorted(shares)[0][0] == 0  # the rows' tiles, split in two
