"""The Numba backend: each allow-listed row inside a kernel against NumPy (values, dtype, NaN/inf),
broadcasting and layouts, fused reductions, tiered switching, the kernel caches and the fallbacks."""
import contextlib
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

pytest.importorskip("numba")

import numba  # noqa: E402
import symgraph as sg  # noqa: E402
from symgraph.codegen.numba_backend import kernels  # noqa: E402
from symgraph.codegen.numba_backend.fused import PARALLEL_MIN_NANOSECONDS  # noqa: E402
from symgraph.codegen.numpy_backend.blocked import elements_for  # noqa: E402
from symgraph.codegen.numba_backend.kernels import kernel_for  # noqa: E402
from symgraph.codegen.numba_backend.scalar import _LIBM, _VECTOR  # noqa: E402
from symgraph.ops.elemwise import cast_row, scalar_op  # noqa: E402
from symgraph.ops.fused import Fused  # noqa: E402

SERIAL = sg.backend("numba", parallel=False, min_elements=1)


@pytest.fixture(scope="module", autouse=True)
def kernel_cache(tmp_path_factory):
    """Generated kernels go to a directory of this test session, not the user's cache."""
    previous = os.environ.get("SYMGRAPH_CACHE_DIR")
    os.environ["SYMGRAPH_CACHE_DIR"] = str(tmp_path_factory.mktemp("symgraph_cache"))
    yield os.environ["SYMGRAPH_CACHE_DIR"]
    if previous is None:
        del os.environ["SYMGRAPH_CACHE_DIR"]
    else:
        os.environ["SYMGRAPH_CACHE_DIR"] = previous


