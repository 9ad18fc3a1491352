"""Reductions against NumPy/SciPy: values, dtypes, static shapes, axis handling, errors, and derivatives."""
import pickle

import numpy as np
import pytest
import scipy.special

import symgraph as sg
from op_testing import (DTYPES, assert_jvp_matches_finite_differences, assert_matches_numpy,
                        gradients_with_unknown_sizes, random_array, run)
from symgraph.autodiff import grad, verify_grad

REDUCTIONS = ["sum", "prod", "mean", "max", "min", "argmax", "argmin", "var", "std", "all", "any"]
AXES = [None, 0, -1, (0, 2), (-1, 0, 1), ()]
ONE_AXIS_KINDS = {"argmax", "argmin"}


def _cases():
    for kind in REDUCTIONS:
        for axis in AXES:
            if kind in ONE_AXIS_KINDS and not (axis is None or isinstance(axis, int)):
                continue
            yield kind, axis


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind, axis", list(_cases()))
def test_reduction_matches_numpy(rng, kind, axis, dtype, keepdims):
    value = random_array(rng, (2, 3, 4), dtype)
    assert_matches_numpy(
        lambda x: getattr(sg, kind)(x, axis=axis, keepdims=keepdims),
        lambda v: getattr(np, kind)(v, axis=axis, keepdims=keepdims),
        [value],
    )


@pytest.mark.parametrize("kind", REDUCTIONS + ["logsumexp"])
def test_op_name_is_the_public_function_name(kind):
    assert getattr(sg, kind)(sg.matrix("x"), axis=0).owner.op.name == kind


@pytest.mark.parametrize("kind", ["sum", "mean", "prod", "max", "min", "argmax", "argmin", "var", "std", "all", "any"])
def test_variable_methods_match_functions(kind):
    x = sg.matrix("x")
    assert getattr(x, kind)(axis=-1, keepdims=True) is getattr(sg, kind)(x, axis=-1, keepdims=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy warns about the mean of nothing, and so do we
@pytest.mark.parametrize("shape, axis", [((0, 3), 0), ((0, 3), 1), ((1, 1), None), ((1, 0), (0,)), ((), None), ((), ())])
@pytest.mark.parametrize("kind", ["sum", "prod", "mean", "var", "all", "any", "logsumexp"])
def test_sizes_zero_and_one(rng, kind, shape, axis):
    value = random_array(rng, shape)
    assert_matches_numpy(lambda x: getattr(sg, kind)(x, axis=axis), lambda v: _reference(kind)(v, axis=axis), [value])


def _reference(kind):
    if kind != "logsumexp":
        return getattr(np, kind)
    # SciPy gives 0-d inputs shape (1,); symgraph keeps NumPy's reduction shapes.
    return lambda v, axis: scipy.special.logsumexp(v, axis=axis).reshape(np.sum(v, axis=axis).shape)


@pytest.mark.parametrize("kind", ["max", "min", "argmax", "argmin"])
def test_extremum_of_empty_static_axis_is_a_shape_error(kind):
    x = sg.tensor("x", shape=(0, 3))
    with pytest.raises(sg.ShapeError, match=rf"{kind}: cannot reduce an empty axis of operand of type float64\[0,3\]"):
        getattr(sg, kind)(x, axis=0)
    assert getattr(sg, kind)(x, axis=1).type.shape == (0,)


@pytest.mark.parametrize("kind, dtype, value_dtype", [
    ("sum", "float32", "int32"), ("sum", "int8", "int64"), ("prod", "float64", "float32"), ("mean", "float32", "float64"),
])
def test_accumulator_dtype(rng, kind, dtype, value_dtype):
    value = random_array(rng, (3, 4), value_dtype)
    assert_matches_numpy(lambda x: getattr(sg, kind)(x, axis=1, dtype=dtype),
                         lambda v: getattr(np, kind)(v, axis=1, dtype=dtype), [value], rtol=1e-5)


@pytest.mark.parametrize("kind", ["cumsum", "cumprod", "sum", "prod"])
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "bool", "float32"])
@pytest.mark.parametrize("value", [np.array([[100, 100, -3], [2, 0, 7]], "int8"), np.array([[1.5, 2.5, 100.7], [0.0, -1.0, 3.0]]),
                                   np.array([[True, False, True], [True, True, True]])], ids=["int8", "float64", "bool"])
def test_running_and_total_accumulators_wrap_in_a_small_dtype_like_numpy(kind, dtype, value):
    with np.errstate(over="ignore"):
        assert_matches_numpy(lambda x: getattr(sg, kind)(x, axis=-1, dtype=dtype),
                             lambda v: getattr(np, kind)(v, axis=-1, dtype=dtype), [value], rtol=1e-5)


@pytest.mark.parametrize("kind", ["var", "std"])
@pytest.mark.parametrize("ddof", [1, 2, 0.5])
def test_ddof(rng, kind, ddof):
    value = random_array(rng, (3, 4))
    assert_matches_numpy(lambda x: getattr(sg, kind)(x, axis=0, ddof=ddof),
                         lambda v: getattr(np, kind)(v, axis=0, ddof=ddof), [value])


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1), ()])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_logsumexp_matches_scipy(rng, axis, keepdims, dtype):
    value = random_array(rng, (3, 4), dtype)
    assert_matches_numpy(lambda x: sg.logsumexp(x, axis=axis, keepdims=keepdims),
                         lambda v: scipy.special.logsumexp(v, axis=axis, keepdims=keepdims), [value], rtol=1e-5)


