"""Matrix helpers against NumPy: trace, diag, diagonal, tril, triu, kron, vdot and inner, with dtypes, sizes 0
and 1, batched leading axes, unknown sizes, negative axes, gradients, forward mode and errors."""
import numpy as np
import pytest

import symgraph as sg

from numpy_checks import check
from op_testing import assert_jvp_matches_finite_differences, random_array

DTYPES = ["float64", "float32", "int32", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (1, 1), (0, 3), (2, 3, 4), (2, 0, 5)])
@pytest.mark.parametrize("offset", [0, 1, -1, 3, -5])
def test_diagonal_and_trace_match_numpy(shape, offset, dtype, rng):
    value = random_array(rng, shape, dtype)
    check(lambda a: sg.diagonal(a, offset), lambda a: np.diagonal(a, offset), [value])
    if dtype != "bool":
        check(lambda a: sg.trace(a, offset), lambda a: np.trace(a, offset), [value])


@pytest.mark.parametrize("axis1, axis2", [(0, 2), (2, 0), (-1, -2), (1, -1)])
def test_diagonal_and_trace_on_other_axes(axis1, axis2, rng):
    value = rng.normal(size=(3, 4, 5))
    check(lambda a: sg.diagonal(a, 1, axis1, axis2), lambda a: np.diagonal(a, 1, axis1, axis2), [value])
    check(lambda a: sg.trace(a, -1, axis1, axis2), lambda a: np.trace(a, -1, axis1, axis2), [value])


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_trace_accumulator_dtype(dtype, rng):
    value = random_array(rng, (3, 3), dtype)
    check(lambda a: sg.trace(a, dtype="float64"), lambda a: np.trace(a, dtype="float64"), [value])
    check(sg.trace, np.trace, [value.astype("int8")])


@pytest.mark.parametrize("k", [0, 1, -2, 4])
@pytest.mark.parametrize("shape", [(3,), (1,), (0,), (3, 4), (4, 2), (0, 2), (1, 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_diag_matches_numpy(shape, k, dtype, rng):
    check(lambda v: sg.diag(v, k), lambda v: np.diag(v, k), [random_array(rng, shape, dtype)])


@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize("k", [0, 1, -1, 5, -5])
@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (1, 1), (0, 2), (2, 3, 3), (2, 1, 0, 3), (4,)])
def test_triangles_match_numpy_batched_over_leading_axes(name, k, shape, rng):
    for dtype in ("float64", "int32", "bool"):
        value = random_array(rng, shape, dtype)
        check(lambda m: getattr(sg, name)(m, k), lambda m: getattr(np, name)(m, k), [value])


@pytest.mark.parametrize("shapes", [((2,), (3,)), ((2, 3), (4, 5)), ((2,), (3, 4)), ((3, 4), (2,)), ((), (3,)),
                                    ((2, 3, 1), (2,)), ((0, 2), (3, 1)), ((1, 1), (1,)), ((), ()), ((2, 3), ())])
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "int32"), ("bool", "bool")])
def test_kron_matches_numpy(shapes, dtypes, rng):
    values = [random_array(rng, s, d) for s, d in zip(shapes, dtypes)]
    check(sg.kron, np.kron, values, rtol=1e-5 if "float32" in dtypes else None)


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3, 2)), ((0,), (0,)), ((1, 1), (1,)), ((2, 2, 2), (8,))])
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("int32", "float32"), ("int64", "int64")])
def test_vdot_matches_numpy(shapes, dtypes, rng):
    values = [random_array(rng, s, d) for s, d in zip(shapes, dtypes)]
    check(sg.vdot, np.vdot, values, rtol=1e-5 if "float32" in dtypes else None)


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3)), ((2, 1, 3), (5, 3)), ((), (2, 3)),
                                    ((2, 0), (3, 0)), ((0, 2), (2,))])
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("int32", "int32"), ("float32", "float64")])
def test_inner_matches_numpy(shapes, dtypes, rng):
    values = [random_array(rng, s, d) for s, d in zip(shapes, dtypes)]
    check(sg.inner, np.inner, values)


GRADIENT_CASES = [
    (lambda a: sg.diagonal(a, 1), [(3, 4)]),
    (lambda a: sg.diagonal(a, -1, 0, 2), [(3, 2, 4)]),
    (lambda a: sg.trace(a) * sg.trace(a, 1), [(3, 3)]),
    (lambda a: sg.trace(a, axis1=-1, axis2=-2), [(2, 3, 3)]),
    (lambda v: sg.diag(v, 1), [(3,)]),
    (lambda v: sg.diag(v, -2), [(2,)]),
    (lambda a: sg.diag(a), [(3, 4)]),
    (lambda a: sg.tril(a, -1), [(2, 3, 4)]),
    (lambda a: sg.triu(a, 1), [(4, 3)]),
    (lambda v: sg.triu(v), [(3,)]),
    (sg.kron, [(2, 3), (3, 2)]),
    (sg.kron, [(2,), (2, 3)]),
    (sg.kron, [(), ()]),
    (sg.vdot, [(2, 3), (6,)]),
    (sg.inner, [(2, 3), (4, 3)]),
    (sg.inner, [(), (3,)]),
]