def special_values(dtype, rng, n=64):
    """Random values of `dtype` with the edge cases of its kind: NaN, +-inf, +-0 for floats, extremes for
    integers."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(n) > 0.5
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        values = rng.integers(-5, 6, n).astype(dtype)
        values[:4] = [info.min, info.max, 0, -1]
        return values
    values = (rng.standard_normal(n) * 3).astype(dtype)
    values[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0]
    return values


def assert_same(result, expected, ulps=0):
    assert result.dtype == expected.dtype and result.shape == expected.shape
    if expected.dtype.kind != "f":
        np.testing.assert_array_equal(result, expected)
        return
    np.testing.assert_array_equal(np.isnan(result), np.isnan(expected))
    finite = ~np.isnan(expected)
    if ulps == 0:
        np.testing.assert_array_equal(np.signbit(result[finite]), np.signbit(expected[finite]))
        np.testing.assert_array_equal(result[finite], expected[finite])
    else:
        np.testing.assert_array_max_ulp(result[finite], expected[finite], maxulp=ulps)


ROWS = {
    "float64": ["add", "subtract", "multiply", "negative", "square", "maximum", "minimum", "relu", "true_divide",
                "sqrt", "abs", "floor", "ceil", "reciprocal", "eq", "neq", "lt", "le", "gt", "ge", "isnan",
                "isinf", "isfinite", *sorted(set(_LIBM) | set(_VECTOR))],
    "float32": ["add", "multiply", "maximum", "minimum", "true_divide", "sqrt", "reciprocal", "lt", "isnan"],
    "int32": ["add", "subtract", "multiply", "negative", "square", "maximum", "relu", "true_divide", "eq", "gt"],
    "int64": ["add", "multiply", "negative", "minimum", "true_divide", "le"],
    "bool": ["logical_and", "logical_or", "logical_not"],
}


@pytest.mark.parametrize("dtype,name", [(d, n) for d, names in ROWS.items() for n in names])
def test_each_allowed_row_matches_numpy_inside_a_kernel(dtype, name):
    rng = np.random.default_rng(len(name))
    row = scalar_op(name)
    values = [special_values(dtype, rng) for _ in range(row.nin)]
    if row.nin == 2:  # pair every special value with every other one
        values = [np.repeat(values[0][:8], 8), np.tile(values[1][:8], 8)]
    op = Fused(row.nin, [(row, tuple(range(row.nin)))])
    kernel = kernel_for(op, [v.dtype for v in values], parallel=False, fastmath=False)
    assert kernel is not None
    with np.errstate(all="ignore"):
        expected = op.perform(*values)
    assert_same(kernel.try_run(*values), expected, ulps=3 if name in _VECTOR else 2 if name in _LIBM else 0)


@pytest.mark.parametrize("source,target", [("int32", "float64"), ("float64", "float32"), ("float32", "bool"),
                                           ("int64", "int32"), ("bool", "int64")])
def test_casts_inside_a_kernel(source, target):
    values = special_values(source, np.random.default_rng(0))
    op = Fused(1, [(cast_row(target), (0,))])
    kernel = kernel_for(op, [values.dtype], parallel=False, fastmath=False)
    with np.errstate(all="ignore"):
        assert_same(kernel.try_run(values), op.perform(values))


def test_a_where_chain_with_mixed_dtypes():
    x, n = sg.vector("x"), sg.vector("n", dtype="int32")
    expression = sg.where(x > 0, x * n, n - 1) / 2
    values = (special_values("float64", np.random.default_rng(1)), special_values("int32", np.random.default_rng(2)))
    with np.errstate(all="ignore"):
        expected = sg.function([x, n], expression)(*values)
    assert_same(sg.function([x, n], expression, backend=SERIAL)(*values), expected)


@pytest.mark.parametrize("name,dtypes", [("mod", ["float64"] * 2), ("floor_divide", ["int64"] * 2),
                                         ("power", ["int64"] * 2), ("exp", ["float32"]), ("round", ["float64"]),
                                         ("clip", ["float64"] * 3), ("add", ["uint8"] * 2)])
def test_rows_off_the_allow_list_keep_the_numpy_lowering(name, dtypes):
    row = scalar_op(name)
    op = Fused(row.nin, [(row, tuple(range(row.nin))), (scalar_op("add"), (0, row.nin))])
    assert kernel_for(op, [np.dtype(d) for d in dtypes], parallel=False, fastmath=False) is None


@pytest.mark.parametrize("dtype,build", [("int8", lambda x: sg.sqrt(x) * x + x),  # sqrt of int8 is float16
                                         ("float16", lambda x: (x * x + 1.0) * x)])
def test_float16_kernels_keep_the_numpy_lowering(dtype, build):
    values = np.arange(-3, 5).astype(dtype)
    x = sg.vector("x", dtype=dtype)
    f = sg.function([x], build(x), backend=SERIAL)  # Numba has no float16 scalar: it must not be asked
    with np.errstate(all="ignore"):
        expected = sg.function([x], build(x))(values)
        assert_same(f(values), expected)
    assert expected.dtype == np.float16 and "numba_kernel" not in f.source


def test_kernels_slower_on_numba_than_numpy_keep_the_numpy_lowering():
    x = sg.vector("x")
    assert "numba_kernel" not in sg.function([x], sg.arctan(x) + x, backend=SERIAL).source  # a libm call
    assert "numba_kernel" in sg.function([x], sg.exp(x) + x, backend=SERIAL).source  # vector_math.py's
    assert "numba_kernel" in sg.function([x], x * x + x, backend=SERIAL).source


SHAPES = [((3, 4), (4,)), ((3, 4), (3, 1)), ((3, 4), ()), ((0, 4), (4,)), ((1, 1), (1,)), ((2, 3, 4), (3, 1)),
          ((5,), (1,))]


@pytest.mark.parametrize("shapes", SHAPES)
def test_broadcasting_matches_numpy(shapes):
    rng = np.random.default_rng(3)
    a_value, b_value = (rng.standard_normal(s) for s in shapes)
    a = sg.tensor("a", shape=(None,) * len(shapes[0]))
    b = sg.tensor("b", shape=(None,) * len(shapes[1]))
    expression = (a * b + 1.0) * a - b
    expected = (a_value * b_value + 1.0) * a_value - b_value
    f = sg.function([a, b], expression, backend=SERIAL)
    assert_same(f(a_value, b_value), expected)
    if expected.size > 1:  # the Numba loop ran: a flat one when b is one element, else the strided nest
        variant = "flat" if b_value.size == 1 else "nest"
        assert variant in {key[0] for key in numba_kernel_of(f)._ready}


def test_transposed_and_strided_operands():
    rng = np.random.default_rng(4)
    base = rng.standard_normal((6, 8))
    a, b = sg.matrix("a"), sg.matrix("b")
    f = sg.function([a, b], (a - b) * a + 2.0, backend=SERIAL)
    for a_value, b_value in [(base.T, base[:, ::-1].T.copy()), (base[:, ::2], base[:, 1::2]), (base.T, base.T)]:
        assert_same(f(a_value, b_value), (a_value - b_value) * a_value + 2.0)
    assert ("nest", 2) in numba_kernel_of(f)._ready


def test_float32_and_int_kernels_keep_numpys_dtypes():
    x32, n = sg.vector("x", dtype="float32"), sg.vector("n", dtype="int32")
    f = sg.function([x32, n], (x32 * n + x32) * 3, backend=SERIAL)
    x_value = special_values("float32", np.random.default_rng(5))
    n_value = special_values("int32", np.random.default_rng(6))
    with np.errstate(all="ignore"):
        expected = (x_value * n_value + x_value) * 3
        assert_same(f(x_value, n_value), expected)
    m = sg.vector("m", dtype="int32")
    g = sg.function([n, m], n * m + n, backend=SERIAL)
    assert_same(g(n_value, n_value[::-1].copy()), n_value * n_value[::-1] + n_value)


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (2, False), ((1, 2), True)])
def test_fused_reductions_match_numpy(kind, axis, keepdims):
    rng = np.random.default_rng(7)
    a_value, b_value = rng.standard_normal((2, 3, 40000)), rng.standard_normal((2, 3, 40000))
    a_value[1, 2, 5] = np.nan
    a, b = sg.tensor("a", shape=(None,) * 3), sg.tensor("b", shape=(None,) * 3)
    reduce = getattr(sg, kind)
    f = sg.function([a, b], reduce((a - b) * (a - b), axis=axis, keepdims=keepdims), backend=SERIAL)
    assert "numba_reduction" in f.source
    expected = getattr(np, kind)((a_value - b_value) ** 2, axis=axis, keepdims=keepdims)
    result = f(a_value, b_value)
    assert np.asarray(result).shape == np.shape(expected) and np.asarray(result).dtype == expected.dtype
    np.testing.assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("size", [1, 7, 1025, 16384 * 2 + 9])
def test_fused_reductions_of_transcendental_kernels_at_odd_sizes(kind, size):
    """Sizes that leave partial blocks, lanes and chunks; sin's guard failing in one block."""
    rng = np.random.default_rng(size)
    a_value, b_value = rng.uniform(-3, 3, (2, size)), rng.uniform(-3, 3, (2, size))
    a_value[1, size // 2] = 1e7  # beyond vector_math.TRIG_LIMIT: that block is computed by libm
    a, b = sg.matrix("a"), sg.matrix("b")
    f = sg.function([a, b], getattr(sg, kind)(sg.sin(a) * sg.exp(b), axis=1), backend=SERIAL)
    assert "numba_reduction" in f.source
    np.testing.assert_allclose(f(a_value, b_value), getattr(np, kind)(np.sin(a_value) * np.exp(b_value), axis=1),
                               rtol=1e-12)


def test_large_outputs_are_recycled_only_once_dropped():
    x = sg.vector("x")
    f = sg.function([x], x * 2.0 + 1.0, backend=SERIAL)
    values = np.arange(300_000.0)
    first = f(values)
    address = first.ctypes.data
    second = f(values + 1.0)  # `first` is held: it must not be written
    np.testing.assert_array_equal(first, values * 2.0 + 1.0)
    assert second.ctypes.data != address
    view = second[:10]
    del first, second
    third = f(values)  # the slot holds `second`, whose view is alive
    np.testing.assert_array_equal(view, (values[:10] + 1.0) * 2.0 + 1.0)
    assert third.ctypes.data != view.ctypes.data
    dropped = third.ctypes.data
    del third
    fourth = f(values + 3.0)  # nothing holds `third`: its memory is written again
    np.testing.assert_array_equal(fourth, (values + 3.0) * 2.0 + 1.0)
    assert fourth.ctypes.data == dropped
    assert f(values).ctypes.data != fourth.ctypes.data


def test_recycled_outputs_are_never_shared_between_threads():
    x = sg.vector("x")
    f = sg.function([x], x * 3.0 - 1.0, backend=SERIAL)
    values = [np.full(200_000, float(k)) for k in range(4)]
    failures = []

    def call(k):
        for _ in range(200):
            result = f(values[k])
            if not (result == 3.0 * k - 1.0).all():
                failures.append(k)
    threads = [threading.Thread(target=call, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("shape,axis,keepdims", [((300, 7), 0, False), ((4, 5, 6), (0, 1), True), ((1, 3), 0, False),
                                                 ((50, 1), 0, True)])
def test_reductions_over_leading_axes_match_numpy(kind, shape, axis, keepdims):
    rng = np.random.default_rng(15)
    a_value, b_value = rng.standard_normal(shape), rng.standard_normal(shape)
    a_value.flat[3 % a_value.size] = np.nan
    if a_value.size > 10:
        a_value.flat[7], b_value.flat[8] = np.inf, -np.inf
    a, b = sg.tensor("a", shape=(None,) * len(shape)), sg.tensor("b", shape=(None,) * len(shape))
    expression = getattr(sg, kind)((a - b) * a, axis=axis, keepdims=keepdims)
    f = sg.function([a, b], expression, backend=SERIAL)
    with counting(numba_kernel_of(f)) as calls, np.errstate(all="ignore"):
        result = f(a_value, b_value)
        expected = getattr(np, kind)((a_value - b_value) * a_value, axis=axis, keepdims=keepdims)
        reference = sg.function([a, b], expression, mode="fast_compile")(a_value, b_value)
    assert result.shape == expected.shape and result.dtype == expected.dtype and len(calls) == 1
    np.testing.assert_allclose(result, expected, rtol=1e-12)
    np.testing.assert_allclose(result, reference, rtol=1e-12)


def test_reductions_over_middle_axes_empty_or_strided_operands_keep_the_numpy_code():
    x = sg.tensor("x", shape=(None,) * 3)
    middle = sg.function([x], sg.sum(x * x + x, axis=1), backend=SERIAL)
    assert "numba_reduction" not in middle.source
    value = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(middle(value), np.sum(value * value + value, axis=1))
    a = sg.matrix("a")
    f = sg.function([a], sg.max(a * a + a, axis=0), backend=SERIAL)
    with counting(numba_kernel_of(f)) as calls:
        np.testing.assert_array_equal(f(value[0].T), np.max(value[0].T ** 2 + value[0].T, axis=0))
        with pytest.raises(ValueError, match="zero-size"):  # NumPy's error for the maximum of nothing
            f(np.zeros((0, 3)))
    assert calls == []


def test_parallel_kernels_match_numpy():
    a, b = sg.vector("a"), sg.vector("b")
    backend = sg.backend("numba", min_elements=1)
    values = np.random.default_rng(8).standard_normal((2, 100_000))
    assert_same(sg.function([a, b], (a * b + a) / (b + 2.0), backend=backend)(*values),
                (values[0] * values[1] + values[0]) / (values[1] + 2.0))
    np.testing.assert_allclose(sg.function([a, b], sg.sum((a - b) * (a - b)), backend=backend)(*values),
                               np.sum((values[0] - values[1]) ** 2), rtol=1e-12)


def numba_runners(function):
    """{runner name prefix: NumbaKernel} of the kernels a compiled function calls."""
    return {name.rstrip("0123456789_"): value.__self__ for name, value in function._program.callable.__globals__.items()
            if name.startswith("numba_")}


@contextlib.contextmanager
def counting(*kernels):
    """A list to which each compiled loop of `kernels` appends its kernel's `parallel` when it runs."""
    calls = []
    saved = [dict(kernel._ready) for kernel in kernels]
    for kernel, ready in zip(kernels, saved):
        for key, loop in ready.items():
            kernel._ready[key] = lambda *arrays, loop=loop, kernel=kernel: calls.append(kernel.parallel) or loop(*arrays)
    try:
        yield calls
    finally:
        for kernel, ready in zip(kernels, saved):
            kernel._ready.update(ready)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS == 1, reason="one Numba thread: every loop is serial")
def test_small_calls_run_the_serial_loop_and_large_ones_the_parallel_loop():
    a, b = sg.vector("a"), sg.vector("b")
    f = sg.function([a, b], (a * b + a) * b, backend=sg.backend("numba", min_elements=1))
    runners = numba_runners(f)
    assert set(runners) == {"numba_kernel", "numba_parallel_kernel"}
    threshold = elements_for(PARALLEL_MIN_NANOSECONDS, runners["numba_kernel"].op)
    with counting(*runners.values()) as calls:
        for n in (10, threshold - 1, threshold):
            values = np.random.default_rng(n).standard_normal((2, n))
            assert_same(f(*values), (values[0] * values[1] + values[0]) * values[1])
    assert calls == [False, False, True]


def test_a_static_size_compiles_only_the_variant_it_needs():
    a = sg.tensor("a", shape=(10,))
    f = sg.function([a], (a * a + a) * a, backend=sg.backend("numba", min_elements=1))
    assert set(numba_runners(f)) == {"numba_kernel"}
    assert "numba_parallel" not in f.source


@pytest.mark.parametrize("policy,expected", [(None, "0"), ("active", "unset")])
def test_importing_the_backend_lets_idle_openmp_threads_sleep_unless_a_policy_is_set(policy, expected):
    # libgomp's default busy-waiting after a parallel loop stalls the BLAS threads that run next
    environment = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if policy is not None:
        environment["OMP_WAIT_POLICY"] = policy
    script = "import os, symgraph as sg; sg.backend('numba'); print(os.environ.get('GOMP_SPINCOUNT', 'unset'))"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", script], env=environment, cwd=root, check=True,
                          capture_output=True, text=True)
    assert done.stdout.split() == [expected]


def numba_kernel_of(function):
    """The NumbaKernel a compiled function calls (it has one)."""
    (runner,) = [value for name, value in function._program.callable.__globals__.items()
                 if name.startswith(("numba_kernel", "numba_reduction"))]
    return runner.__self__


def test_eager_backend_compiles_in_sg_function_and_kernels_are_shared():
    x, y = sg.vector("x"), sg.vector("y")
    first = sg.function([x, y], (x * y + y) * x, backend=SERIAL)
    kernel = numba_kernel_of(first)
    loop = kernel._ready[("flat", (True, True))]  # compiled before the first call
    u, v = sg.vector("u"), sg.vector("v")
    second = sg.function([u, v], (u * v + v) * u, backend=SERIAL)
    assert numba_kernel_of(second)._ready is kernel._ready
    values = np.random.default_rng(10).standard_normal((2, 50))
    np.testing.assert_array_equal(first(*values), second(*values))
    assert len(loop.signatures) == 1  # compiled once for both functions


def test_eager_loops_serve_constants_and_read_only_arrays_without_compiling_again():
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], (x * y - 1.5) / (y + 2.5), backend=SERIAL)
    (loop,) = numba_kernel_of(f)._ready.values()
    values = np.random.default_rng(11).standard_normal((2, 50))
    read_only = values[1].copy()
    read_only.flags.writeable = False
    expected = (values[0] * values[1] - 1.5) / (values[1] + 2.5)
    np.testing.assert_array_equal(f(values[0], values[1]), expected)
    np.testing.assert_array_equal(f(values[0], read_only), expected)
    assert len(loop.signatures) == 1  # the constants 1.5 and 2.5 are read-only arrays


