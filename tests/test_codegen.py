"""The lowering of compiled functions: fused kernels' direct and blocked paths, the memory plan, the entry point."""
import gc
import linecache
import os
import threading
import tracemalloc
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph as sg
from symgraph.codegen.numpy_backend import blocked
from symgraph.codegen.numpy_backend.blocked import BLOCK_ELEMENTS, BlockedKernel, blocked_min_elements
from symgraph.ops.elemwise import scalar_op
from symgraph.ops.fused import Fused

LARGE = 3 * BLOCK_ELEMENTS + 17
THREADED = 4 * BLOCK_ELEMENTS + 5
UNFUSED = sg.Mode(exclude=["fusion"])


@pytest.fixture
def blocks_and_threads_from_small_sizes(monkeypatch):
    """The blocked and threaded paths from a few thousand elements on (THREADED is above both), whatever
    a kernel's estimated cost, so that tests of those paths stay small."""
    monkeypatch.setattr(blocked, "BLOCKED_MIN_NANOSECONDS", 1_000)
    monkeypatch.setattr(blocked, "THREADED_MIN_NANOSECONDS", 10_000)


def _kernel(nin, *steps):
    op = Fused(nin, [(scalar_op(name), refs) for name, refs in steps])
    return op


@pytest.mark.parametrize("size", [LARGE, THREADED])
def test_blocked_kernel_equals_the_step_by_step_reference(size, rng, blocks_and_threads_from_small_sizes):
    op = _kernel(2, ("exp", (0,)), ("multiply", (2, 1)), ("sin", (3,)), ("add", (4, 0)))
    x, y = rng.standard_normal(size), rng.standard_normal(size)
    result = BlockedKernel(op, [x.dtype, y.dtype]).try_run(x, y)
    np.testing.assert_array_equal(result, op.perform(x, y))


