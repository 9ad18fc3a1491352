"""Shape ops against NumPy: reshape, flatten, broadcast_to, transpose, swapaxes, expand_dims, squeeze,
concatenate and stack: values, static shapes, errors, and derivatives in both modes."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.autodiff import jvp, verify_grad

DTYPES = ["float32", "float64", "int32", "int64", "bool"]


def random_array(rng, shape, dtype="float64"):
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind == "i":
        return rng.integers(-5, 5, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def symbolic_like(value, static=True, name="x"):
    """A symbolic input of value's dtype and rank, with static sizes or all sizes unknown."""
    shape = value.shape if static else (None,) * value.ndim
    return sg.tensor(name, dtype=value.dtype, shape=shape)


def evaluate(build, *values, static=True):
    """Compile build(*symbolic inputs) and run it on `values`."""
    inputs = [symbolic_like(v, static, f"x{i}") for i, v in enumerate(values)]
    output = build(*inputs)
    result = sg.function(inputs, output)(*values)
    return output, result


def check_against_numpy(build, reference, *values):
    """Same values, dtype and (static where known) shape as NumPy, with static and unknown input sizes."""
    expected = reference(*values)
    for static in (True, False):
        output, result = evaluate(build, *values, static=static)
        np.testing.assert_array_equal(result, expected)
        assert result.dtype == expected.dtype
        assert output.ndim == expected.ndim
        assert all(s is None or s == e for s, e in zip(output.type.shape, expected.shape))
        if static:
            assert output.type.shape == expected.shape


def check_linear_derivatives(build, *values):
    """Shape ops are linear: jvp(f)(t) = f(t), and verify_grad checks the pullback numerically."""
    verify_grad(build, list(values), rng=0)
    inputs = [symbolic_like(v, name=f"x{i}") for i, v in enumerate(values)]
    tangents = [symbolic_like(v, name=f"t{i}") for i, v in enumerate(values)]
    (forward,) = jvp([build(*inputs)], inputs, tangents)
    tangent_values = [v[::-1].copy() + 1 for v in values]
    result = sg.function(inputs + tangents, forward, on_unused_input="ignore")(*values, *tangent_values)
    np.testing.assert_allclose(result, sg.function(inputs, build(*inputs))(*tangent_values))


# ---------------------------------------------------------------- reshape / flatten