def test_tiered_serves_numpy_until_the_kernel_is_ready():
    release = threading.Event()
    kernels._background().submit(release.wait)  # holds the compiler thread until released
    x, y = sg.vector("x"), sg.vector("y")
    backend = sg.backend("numba", tiered=True, parallel=False, min_elements=1)
    f = sg.function([x, y], (x - y) * (x + y) - x * y, backend=backend)
    kernel = numba_kernel_of(f)
    values = np.random.default_rng(9).standard_normal((2, 1000))
    expected = (values[0] - values[1]) * (values[0] + values[1]) - values[0] * values[1]
    try:
        assert kernel.try_run(*values) is None  # not compiled yet: the NumPy code serves
        assert_same(f(*values), expected)
    finally:
        release.set()
    kernels._background().submit(lambda: None).result()
    (key,) = kernel._ready
    calls = []
    loop = kernel._ready[key]
    kernel._ready[key] = lambda *arrays: calls.append(1) or loop(*arrays)
    try:
        assert_same(f(*values), expected)
    finally:
        kernel._ready[key] = loop
    assert calls == [1]


def test_broadcast_errors_name_the_step_and_the_user_line():
    a, b = sg.vector("a"), sg.vector("b")
    f = sg.function([a, b], (a * b + a) * b, backend=SERIAL)
    with pytest.raises(ValueError) as numba_error:
        f(np.ones(3), np.ones(4))
    with pytest.raises(ValueError) as numpy_error:
        sg.function([a, b], (a * b + a) * b)(np.ones(3), np.ones(4))
    assert str(numba_error.value) == str(numpy_error.value)
    assert "multiply" in str(numba_error.value) and "test_backend_numba.py" in str(numba_error.value)


