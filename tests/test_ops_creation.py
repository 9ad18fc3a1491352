"""Creation ops against NumPy: zeros, ones, full, *_like, arange, eye, with static and symbolic sizes."""
import numpy as np
import pytest

import symgraph as sg
from op_testing import DTYPES, random_array
from symgraph.autodiff import grad, jvp


def _check(output, result, expected):
    assert result.dtype == expected.dtype and output.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)
    assert all(s is None or s == e for s, e in zip(output.type.shape, expected.shape))


@pytest.mark.parametrize("dtype", DTYPES + [None])
@pytest.mark.parametrize("shape", [(), 3, (2, 3), (0, 4), (1,)])
@pytest.mark.parametrize("name", ["zeros", "ones"])
def test_zeros_and_ones_with_static_shapes(name, shape, dtype):
    output = getattr(sg, name)(shape, dtype=dtype)
    expected = getattr(np, name)(shape, dtype=dtype)
    _check(output, sg.function([], output)(), expected)
    assert output.type.shape == expected.shape


@pytest.mark.parametrize("fill_value, dtype", [(7, None), (2.5, None), (True, None), (2.7, "int32"), (1, "float32"),
                                               (np.array([1.0, 2.0, 3.0]), None)])
def test_full_matches_numpy(fill_value, dtype):
    output = sg.full((2, 3), fill_value, dtype=dtype)
    _check(output, sg.function([], output)(), np.full((2, 3), fill_value, dtype=dtype))


def test_default_dtype_is_floatx():
    previous = sg.config.floatX
    sg.config.floatX = "float32"
    try:
        assert sg.zeros(3).dtype == np.float32 and sg.ones((2, 2)).dtype == np.float32 and sg.eye(2).dtype == np.float32
    finally:
        sg.config.floatX = previous
    assert sg.zeros(3).dtype == np.float64


def test_symbolic_sizes_in_a_tuple():
    x = sg.tensor("x", shape=(None, 3))
    n = sg.scalar("n", dtype="int32")
    outputs = [sg.zeros((x.shape[0], 2)), sg.ones((n, x.shape[1])), sg.full((2, n), 1.5)]
    assert [o.type.shape for o in outputs] == [(None, 2), (None, 3), (2, None)]
    results = sg.function([x, n], outputs)(np.ones((4, 3)), 5)
    for result, expected in zip(results, [np.zeros((4, 2)), np.ones((5, 3)), np.full((2, 5), 1.5)]):
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("static_shape", [(2, 3), (None, 3), (None, None)])
def test_shape_vector_argument(static_shape):
    x = sg.tensor("x", shape=static_shape)
    output = sg.zeros(x.shape, dtype="int32")
    assert output.type.shape == static_shape
    result = sg.function([x], output, on_unused_input="ignore")(np.ones((2, 3)))
    _check(output, result, np.zeros((2, 3), dtype="int32"))


def test_symbolic_scalar_size():
    n = sg.scalar("n", dtype="int64")
    output = sg.ones(n)
    assert output.type.shape == (None,)
    np.testing.assert_array_equal(sg.function([n], output)(4), np.ones(4))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize("name", ["zeros_like", "ones_like"])
def test_like_functions(rng, name, static, dtype):
    value = random_array(rng, (2, 3), dtype)
    x = sg.tensor("x", dtype=dtype, shape=value.shape if static else (None, None))
    output = getattr(sg, name)(x)
    assert output.type.shape == x.type.shape
    _check(output, sg.function([x], output, on_unused_input="ignore")(value), getattr(np, name)(value))


@pytest.mark.parametrize("dtype", [None, "float32", "int64", "bool"])
def test_like_functions_with_dtype(rng, dtype):
    value = random_array(rng, (3,), "int32")
    x = sg.vector("x", dtype="int32")
    outputs = [sg.zeros_like(x, dtype=dtype), sg.ones_like(x, dtype=dtype), sg.full_like(x, 2.7, dtype=dtype)]
    results = sg.function([x], outputs)(value)
    for output, result, expected in zip(outputs, results, [np.zeros_like(value, dtype=dtype), np.ones_like(value, dtype=dtype),
                                                           np.full_like(value, 2.7, dtype=dtype)]):
        _check(output, result, expected)