RESHAPES = [
    ((2, 6), (3, 4)),
    ((2, 6), (3, -1)),
    ((2, 3, 4), (-1,)),
    ((2, 3, 4), (4, 1, -1)),
    ((6,), (1, 6, 1)),
    ((), (1, 1)),
    ((1, 1), ()),
    ((0, 3), (3, 0)),
    ((0, 3), (3, -1)),
    ((4,), -1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, target", RESHAPES)
def test_reshape_matches_numpy(rng, shape, target, dtype):
    check_against_numpy(lambda x: sg.reshape(x, target), lambda a: np.reshape(a, target), random_array(rng, shape, dtype))


def test_reshape_method_takes_sizes_or_a_tuple(rng):
    value = random_array(rng, (2, 3))
    x = symbolic_like(value)
    assert x.reshape(3, 2) is x.reshape((3, 2))
    np.testing.assert_array_equal(x.reshape(3, 2).eval({x: value}), value.reshape(3, 2))
    np.testing.assert_array_equal(x.reshape(-1).eval({x: value}), value.reshape(-1))


def test_reshape_to_symbolic_sizes(rng):
    value = random_array(rng, (4, 6))
    x = sg.matrix("x")
    n = sg.scalar("n", dtype="int32")
    y = sg.reshape(x, (n, -1, 2))
    assert y.type.shape == (None, None, 2)
    np.testing.assert_array_equal(sg.function([x, n], y)(value, 3), value.reshape(3, -1, 2))


def test_reshape_to_another_tensors_shape(rng):
    value, other = random_array(rng, (2, 6)), random_array(rng, (3, 4))
    x, y = sg.matrix("x"), sg.matrix("y")
    result = sg.function([x, y], sg.reshape(x, y.shape))(value, other)
    np.testing.assert_array_equal(result, value.reshape(3, 4))


def test_reshape_uses_known_sizes_of_symbolic_shapes():
    x = sg.tensor("x", shape=(2, 6))
    y = sg.tensor("y", shape=(3, None))
    assert sg.reshape(x, y.shape).type.shape == (3, 4)
    assert sg.reshape(x, (y.shape[0], -1)).type.shape == (3, 4)
    assert sg.reshape(x, (sg.scalar("n", dtype="int64"), 4)).type.shape == (3, 4)


@pytest.mark.parametrize("shape, target", [((3, 4), (5, -1)), ((3, 4), (5, 3)), ((2, 3), (0, -1)), ((0, 3), (0, -1))])
def test_reshape_contradiction_is_a_build_time_shape_error(shape, target):
    x = sg.tensor("x", shape=shape)
    with pytest.raises(sg.ShapeError, match=r"reshape: cannot reshape operand float64\[.*\] to shape"):
        sg.reshape(x, target)


@pytest.mark.parametrize(
    "target, error, message",
    [
        ((-1, -1), ValueError, "only specify one unknown"),
        ((2, -3), ValueError, "negative size -3"),
        ((2.0, 3), TypeError, "a size must be an int"),
        ("ab", TypeError, "the shape must be an int or a tuple"),
    ],
)
def test_reshape_rejects_bad_shapes(target, error, message):
    with pytest.raises(error, match=message):
        sg.reshape(sg.matrix("x"), target)


def test_reshape_rejects_non_integer_shape_vectors():
    with pytest.raises(TypeError, match="reshape: the shape must have an integer dtype"):
        sg.reshape(sg.matrix("x"), sg.vector("s", shape=(2,)))
    with pytest.raises(TypeError, match="reshape: a shape vector needs a static length"):
        sg.reshape(sg.matrix("x"), sg.vector("s", dtype="int64"))


def test_reshape_mismatch_at_run_time_is_reported():
    x = sg.matrix("x")
    with pytest.raises(ValueError, match="reshape"):
        sg.function([x], sg.reshape(x, (5, -1)))(np.zeros((3, 4)))


def test_reshape_to_the_same_static_shape_is_the_input():
    x = sg.tensor("x", shape=(2, 3))
    assert sg.reshape(x, (2, 3)) is x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 4), (5,), (), (0, 2)])
def test_flatten_matches_numpy(rng, shape, dtype):
    check_against_numpy(lambda x: x.flatten(), lambda a: a.flatten(), random_array(rng, shape, dtype))


def test_reshape_derivatives(rng):
    check_linear_derivatives(lambda x: sg.reshape(x, (3, -1)), random_array(rng, (2, 6)))
    check_linear_derivatives(lambda x: x.flatten() * np.arange(12.0), random_array(rng, (2, 6)))


def test_reshape_gradient_with_symbolic_shape(rng):
    value = random_array(rng, (2, 6))
    n = sg.scalar("n", dtype="int64")
    x, u = sg.matrix("x"), sg.matrix("u")
    (g,) = sg.autodiff.vjp([sg.reshape(x, (n, -1))], [x], [u])
    u_value = random_array(rng, (4, 3))
    np.testing.assert_array_equal(sg.function([x, n, u], g)(value, 4, u_value), u_value.reshape(2, 6))


# ---------------------------------------------------------------- broadcast_to

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, target", [((3,), (2, 3)), ((1, 3), (4, 3)), ((), (2, 2)), ((2, 1), (3, 2, 5)), ((1,), (0,))])
def test_broadcast_to_matches_numpy(rng, shape, target, dtype):
    check_against_numpy(
        lambda x: sg.broadcast_to(x, target), lambda a: np.broadcast_to(a, target), random_array(rng, shape, dtype)
    )


def test_broadcast_to_symbolic_shape(rng):
    value, other = random_array(rng, (3,)), random_array(rng, (2, 3))
    x, y = sg.vector("x"), sg.matrix("y")
    z = sg.broadcast_to(x, y.shape)
    np.testing.assert_array_equal(sg.function([x, y], z)(value, other), np.broadcast_to(value, (2, 3)))
    n = sg.scalar("n", dtype="int64")
    z = sg.broadcast_to(sg.tensor("v", shape=(3,)), (n, 3))
    assert z.type.shape == (None, 3)


