"""The Dask backend against NumPy: ops on arrays chunked along every axis, one task per chunk per fused
kernel, everything computed in one call, updates, errors, a distributed cluster and an SGD step over a
chunked dataset."""
import pickle
import re

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import dask  # noqa: E402

import symgraph as sg  # noqa: E402

rng = np.random.default_rng(0)


def dask_function(inputs, outputs, chunks=2, updates=None, **options):
    return sg.function(inputs, outputs, updates=updates, backend=sg.backend("dask", chunks=chunks, **options))


def check(build, values, chunks=2, rtol=1e-10):
    """The dask backend's result of `build` equals the NumPy backend's: values, dtype and shape."""
    inputs = [sg.tensor(f"x{i}", dtype=v.dtype, shape=(None,) * v.ndim) for i, v in enumerate(values)]
    output = build(*inputs)
    expected = sg.function(inputs, output, on_unused_input="ignore")(*values)
    result = sg.function(inputs, output, backend=sg.backend("dask", chunks=chunks), on_unused_input="ignore")(*values)
    assert type(result) is np.ndarray
    assert result.dtype == expected.dtype and result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=rtol, atol=rtol)
    return result


MATRIX = rng.standard_normal((5, 6))
ROW = rng.standard_normal(6)
COLUMN = rng.standard_normal((5, 1))


@pytest.mark.parametrize("chunks", [1, 2, (5, 3), (2, 6), -1])
def test_fused_chain_with_broadcast_operands_on_any_chunking(chunks):
    check(lambda x, b, c: sg.tanh(x * 2.0 + b) - sg.exp(c) / (1.0 + x ** 2), [MATRIX, ROW, COLUMN], chunks)


@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (1, 4), (4, 1)])
def test_sizes_zero_and_one(shape):
    x = rng.standard_normal(shape)
    check(lambda a: sg.exp(a) + 1.0, [x])
    if 0 not in shape:
        check(lambda a: sg.sum(a * 2.0, axis=0), [x])


def test_nan_and_inf_propagate_as_in_numpy():
    x = np.array([[np.nan, np.inf, -np.inf], [1.0, 0.0, -1.0]])
    with np.errstate(all="ignore"):
        check(lambda a: sg.log(a) * 2.0 + sg.exp(a), [x])
        check(lambda a: sg.max(a, axis=1), [x])