def test_logsumexp_is_stable_and_handles_infinities():
    value = np.array([[1e3, 1e3 - 1, -1e3], [-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0], [np.inf, 1.0, 2.0]])
    _, result = run(lambda x: sg.logsumexp(x, axis=1), [value])
    np.testing.assert_allclose(result, scipy.special.logsumexp(value, axis=1))
    assert np.isfinite(result[0]) and result[1] == -np.inf and result[3] == np.inf
    _, empty = run(lambda x: sg.logsumexp(x, axis=0), [np.zeros((0, 2))])
    np.testing.assert_array_equal(empty, [-np.inf, -np.inf])


@pytest.mark.parametrize("axis, error, message", [
    (2, np.exceptions.AxisError, r"sum: axis 2 is out of bounds for operand float64\[\?,\?\]"),
    (-3, np.exceptions.AxisError, r"sum: axis -3 is out of bounds"),
    ((0, -2), ValueError, r"sum: repeated axis"),
    (1.0, TypeError, r"sum: an axis must be an int"),
    ("0", TypeError, r"sum"),
])
def test_invalid_axis_errors(axis, error, message):
    with pytest.raises(error, match=message):
        sg.sum(sg.matrix("x"), axis=axis)


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [(0, 2), (2, 0), (-1, 1), (0, 1, 2), (1,)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_arg_reductions_over_a_tuple_of_axes_index_those_axes_flattened(kind, axis, keepdims):
    values = np.random.default_rng(3).integers(0, 4, (3, 4, 5)).astype(float)  # ties: the first one wins
    x = sg.tensor("x", shape=(None, None, None))
    got = sg.function([x], getattr(sg, kind)(x, axis=axis, keepdims=keepdims))(values)
    axes = sorted(a % 3 for a in axis)
    kept = [a for a in range(3) if a not in axes]
    expected = getattr(np, kind)(np.transpose(values, kept + axes).reshape([values.shape[a] for a in kept] + [-1]), -1)
    if keepdims:
        expected = np.expand_dims(expected, tuple(axes))
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64


def test_arg_reduction_axis_errors():
    with pytest.raises(TypeError, match="argmax: an axis must be an int, got 0.5"):
        sg.argmax(sg.matrix("x"), axis=(0, 0.5))
    with pytest.raises(ValueError, match=r"argmin: axis=\(\) reduces no axis of operand float64\[\?,\?\]"):
        sg.argmin(sg.matrix("x"), axis=())
    with pytest.raises(ValueError, match=r"argmax: repeated axis"):
        sg.argmax(sg.matrix("x"), axis=(0, -2))
    with pytest.raises(np.exceptions.AxisError, match=r"argmin: axis 1 is out of bounds"):
        sg.argmin(sg.vector("x"), axis=1)


def test_invalid_dtype_and_ddof():
    with pytest.raises(TypeError, match="sum: 'nonsense' is not a NumPy dtype"):
        sg.sum(sg.vector("x"), dtype="nonsense")
    with pytest.raises(TypeError, match="var: ddof must be a number"):
        sg.var(sg.vector("x"), ddof="1")


DIFFERENTIABLE = ["sum", "prod", "mean", "max", "min", "var", "std", "logsumexp"]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 1, -1, (0, 2), ()])
@pytest.mark.parametrize("kind", DIFFERENTIABLE)
def test_gradient_matches_finite_differences(rng, kind, axis, keepdims):
    value = rng.standard_normal((2, 3, 2)) + 0.5
    verify_grad(lambda x: getattr(sg, kind)(x, axis=axis, keepdims=keepdims), [value], rng=0)


@pytest.mark.parametrize("kind", DIFFERENTIABLE)
@pytest.mark.parametrize("axis", [None, 0, (1, 2)])
def test_gradient_with_sizes_known_only_at_run_time(rng, kind, axis):
    value = rng.standard_normal((3, 2, 4))
    static, dynamic = gradients_with_unknown_sizes(lambda x: getattr(sg, kind)(x, axis=axis, ddof=1)
                                                   if kind in ("var", "std") else getattr(sg, kind)(x, axis=axis),
                                                   [value], rng)
    np.testing.assert_allclose(dynamic[0], static[0], rtol=1e-12)


@pytest.mark.parametrize("kind", DIFFERENTIABLE)
@pytest.mark.parametrize("axis", [None, 1])
def test_pushforward_matches_finite_differences(rng, kind, axis):
    value = rng.standard_normal((3, 4))
    assert_jvp_matches_finite_differences(lambda x: getattr(sg, kind)(x, axis=axis), [value], rng)


