"""Neural-net helpers against NumPy/SciPy: softmax, log_softmax, cumsum, categorical_crossentropy, with
stability at large inputs and derivatives in both modes."""
import numpy as np
import pytest
import scipy.special

import symgraph as sg
from op_testing import (DTYPES, assert_jvp_matches_finite_differences, assert_matches_numpy,
                        gradients_with_unknown_sizes, random_array, run)
from symgraph.autodiff import grad, verify_grad

NORMALIZERS = ["softmax", "log_softmax"]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int8"])
@pytest.mark.parametrize("axis", [-1, 0, 1, None, (0, 2)])
@pytest.mark.parametrize("name", NORMALIZERS)
def test_normalizers_match_scipy(rng, name, axis, dtype):
    value = random_array(rng, (2, 3, 4), dtype)
    rtol = 1e-2 if dtype == "int8" else 1e-5  # int8 inputs give float16 results, as np.exp does
    assert_matches_numpy(lambda x: getattr(sg, name)(x, axis=axis),
                         lambda v: getattr(scipy.special, name)(v, axis=axis), [value], rtol=rtol)


@pytest.mark.parametrize("name", NORMALIZERS)
def test_normalizers_default_to_the_last_axis(rng, name):
    value = rng.standard_normal((3, 4))
    assert_matches_numpy(getattr(sg, name), lambda v: getattr(scipy.special, name)(v, axis=-1), [value])


@pytest.mark.parametrize("name", NORMALIZERS)
def test_normalizers_are_stable_at_large_inputs(name):
    value = np.array([[1e3, 1e3 - 2.0, -1e3], [-1e3, -1e3, -1e3 + 1.0], [0.0, -np.inf, 1.0]])
    _, result = run(getattr(sg, name), [value])
    assert np.all(np.isfinite(result[np.isfinite(value)]))
    np.testing.assert_allclose(result, getattr(scipy.special, name)(value, axis=-1))


@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (2, 1)])
@pytest.mark.parametrize("name", NORMALIZERS)
def test_normalizers_of_sizes_zero_and_one(rng, name, shape):
    value = random_array(rng, shape)
    assert_matches_numpy(getattr(sg, name), lambda v: getattr(scipy.special, name)(v, axis=-1), [value])


@pytest.mark.parametrize("name", NORMALIZERS)
def test_normalizers_over_an_empty_axis_give_an_empty_result(name):
    # SciPy raises here (a maximum of nothing); the result has no entries, so symgraph returns it.
    _, result = run(getattr(sg, name), [np.zeros((3, 0))])
    assert result.shape == (3, 0) and result.dtype == np.float64


@pytest.mark.parametrize("name", NORMALIZERS)
def test_normalizers_are_ops_named_after_their_function(name):
    out = getattr(sg, name)(sg.matrix("z"), axis=0)
    assert out.owner.op.name == name and out.owner.op.axis == (0,)


@pytest.mark.parametrize("axis", [2, -3])
@pytest.mark.parametrize("name", NORMALIZERS)
def test_normalizers_reject_bad_axes(name, axis):
    with pytest.raises(np.exceptions.AxisError, match=rf"{name}: axis {axis} is out of bounds for operand float64"):
        getattr(sg, name)(sg.matrix("z"), axis=axis)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, axis", [((2, 3, 4), None), ((2, 3, 4), 0), ((2, 3, 4), -1), ((3,), 0), ((), None),
                                         ((), 0), ((0, 2), 0), ((1, 1), 1)])
def test_cumsum_matches_numpy(rng, shape, axis, dtype):
    value = random_array(rng, shape, dtype)
    assert_matches_numpy(lambda x: sg.cumsum(x, axis=axis), lambda v: np.cumsum(v, axis=axis), [value], rtol=1e-5)


def test_cumsum_method_and_errors():
    x = sg.matrix("x")
    assert x.cumsum(axis=1) is sg.cumsum(x, axis=1)
    with pytest.raises(np.exceptions.AxisError, match=r"cumsum: axis 2 is out of bounds for operand float64\[\?,\?\]"):
        sg.cumsum(x, axis=2)


