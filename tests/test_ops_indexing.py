"""Indexing against NumPy: x[idx] with every kind of index item, set_subtensor / inc_subtensor,
static shapes, errors, and derivatives in both modes."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.autodiff import jvp, verify_grad

SHAPE = (5, 6, 7)
MASK_0 = np.array([True, False, True, False, True])
MASK_67 = np.arange(42).reshape(6, 7) % 5 == 0
MASK_7 = np.arange(7) % 3 == 0  # 3 entries

INDEXES = [
    0,
    -1,
    np.int64(2),
    np.array(3),
    (1, 2),
    (1, -2, 3),
    slice(1, -1, 2),
    slice(None, None, -1),
    slice(-2, None),
    slice(10, 20),
    slice(4, 1, -2),
    (slice(None), slice(1, 3), slice(None, None, 3)),
    (None, 0),
    (Ellipsis, 0),
    (0, Ellipsis, None),
    (slice(None), None, 2),
    (),
    Ellipsis,
    [0, 4, 4],
    [[0, 1], [2, 3]],
    [],
    (0, slice(None), [1, 2]),
    (slice(None), 0, [1, 2]),
    ([0, 1], None, [0, 1]),
    ([0, 1], Ellipsis, [0, 1]),
    (slice(None), [0, 1], [[0], [1]]),
    ([[0], [3]], slice(1, 3), [2, 2, 6]),
    (Ellipsis, [0, -1]),
    (-1, [2, 2], None),
    MASK_0,
    (slice(None), MASK_67),
    (slice(None), 0, MASK_7),
    ([0, 1, 2], slice(None), MASK_7),
    (MASK_0, slice(None), [0, 0, 6]),
    np.array(True),
    (np.array(False), 0),
]


def symbolize(index):
    """The index with every int, slice bound, index array and mask replaced by a symbolic input."""
    items = index if isinstance(index, tuple) else (index,)
    inputs, values = [], []

    def lift(value):
        value = np.asarray(value, dtype=np.int64 if isinstance(value, list) else None)
        var = sg.tensor(f"i{len(inputs)}", dtype=value.dtype, shape=(None,) * value.ndim)
        inputs.append(var)
        values.append(value)
        return var

    symbolic = []
    for item in items:
        if isinstance(item, slice):
            symbolic.append(slice(*(None if p is None else lift(p) for p in (item.start, item.stop, item.step))))
        elif item is None or item is Ellipsis:
            symbolic.append(item)
        else:
            symbolic.append(lift(item))
    return tuple(symbolic), inputs, values


def assert_matches(output, result, expected, static):
    np.testing.assert_array_equal(result, expected)
    assert result.dtype == expected.dtype and isinstance(result, np.ndarray)
    assert output.ndim == expected.ndim
    assert all(s is None or s == e for s, e in zip(output.type.shape, expected.shape))
    if static:
        assert output.type.shape == expected.shape


def short_id(value):
    return repr(value).replace("\n", "")[:40]


@pytest.mark.parametrize("index", INDEXES, ids=short_id)
@pytest.mark.parametrize("static", [True, False], ids=["static", "unknown_sizes"])
def test_getitem_matches_numpy(rng, index, static):
    value = rng.standard_normal(SHAPE)
    x = sg.tensor("x", shape=SHAPE if static else (None,) * 3)
    output = x[index]
    expected = value[index]
    assert_matches(output, sg.function([x], output)(value), expected, static)


@pytest.mark.parametrize("index", INDEXES, ids=short_id)
def test_getitem_with_symbolic_index_items_matches_numpy(rng, index):
    value = rng.standard_normal(SHAPE)
    x = sg.tensor("x", shape=SHAPE)
    symbolic, inputs, values = symbolize(index)
    output = x[symbolic]
    result = sg.function([x] + inputs, output)(value, *values)
    assert_matches(output, result, value[index], static=False)


@pytest.mark.parametrize("dtype", ["float32", "int32", "int64", "bool"])
@pytest.mark.parametrize("index", [1, (slice(None), [2, 0]), MASK_0, (slice(0, 1), -1)], ids=short_id)
def test_getitem_keeps_the_dtype(rng, dtype, index):
    value = (rng.standard_normal(SHAPE) * 3).astype(dtype)
    x = sg.tensor("x", dtype=dtype, shape=SHAPE)
    assert_matches(x[index], x[index].eval({x: value}), value[index], static=True)


@pytest.mark.parametrize("shape, index", [((0, 3), slice(None, 2)), ((0, 3), (Ellipsis, 1)), ((1,), 0), ((1, 1), [0, 0]), ((0,), np.zeros(0, bool))])
def test_getitem_on_sizes_zero_and_one(shape, index):
    value = np.zeros(shape)
    x = sg.tensor("x", shape=shape)
    assert_matches(x[index], x[index].eval({x: value}), value[index], static=True)


@pytest.mark.parametrize("index", [slice(None), Ellipsis, (), (slice(None), Ellipsis)], ids=short_id)
def test_whole_tensor_indexes_can_be_written(rng, index):
    value = rng.standard_normal((2, 3))
    x = sg.matrix("x")
    np.testing.assert_array_equal(x[index].eval({x: value}), value)
    np.testing.assert_array_equal(sg.set_subtensor(x[index], 1.0).eval({x: value}), np.ones((2, 3)))
    np.testing.assert_array_equal(sg.inc_subtensor(x[index], 1.0).eval({x: value}), value + 1)


def test_empty_index_of_a_scalar(rng):
    x = sg.scalar("x")
    whole, expanded = sg.function([x], [x[()], x[None]])(2.0)
    assert whole.shape == () and whole == 2.0
    np.testing.assert_array_equal(expanded, [2.0])


def test_slice_sizes_are_static_only_when_bounds_and_size_are():
    n = sg.scalar("n", dtype="int64")
    assert sg.tensor("x", shape=(10,))[2:n].type.shape == (None,)
    assert sg.vector("x")[2:5].type.shape == (None,)
    assert sg.tensor("x", shape=(10,))[sg.constant(2):-1:3].type.shape == (3,)


def test_symbolic_shape_entries_index_with_known_values():
    x = sg.tensor("x", shape=(4, None))
    assert x.shape[0].owner.op.name == "getitem"
    assert x[: x.shape[0] - 1].ndim == 2
    np.testing.assert_array_equal(x.shape[-1].eval({x: np.zeros((4, 3))}), 3)


def test_getitem_op_prints_its_index():
    x = sg.tensor("x", shape=SHAPE)
    n = sg.scalar("n", dtype="int64")
    assert str(x[n, 1:n, None].owner.op) == "getitem[?, 1:?, None]"
    assert str(x[[0, 1, 2], ..., MASK_7].owner.op) == "getitem[array, ..., mask]"


@pytest.mark.parametrize(
    "index, error, message",
    [
        (5, IndexError, r"getitem: index 5 is out of bounds for axis 0 with size 5 \(operand float64\[5,6,7\]\)"),
        ((0, -7), IndexError, "index -7 is out of bounds for axis 1 with size 6"),
        ((0, 0, 0, 0), IndexError, "too many indices for operand float64"),
        ((Ellipsis, 0, Ellipsis), IndexError, "single ellipsis"),
        (1.0, TypeError, "index 1.0 is not valid"),
        (slice(0, 1.5), TypeError, "slice bound 1.5 is not an integer"),
        (slice(None, None, 0), ValueError, "slice step cannot be zero"),
        (np.array([0.5]), TypeError, "index array of dtype float64"),
        ("a", TypeError, "index 'a' is not valid"),
        (np.zeros(4, bool), IndexError, "boolean index bool\\[4\\] does not match operand float64\\[5,6,7\\] along axis 0"),
        (([0, 1], [0, 1, 2]), IndexError, "index arrays .* cannot be broadcast together"),
    ],
)
def test_getitem_errors(index, error, message):
    x = sg.tensor("x", shape=SHAPE)
    with pytest.raises(error, match=message):
        x[index]


def test_symbolic_float_index_is_a_type_error():
    with pytest.raises(TypeError, match="getitem: index float64\\[\\] variable is not of integer or boolean dtype"):
        sg.vector("x")[sg.scalar("f")]
    with pytest.raises(TypeError, match="slice bound float64\\[\\] variable"):
        sg.vector("x")[: sg.scalar("f")]


def test_out_of_range_at_run_time_names_the_index():
    x, i = sg.vector("x"), sg.scalar("i", dtype="int64")
    with pytest.raises(IndexError, match="out of bounds"):
        sg.function([x, i], x[i])(np.zeros(3), 3)


def test_getitem_op_kinds():
    x = sg.tensor("x", shape=SHAPE)
    assert type(x[0, 1:].owner.op).__name__ == "BasicIndex"
    assert type(x[[0]].owner.op).__name__ == "AdvancedIndex"
    assert {x[0].owner.op.name, x[[0]].owner.op.name} == {"getitem"}


# ---------------------------------------------------------------- writes

WRITES = [
    (1, (6, 7)),
    ((slice(1, 4), 2), (1,)),
    ((slice(None), None, 0), (7,)),
    ((Ellipsis, -1), (5, 6)),
    ([0, 3, 3], (3, 6, 7)),
    ((slice(None), [1, 1, 1], 2), (5, 3)),
    (([0, 1], slice(None), [2, 2]), (2, 6)),
    (MASK_0, (1, 7)),
    ((slice(None), MASK_67), (5, 9)),
]


@pytest.mark.parametrize("mode", ["set", "inc"])
@pytest.mark.parametrize("index, value_shape", WRITES, ids=short_id)
def test_writes_match_numpy(rng, mode, index, value_shape):
    base = rng.standard_normal(SHAPE)
    value = rng.standard_normal(value_shape)
    expected = base.copy()
    if mode == "set":
        expected[index] = value
    else:
        np.add.at(expected, index, value)
    x, v = sg.tensor("x", shape=SHAPE), sg.tensor("v", shape=value_shape)
    write = sg.set_subtensor if mode == "set" else sg.inc_subtensor
    symbolic, index_inputs, index_values = symbolize(index)
    for target, extra_inputs, extra_values in [(x[index], [], []), (x[symbolic], index_inputs, index_values)]:
        output = write(target, v)
        result = sg.function([x, v] + extra_inputs, output)(base, value, *extra_values)
        np.testing.assert_allclose(result, expected)
        assert output.type == x.type


def test_inc_accumulates_repeated_indices_and_set_keeps_the_last():
    x, v = sg.vector("x"), sg.vector("v")
    inc = sg.function([x, v], sg.inc_subtensor(x[[0, 2, 0, 0]], v))
    set_ = sg.function([x, v], sg.set_subtensor(x[[0, 2, 0, 0]], v))
    np.testing.assert_array_equal(inc(np.zeros(3), [1.0, 2.0, 3.0, 4.0]), [8.0, 0.0, 2.0])
    np.testing.assert_array_equal(set_(np.zeros(3), [1.0, 2.0, 3.0, 4.0]), [4.0, 0.0, 2.0])


@pytest.mark.parametrize("mode", ["fast_run", "fast_compile"])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_inc_broadcasts_a_value_along_the_leading_axes_of_an_integer_index(mode, backend):
    # np.add.at itself reads garbage past the value here (NumPy 2.4): the value broadcasts along the
    # first axis of a 2-d index into a vector.
    if backend == "numba":
        pytest.importorskip("numba")
    x, v = sg.vector("x"), sg.vector("v")
    index = np.array([[0, 1], [2, 3], [1, 1]])
    f = sg.function([x, v], sg.inc_subtensor(x[index], v), mode=mode, backend=backend)
    np.testing.assert_array_equal(f(np.zeros(5), [1.0, 2.0]), [1.0, 5.0, 1.0, 2.0, 0.0])


@pytest.mark.parametrize("mode", ["fast_run", "fast_compile"])
@pytest.mark.parametrize("build", [lambda x, s: x[5, :0], lambda x, s: x[s, :0], lambda x, s: x[s, 1:1]], ids=["int", "symbolic", "symbolic_slice"])
def test_an_empty_read_still_checks_its_integer_index(mode, build):
    x, s = sg.tensor("x", shape=(None, 3)), sg.scalar("s", dtype="int64")
    f = sg.function([x, s], build(x, s), mode=mode, on_unused_input="ignore")
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 2"):
        f(np.ones((2, 3)), 5)
    assert f(np.ones((6, 3)), 5).shape == (0,)


def test_writes_never_modify_their_inputs():
    x = sg.vector("x")
    base = np.zeros(3)
    view = sg.broadcast_to(x, (2, 3))
    results = sg.function([x], [sg.set_subtensor(x[1], 5.0), sg.inc_subtensor(x[[0, 0]], 1.0), sg.set_subtensor(view[0], 1.0)])(base)
    np.testing.assert_array_equal(base, 0.0)
    np.testing.assert_array_equal(results[0], [0.0, 5.0, 0.0])
    np.testing.assert_array_equal(results[2], [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool", "float32"])
def test_set_casts_the_value_like_numpy(dtype):
    x = sg.tensor("x", dtype=dtype, shape=(4,))
    expected = np.zeros(4, dtype)
    expected[1:3] = 2.7
    result = sg.set_subtensor(x[1:3], 2.7).eval({x: np.zeros(4, dtype)})
    np.testing.assert_array_equal(result, expected)
    assert result.dtype == np.dtype(dtype)


def test_inc_of_a_float_into_integers_is_a_type_error():
    with pytest.raises(TypeError, match=r"inc_subtensor: cannot add a value of type float64\[\] to operand int64\[\?\]"):
        sg.inc_subtensor(sg.vector("x", dtype="int64")[0], 1.5)


def test_write_value_must_broadcast_to_the_region():
    x = sg.tensor("x", shape=(5, 6))
    with pytest.raises(sg.ShapeError, match=r"set_subtensor: value float64\[4\] cannot be broadcast to the indexed region float64\[2,6\]"):
        sg.set_subtensor(x[1:3], np.zeros(4))
    with pytest.raises(sg.ShapeError, match="inc_subtensor: value .* has more dimensions"):
        sg.inc_subtensor(x[0], np.zeros((2, 6)))


@pytest.mark.parametrize("target", [sg.vector("x"), sg.exp(sg.vector("x")), np.zeros(3)], ids=["input", "exp", "array"])
def test_write_needs_an_indexing_result(target):
    with pytest.raises(TypeError, match="set_subtensor: the first argument must be the result of indexing a tensor"):
        sg.set_subtensor(target, 1.0)


def test_write_ops_are_named_after_their_functions():
    x = sg.vector("x")
    assert sg.set_subtensor(x[1:], 0.0).owner.op.name == "set_subtensor"
    assert str(sg.inc_subtensor(x[[0]], 1.0).owner.op) == "inc_subtensor[array]"


# ---------------------------------------------------------------- derivatives

GRADIENT_INDEXES = [
    (1, slice(None, None, -2)),
    (slice(None), None, -1),
    ([0, 0, 3], slice(1, 3)),
    (slice(None), [1, 1], [[0], [2]]),
    (MASK_0[:4], 1),
    (Ellipsis, [2, 0, 2]),
]


@pytest.mark.parametrize("index", GRADIENT_INDEXES, ids=short_id)
def test_getitem_gradient(rng, index):
    value = rng.standard_normal((4, 3, 3))
    weights = np.arange(1.0, 1.0 + value[index].size).reshape(value[index].shape)
    verify_grad(lambda x: x[index] * weights, [value], rng=0)


def test_getitem_gradient_accumulates_repeated_indices(rng):
    x = sg.vector("x")
    (g,) = sg.autodiff.vjp([x[[0, 2, 0]]], [x], [sg.constant([1.0, 2.0, 3.0])])
    np.testing.assert_array_equal(g.eval({x: np.zeros(3)}), [4.0, 0.0, 2.0])


def test_getitem_gradient_with_symbolic_index(rng):
    n = sg.scalar("n", dtype="int64")
    x = sg.matrix("x")
    (g,) = sg.autodiff.vjp([x[n, 1:]], [x], [sg.constant([1.0, 2.0])])
    np.testing.assert_array_equal(sg.function([x, n], g)(np.zeros((3, 3)), -1), [[0, 0, 0], [0, 0, 0], [0, 1.0, 2.0]])


@pytest.mark.parametrize("mode", ["set", "inc"])
@pytest.mark.parametrize("index, value_shape", [((1, slice(0, 2)), (2,)), (([0, 2], 1), (1,)), (MASK_0[:3], (3,))], ids=short_id)
def test_write_gradients(rng, mode, index, value_shape):
    write = sg.set_subtensor if mode == "set" else sg.inc_subtensor
    weights = np.arange(1.0, 10.0).reshape(3, 3)
    verify_grad(lambda x, v: write(x[index], v) * weights, [rng.standard_normal((3, 3)), rng.standard_normal(value_shape)], rng=0)


def test_getitem_and_write_pushforwards(rng):
    x, v, tx, tv = sg.matrix("x"), sg.vector("v"), sg.matrix("tx"), sg.vector("tv")
    outputs = [x[1:, [0, 0]], sg.set_subtensor(x[0], v), sg.inc_subtensor(x[[1, 1], 0], v)]
    tangents = jvp(outputs, [x, v], [tx, tv])
    values = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    tangent_values = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    results = sg.function([x, v, tx, tv], tangents)(*values, *tangent_values)
    expected = sg.function([x, v], outputs)(*tangent_values)  # the ops are linear in (x, v)
    for result, reference in zip(results, expected):
        np.testing.assert_allclose(result, reference)


def test_readable_lowering():
    x = sg.matrix("x")
    n = sg.scalar("n", dtype="int64")
    source = sg.function([x, n], [x[1:, None], x[n, ::2], x[[0, 1]], x[0, 1]]).source
    assert "x[1:, None]" in source
    assert "x[int(n), ::2]" in source
    assert "x[0, 1, ...]" in source


# ---------------------------------------------------------------- on the dask backend

def on_dask(inputs, outputs, values):
    """`outputs` computed by the dask backend (chunks of 2 along every axis, the synchronous scheduler)."""
    dask = pytest.importorskip("dask")
    with dask.config.set(scheduler="synchronous"):
        return sg.function(inputs, outputs, backend=sg.backend("dask", chunks=2))(*values)


@pytest.mark.parametrize("index", INDEXES, ids=short_id)
def test_getitem_on_dask_matches_numpy(rng, index):
    value = rng.standard_normal(SHAPE)
    x = sg.tensor("x", shape=SHAPE)
    symbolic, inputs, values = symbolize(index)  # index arrays and masks as inputs become dask arrays
    constant_index, symbolic_index = on_dask([x] + inputs, [x[index], x[symbolic]], [value] + values)
    assert_matches(x[index], constant_index, value[index], static=True)
    assert_matches(x[symbolic], symbolic_index, value[index], static=False)


@pytest.mark.parametrize("mode", ["set", "inc"])
@pytest.mark.parametrize("index, value_shape", WRITES, ids=short_id)
def test_writes_and_their_gradients_on_dask_match_numpy(rng, mode, index, value_shape):
    base, value = rng.standard_normal(SHAPE), rng.standard_normal(value_shape)
    x, v = sg.tensor("x", shape=SHAPE), sg.tensor("v", shape=value_shape)
    write = sg.set_subtensor if mode == "set" else sg.inc_subtensor
    symbolic, index_inputs, index_values = symbolize(index)
    weights = sg.constant(rng.standard_normal(SHAPE))
    outputs = []
    for target in (x[index], x[symbolic]):
        output = write(target, v)
        outputs += [output, *sg.grad(sg.sum(output * weights), [x, v])]
    inputs, values = [x, v] + index_inputs, [base, value] + index_values
    expected = sg.function(inputs, outputs)(*values)
    for result, reference in zip(on_dask(inputs, outputs, values), expected):
        np.testing.assert_allclose(result, reference, rtol=1e-12)
        assert result.dtype == reference.dtype