def test_like_functions_of_a_scalar_and_of_values():
    assert sg.zeros_like(sg.scalar("s")).type.shape == ()
    np.testing.assert_array_equal(sg.ones_like([[1, 2]]).eval(), np.ones((1, 2), dtype=np.int64))


ARANGE_CASES = [(5,), (0,), (-3,), (2, 7), (7, 2), (1, 10, 3), (10, 1, -3), (0.5, 3), (0, 1, 0.1), (-1.5, 1.5, 0.5),
                (3, 1, 1), (0, 10, 20)]


@pytest.mark.parametrize("args", ARANGE_CASES)
def test_arange_with_static_arguments(args):
    output = sg.arange(*args)
    expected = np.arange(*args)
    _check(output, sg.function([], output)(), expected)
    assert output.type.shape == expected.shape


@pytest.mark.parametrize("dtype", ["int64", "int32", "float64", "float32"])
def test_arange_with_symbolic_arguments(dtype):
    start, stop = sg.scalar("start", dtype=dtype), sg.scalar("stop", dtype=dtype)
    output = sg.arange(start, stop, 2)
    assert output.type.shape == (None,)
    expected = np.arange(np.array(1, dtype), np.array(8, dtype), 2)
    _check(output, sg.function([start, stop], output)(1, 8), expected)


def test_arange_of_a_static_size_is_static():
    x = sg.tensor("x", shape=(4, None))
    assert sg.arange(x.shape[0]).type.shape == (4,)
    assert sg.arange(x.shape[1]).type.shape == (None,)


@pytest.mark.parametrize("dtype", ["float32", "int8", "int64"])
def test_arange_dtype_argument(dtype):
    output = sg.arange(0, 6, 2, dtype=dtype)
    _check(output, sg.function([], output)(), np.arange(0, 6, 2, dtype=dtype))


def test_arange_errors():
    with pytest.raises(ValueError, match="arange: step must not be zero"):
        sg.arange(0, 5, 0)
    with pytest.raises(TypeError, match=r"arange: stop must be a 0-d number .* got float64\[\?\]"):
        sg.arange(sg.vector("v"))


@pytest.mark.parametrize("args", [(3,), (3, 4), (4, 3), (3, None, 1), (3, 4, -2), (3, 3, 5), (0,), (1,)])
@pytest.mark.parametrize("dtype", [None, "int32", "bool"])
def test_eye_matches_numpy(args, dtype):
    output = sg.eye(*args, dtype=dtype)
    expected = np.eye(*args, dtype=dtype or "float64")
    _check(output, sg.function([], output)(), expected)
    assert output.type.shape == expected.shape


def test_eye_with_symbolic_sizes():
    n, k = sg.scalar("n", dtype="int64"), sg.scalar("k", dtype="int32")
    output = sg.eye(n, 3, k)
    assert output.type.shape == (None, 3)
    np.testing.assert_array_equal(sg.function([n, k], output)(4, -1), np.eye(4, 3, -1))


@pytest.mark.parametrize("build, error, message", [
    (lambda: sg.zeros((2, -1)), ValueError, r"zeros: negative dimensions are not allowed"),
    (lambda: sg.ones((2.0, 3)), TypeError, "ones: a size must be an int"),
    (lambda: sg.zeros(sg.matrix("m", dtype="int64")), TypeError, "zeros: the shape must be a 1-d integer vector"),
    (lambda: sg.zeros(sg.vector("v")), TypeError, "zeros: the shape must have an integer dtype"),
    (lambda: sg.full((2, 3), np.ones(4)), sg.ShapeError, r"full: fill value of type float64\[4\] does not broadcast"),
    (lambda: sg.eye(-2), ValueError, "eye: negative dimensions"),
    (lambda: sg.eye(2.5), TypeError, "eye: N must be a 0-d number"),
    (lambda: sg.zeros(3, dtype="U3"), TypeError, "not supported"),
])
def test_creation_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_negative_symbolic_size_fails_at_run_time():
    n = sg.scalar("n", dtype="int64")
    with pytest.raises(ValueError, match="negative dimensions"):
        sg.function([n], sg.zeros((n, 2)))(-1)