DERIVATIVE_CASES = [
    ("softmax", lambda x: sg.softmax(x)),
    ("softmax axis 0", lambda x: sg.softmax(x, axis=0)),
    ("softmax all axes", lambda x: sg.softmax(x, axis=None)),
    ("log_softmax", lambda x: sg.log_softmax(x)),
    ("log_softmax axis 0", lambda x: sg.log_softmax(x, axis=0)),
    ("log_softmax tuple", lambda x: sg.log_softmax(x, axis=(0, 1))),
    ("cumsum flattened", lambda x: sg.cumsum(x)),
    ("cumsum axis 0", lambda x: sg.cumsum(x, axis=0)),
    ("cumsum axis -1", lambda x: sg.cumsum(x, axis=-1)),
    ("crossentropy probabilities", lambda x: sg.categorical_crossentropy(sg.softmax(x), sg.constant(np.eye(4)[[0, 3, 1]]))),
    ("crossentropy labels", lambda x: sg.categorical_crossentropy(sg.softmax(x), sg.constant([0, 3, 1]))),
]


@pytest.mark.parametrize("name, build", DERIVATIVE_CASES, ids=[c[0] for c in DERIVATIVE_CASES])
def test_gradients_match_finite_differences(rng, name, build):
    verify_grad(build, [rng.standard_normal((3, 4))], rng=0)


@pytest.mark.parametrize("name, build", DERIVATIVE_CASES, ids=[c[0] for c in DERIVATIVE_CASES])
def test_pushforwards_match_finite_differences(rng, name, build):
    assert_jvp_matches_finite_differences(build, [rng.standard_normal((3, 4))], rng)


@pytest.mark.parametrize("name, build", DERIVATIVE_CASES[:9], ids=[c[0] for c in DERIVATIVE_CASES[:9]])
def test_gradients_with_sizes_known_only_at_run_time(rng, name, build):
    static, dynamic = gradients_with_unknown_sizes(build, [rng.standard_normal((3, 4))], rng)
    np.testing.assert_allclose(dynamic[0], static[0], rtol=1e-12)


def test_softmax_crossentropy_gradient_is_probabilities_minus_one_hot(rng):
    z, y = sg.vector("z"), sg.scalar("y", dtype="int64")
    logits = rng.standard_normal(5) * 100
    gradient = sg.function([z, y], grad(-sg.log_softmax(z)[y], z))(logits, 2)
    np.testing.assert_allclose(gradient, scipy.special.softmax(logits) - np.eye(5)[2], atol=1e-12)


def test_cumsum_gradient_is_a_reversed_cumsum():
    x = sg.vector("x")
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    gradient = sg.function([x], grad(sg.sum(sg.cumsum(x) * weights), x), on_unused_input="ignore")(np.zeros(4))
    np.testing.assert_allclose(gradient, np.cumsum(weights[::-1])[::-1])


@pytest.mark.parametrize("labels_dtype", ["int64", "int32"])
def test_categorical_crossentropy_with_labels_and_probabilities(rng, labels_dtype):
    probabilities = scipy.special.softmax(rng.standard_normal((3, 4)), axis=-1)
    labels = np.array([2, 0, 3], dtype=labels_dtype)
    expected = -np.log(probabilities[np.arange(3), labels])
    _, by_label = run(sg.categorical_crossentropy, [probabilities, labels])
    _, by_one_hot = run(sg.categorical_crossentropy, [probabilities, np.eye(4)[labels]])
    _, single = run(sg.categorical_crossentropy, [probabilities[1], labels[1]])
    np.testing.assert_allclose(by_label, expected)
    np.testing.assert_allclose(by_one_hot, expected)
    np.testing.assert_allclose(single, expected[1])


@pytest.mark.parametrize("coding_shape, target", [
    ((2, 3, 4), sg.matrix("labels", dtype="int64")),
    ((3, 4), sg.matrix("labels", dtype="int64")),
    ((3, 4), sg.vector("probabilities")),
])
def test_categorical_crossentropy_rejects_mismatched_ranks(coding_shape, target):
    with pytest.raises(ValueError, match="categorical_crossentropy: .* got types"):
        sg.categorical_crossentropy(sg.tensor("p", shape=coding_shape), target)
