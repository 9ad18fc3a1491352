"""Linear algebra against NumPy: matmul, dot, outer, tensordot, einsum: values, dtypes, static shapes,
shape errors at build time, and derivatives in both modes."""
import pickle

import numpy as np
import pytest

import symgraph as sg
from op_testing import (DTYPES, assert_jvp_matches_finite_differences, assert_matches_numpy,
                        gradients_with_unknown_sizes, random_array)
from symgraph.autodiff import grad, verify_grad

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (2, 4, 5)),
    ((0, 4), (4, 3)),
    ((3, 0), (0, 2)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
def test_matmul_matches_numpy(rng, shape_a, shape_b, dtype):
    values = [random_array(rng, shape_a, dtype), random_array(rng, shape_b, dtype)]
    assert_matches_numpy(lambda a, b: a @ b, np.matmul, values, rtol=1e-5)


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("int32", "float32"), ("bool", "int64"), ("int32", "int64")])
def test_matmul_promotes_like_numpy(rng, dtypes):
    values = [random_array(rng, (2, 3), dtypes[0]), random_array(rng, (3, 2), dtypes[1])]
    assert_matches_numpy(sg.matmul, np.matmul, values, rtol=1e-5)


@pytest.mark.parametrize("shape_a, shape_b, message", [
    ((3, 4), (5, 6), r"matmul: operands of types float64\[3,4\] and float64\[5,6\] have mismatched contracted sizes 4 and 5"),
    ((4,), (5,), r"matmul: .*float64\[4\] and float64\[5\]"),
    ((2, 3, 4), (5, 4, 2), r"matmul: operands with shapes float64\[2,3,4\], float64\[5,4,2\] cannot be broadcast"),
    ((), (3,), r"matmul: operands must have at least one dimension, got types float64\[\] and float64\[3\]"),
])
def test_matmul_shape_errors_at_build_time(shape_a, shape_b, message):
    with pytest.raises(sg.ShapeError, match=message):
        sg.tensor("a", shape=shape_a) @ sg.tensor("b", shape=shape_b)


def test_matmul_unknown_sizes_are_checked_at_run_time():
    a, b = sg.matrix("a"), sg.matrix("b")
    f = sg.function([a, b], a @ b)
    with pytest.raises(ValueError, match="matmul"):
        f(np.ones((3, 4)), np.ones((5, 6)))


DOT_SHAPES = [((), (3,)), ((3,), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
              ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (5, 4, 6)), ((2, 3), (1, 3, 2))]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("shape_a, shape_b", DOT_SHAPES)
def test_dot_matches_numpy(rng, shape_a, shape_b, dtype):
    values = [random_array(rng, shape_a, dtype), random_array(rng, shape_b, dtype)]
    assert_matches_numpy(sg.dot, np.dot, values, rtol=1e-5)
    assert_matches_numpy(lambda a, b: a.dot(b), np.dot, values, rtol=1e-5)


def test_dot_shape_error_names_dot():
    with pytest.raises(sg.ShapeError, match=r"dot: operands of types float64\[2,3\] and float64\[4,5\]"):
        sg.dot(sg.tensor("a", shape=(2, 3)), sg.tensor("b", shape=(4, 5)))


@pytest.mark.parametrize("shape_a, shape_b", [((3,), (4,)), ((2, 2), (3,)), ((), (2,)), ((0,), (2,))])
def test_outer_matches_numpy(rng, shape_a, shape_b):
    assert_matches_numpy(sg.outer, np.outer, [random_array(rng, shape_a), random_array(rng, shape_b)])