@pytest.mark.parametrize("build, shapes", GRADIENT_CASES)
def test_gradients_match_finite_differences(build, shapes, rng):
    sg.verify_grad(build, [rng.normal(size=s) for s in shapes], rng=rng)


@pytest.mark.parametrize("build, shapes", GRADIENT_CASES)
def test_forward_mode_matches_finite_differences(build, shapes, rng):
    assert_jvp_matches_finite_differences(build, [rng.normal(size=s) for s in shapes], rng)


def test_second_derivative_of_a_trace_of_a_product():
    a = sg.matrix("a")
    hessian = sg.hessian(sg.trace(sg.kron(a, a)), a)  # trace(kron(a, a)) = trace(a) ** 2
    np.testing.assert_allclose(hessian.eval({a: np.ones((2, 2))}), 2 * np.einsum("ij,kl->ijkl", np.eye(2), np.eye(2)))


def test_jacobian_of_diag_with_unknown_sizes(rng):
    v = sg.vector("v")
    jac = sg.jacobian(sg.flatten(sg.diag(v, 1)), v)
    value = rng.normal(size=3)
    expected = np.stack([np.diag(e, 1).ravel() for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(jac.eval({v: value}), expected)


def test_symbolic_sizes_give_static_ranks():
    x = sg.tensor("x", shape=(None, None, 4))
    assert sg.diagonal(x, 2, 0, 2).type.shape == (None, None)
    assert sg.diag(sg.vector("v")).type.shape == (None, None)
    assert sg.kron(x, sg.matrix("m", shape=(2, 3))).type.shape == (None, None, 12)
    assert sg.diagonal(sg.tensor("y", shape=(2, 5)), 1).type.shape == (2,)


@pytest.mark.parametrize("build, error, message", [
    (lambda: sg.diagonal(sg.vector("v")), ValueError, r"diagonal: operand float64\[\?\] must have at least 2 dimensions"),
    (lambda: sg.diagonal(sg.matrix("m"), axis1=1, axis2=-1), ValueError, r"diagonal: axis1 and axis2 cannot be the same"),
    (lambda: sg.diagonal(sg.matrix("m"), axis2=2), np.exceptions.AxisError, r"diagonal: axis 2 is out of bounds"),
    (lambda: sg.diagonal(sg.matrix("m"), offset=1.5), TypeError, r"diagonal: the offset must be an int"),
    (lambda: sg.trace(sg.scalar("s")), ValueError, r"trace: operand float64\[\] must have at least 2"),
    (lambda: sg.trace(sg.matrix("m"), axis2=2), np.exceptions.AxisError, r"trace: axis 2 is out of bounds"),
    (lambda: sg.trace(sg.matrix("m"), offset=1.5), TypeError, r"trace: the offset must be an int"),
    (lambda: sg.diag(sg.tensor("t", shape=(2, 2, 2))), ValueError, r"diag: operand float64\[2,2,2\] must be 1-d or 2-d"),
    (lambda: sg.diag(sg.vector("v"), k=None), TypeError, r"diag: the offset must be an int"),
    (lambda: sg.tril(sg.scalar("s")), ValueError, r"tril: operand float64\[\] must have at least 1 dimension"),
    (lambda: sg.triu(sg.matrix("m"), k="1"), TypeError, r"triu: the offset must be an int"),
    (lambda: sg.vdot(sg.vector("a", shape=(3,)), sg.vector("b", shape=(4,))), ValueError,
     r"vdot: operands of 3 and 4 elements"),
    (lambda: sg.vdot(sg.vector("z", dtype="complex128"), sg.vector("w")), TypeError, r"vdot: complex operands"),
    (lambda: sg.inner(sg.vector("a", shape=(3,)), sg.vector("b", shape=(4,))), sg.ShapeError,
     r"inner: operands of types float64\[3\] and float64\[4\] have different sizes on their last axes"),
])
def test_errors_name_the_operation(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_vdot_size_mismatch_at_run_time_names_the_node():
    a, b = sg.vector("a"), sg.vector("b")
    f = sg.function([a, b], sg.vdot(a, b))
    with pytest.raises(ValueError, match=r"test_ops_matrix.py"):
        f(np.ones(3), np.ones(4))