def test_broadcast_to_keeps_known_sizes_for_unknown_targets():
    n = sg.scalar("n", dtype="int64")
    assert sg.broadcast_to(sg.tensor("v", shape=(1, 3)), (n, n)).type.shape == (None, 3)


@pytest.mark.parametrize("shape, target", [((3,), (4,)), ((2, 3), (3,)), ((2, 3), (2, 2))])
def test_broadcast_to_contradiction_is_a_shape_error(shape, target):
    with pytest.raises(sg.ShapeError, match=r"broadcast_to: .*operand float64\["):
        sg.broadcast_to(sg.tensor("x", shape=shape), target)


def test_broadcast_to_rejects_negative_sizes():
    with pytest.raises(ValueError, match="broadcast_to: negative size -1"):
        sg.broadcast_to(sg.vector("x"), (-1,))


def test_broadcast_to_derivatives(rng):
    check_linear_derivatives(lambda x: sg.broadcast_to(x, (4, 2, 3)) * np.arange(24.0).reshape(4, 2, 3),
                             random_array(rng, (2, 1)))


# ---------------------------------------------------------------- transpose / swapaxes

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, axes", [((2, 3), None), ((2, 3, 4), None), ((2, 3, 4), (1, 0, 2)), ((2, 3, 4), (-1, 0, 1)), ((3,), None)]
)
def test_transpose_matches_numpy(rng, shape, axes, dtype):
    check_against_numpy(lambda x: sg.transpose(x, axes), lambda a: np.transpose(a, axes), random_array(rng, shape, dtype))


def test_transpose_methods(rng):
    value = random_array(rng, (2, 3, 4))
    x = symbolic_like(value)
    for y, expected in [
        (x.T, value.T),
        (x.transpose(), value.transpose()),
        (x.transpose(2, 0, 1), value.transpose(2, 0, 1)),
        (x.transpose((2, 0, 1)), value.transpose((2, 0, 1))),
        (x.swapaxes(0, -1), value.swapaxes(0, -1)),
    ]:
        np.testing.assert_array_equal(y.eval({x: value}), expected)


@pytest.mark.parametrize("axes, error", [((0, 0), ValueError), ((0,), ValueError), ((0, 2), np.exceptions.AxisError)])
def test_transpose_rejects_bad_axes(axes, error):
    with pytest.raises(error, match=r"transpose: .*float64\[\?,\?\]"):
        sg.transpose(sg.matrix("x"), axes)


@pytest.mark.parametrize("a, b", [(0, 1), (0, -1), (1, 1), (2, 0)])
def test_swapaxes_matches_numpy(rng, a, b):
    check_against_numpy(lambda x: sg.swapaxes(x, a, b), lambda v: np.swapaxes(v, a, b), random_array(rng, (2, 3, 4)))


def test_swapaxes_rejects_out_of_range_axis():
    with pytest.raises(np.exceptions.AxisError, match="swapaxes: axis 2 is out of bounds"):
        sg.swapaxes(sg.matrix("x"), 0, 2)


def test_transpose_derivatives(rng):
    check_linear_derivatives(lambda x: sg.transpose(x, (2, 0, 1)) * np.arange(24.0).reshape(4, 2, 3),
                             random_array(rng, (2, 3, 4)))


# ---------------------------------------------------------------- expand_dims / squeeze

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, axis", [((2, 3), 0), ((2, 3), -1), ((2, 3), 1), ((2, 3), (0, 3)), ((), (0, -1)), ((3,), (-3, 1))])
def test_expand_dims_matches_numpy(rng, shape, axis, dtype):
    check_against_numpy(lambda x: sg.expand_dims(x, axis), lambda a: np.expand_dims(a, axis), random_array(rng, shape, dtype))


@pytest.mark.parametrize("axis, error, message", [((0, 0), ValueError, "repeated axis"), (3, np.exceptions.AxisError, "out of bounds"), (1.0, TypeError, "must be an int")])
def test_expand_dims_rejects_bad_axes(axis, error, message):
    with pytest.raises(error, match=f"expand_dims: .*{message}"):
        sg.expand_dims(sg.vector("x"), axis)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, axis", [((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), -1), ((1, 3, 1), (0, 2)), ((1,), None), ((1, 1), 0)])