def test_a_missing_numba_raises_backend_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "symgraph.codegen.numba_backend")
    with pytest.raises(sg.BackendUnavailableError, match=r"pip install 'symgraph\[numba\]'") as error:
        sg.backend("numba")
    assert error.value.extra == "numba"


def test_unknown_options_are_refused():
    with pytest.raises(TypeError, match="has no option 'threads'"):
        sg.backend("numba", threads=2)


SECOND_PROCESS = """
import numpy as np, symgraph as sg
x, y = sg.vector("x"), sg.vector("y")
f = sg.function([x, y], (x * y - y) * x + y, backend=sg.backend("numba", parallel=False))
(runner,) = [v for k, v in f._program.callable.__globals__.items() if k.startswith("numba_kernel")]
(loop,) = runner.__self__._ready.values()
print(sum(loop.stats.cache_hits.values()), sum(loop.stats.cache_misses.values()))
"""


def test_a_second_process_loads_the_kernel_from_the_disk_cache(tmp_path):
    environment = {**os.environ, "SYMGRAPH_CACHE_DIR": str(tmp_path)}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def hits_and_misses():
        done = subprocess.run([sys.executable, "-c", SECOND_PROCESS], env=environment, cwd=root, check=True,
                              capture_output=True, text=True)
        return done.stdout.split()

    assert hits_and_misses() == ["0", "1"]
    assert hits_and_misses() == ["1", "0"]
    assert len(list(tmp_path.glob("numba/k*.py"))) == 1