def test_single_element_operands_are_hoisted_and_broadcast(rng):
    # steps 0 and 1 only touch single-element operands: computed once, before the blocks
    op = _kernel(3, ("add", (1, 2)), ("exp", (3,)), ("multiply", (0, 4)))
    x = rng.standard_normal((LARGE // 7, 7))
    a, b = np.array(0.5), np.array([[0.25]])
    kernel = BlockedKernel(op, [x.dtype, a.dtype, b.dtype])
    np.testing.assert_allclose(kernel.try_run(x, a, b), x * np.exp(0.75), rtol=1e-15)


def test_empty_operands_take_the_direct_path():
    op = _kernel(2, ("add", (0, 1)), ("exp", (2,)))
    a = np.zeros((0, 5))
    assert BlockedKernel(op, [a.dtype, a.dtype]).try_run(a, a) is None


@pytest.mark.parametrize(
    "make_operands",
    [
        lambda rng: (rng.standard_normal((LARGE, 2)).T, rng.standard_normal((2, LARGE))),  # not C-contiguous
        # broadcast along the middle axis only: no split into leading and trailing axes suits both
        lambda rng: (rng.standard_normal((LARGE // 16, 1, 4)), rng.standard_normal((1, 4, 1))),
        # the two sides of a batched outer product
        lambda rng: (rng.standard_normal((64, 300, 1)), rng.standard_normal((64, 1, 200))),
        lambda rng: (rng.standard_normal((3, 5, LARGE)), rng.standard_normal((5, 1))),  # rows longer than a tile
    ],
)
def test_layouts_no_grouping_suits_are_computed_by_broadcast_tiles(make_operands, rng):
    op = _kernel(2, ("add", (0, 1)), ("exp", (2,)))
    a, b = make_operands(rng)
    kernel = BlockedKernel(op, [a.dtype, b.dtype])
    assert blocked.blocked_output_shape([a, b]) is None
    assert kernel.tiling([a, b], blocked._leading_and_trailing_axes, blocked._row_tile_shape) is None
    with mock.patch.object(blocked, "BROADCAST_TILE_ELEMENTS", 4096):
        got = kernel.try_run(a, b)
    np.testing.assert_array_equal(got, np.exp(a + b))


@pytest.mark.parametrize(
    "a_shape, b_shape",
    [
        ((LARGE // 4, 1), (1, 4)),  # a column and a row: an outer sum
        ((LARGE // 300, 300), (300,)),  # a bias row
        ((LARGE // 300, 300), (LARGE // 300, 1)),  # a column
        ((3, LARGE // 300, 100), (LARGE // 300, 100)),  # trailing axes
        ((3, 1, LARGE // 3), (1, 1, 1)),  # a single element of the same rank
        ((LARGE,), (1, 1, 1)),  # a single element of higher rank
    ],
)
def test_broadcast_operands_are_sliced_per_tile(rng, a_shape, b_shape):
    op = _kernel(2, ("add", (0, 1)), ("exp", (2,)))
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    got = BlockedKernel(op, [a.dtype, b.dtype]).try_run(a, b)
    np.testing.assert_array_equal(got, np.exp(a + b))


@st.composite
def broadcast_operands(draw):
    """A kernel shape and three operands that are full, single elements, or broadcast along random axes."""
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3)))
    operands = [np.random.default_rng(0).uniform(-2, 2, shape)]
    for _ in range(2):
        ones = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
        operand_shape = tuple(1 if one else n for one, n in zip(ones, shape))[draw(st.integers(0, len(shape))):]
        operands.append(np.random.default_rng(draw(st.integers(0, 2**16))).uniform(-2, 2, operand_shape))
    return shape, operands, draw(st.sampled_from([1, 2, 3, 5, 8, 64]))


@settings(max_examples=300, deadline=None)
@given(broadcast_operands())
def test_blocks_of_any_size_give_numpys_result(case):
    shape, operands, block = case
    op = _kernel(3, ("multiply", (0, 1)), ("add", (3, 2)), ("tanh", (4,)))
    kernel = BlockedKernel(op, [np.dtype("float64")] * 3)
    kernel.threaded_min_elements = 1  # thread even these small arrays
    with (mock.patch.object(blocked, "_WORKERS", 2), mock.patch.object(blocked, "BLOCK_ELEMENTS", block),
          mock.patch.object(blocked, "BROADCAST_TILE_ELEMENTS", block)):
        got = kernel.try_run(*operands)
    if all(o.size == 1 for o in operands):
        assert got is None  # a single element: the direct path
    else:  # flat runs, grouped tiles or broadcast tiles
        np.testing.assert_array_equal(got, np.tanh(operands[0] * operands[1] + operands[2]))


@pytest.mark.parametrize(
    "build, reference",
    [
        (lambda x, y: sg.sigmoid(x) * y + 1, lambda x, y: 1 / (1 + np.exp(-x)) * y + 1),
        (lambda x, y: sg.where(x > y, x, y * 2), lambda x, y: np.where(x > y, x, y * 2)),
        (lambda x, y: sg.clip(x * y, -0.5, 0.5) - x, lambda x, y: np.clip(x * y, -0.5, 0.5) - x),
        (lambda x, y: sg.cast(x * 10, "int32") + sg.cast(y > 0, "int32"),
         lambda x, y: (x * 10).astype(np.int32) + (y > 0).astype(np.int32)),
        (lambda x, y: sg.logical_and(x > 0, y < 0) | (x > 1), lambda x, y: np.logical_and(x > 0, y < 0) | (x > 1)),
        (lambda x, y: sg.log(x) * y, lambda x, y: np.log(x) * y),  # NaN for negative x, propagated per block
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_kernels_match_numpy_on_large_arrays(build, reference, dtype, rng, blocks_and_threads_from_small_sizes):
    x, y = sg.vector("x", dtype), sg.vector("y", dtype)
    f = sg.function([x, y], build(x, y))
    assert "blocked_kernel" in f.source
    xv, yv = (rng.standard_normal(THREADED).astype(dtype) for _ in range(2))
    with np.errstate(invalid="ignore"):
        expected = reference(xv, yv)
    result = f(xv, yv)
    assert result.dtype == expected.dtype
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-15}
    np.testing.assert_allclose(result, expected, **tolerance)
    np.testing.assert_array_equal(result, sg.function([x, y], build(x, y), mode="fast_compile")(xv, yv))


def test_large_kernel_with_a_broadcast_operand_falls_back_to_the_direct_path(rng):
    x, b = sg.matrix("x"), sg.vector("b")
    f = sg.function([x, b], sg.tanh(x + b) * 2)
    xv, bv = rng.standard_normal((blocked_min_elements(f.graph.nodes[-1].op) // 8 + 1, 8)), rng.standard_normal(8)
    np.testing.assert_allclose(f(xv, bv), np.tanh(xv + bv) * 2, rtol=1e-15)


def test_blocked_path_is_correct_when_called_from_many_threads(rng, blocks_and_threads_from_small_sizes):
    x = sg.vector("x")
    f = sg.function([x], sg.exp(-x * x) * 3 + x)
    inputs = [rng.standard_normal(THREADED) for _ in range(6)]
    results = [None] * len(inputs)

    def work(i):
        results[i] = f(inputs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for value, result in zip(inputs, results):
        np.testing.assert_allclose(result, np.exp(-value * value) * 3 + value, rtol=1e-15)


def test_intermediates_are_freed_after_their_last_use(rng):
    x = sg.vector("x")
    y = x
    for step in range(12):
        y = sg.sin(y) + step
    f = sg.function([x], y, mode=UNFUSED)
    assert "del " in f.source
    value = rng.standard_normal(250_000)  # 2 MB per array
    f(value)
    tracemalloc.start()
    f(value)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 * value.nbytes, f"peak {peak / 1e6:.1f} MB for 2 MB arrays: intermediates kept alive"


def test_a_failing_step_inside_the_direct_path_names_it(rng):
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], sg.exp(x) + y)
    with pytest.raises(ValueError, match=r"add\(float64\[\?\], float64\[\?\]\), created at .*test_codegen.py"):
        f(np.zeros(3), np.zeros(4))


def test_outputs_packaged_once_each(rng):
    x = sg.matrix("x")
    f = sg.function([x], [x.T, x.sum(), x.T])
    xv = rng.standard_normal((3, 2))
    first, total, second = f(xv)
    assert not np.shares_memory(first, xv) and not np.shares_memory(first, second)
    assert f.source.count("owned(") == 2
    np.testing.assert_array_equal(first, xv.T)
    np.testing.assert_allclose(total, xv.sum())


def test_nan_guard_raises_at_the_first_node_producing_nan_or_inf():
    x = sg.vector("x")
    logged = sg.log(x)  # the line the error must name
    line = logged.owner.site.lineno
    f = sg.function([x], sg.exp(logged * 2) + 1, mode=sg.Mode(nan_guard=True))
    np.testing.assert_allclose(f([1.0, 2.0]), [2.0, 5.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        with pytest.raises(FloatingPointError, match=rf"NaN in the output of log\(float64\[\?\]\), created at .*test_codegen.py:{line}"):
            f([1.0, -1.0])
        with pytest.raises(FloatingPointError, match=r"inf in the output of log"):
            f([0.0, 1.0])


def test_nan_guard_keeps_operations_unfused_and_is_off_by_default():
    x = sg.vector("x")
    guarded = sg.function([x], sg.exp(x) * 2, mode=sg.Mode(nan_guard=True))
    assert "fused" not in guarded.source and "isfinite" in guarded.source
    assert "isfinite" not in sg.function([x], sg.exp(x) * 2).source
    with np.errstate(over="ignore"):
        assert np.isinf(sg.function([x], sg.exp(x) * 2)([1000.0])).all()


def test_blocks_and_threads_start_where_a_kernels_estimated_work_pays(monkeypatch, rng):
    cheap = _kernel(2, ("multiply", (0, 1)), ("add", (2, 0)))
    costly = _kernel(1, ("sin", (0,)), ("exp", (1,)))
    assert blocked_min_elements(costly) < blocked_min_elements(cheap)
    x = sg.vector("x")
    assert f"len(x) < {blocked_min_elements(costly)} " in sg.function([x], sg.exp(sg.sin(x))).source
    shares = []
    original = blocked._run_blocks
    monkeypatch.setattr(blocked, "_WORKERS", 2)
    monkeypatch.setattr(blocked, "_run_blocks", lambda *args: shares.append(args[-2:]) or original(*args))
    size = 4 * BLOCK_ELEMENTS  # 262144 elements: about 0.16 ms of arithmetic, 2.4 ms of sin and exp
    x, y = rng.standard_normal(size), rng.standard_normal(size)
    np.testing.assert_array_equal(BlockedKernel(cheap, [x.dtype, y.dtype]).try_run(x, y), x * y + x)
    assert shares == [(0, 4)]  # blocks 0 to 3, on the calling thread
    shares.clear()
    np.testing.assert_array_equal(BlockedKernel(costly, [x.dtype]).try_run(x), np.exp(np.sin(x)))
    assert sorted(shares) == [(0, 2), (2, 4)]


@pytest.mark.parametrize("x_shape, y_shape", [((300, 400), (300, 400)), ((300, 1), (300, 400)), ((300, 400), (400,)),
                                              ((1, 400), (300, 1)), ((3, 4), (3, 4))])  # large enough to check, and small
def test_direct_path_writes_into_dying_temporaries_only_when_shapes_allow(x_shape, y_shape, rng):
    x, y = sg.matrix("x"), sg.tensor("y", shape=(None,) * len(y_shape))
    f = sg.function([x, y], (sg.exp(x) * y + 1.0) * 2.0)
    assert "out=v0_t0" in f.source  # exp(x) * y: in place when y has exp(x)'s shape, checked at run time
    xv, yv = rng.standard_normal(x_shape), rng.standard_normal(y_shape)
    saved = xv.copy(), yv.copy()
    np.testing.assert_allclose(f(xv, yv), (np.exp(xv) * yv + 1.0) * 2.0, rtol=1e-15)
    np.testing.assert_array_equal(xv, saved[0])
    np.testing.assert_array_equal(yv, saved[1])


def test_direct_path_of_a_long_chain_holds_one_temporary(monkeypatch, rng):
    monkeypatch.setattr(blocked, "BLOCKED_MIN_NANOSECONDS", 1e15)  # keep the direct path
    x = sg.vector("x")
    f = sg.function([x], sg.tanh(sg.exp(sg.sin(x) * 2.0) + 1.0) - 3.0)
    value = rng.standard_normal(500_000)  # 4 MB per array
    f(value)
    tracemalloc.start()
    try:
        result = f(value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * value.nbytes  # the result, computed in place step after step
    np.testing.assert_allclose(result, np.tanh(np.exp(np.sin(value) * 2.0) + 1.0) - 3.0, rtol=1e-15)


@pytest.mark.parametrize("b_size", [500, 1])  # a bias of length 1 broadcasts: the matmul's array is too small
def test_element_wise_nodes_write_into_a_dead_matmul_result(b_size, rng):
    x, w, b = sg.matrix("x"), sg.matrix("w"), sg.vector("b")
    xv, wv, bv = rng.standard_normal((60, 4)), rng.standard_normal((4, 500)), rng.standard_normal(b_size)
    for mode, expected in [(None, np.tanh(xv @ wv + bv)), (UNFUSED, xv @ wv + bv)]:
        f = sg.function([x, w, b], sg.tanh(x @ w + b) if mode is None else x @ w + b, mode=mode)
        assert "out=v0" in f.source and f.report.rewrites["buffer_reuse"] == 1
        np.testing.assert_allclose(f(xv, wv, bv), expected, rtol=1e-15)
        if b_size == 1:
            np.testing.assert_allclose(f(xv[:, :4], wv[:, :5], bv), expected[:, :5], rtol=1e-15)  # small


def test_blocked_kernel_writes_into_a_dead_operand(rng):
    x, w, b = sg.matrix("x"), sg.matrix("w"), sg.vector("b")
    f = sg.function([x, w, b], sg.tanh(x @ w + b) * 2.0)
    xv, wv, bv = rng.standard_normal((700, 30)), rng.standard_normal((30, 700)), rng.standard_normal(700)
    assert f.source.count("out=v0") >= 2  # the direct path and the blocked kernel
    np.testing.assert_allclose(f(xv, wv, bv), np.tanh(xv @ wv + bv) * 2.0, rtol=1e-14)


@pytest.mark.parametrize("build", [
    lambda x, w: [sg.exp(x @ w), x @ w],  # the matmul result is also an output
    lambda x, w: [sg.exp(x @ w), (x @ w).T],  # a view of it is an output
    lambda x, w: [sg.exp(x @ w) + sg.sum((x @ w)[0])],  # a view of it is read later
    lambda x, w: [sg.exp(x) * 2.0 + w],  # inputs are never written
])
def test_arrays_that_live_on_are_never_written_into(build, rng):
    x, w = sg.matrix("x"), sg.matrix("w")
    xv, wv = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    saved = xv.copy(), wv.copy()
    f = sg.function([x, w], build(x, w))
    reference = sg.function([x, w], build(x, w), mode="fast_compile")
    assert "buffer_reuse" not in f.report.rewrites
    for got, expected in zip(f(xv, wv), reference(xv, wv)):
        np.testing.assert_allclose(got, expected, rtol=1e-15)
    np.testing.assert_array_equal(xv, saved[0])
    np.testing.assert_array_equal(wv, saved[1])


@pytest.mark.parametrize("excluded", ["inplace", "buffer_reuse"])
def test_buffer_reuse_is_switched_off_with_the_inplace_group(excluded):
    x, w = sg.matrix("x"), sg.matrix("w")
    f = sg.function([x, w], sg.exp(x @ w), mode=sg.Mode(exclude=[excluded]))
    assert "out=v0" not in f.source and "buffer_reuse" not in f.report.rewrites


def test_a_later_use_of_only_the_shape_does_not_keep_an_array_from_being_written_into(rng):
    # the gradient's fit_shape nodes read the matmul result's shape alone, after the kernel wrote into it
    x, w, b = sg.matrix("x"), sg.matrix("w"), sg.vector("b")
    cost = sg.sum(sg.tanh(x @ w + b) * 3.0)
    f = sg.function([x, w, b], sg.grad(cost, [w, b]))
    assert f.report.rewrites["buffer_reuse"] == 2 and "out=v1" in f.source
    xv, wv, bv = rng.standard_normal((300, 20)), rng.standard_normal((20, 200)), rng.standard_normal(200)
    expected = sg.function([x, w, b], sg.grad(cost, [w, b]), mode="fast_compile")(xv, wv, bv)
    for got, want in zip(f(xv, wv, bv), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_functions_collected_while_linecache_checks_its_cache_do_not_break_it():
    # Tracebacks, pdb and doctest call linecache.checkcache(), which lists the cache's keys and then reads
    # each one; a garbage collection in between used to remove the source of a dead compiled function
    # and raise KeyError (seen as a flaky doctest failure). Here the collection runs when checkcache
    # looks at a real file, which comes before the compiled functions' sources in the cache.
    linecache.getline(__file__, 1)
    real_stat = os.stat

    def stat_then_collect(path):
        gc.collect()
        return real_stat(path)

    gc.disable()
    try:
        x = sg.vector("x")
        functions = [sg.function([x], x + float(i)) for i in range(5)]
        filenames = {f._program.filename for f in functions}
        del functions  # compiled functions are reference cycles: only a collection frees them
        with mock.patch.object(linecache.os, "stat", stat_then_collect):
            linecache.checkcache()
    finally:
        gc.enable()
    sg.function([x], x * 2.0)  # the next compile forgets the dead functions' sources
    assert not filenames & linecache.cache.keys()


def test_a_recompiled_source_reuses_its_code_but_keeps_its_own_lines_for_tracebacks():
    import traceback

    from symgraph.codegen import linker

    def build():
        x, y = sg.vector("x"), sg.vector("y")
        return sg.function([x, y], sg.exp(x) + y)

    first = build()
    hits_before = len(linker._CODE_CACHE._codes)
    second = build()
    assert second.source == first.source and len(linker._CODE_CACHE._codes) == hits_before
    del first
    gc.collect()
    build()  # drops the first function's lines from linecache
    with pytest.raises(ValueError, match="step 2 of fused") as info:
        second(np.zeros(2), np.zeros(3))
    frames = [line for line in traceback.format_tb(info.value.__cause__.__traceback__) if "<symgraph:" in line]
    assert frames and second._program.filename in frames[-1] and "np_add(" in frames[-1]
