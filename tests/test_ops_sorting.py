"""Sorting and gathering against NumPy: values, dtypes, static and unknown sizes, both compile modes,
gradients (scatter-add for repeated indices), forward mode, and every error."""
import numpy as np
import pytest

import symgraph as sg

from op_testing import assert_jvp_matches_finite_differences, assert_matches_numpy, random_array, symbolic_like

MODES = [None, "fast_compile"]
DTYPES = ["float64", "float32", "int64", "int32"]


def compiled(build, values, mode=None, static=True):
    inputs = [symbolic_like(v, static, f"x{i}") for i, v in enumerate(values)]
    return sg.function(inputs, build(*inputs), mode=mode)(*values)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, axis", [((5,), -1), ((3, 4), 0), ((3, 4), -1), ((2, 3, 4), 1), ((3, 4), None),
                                         ((0, 3), 0), ((1,), 0), ((2, 0), -1)])
def test_sort_and_argsort_match_numpy(dtype, shape, axis, rng):
    x = random_array(rng, shape, dtype)
    assert_matches_numpy(lambda a: sg.sort(a, axis=axis), lambda a: np.sort(a, axis=axis), [x])
    assert_matches_numpy(lambda a: sg.argsort(a, axis=axis, kind="stable"),
                         lambda a: np.argsort(a, axis=axis, kind="stable").astype(np.int64), [x])


@pytest.mark.parametrize("mode", MODES)
def test_sort_puts_nan_last_and_keeps_ties_stable(mode):
    x = np.array([2.0, np.nan, 1.0, 2.0, -np.inf])
    np.testing.assert_array_equal(compiled(lambda a: sg.sort(a), [x], mode), np.sort(x))
    np.testing.assert_array_equal(compiled(lambda a: sg.argsort(a, kind="stable"), [x], mode), [4, 2, 0, 3, 1])


def test_sort_of_a_0d_tensor_needs_axis_none():
    assert compiled(lambda a: sg.sort(a, axis=None), [np.float64(3.0)]).tolist() == [3.0]
    with pytest.raises(np.exceptions.AxisError, match="sort: axis -1 is out of bounds"):
        sg.sort(sg.scalar("x"))


@pytest.mark.parametrize("kth", [0, 2, -1, [1, 3]])
@pytest.mark.parametrize("static", [True, False])
def test_partition_places_the_kth_elements(kth, static, rng):
    x = rng.standard_normal((3, 5))
    value = compiled(lambda a: sg.partition(a, kth, axis=1), [x], static=static)
    indices = compiled(lambda a: sg.argpartition(a, kth, axis=1), [x], static=static)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(value, np.take_along_axis(x, indices, axis=1))
    ordered = np.sort(x, axis=1)
    for k in np.atleast_1d(kth):
        np.testing.assert_array_equal(value[:, k], ordered[:, k])
        assert np.all(value[:, :k % 5] <= value[:, [k]]) and np.all(value[:, k % 5:] >= value[:, [k]])
    np.testing.assert_array_equal(np.sort(value, axis=1), ordered)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_take_matches_numpy(mode, dtype, rng):
    a = random_array(rng, (3, 4, 2), dtype)
    for indices, axis in [(np.array([2, 0, 2]), 1), (np.array([[1, -1], [0, 0]]), 0), (np.array([5, 23]), None),
                          (np.array([], dtype=np.int64), 2), (np.array(1), 1)]:
        expected = np.take(a, indices, axis=axis)
        result = compiled(lambda x: sg.take(x, indices, axis=axis), [a], mode)
        assert result.dtype == expected.dtype
        np.testing.assert_array_equal(result, expected)