FORCED = sg.backend("numba", min_elements=1)  # the row loops serve every call
NORMALIZERS = {"softmax": sg.softmax, "log_softmax": sg.log_softmax, "logsumexp": sg.logsumexp}


def special_rows(inner):
    """Rows of `inner` values: random ones, then with NaN, +inf, -inf, all -inf, +inf and -inf, large."""
    rows = np.random.default_rng(inner).standard_normal((8, inner)) * 3
    if inner:
        rows[1, 0], rows[2, -1], rows[3, 0] = np.nan, np.inf, -np.inf
        rows[4] = -np.inf
        rows[5, 0], rows[5, -1] = np.inf, -np.inf
        rows[6] += 1000.0
    return rows


def assert_rows_match(result, expected):
    result, expected = np.asarray(result), np.asarray(expected)
    assert result.dtype == expected.dtype and result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def rows_run(function, *values):
    """(the compiled function's result on `values`, how many times its row loop ran)."""
    with counting(numba_runners(function)["numba_rows"]) as calls, np.errstate(all="ignore"):
        return function(*values), len(calls)


@pytest.mark.parametrize("kind", list(NORMALIZERS))
@pytest.mark.parametrize("inner", [0, 1, 2, 10, 300])
@pytest.mark.parametrize("build", [lambda z: z, lambda z: z * 2.0 - 1.0], ids=["input", "kernel"])
def test_row_loops_match_numpy_and_the_reference_on_special_rows(kind, inner, build):
    z = sg.matrix("z")
    expression = NORMALIZERS[kind](build(z), axis=1)
    f = sg.function([z], expression, backend=FORCED)
    values = special_rows(inner)
    result, runs = rows_run(f, values)
    with np.errstate(all="ignore"):
        assert_rows_match(result, sg.function([z], expression)(values))
        assert_rows_match(result, sg.function([z], expression, mode="fast_compile")(values))
    assert runs == (1 if inner else 0)  # empty arrays keep the NumPy code