def test_squeeze_matches_numpy(rng, shape, axis, dtype):
    value = random_array(rng, shape, dtype)
    expected = np.squeeze(value, axis)
    output, result = evaluate(lambda x: sg.squeeze(x, axis), value)
    np.testing.assert_array_equal(result, expected)
    assert output.type.shape == expected.shape and result.dtype == expected.dtype
    if axis is not None:
        output, result = evaluate(lambda x: x.squeeze(axis), value, static=False)
        np.testing.assert_array_equal(result, expected)


def test_squeeze_without_axis_removes_only_static_ones():
    assert sg.squeeze(sg.tensor("x", shape=(1, None, 3, 1))).type.shape == (None, 3)


def test_squeeze_of_static_size_other_than_one_is_a_shape_error():
    with pytest.raises(sg.ShapeError, match=r"squeeze: cannot squeeze axis 1 of size 3 of operand float64\[1,3\]"):
        sg.squeeze(sg.tensor("x", shape=(1, 3)), 1)


def test_squeeze_of_unknown_size_other_than_one_fails_at_run_time():
    x = sg.matrix("x")
    with pytest.raises(ValueError, match="squeeze"):
        sg.function([x], sg.squeeze(x, 0))(np.zeros((2, 3)))


def test_dimshuffle_op_names():
    x = sg.tensor("x", shape=(1, 3))
    assert x.T.owner.op.name == "transpose"
    assert sg.swapaxes(x, 0, 1).owner.op.name == "transpose"
    assert sg.expand_dims(x, 0).owner.op.name == "expand_dims"
    assert sg.squeeze(x).owner.op.name == "squeeze"
    assert sg.transpose(sg.vector("v")).owner is None  # nothing to permute


def test_expand_dims_and_squeeze_derivatives(rng):
    check_linear_derivatives(lambda x: sg.expand_dims(x, (0, 2)) * np.arange(6.0).reshape(1, 2, 1, 3),
                             random_array(rng, (2, 3)))
    check_linear_derivatives(lambda x: sg.squeeze(x, 0) * np.arange(3.0), random_array(rng, (1, 3)))
    verify_grad(lambda x: sg.squeeze(x) * np.arange(3.0), [random_array(rng, (1, 3, 1))], rng=0)


def test_dimshuffle_gradient_is_the_inverse_permutation(rng):
    x = sg.tensor("x", shape=(2, 3, 4))
    u = sg.tensor("u", shape=(4, 2, 3))
    (g,) = sg.autodiff.vjp([sg.transpose(x, (2, 0, 1))], [x], [u])
    assert sg.optimize(g).owner.op.name == "transpose" and g.type.shape == (2, 3, 4)
    value = random_array(rng, (4, 2, 3))
    np.testing.assert_array_equal(sg.function([x, u], g)(np.zeros((2, 3, 4)), value), np.transpose(value, (1, 2, 0)))


# ---------------------------------------------------------------- concatenate / stack

@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "float32"), ("int32", "float32"), ("bool", "int64"), ("int32", "int32")])
@pytest.mark.parametrize("shapes, axis", [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 0)], 1), ([(2, 3), (2, 5)], -1), ([(3,), (0,)], 0)])
def test_concatenate_matches_numpy(rng, shapes, axis, dtypes):
    values = [random_array(rng, s, dtypes[i % 2]) for i, s in enumerate(shapes)]
    check_against_numpy(lambda *xs: sg.concatenate(xs, axis=axis), lambda *vs: np.concatenate(vs, axis=axis), *values)


def test_concatenate_accepts_arrays_and_symbolic_sizes(rng):
    value = random_array(rng, (2, 3))
    x = sg.matrix("x")
    y = sg.concatenate([x, np.ones((1, 3))])
    assert y.type.shape == (None, 3)
    np.testing.assert_array_equal(y.eval({x: value}), np.concatenate([value, np.ones((1, 3))]))


@pytest.mark.parametrize(
    "shapes, axis, error, message",
    [
        ([(2, 3), (2, 4)], 0, sg.ShapeError, r"concatenate: operands float64\[2,3\], float64\[2,4\] differ in size along axis 1"),
        ([(2, 3), (3,)], 0, sg.ShapeError, "concatenate: operands .* same rank"),
        ([(), ()], 0, sg.ShapeError, "zero-dimensional"),
        ([(2, 3)], 2, np.exceptions.AxisError, "concatenate: axis 2 is out of bounds"),
    ],
)
def test_concatenate_errors(shapes, axis, error, message):
    with pytest.raises(error, match=message):
        sg.concatenate([sg.tensor(f"x{i}", shape=s) for i, s in enumerate(shapes)], axis=axis)