def test_take_with_symbolic_indices_and_unknown_sizes(rng):
    a = rng.standard_normal((4, 3))
    assert_matches_numpy(lambda x, i: sg.take(x, i, axis=0), lambda x, i: np.take(x, i, axis=0), [a, np.array([3, 1, 3])])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("arr_shape, index_shape, axis", [
    ((3, 4), (3, 2), 1), ((3, 4), (5, 4), 0), ((2, 3, 4), (2, 3, 1), -1), ((3, 4), (1, 4), 0), ((1, 4), (3, 2), 1),
    ((6,), (4,), 0), ((3, 4), (5,), None), ((0, 4), (0, 2), 1),
])
def test_take_along_axis_matches_numpy(mode, arr_shape, index_shape, axis, rng):
    arr = rng.standard_normal(arr_shape).astype("float32")
    size = int(np.prod(arr_shape)) if axis is None else arr_shape[axis]
    indices = rng.integers(-size, size, index_shape) if size else np.zeros(index_shape, dtype=np.int64)
    expected = np.take_along_axis(arr, indices, axis=axis)
    for static in (True, False):
        result = compiled(lambda a, i: sg.take_along_axis(a, i, axis), [arr, indices], mode, static)
        assert result.dtype == np.float32
        np.testing.assert_array_equal(result, expected)


def test_take_along_axis_with_argsort_sorts(rng):
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(compiled(lambda a: sg.take_along_axis(a, sg.argsort(a, axis=0), 0), [x]), np.sort(x, axis=0))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("axis", [0, 1, None])
def test_put_along_axis_matches_numpy_without_changing_its_input(mode, axis, rng):
    arr = rng.standard_normal((3, 4))
    indices = np.array([1, 7, 7]) if axis is None else (np.array([[2, 0, 2, 1]]) if axis == 0 else np.array([[3], [0], [3]]))
    values = np.array([10.0, 20.0, 30.0]) if axis is None else np.array(5.0)
    expected = arr.copy()
    np.put_along_axis(expected, indices, values, axis=axis)
    original = arr.copy()
    result = compiled(lambda a: sg.put_along_axis(a, indices, values, axis), [arr], mode)
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(arr, original)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy(mode, side, rng):
    a = np.sort(rng.integers(0, 6, 8)).astype("float64")
    v = rng.integers(-1, 7, (2, 3)).astype("int32")
    expected = np.searchsorted(a, v, side=side)
    result = compiled(lambda s, x: sg.searchsorted(s, x, side=side), [a, v], mode)
    assert result.dtype == np.int64 and result.shape == (2, 3)
    np.testing.assert_array_equal(result, expected)
    unsorted = rng.permutation(a)
    sorter = np.argsort(unsorted)
    np.testing.assert_array_equal(compiled(lambda s, x: sg.searchsorted(s, x, side, sorter=sorter), [unsorted, v], mode),
                                  np.searchsorted(unsorted, v, side=side, sorter=sorter))
    assert compiled(lambda s: sg.searchsorted(s, 2.5), [a]).shape == ()


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("axis", [0, -1, None])
def test_sort_gradient_moves_back_to_the_source_positions(axis, rng):
    x = rng.standard_normal((3, 4))
    sg.verify_grad(lambda a: sg.sort(a, axis=axis), [x], rng=rng)
    u = rng.standard_normal(np.sort(x, axis=axis).shape)
    v = sg.tensor("x", shape=x.shape)
    grad = sg.function([v], sg.grad(sg.sum(sg.sort(v, axis=axis) * u), v))(x)
    expected = np.zeros(x.size if axis is None else x.shape)
    order = np.argsort(x, axis=axis)
    if axis is None:
        expected[order] = u
        expected = expected.reshape(x.shape)
    else:
        np.put_along_axis(expected, order, u, axis=axis)
    np.testing.assert_allclose(grad, expected)


def test_second_derivative_through_sort(rng):
    x = rng.standard_normal((2, 5))
    weights = np.arange(5.0)
    sg.verify_grad(lambda a: sg.grad(sg.sum(sg.sort(a) ** 3 * weights), a), [x], rng=rng)