@pytest.mark.parametrize("kind", list(NORMALIZERS))
def test_row_loops_over_trailing_axes_keepdims_and_a_row_operand(kind):
    x, mu = sg.tensor("x", shape=(None,) * 3), sg.vector("mu")
    kwargs = {"keepdims": True} if kind == "logsumexp" else {}
    expression = NORMALIZERS[kind]((x - mu) * 0.5, axis=(1, 2), **kwargs)
    f = sg.function([x, mu], expression, backend=FORCED)
    rng = np.random.default_rng(12)
    values = rng.standard_normal((5, 3, 4)), rng.standard_normal(4)
    result, runs = rows_run(f, *values)
    # mu spans the last axis only, not every trailing one: not flat, so the NumPy code serves
    assert_rows_match(result, sg.function([x, mu], expression)(*values)) and runs == 0
    y = sg.tensor("y", shape=(None,) * 3)
    squares = NORMALIZERS[kind](y * y, axis=(1, 2), **kwargs)
    result, runs = rows_run(sg.function([y], squares, backend=FORCED), values[0])
    assert_rows_match(result, sg.function([y], squares)(values[0]))
    assert runs == 1


def test_row_loops_keep_numpy_for_leading_axes_and_strided_operands():
    z = sg.matrix("z")
    assert "numba_rows" not in sg.function([z], sg.softmax(z, axis=0), backend=FORCED).source
    f = sg.function([z], sg.log_softmax(z, axis=1), backend=FORCED)
    values = np.random.default_rng(13).standard_normal((10, 6))
    result, runs = rows_run(f, values.T)
    assert_rows_match(result, sg.function([z], sg.log_softmax(z, axis=1))(values.T))
    assert runs == 0