def test_concatenate_needs_a_list():
    with pytest.raises(TypeError, match="concatenate: expected a list or tuple"):
        sg.concatenate(sg.matrix("x"))
    with pytest.raises(ValueError, match="concatenate: need at least one"):
        sg.concatenate([])


def test_concatenate_derivatives(rng):
    weights = np.arange(12.0).reshape(2, 6)
    check_linear_derivatives(lambda a, b: sg.concatenate([a, b], axis=1) * weights,
                             random_array(rng, (2, 2)), random_array(rng, (2, 4)))


def test_concatenate_gradient_with_unknown_sizes(rng):
    a, b = sg.matrix("a"), sg.matrix("b")
    u = sg.matrix("u")
    ga, gb = sg.autodiff.vjp([sg.concatenate([a, b])], [a, b], [u])
    u_value = random_array(rng, (5, 3))
    results = sg.function([a, b, u], [ga, gb])(np.zeros((2, 3)), np.zeros((3, 3)), u_value)
    np.testing.assert_array_equal(results[0], u_value[:2])
    np.testing.assert_array_equal(results[1], u_value[2:])


def test_concatenate_gradient_with_integer_operands(rng):
    integers = np.arange(3)
    verify_grad(lambda a: sg.concatenate([integers, a, integers]) * np.arange(8.0), [random_array(rng, (2,))], rng=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, axis", [((2, 3), 0), ((2, 3), 1), ((2, 3), -1), ((), 0), ((0,), 1)])
def test_stack_matches_numpy(rng, shape, axis, dtype):
    values = [random_array(rng, shape, dtype) for _ in range(3)]
    check_against_numpy(lambda *xs: sg.stack(xs, axis=axis), lambda *vs: np.stack(vs, axis=axis), *values)


def test_stack_of_symbolic_scalars_is_a_vector():
    a, b = sg.scalar("a"), sg.scalar("b")
    np.testing.assert_array_equal(sg.function([a, b], sg.stack([a, b, 3.0]))(1.0, 2.0), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("shapes, message", [([(2, 3), (2, 4)], "differ in size along axis 1"), ([(2,), (2, 1)], "same shape")])
def test_stack_errors(shapes, message):
    with pytest.raises(sg.ShapeError, match=f"stack: operands .*{message}"):
        sg.stack([sg.tensor(f"x{i}", shape=s) for i, s in enumerate(shapes)])


def test_stack_derivatives(rng):
    weights = np.arange(12.0).reshape(2, 3, 2)
    check_linear_derivatives(lambda a, b: sg.stack([a, b], axis=-1) * weights,
                             random_array(rng, (2, 3)), random_array(rng, (2, 3)))


# ---------------------------------------------------------------- codegen

def test_general_permutations_lower_to_np_transpose():
    t = sg.tensor("t", shape=(None, None, None))
    assert "np.transpose(t, (2, 0, 1))" in sg.function([t], sg.transpose(t, (2, 0, 1))).source


def test_generated_source_is_readable_numpy():
    x = sg.matrix("x")
    n = sg.scalar("n", dtype="int64")
    source = sg.function([x, n], [x.T, sg.reshape(x, (n, -1)), sg.expand_dims(x, 0), sg.concatenate([x, x], 1)]).source
    assert "= x.T " in source
    assert "np.reshape(x, v" in source
    assert "= x[None, :, :] " in source
    assert "np.concatenate((x, x), axis=1)" in source


def test_reshape_to_a_bad_shape_raises_even_when_reshaped_again():
    x = sg.tensor("x", shape=(None, None, None))
    for output in (x.reshape((5, -1)).reshape((-1,)), x.reshape((5, -1)).flatten(), x.reshape((7,)).reshape((-1,))):
        with pytest.raises(ValueError, match="cannot reshape array of size 24"):
            sg.function([x], output)(np.ones((2, 3, 4)))