def test_gradient_of_a_symbolic_fill_value():
    v = sg.scalar("v")
    row = sg.vector("row")
    cost = sg.sum(sg.full((2, 3), v) * sg.arange(6.0).reshape((2, 3))) + sg.sum(sg.full((4, 3), row))
    gv, grow = sg.function([v, row], grad(cost, [v, row]), on_unused_input="ignore")(1.0, np.ones(3))
    assert float(gv) == 15.0
    np.testing.assert_array_equal(grow, [4.0, 4.0, 4.0])


def test_full_pushforward_broadcasts_the_tangent():
    v, t = sg.scalar("v"), sg.scalar("t")
    result = sg.function([v, t], jvp(sg.full((2, 2), v), v, t), on_unused_input="ignore")(1.0, 3.0)
    np.testing.assert_array_equal(result, np.full((2, 2), 3.0))


def test_creation_ops_carry_no_gradient_to_their_sizes_or_like_argument():
    x = sg.vector("x")
    zeros = sg.zeros_like(x)
    assert zeros.owner.op.pullback(zeros.owner.inputs, [zeros], [sg.vector("g")])[1] is None
    np.testing.assert_array_equal(sg.function([x], grad(sg.sum(zeros + x), x))(np.ones(3)), np.ones(3))
    ramp = sg.arange(sg.scalar("n", dtype="int64"))
    assert ramp.owner.op.pullback(ramp.owner.inputs, [ramp], [sg.vector("g")]) == [None, None, None]
    square = sg.eye(sg.scalar("n", dtype="int64"))
    assert square.owner.op.pullback(square.owner.inputs, [square], [sg.matrix("g")]) == [None, None, None]


def test_op_names_and_readable_lowering():
    n = sg.scalar("n", dtype="int64")
    outputs = [sg.zeros((2, 3)), sg.arange(n), sg.eye(n)]
    assert [o.owner.op.name for o in outputs] == ["full", "arange", "eye"]
    source = sg.function([n], outputs, mode="fast_compile").source
    assert "np.full((2, 3), " in source and "np.arange(" in source and "np.eye(int(n), int(n), " in source


@pytest.mark.parametrize("build, message", [
    (lambda: sg.full((3,), 300, dtype="uint8"), r"full: Python integer 300 out of bounds for uint8"),
    (lambda: sg.full_like(sg.vector("u", dtype="uint8"), -1), r"full_like: Python integer -1 out of bounds for uint8"),
    (lambda: sg.full((2,), 2**40, dtype="int32"), r"full: Python integer 1099511627776 out of bounds for int32"),
])
def test_a_python_int_fill_value_outside_the_dtype_raises_as_in_numpy(build, message):
    with pytest.raises(OverflowError, match=message):
        build()


def test_fill_values_in_range_and_casts_numpy_allows_are_kept():
    v = sg.vector("v", dtype="int64")
    np.testing.assert_array_equal(sg.full((2,), 255, dtype="uint8").eval(), np.full((2,), 255, dtype="uint8"))
    np.testing.assert_array_equal(sg.full_like(v, 2.7).eval({v: [1, 2]}), np.full_like(np.array([1, 2]), 2.7))


def test_arange_takes_its_bounds_by_keyword_as_numpy_does():
    np.testing.assert_array_equal(sg.arange(stop=4).eval(), np.arange(stop=4))
    np.testing.assert_array_equal(sg.arange(start=2, stop=5).eval(), np.arange(start=2, stop=5))
    with pytest.raises(TypeError, match="arange: stop must be given"):
        sg.arange()


@pytest.mark.parametrize("build, name", [
    (lambda: sg.zeros(2, dtype="nope"), "zeros"), (lambda: sg.ones(2, dtype="nope"), "ones"),
    (lambda: sg.full(2, 1, dtype="nope"), "full"), (lambda: sg.zeros_like(sg.vector("x"), dtype="nope"), "zeros_like"),
    (lambda: sg.arange(3, dtype="nope"), "arange"), (lambda: sg.eye(2, dtype="nope"), "eye"),
    (lambda: sg.linspace(0, 1, 3, dtype="nope"), "linspace"),
])
def test_an_unknown_dtype_names_the_operation(build, name):
    with pytest.raises(TypeError, match=f"{name}: 'nope' is not a NumPy dtype"):
        build()