def test_row_loops_run_only_where_they_pay():
    z = sg.matrix("z")
    f = sg.function([z], sg.log_softmax(z, axis=1), backend="numba")
    assert "numba_rows" in f.source and "row_cost" in f.source
    for shape, expected_runs in [((256, 10), 1), ((16, 1000), 0)]:  # short rows on Numba, long ones on NumPy
        values = np.random.default_rng(14).standard_normal(shape)
        result, runs = rows_run(f, values)
        assert_rows_match(result, sg.function([z], sg.log_softmax(z, axis=1))(values))
        assert runs == expected_runs


def _tiered_in_child(function, values, expected, results):
    """In a forked child: the tiered function's result now, and once its kernel compiled in the child."""
    first = function(*values)
    kernels._background().submit(lambda: None).result()  # the child's compiler thread ran what was pending
    (kernel,) = numba_runners(function).values()
    results.put((np.array_equal(first, expected), np.array_equal(function(*values), expected), bool(kernel._ready)))


@pytest.mark.parametrize("in_flight", [False, True], ids=["queued", "compiling"])
def test_a_tiered_function_works_in_a_forked_child(in_flight):
    import multiprocessing

    release = threading.Event()
    if not in_flight:
        kernels._background().submit(release.wait)  # the kernel stays queued behind this at the fork
    x, y = sg.vector("x"), sg.vector("y")
    backend = sg.backend("numba", tiered=True, parallel=False, min_elements=1)
    step = 3.0 if in_flight else 4.0  # a kernel of its own for each case
    f = sg.function([x, y], (x - y) * (x + step) - x * y, backend=backend)
    values = np.random.default_rng(16).standard_normal((2, 1000))
    expected = (values[0] - values[1]) * (values[0] + step) - values[0] * values[1]
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_tiered_in_child, args=(f, values, expected, results))
    try:
        child.start()
        assert results.get(timeout=120) == (True, True, True)
        child.join(timeout=60)
        assert child.exitcode == 0
    finally:
        release.set()
        if child.is_alive():
            child.kill()
    assert_same(f(*values), expected)


def test_parallel_loops_step_aside_in_a_child_forked_after_openmp_started():
    import multiprocessing

    a, b = sg.vector("a"), sg.vector("b")
    f = sg.function([a, b], (a * b + a) / (b + 2.0), backend=sg.backend("numba", min_elements=1))
    values = np.random.default_rng(17).standard_normal((2, 200_000))
    expected = (values[0] * values[1] + values[0]) / (values[1] + 2.0)
    assert_same(f(*values), expected)  # OpenMP's threads start here (with more than one Numba thread)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=lambda: results.put(np.array_equal(f(*values), expected)))
    child.start()
    try:
        assert results.get(timeout=120) is True
        child.join(timeout=60)
        assert child.exitcode == 0
    finally:
        if child.is_alive():
            child.kill()