@pytest.mark.parametrize("kind", ["sum", "prod", "mean", "max", "min", "var", "std", "argmax", "argmin",
                                  "logsumexp"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_reductions_over_chunked_axes(kind, axis):
    check(lambda x: getattr(sg, kind)(x, axis=axis), [MATRIX])


def test_fused_reductions_keepdims_integer_and_boolean_inputs():
    check(lambda x: sg.mean(sg.exp(x) * 2.0, axis=1, keepdims=True), [MATRIX])
    check(lambda x: sg.sum(x, axis=0), [rng.integers(-5, 5, (5, 6)).astype("int32")])
    check(lambda x: sg.any(x, axis=1), [MATRIX > 0])
    check(lambda x: sg.cumsum(x, axis=1), [MATRIX])
    check(lambda x: sg.cumprod(x, axis=0), [MATRIX])
    check(lambda x: sg.cumprod(x, axis=1), [rng.integers(-3, 3, (5, 6)).astype("int32")])


@pytest.mark.parametrize("sort", [lambda x: sg.sort(x, axis=0), lambda x: sg.argsort(x, axis=1), lambda x: sg.sort(x),
                                  lambda x: sg.argsort(x, axis=None)])
def test_sorts_along_a_chunked_axis(sort):
    check(sort, [np.round(MATRIX)])


@pytest.mark.parametrize("normalize", [sg.nnet.softmax, sg.nnet.log_softmax])
def test_softmaxes_over_a_chunked_axis(normalize):
    check(lambda x: normalize(x * 2.0, axis=1), [MATRIX])
    check(lambda x: normalize(x, axis=0), [np.array([[1000.0, -np.inf], [1000.0, 1.0]])])


def test_products_are_dasks():
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((6, 3))
    check(lambda x, y: x @ y, [a, b], chunks={"x0": (2, 3), "x1": (3, 2)})
    check(lambda x, y: x @ y, [a, b[:, 0]], chunks=3)
    check(lambda x, y: sg.tensordot(x, y, axes=1), [a, b], chunks=-1)
    check(lambda x, y: sg.einsum("ij,jk->ik", x, y), [a, b], chunks=3)
    check(lambda x, y: x @ (y * 2.0), [a, b], chunks={"x0": (2, 3), "x1": (2, 3)})  # a computed operand is rechunked
    check(lambda x, y: x @ y, [a > 0, b > 0], chunks=2)
    check(lambda x, y: sg.tensordot(x, y, axes=1), [a.astype("int32"), b.astype("int32")], chunks=2)


def test_shapes_and_indexing():
    x = rng.standard_normal((4, 6))
    check(lambda a: a.T[1:, None] * 1.0, [x])
    check(lambda a: sg.reshape(a, (24,)), [x])
    check(lambda a: sg.reshape(a, (2, 2, 6)), [x])
    check(lambda a: sg.reshape(a.reshape((24,)), (2, 12)), [x], chunks=-1)
    check(lambda a: sg.reshape(a, (-1, 3)), [np.zeros((0, 3, 2))])
    check(lambda a: sg.broadcast_to(a[0], (3, 6)), [x])
    check(lambda a: sg.concatenate([a, a * 2.0], axis=1), [x])
    check(lambda a: sg.stack([a, a], axis=0), [x])
    check(lambda a: a[::2, -1], [x])
    check(lambda a, i: a[i], [x, np.array([3, 0, 3])])
    for index in [lambda a, i: a[i, i], lambda a, i: a[i, None, ::-1], lambda a, i: a[1, :, None][i],
                  lambda a, i: a[a > 0], lambda a, i: a[[[0, -1], [2, 2]]], lambda a, i: a[i, -1]]:
        check(lambda a, i: index(a, i) * 2.0, [x, np.array([3, 0, -1, 3])])
    check(lambda a: sg.where(a > 0, a, 0.0), [x])


INDEX = np.array([3, 0, -1, 3, 1])


@pytest.mark.parametrize("mode", ["set", "inc"])
@pytest.mark.parametrize("index", [
    lambda a, i: a[1:, ::2], lambda a, i: a[::-2, -1], lambda a, i: a[2, 3], lambda a, i: a[None, 1:3, None],
    lambda a, i: a[..., 1], lambda a, i: a[i], lambda a, i: a[i, 2:], lambda a, i: a[1:3, i],
    lambda a, i: a[i, i], lambda a, i: a[i, None, ::-1], lambda a, i: a[:, None, i], lambda a, i: a[a > 0],
    lambda a, i: a[[4, 4, -1], [0, 0, 5]], lambda a, i: a[[True, False, True, True, False]]])
def test_index_writes_match_numpy_with_repeated_and_negative_indices(mode, index):
    write = sg.set_subtensor if mode == "set" else sg.inc_subtensor
    check(lambda a, i: write(index(a, i), 2.0), [MATRIX, INDEX])
    check(lambda a, i: write(index(a, i), sg.sum(index(a, i) ** 2) + index(a, i)), [MATRIX, INDEX])


def test_index_writes_of_integer_and_boolean_arrays_and_onto_numpy_values():
    numbers = rng.integers(-5, 5, (5, 6)).astype("int32")
    check(lambda a, i: sg.inc_subtensor(a[i], a[i] * 3), [numbers, INDEX])
    check(lambda a, i: sg.set_subtensor(a[1:, i], 7), [numbers, INDEX])
    check(lambda a, i: sg.inc_subtensor(a[i], a[i]), [MATRIX > 0, INDEX])
    check(lambda v: sg.inc_subtensor(sg.zeros((4, 6))[[0, 0, 2]], v), [ROW])


@pytest.mark.parametrize("index", [lambda a, i: a[i], lambda a, i: a[1:, ::2], lambda a, i: a[i, -1],
                                   lambda a, i: a[a > 0], lambda a, i: a[2]])
def test_gradients_of_indexing_run_on_chunked_arrays(index):
    check(lambda a, i: sg.grad(sg.sum(sg.exp(index(a, i))), a), [MATRIX, INDEX])
    check(lambda a, i: sg.grad(sg.sum(sg.set_subtensor(index(a, i), 0.5) * a), a), [MATRIX, INDEX])
    check(lambda a, i: sg.grad(sg.sum(sg.set_subtensor(a[i], a[i] * 2.0) ** 2), a), [MATRIX, INDEX])


def test_indices_out_of_bounds_raise_numpys_index_error_naming_the_node_and_line():
    x, i = sg.matrix("x"), sg.tensor("i", dtype="int32", shape=(None,))
    write = dask_function([x, i], sg.inc_subtensor(x[i], 1.0))
    read = dask_function([x, i], x[i] * 2.0)
    for f, node in [(write, r"inc_subtensor\[array\]\(float64\[\?,\?\], float64\[\], int32\[\?\]\)"),
                    (read, r"getitem\[array\]\(float64\[\?,\?\], int32\[\?\]\)")]:
        with pytest.raises(IndexError, match=rf"index 7 is out of bounds for axis 0 with size 5 \[while computing "
                                             rf"node {node}, created at .*test_backend_dask.py"):
            f(MATRIX, np.array([0, 7], dtype="int32"))


def test_a_kernel_is_one_task_per_chunk():
    a, b = sg.vector("a"), sg.vector("b")
    values = [da.from_array(rng.standard_normal(100), chunks=10) for _ in range(2)]
    chain = dask_function([a, b], sg.exp(a) * b + a / (1.0 + b ** 2), compute=False)(*values)
    by_hand = da.exp(values[0]) * values[1] + values[0] / (1.0 + values[1] ** 2)
    assert len(chain.__dask_graph__()) == 10 + 20  # the kernel's tasks and the inputs'
    assert len(chain.__dask_graph__()) < len(by_hand.__dask_graph__())
    np.testing.assert_allclose(chain.compute(), by_hand.compute())
    mse = dask_function([a, b], sg.mean((a - b) ** 2), compute=False)(*values)
    by_hand = ((values[0] - values[1]) ** 2).mean()
    assert len(mse.__dask_graph__()) < len(by_hand.__dask_graph__())
    np.testing.assert_allclose(mse.compute(), by_hand.compute())


def test_all_outputs_and_updates_are_computed_in_one_call_and_no_task_twice(monkeypatch):
    x = sg.vector("x")
    total = sg.shared(np.zeros(()), name="total")
    shared_part = sg.exp(x) * 2.0
    f = dask_function([x], [shared_part.sum(), shared_part.max()], updates=[(total, total + shared_part.mean())])
    calls = []
    compute = dask.compute
    monkeypatch.setattr(dask, "compute", lambda *values: calls.append(len(values)) or compute(*values))
    executed = []

    class Count(dask.callbacks.Callback):
        def _pretask(self, key, dsk, state):
            executed.append(key)

    with Count():
        low, high = f(np.arange(8.0))
    assert calls == [3]
    assert len(executed) == len(set(executed))
    np.testing.assert_allclose([low, high, total.get_value()],
                               [(np.exp(np.arange(8.0)) * 2).sum(), np.exp(7.0) * 2, (np.exp(np.arange(8.0)) * 2).mean()])
    assert type(total.get_value()) is np.ndarray


def test_compute_false_returns_dask_arrays_and_updates_stay_numpy_unless_asked():
    x = sg.vector("x")
    w = sg.shared(np.ones(4), name="w")
    f = dask_function([x], [x * w, x.shape], updates=[(w, w * 2.0)], compute=False)
    lazy, shape = f(np.arange(4.0))
    assert isinstance(lazy, da.Array) and isinstance(shape, da.Array)
    np.testing.assert_allclose(lazy.compute(), np.arange(4.0))
    assert type(w.get_value()) is np.ndarray and w.get_value().tolist() == [2.0] * 4
    g = dask_function([x], x * w, updates=[(w, w * 2.0)], lazy_updates=True)
    np.testing.assert_allclose(g(np.ones(4)), [2.0] * 4)
    assert isinstance(w.get_value(), da.Array)
    np.testing.assert_allclose(g(np.ones(4)), [4.0] * 4)
    # A NumPy-backend function computes the pending value it reads.
    total, ordered = sg.function([], [w.sum(), sg.sort(w)])()
    assert type(ordered) is np.ndarray and float(total) == 32.0
    assert type((w * 1.0).eval()) is np.ndarray


def test_results_are_owned_by_the_caller():
    x = sg.vector("x")
    value = np.arange(3.0)
    same, twice, again = dask_function([x], [x, x * 2.0, x * 2.0])(value)
    assert not np.shares_memory(same, value) and not np.shares_memory(twice, again)
    same[0] = 10.0
    assert value[0] == 0.0


def test_dask_arguments_are_checked_without_computing():
    x = sg.tensor("x", shape=(None, 3))
    f = dask_function([x], x * 2.0)
    np.testing.assert_allclose(f(da.ones((4, 3), chunks=2, dtype="float32")), np.full((4, 3), 2.0))
    unknown = da.ones(6, chunks=2)
    unknown = unknown[unknown > 0]
    v = sg.vector("v")
    with pytest.raises(ValueError, match=r"input 0 \('v'\): a dask array with unknown chunk sizes"):
        dask_function([v], v * 2.0)(unknown)
    with pytest.raises(TypeError, match=r"input 0 \('x'\): expected dtype float64, got a dask array of dtype complex128"):
        f(da.ones((4, 3), dtype=complex))
    with pytest.raises(ValueError, match=r"input 0 \('x'\): expected size 3 in dimension 1"):
        f(da.ones((4, 2)))
    with pytest.raises(TypeError, match=r"input 0 \('x'\): expected a 2-d array"):
        f(da.ones(4))


def test_a_reshape_dask_cannot_do_is_an_error_naming_the_op():
    x = sg.matrix("x")
    with pytest.raises(NotImplementedError, match=r"reshape.*Dask cannot reshape \(4, 6\) to \(6, 4\).*test_backend_dask"):
        dask_function([x], sg.reshape(x, (6, 4)))(np.zeros((4, 6)))


def test_misaligned_matmul_chunks_are_an_error_naming_the_inputs():
    a, b = sg.matrix("a"), sg.matrix("b")
    f = sg.function([a, b], a @ b, backend="dask")
    with pytest.raises(ValueError, match=r"matmul: the chunks of a along its axis 1 \(\(3, 3\)\) differ from those "
                                         r"of b along its axis 0 \(\(2, 2, 2\)\).*test_backend_dask.py"):
        f(da.ones((4, 6), chunks=(2, 3)), da.ones((6, 2), chunks=(2, 2)))


def test_an_op_without_a_dask_form_is_refused_at_compile_time_by_name():
    x = sg.matrix("x")
    with pytest.raises(NotImplementedError, match=r"the dask backend cannot lower det .*created at .*test_backend_dask.py"):
        sg.function([x], sg.linalg.det(x), backend="dask")


def test_an_error_in_a_kernel_while_dask_computes_names_the_step_and_line_as_numpy_does():
    x = sg.tensor("x", dtype="int64", shape=(None,))
    y = x ** x
    value = np.array([1, 2, -1, 3])
    messages = []
    for backend in ["numpy", sg.backend("dask", chunks=2), sg.backend("dask", chunks=2, compute=False)]:
        f = sg.function([x], y * 2, backend=backend)
        with pytest.raises(ValueError) as error:
            dask.compute(f(value))
        messages.append(str(error.value))
    assert messages[0] == messages[1] == messages[2]
    assert re.search(r"Integers to negative integer powers are not allowed. \[in power\(int64\[\?\], int64\[\?\]\), "
                     r"created at .*test_backend_dask.py:\d+ in test_an_error_in_a_kernel.*, step 1 of fused", messages[0])


def test_a_shape_error_names_the_node_and_line():
    a, b = sg.vector("a"), sg.vector("b")
    with pytest.raises(ValueError, match=r"\[while computing node .*add.*created at .*test_backend_dask.py"):
        dask_function([a, b], sg.exp(a + b))(np.zeros(4), np.zeros(3))


def test_nan_guard_checks_blocks_as_dask_computes_them_and_names_the_first_node():
    x = sg.vector("x")
    guarded = sg.Mode(nan_guard=True)
    f = sg.function([x], sg.exp(sg.log(x) * 2.0), backend=sg.backend("dask", chunks=2, compute=False), mode=guarded)
    lazy = f(np.array([1.0, 2.0, 3.0, -1.0]))  # nothing is computed yet
    with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match=r"nan_guard: NaN in the output of "
                                                      r"log\(float64\[\?\]\), created at .*test_backend_dask.py"):
        lazy.compute()
    np.testing.assert_allclose(f(np.array([1.0, 2.0])).compute(), [1.0, 4.0])
    with np.errstate(over="ignore"), pytest.raises(FloatingPointError, match=r"inf in the output of exp"):
        sg.function([x], sg.exp(sg.log(x) * 2.0), backend=sg.backend("dask", chunks=2), mode=guarded)(np.array([1.0, 1e200]))


def test_missing_dask_is_a_backend_unavailable_error(monkeypatch):
    import builtins
    import sys

    real_import = builtins.__import__

    def without_dask(name, *args, **kwargs):
        if name.split(".")[0] == "dask":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    for module in [m for m in sys.modules if m.startswith("symgraph.codegen.dask_backend")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(builtins, "__import__", without_dask)
    with pytest.raises(sg.BackendUnavailableError, match=r"pip install 'symgraph\[dask\]'") as error:
        sg.backend("dask")
    assert error.value.extra == "dask"


def test_function_pickles_with_its_options():
    x = sg.vector("x")
    f = pickle.loads(pickle.dumps(dask_function([x], sg.exp(x) * 2.0, chunks=3, compute=False)))
    assert f.backend.options["chunks"] == 3 and isinstance(f(np.zeros(4)), da.Array)


def _mlp_step(backend, seed=0):
    weights = np.random.default_rng(seed)
    X, y = sg.matrix("X"), sg.vector("y")
    w1 = sg.shared(weights.standard_normal((5, 8)) * 0.3, name="w1")
    b1 = sg.shared(np.zeros(8), name="b1")
    w2 = sg.shared(weights.standard_normal(8) * 0.3, name="w2")
    probability = sg.sigmoid(sg.tanh(X @ w1 + b1) @ w2)
    cost = sg.mean((probability - y) ** 2)
    params = [w1, b1, w2]
    step = sg.function([X, y], cost, updates=[(p, p - 0.5 * g) for p, g in zip(params, sg.grad(cost, params))],
                       backend=backend)
    return step, params


def test_sgd_of_an_mlp_over_a_chunked_dataset_matches_numpy():
    X = rng.standard_normal((300, 5))
    y = (X[:, 0] > 0).astype(float)
    reference, reference_params = _mlp_step("numpy")
    step, params = _mlp_step(sg.backend("dask", chunks=(64, 5)))
    data = da.from_array(X, chunks=(64, 5)), da.from_array(y, chunks=64)
    for _ in range(5):
        np.testing.assert_allclose(step(*data), reference(X, y), rtol=1e-12)
    for ours, theirs in zip(params, reference_params):
        assert type(ours.get_value()) is np.ndarray
        np.testing.assert_allclose(ours.get_value(), theirs.get_value(), rtol=1e-12)


def test_logistic_regression_sgd_with_numpy_arguments_and_chunks_option():
    X, y = sg.matrix("X"), sg.vector("y")
    w = sg.shared(np.zeros(3), name="w")
    cost = sg.mean(sg.nnet.binary_crossentropy(sg.sigmoid(X @ w), y))
    data = rng.standard_normal((50, 3)), (rng.random(50) > 0.5).astype(float)
    costs = {}
    for backend in ["numpy", sg.backend("dask", chunks=(16, 3))]:
        w.set_value(np.zeros(3))
        step = sg.function([X, y], cost, updates=[(w, w - 0.1 * sg.grad(cost, w))], backend=backend)
        costs[str(backend)] = [float(step(*data)) for _ in range(4)] + w.get_value().tolist()
    np.testing.assert_allclose(*costs.values(), rtol=1e-12)


@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def test_runs_on_a_distributed_cluster_of_processes(cluster_client):
    X = rng.standard_normal((200, 5))
    y = (X[:, 1] > 0).astype(float)
    reference, reference_params = _mlp_step("numpy")
    step, params = _mlp_step(sg.backend("dask", chunks=(50, 5)))
    assert len(cluster_client.scheduler_info()["workers"]) == 2
    for _ in range(2):
        np.testing.assert_allclose(step(X, y), reference(X, y), rtol=1e-12)
    np.testing.assert_allclose(params[0].get_value(), reference_params[0].get_value(), rtol=1e-12)
    x = sg.matrix("x")
    f = dask_function([x], [sg.nnet.softmax(sg.exp(x) * 2.0, axis=1), sg.logsumexp(x * 3.0)])
    soft, total = f(X)
    np.testing.assert_allclose(soft, sg.function([x], sg.nnet.softmax(sg.exp(x) * 2.0, axis=1))(X))
    np.testing.assert_allclose(total, np.log(np.exp(X * 3.0).sum()))
    i = sg.tensor("i", dtype="int64", shape=(None,))
    outputs = [sg.grad(sg.sum(x[i] ** 2), x), x[i, None, ::-1]]
    for result, expected in zip(dask_function([x, i], outputs, chunks=50)(X, INDEX),
                                sg.function([x, i], outputs)(X, INDEX)):
        np.testing.assert_allclose(result, expected)
    with pytest.raises(IndexError, match=r"out of bounds .*\[while computing node getitem.*created at .*test_backend_dask"):
        dask_function([x, i], x[i, None])(X, np.array([500]))


@pytest.mark.parametrize("kind, axis, shape", [("max", 1, (0, 3)), ("min", 0, (2, 0, 4)), ("argmax", 1, (0, 3)),
                                               ("sum", 1, (2, 0, 4)), ("logsumexp", 1, (2, 0, 4)), ("prod", None, (0, 2))])
def test_reductions_of_empty_arrays_give_numpys_shapes(kind, axis, shape):
    x = sg.tensor("x", shape=(None,) * len(shape))
    got = sg.function([x], getattr(sg, kind)(x, axis=axis), backend="dask")(np.zeros(shape))
    expected = sg.function([x], getattr(sg, kind)(x, axis=axis))(np.zeros(shape))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_an_empty_reduction_without_identity_raises_numpys_error():
    m = sg.matrix("m")
    with pytest.raises(ValueError, match="zero-size array to reduction operation maximum"):
        sg.function([m], sg.max(m, axis=0), backend="dask")(np.zeros((0, 3)))


@pytest.mark.parametrize("write", [sg.set_subtensor, sg.inc_subtensor])
def test_writes_into_an_empty_slice_leave_the_array_as_it_was(write):
    m, v = sg.matrix("m"), sg.vector("v")
    f = sg.function([m, v], write(m[3:1], v), backend="dask")
    np.testing.assert_array_equal(f(np.arange(20.0).reshape(5, 4), np.ones(4)), np.arange(20.0).reshape(5, 4))
    with pytest.raises(ValueError, match="shape mismatch"):
        f(np.zeros((5, 4)), np.ones(3))