def test_gather_gradients_add_up_repeated_indices(rng):
    x = rng.standard_normal((2, 3))
    v = sg.tensor("x", shape=(2, 3))
    indices = np.array([[0, 0, 2, 0]])
    grad = sg.function([v], sg.grad(sg.sum(sg.take_along_axis(v, np.repeat(indices, 2, 0), 1)), v), on_unused_input="ignore")(x)
    np.testing.assert_array_equal(grad, [[3.0, 0.0, 1.0], [3.0, 0.0, 1.0]])
    grad = sg.function([v], sg.grad(sg.sum(sg.take(v, [4, 4, 0])), v), on_unused_input="ignore")(x)
    np.testing.assert_array_equal(grad, [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    sg.verify_grad(lambda a: sg.take(a, np.array([[1, 1], [0, 2]]), axis=1), [x], rng=rng)


def test_put_along_axis_gradient_reaches_only_surviving_writes(rng):
    x, values = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    indices = np.array([[1, 1], [0, 2]])
    sg.verify_grad(lambda a, v: sg.put_along_axis(a, indices, v, 1), [x, values], rng=rng)
    a, v = sg.tensor("a", shape=(2, 3)), sg.tensor("v", shape=(2, 2))
    ga, gv = sg.function([a, v], sg.grad(sg.sum(sg.put_along_axis(a, indices, v, 1)), [a, v]), on_unused_input="ignore")(x, values)
    np.testing.assert_array_equal(ga, [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(gv, [[0.0, 1.0], [1.0, 1.0]])


def test_integer_results_carry_no_gradient(rng):
    x = sg.vector("x")
    cost = sg.sum(sg.cast(sg.argsort(x) + sg.argpartition(x, 1) + sg.searchsorted(x, x), "float64"))
    np.testing.assert_array_equal(sg.function([x], sg.grad(cost, x))([3.0, 1.0, 2.0]), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("build", [
    lambda a: sg.sort(a, axis=0), lambda a: sg.partition(a, 2, axis=1), lambda a: sg.take(a, [3, 0, 3], axis=1),
    lambda a: sg.take_along_axis(a, np.array([[2, 2, 0, 1]]), 0),
])
def test_forward_mode_matches_finite_differences(build, rng):
    assert_jvp_matches_finite_differences(build, [rng.standard_normal((3, 4))], rng)


def test_jacobian_of_sort_batches(rng):
    x = rng.standard_normal(4)
    v = sg.vector("x", shape=(4,))
    jac = sg.function([v], sg.jacobian(sg.sort(v), v))(x)
    np.testing.assert_array_equal(jac, np.eye(4)[np.argsort(x)])


# ---------------------------------------------------------------- errors


def test_bad_arguments_raise_naming_the_operation():
    x, m = sg.vector("x"), sg.matrix("m")
    with pytest.raises(ValueError, match="sort: kind must be one of"):
        sg.sort(x, kind="bogo")
    with pytest.raises(np.exceptions.AxisError, match="argsort: axis 2 is out of bounds for operand float64"):
        sg.argsort(m, axis=2)
    with pytest.raises(TypeError, match="partition: kth must be an int or a sequence of ints"):
        sg.partition(x, sg.scalar("k", dtype="int64"))
    with pytest.raises(ValueError, match=r"argpartition: kth 4 is out of bounds for axis 0 of operand float64\[4\]"):
        sg.argpartition(sg.vector("y", shape=(4,)), 4)
    with pytest.raises(TypeError, match=r"take: indices must have an integer dtype, got float64\[\?\]"):
        sg.take(x, x)
    with pytest.raises(ValueError, match=r"take_along_axis: indices must have the same number of dimensions as arr, "
                                         r"got types float64\[\?,\?\] and int64\[2\]"):
        sg.take_along_axis(m, np.array([0, 1]), 1)
    with pytest.raises(ValueError, match="put_along_axis: with axis=None indices must be 1-d"):
        sg.put_along_axis(m, np.array([[0]]), 1.0, None)
    with pytest.raises(sg.ShapeError, match=r"searchsorted: the sorted operand must be 1-d, got types float64\[\?,\?\]"):
        sg.searchsorted(m, x)
    with pytest.raises(ValueError, match="searchsorted: side must be 'left' or 'right'"):
        sg.searchsorted(x, x, side="middle")



def test_unique_explains_why_it_is_not_available():
    with pytest.raises(NotImplementedError, match="unique: the size of its result depends on the data"):
        sg.unique(sg.vector("x"))


def test_out_of_range_indices_fail_at_run_time_naming_the_node():
    x = sg.vector("x")
    f = sg.function([x], sg.take(x, [5]))
    with pytest.raises(IndexError, match="test_ops_sorting.py"):
        f(np.zeros(3))