@pytest.mark.parametrize("kind, value, expected", [
    ("max", [1.0, 3.0, 3.0, 1.0], [0.0, 0.5, 0.5, 0.0]),
    ("min", [1.0, 3.0, 1.0, 1.0], [1 / 3, 0.0, 1 / 3, 1 / 3]),
    ("max", [2.0, 1.0, 0.0, -1.0], [1.0, 0.0, 0.0, 0.0]),
])
def test_extremum_gradient_is_shared_between_ties(kind, value, expected):
    x = sg.vector("x")
    np.testing.assert_allclose(sg.function([x], grad(getattr(sg, kind)(x), x))(value), expected)


@pytest.mark.parametrize("value", [[2.0, 0.0, 3.0, -1.0], [0.0, 0.0, 3.0, 2.0], [0.0, 0.0, 0.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
def test_prod_gradient_with_zeros(value):
    value = np.array(value)
    x = sg.vector("x")
    g = sg.function([x], grad(sg.prod(x), x))(value)
    expected = [np.prod(np.delete(value, i)) for i in range(value.size)]
    np.testing.assert_allclose(g, expected)
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("value", [[2.0, 0.0, 3.0, -1.0], [0.0, 0.0, 3.0, 2.0], [0.0, 0.0, 0.0, 1.0], [1.0, 2.0, 3.0, 4.0],
                                   [[0.0, 2.0, 3.0], [0.0, -0.0, 5.0]]])
def test_prod_hessian_with_zeros_is_the_product_of_the_other_entries(value):
    value = np.array(value)
    x = sg.tensor("x", shape=(None,) * value.ndim)
    cost = sg.prod(x, axis=-1).sum()
    hessian = sg.function([x], sg.hessian(cost, x))(value)
    flat, rows = value.reshape(-1, value.shape[-1]), value.shape[-1]
    expected = np.zeros((flat.size, flat.size))
    for r, row in enumerate(flat):
        for i in range(rows):
            for j in range(rows):
                if i != j:
                    expected[r * rows + i, r * rows + j] = np.prod(np.delete(row, [i, j]))
    np.testing.assert_allclose(hessian.reshape(flat.size, flat.size), expected)


def test_logsumexp_gradient_is_softmax_even_for_large_inputs():
    value = np.array([1e3, 1e3 + 1.0, -1e3])
    x = sg.vector("x")
    g = sg.function([x], grad(sg.logsumexp(x), x))(value)
    np.testing.assert_allclose(g, scipy.special.softmax(value))


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "var"])
def test_integer_inputs_have_no_gradient(kind):
    x = sg.vector("n", dtype="int64")
    out = getattr(sg, kind)(x)
    assert out.owner.op.pullback([x], [out], [sg.scalar("g")]) == [None]


@pytest.mark.parametrize("kind", ["argmax", "argmin", "all", "any"])
def test_non_differentiable_reductions_give_no_gradient(kind):
    x = sg.vector("x")
    out = getattr(sg, kind)(x)
    assert out.owner.op.pullback([x], [out], [sg.scalar("g", dtype=out.dtype)]) == [None]


def test_float32_gradients_stay_float32(rng):
    x = sg.matrix("x", dtype="float32")
    cost = sg.mean(x) + sg.var(x, axis=0).sum() + sg.logsumexp(x)
    g = sg.function([x], grad(cost, x))(random_array(rng, (3, 4), "float32"))
    assert g.dtype == np.float32


def test_size_property_uses_prod():
    x = sg.tensor("x", shape=(None, 3))
    assert int(x.size.eval({x: np.zeros((4, 3))})) == 12


def test_lowering_is_readable():
    x = sg.matrix("x")
    source = sg.function([x], [x.sum(axis=1), x.argmax(), sg.var(x, axis=0, ddof=1)]).source
    assert "np.sum(x, axis=(1,))" in source
    assert "np.argmax(x, axis=None)" in source
    assert "np.var(x, axis=(0,), ddof=1)" in source


def test_compiled_reductions_survive_pickling(rng):
    x = sg.matrix("x")
    f = sg.function([x], [sg.logsumexp(x, axis=1), sg.var(x, ddof=1), sg.sum(x, axis=0, dtype="float32"), x.argmax(1)])
    value = rng.standard_normal((3, 4))
    for expected, result in zip(f(value), pickle.loads(pickle.dumps(f))(value)):
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "argmax", "argmin", "all", "any"])
def test_reduction_of_a_0d_tensor_takes_axis_0_as_numpy_does(name, axis, keepdims):
    s = sg.scalar("s")
    result = sg.function([s], getattr(sg, name)(s, axis=axis, keepdims=keepdims))(2.5)
    expected = getattr(np, name)(np.array(2.5), axis=axis, keepdims=keepdims)
    assert result.dtype == np.asarray(expected).dtype and result.shape == np.shape(expected)
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("name, axis", [("sum", 1), ("mean", 0), ("var", -1)])
def test_reduction_of_a_0d_tensor_refuses_the_axes_numpy_refuses(name, axis):
    with pytest.raises(np.exceptions.AxisError):
        getattr(np, name)(np.array(2.5), axis=axis)
    with pytest.raises(np.exceptions.AxisError):
        getattr(sg, name)(sg.scalar("s"), axis=axis)