TENSORDOT_CASES = [
    ((3, 4, 5), (4, 3, 2), ([1, 0], [0, 1])),
    ((3, 4), (4, 5), 1),
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3), (4, 5), 0),
    ((3, 4, 5), (5, 2, 4), ([-1, 1], [0, -1])),
    ((3, 4), (4, 3), ([0, 1], [1, 0])),
    ((3, 4), (4,), (1, 0)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("shape_a, shape_b, axes", TENSORDOT_CASES)
def test_tensordot_matches_numpy(rng, shape_a, shape_b, axes, dtype):
    values = [random_array(rng, shape_a, dtype), random_array(rng, shape_b, dtype)]
    assert_matches_numpy(lambda a, b: sg.tensordot(a, b, axes), lambda a, b: np.tensordot(a, b, axes), values, rtol=1e-5)


@pytest.mark.parametrize("axes, error, message", [
    (([0], [0]), sg.ShapeError, r"tensordot: operands of types float64\[3,4\] and float64\[4,5\] have mismatched sizes"),
    (([0, 1], [0]), ValueError, "tensordot: axes .* have different lengths"),
    (3, ValueError, r"tensordot: axes=3 does not fit"),
    (([2], [0]), np.exceptions.AxisError, "tensordot: axis 2 is out of bounds"),
    ("x", TypeError, "tensordot: axes must be"),
])
def test_tensordot_errors(axes, error, message):
    with pytest.raises(error, match=message):
        sg.tensordot(sg.tensor("a", shape=(3, 4)), sg.tensor("b", shape=(4, 5)), axes)


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba,ac", [(2, 3), (3, 4)]),
    ("a,B", [(2,), (3,)]),
    ("ii->", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...i,...i->...", [(2, 3), (3,)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...b,a", [(4, 2), (3,)]),
    ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
    ("i,i->", [(0,), (0,)]),
    ("->", [()]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("subscripts, shapes", EINSUM_CASES)
def test_einsum_matches_numpy(rng, subscripts, shapes, dtype):
    values = [random_array(rng, shape, dtype) for shape in shapes]
    assert_matches_numpy(lambda *ops: sg.einsum(subscripts, *ops), lambda *ops: np.einsum(subscripts, *ops), values,
                         rtol=1e-5)


@pytest.mark.parametrize("subscripts, shapes, error, message", [
    ("ij,jk->ik", [(2, 3), (4, 5)], sg.ShapeError, r"einsum 'ij,jk->ik': operands of types .* disagree on the size of axis 'j'"),
    ("ij->ik", [(2, 3)], ValueError, "einsum: output subscripts of 'ij->ik' must be distinct labels of the operands"),
    ("ij->ii", [(2, 2)], ValueError, "must be distinct"),
    ("ij", [(2, 3, 4)], ValueError, r"einsum: subscripts 'ij' do not match an operand of rank 3"),
    ("ij,jk->ik", [(2, 3)], ValueError, "einsum: subscripts 'ij,jk->ik' name 2 operand"),
    ("i1->", [(2, 3)], ValueError, "einsum: invalid subscripts"),
    ("...i->i", [(2, 3)], ValueError, r"einsum: the output of '...i->i' has no '...'"),
    (3, [(2,)], TypeError, "einsum: subscripts must be a str"),
])
def test_einsum_errors(subscripts, shapes, error, message):
    with pytest.raises(error, match=message):
        sg.einsum(subscripts, *[sg.tensor(f"x{i}", shape=s) for i, s in enumerate(shapes)])


PRODUCTS = [
    ("matmul", sg.matmul, [(3, 4), (4, 2)]),
    ("matmul vector-matrix", sg.matmul, [(4,), (4, 2)]),
    ("matmul matrix-vector", sg.matmul, [(3, 4), (4,)]),
    ("matmul vector-vector", sg.matmul, [(4,), (4,)]),
    ("matmul batched broadcast", sg.matmul, [(2, 1, 3, 4), (3, 4, 2)]),
    ("matmul vector-batch", sg.matmul, [(4,), (2, 4, 3)]),
    ("matmul batch-vector", sg.matmul, [(2, 3, 4), (4,)]),
    ("dot scalar", sg.dot, [(), (3,)]),
    ("dot N-d", sg.dot, [(2, 3, 4), (2, 4, 3)]),
    ("outer", sg.outer, [(2, 2), (3,)]),
    ("tensordot pairs", lambda a, b: sg.tensordot(a, b, ([1, 0], [0, 1])), [(3, 4, 2), (4, 3, 2)]),
    ("tensordot int", lambda a, b: sg.tensordot(a, b, 1), [(3, 4), (4, 2)]),
    ("tensordot 0", lambda a, b: sg.tensordot(a, b, 0), [(2,), (3,)]),
    ("tensordot negative", lambda a, b: sg.tensordot(a, b, ([-1, 1], [0, -1])), [(3, 4, 2), (2, 2, 4)]),
] + [(f"einsum {s}", (lambda s: lambda *ops: sg.einsum(s, *ops))(s), shapes)
     for s, shapes in EINSUM_CASES if 0 not in sum(shapes, ())]


@pytest.mark.parametrize("name, build, shapes", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_product_gradients_match_finite_differences(rng, name, build, shapes):
    verify_grad(build, [rng.standard_normal(s) for s in shapes], rng=0)


@pytest.mark.parametrize("name, build, shapes", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_product_pushforwards_match_finite_differences(rng, name, build, shapes):
    assert_jvp_matches_finite_differences(build, [rng.standard_normal(s) for s in shapes], rng)


RUN_TIME_SIZED = [p for p in PRODUCTS if p[0] in ("matmul vector-batch", "matmul batched broadcast", "tensordot pairs",
                                                  "einsum ii->", "einsum iij->j", "einsum ij,ij->ij",
                                                  "einsum ...ij,...jk->...ik")]


@pytest.mark.parametrize("name, build, shapes", RUN_TIME_SIZED, ids=[p[0] for p in RUN_TIME_SIZED])
def test_product_gradients_with_sizes_known_only_at_run_time(rng, name, build, shapes):
    values = [rng.standard_normal(s) for s in shapes]
    static, dynamic = gradients_with_unknown_sizes(build, values, rng)
    for expected, result in zip(static, dynamic):
        np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_matmul_gradient_sums_a_batch_axis_that_broadcasts_at_run_time(rng):
    a, b = sg.tensor("a", shape=(None, 3, 4)), sg.tensor("b", shape=(None, 4, 2))
    a_value, b_value = rng.standard_normal((1, 3, 4)), rng.standard_normal((5, 4, 2))
    ga, gb = sg.function([a, b], grad(sg.sum(a @ b), [a, b]))(a_value, b_value)
    ones = np.ones((5, 3, 2))
    np.testing.assert_allclose(ga, np.sum(ones @ np.swapaxes(b_value, -1, -2), axis=0, keepdims=True))
    np.testing.assert_allclose(gb, np.swapaxes(a_value, -1, -2) @ ones)


def test_integer_operands_have_no_gradient():
    a, b = sg.matrix("a", dtype="int64"), sg.matrix("b")
    out = a @ b
    assert out.owner.op.pullback([a, b], [out], [sg.matrix("g")])[0] is None


def test_op_names_and_readable_lowering():
    a, b = sg.matrix("a"), sg.matrix("b")
    assert (a @ b).owner.op.name == "matmul"
    assert sg.tensordot(a, b, 1).owner.op.name == "tensordot"
    assert sg.einsum("ij,jk->ik", a, b).owner.op.name == "einsum"
    source = sg.function([a, b], [a @ b, sg.einsum("ij,jk->ik", a, b), sg.tensordot(a, b, 1)]).source
    assert "np.matmul(a, b)" in source
    assert "np.einsum('ij,jk->ik', a, b)" in source
    assert "np.tensordot(a, b, axes=((1,), (0,)))" in source


def test_compiled_products_survive_pickling(rng):
    a, b = sg.matrix("a"), sg.matrix("b")
    f = sg.function([a, b], [a @ b, sg.einsum("ij,jk->ik", a, b), sg.tensordot(a, b, 1), sg.dot(a, b)])
    values = [rng.standard_normal((2, 3)), rng.standard_normal((3, 2))]
    for expected, result in zip(f(*values), pickle.loads(pickle.dumps(f))(*values)):
        np.testing.assert_allclose(result, expected)
