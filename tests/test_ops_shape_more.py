"""Shape and creation ops of issue 14 against NumPy: pad, tile, repeat, flip, roll, split, array_split,
linspace, meshgrid, cumprod, diff, atleast_1d/2d/3d, moveaxis and ravel, with dtypes, sizes 0 and 1,
unknown sizes, negative axes, gradients, forward mode and errors."""
import numpy as np
import pytest

import symgraph as sg

from numpy_checks import MODES, assert_same, check
from op_testing import assert_jvp_matches_finite_differences, random_array

DTYPES = ["float64", "float32", "int32", "bool"]
SHAPES = [(3, 4), (1, 5), (0, 3), (2, 3, 4), (4,)]


# ---------------------------------------------------------------- pad

PAD_WIDTHS = [1, (2, 3), ((0, 1),), ((1, 0), (5, 9)), 0, ((7, 0), (1, 1))]


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("pad_width", PAD_WIDTHS)
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_pad_matches_numpy(mode, pad_width, dtype, rng):
    value = random_array(rng, (3, 4), dtype)
    check(lambda a: sg.pad(a, pad_width, mode=mode), lambda a: np.pad(a, pad_width, mode=mode), [value])


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_pad_wider_than_the_axis_repeats_the_pattern_like_numpy(mode, size):
    value = np.arange(float(size))
    check(lambda a: sg.pad(a, (7, 11), mode=mode), lambda a: np.pad(a, (7, 11), mode=mode), [value])


@pytest.mark.parametrize("constant_values", [2.5, (1, 2), ((1, 2), (3, 4)), -1])
def test_pad_constant_values_like_numpy(constant_values, rng):
    value = rng.normal(size=(2, 3))
    check(lambda a: sg.pad(a, ((1, 2), (0, 1)), constant_values=constant_values),
          lambda a: np.pad(a, ((1, 2), (0, 1)), constant_values=constant_values), [value])
    ints = value.astype("int32")
    check(lambda a: sg.pad(a, 1, constant_values=constant_values), lambda a: np.pad(a, 1, constant_values=constant_values), [ints])


def test_pad_of_empty_axes_with_constant_mode(rng):
    check(lambda a: sg.pad(a, 2), lambda a: np.pad(a, 2), [np.zeros((0, 3))])


def test_pad_with_a_symbolic_constant_value_passes_its_gradient():
    x, c = sg.matrix("x"), sg.scalar("c")
    padded = sg.pad(x, ((1, 0), (2, 1)), constant_values=c)
    gx, gc = sg.grad(sg.sum(padded * 2), [x, c])
    f = sg.function([x, c], [padded, gx, gc])
    value = np.ones((2, 3))
    result, rx, rc = f(value, 5.0)
    np.testing.assert_array_equal(result, np.pad(value, ((1, 0), (2, 1)), constant_values=5.0))
    np.testing.assert_array_equal(rx, np.full((2, 3), 2.0))
    assert rc == 2.0 * (result.size - value.size)


@pytest.mark.parametrize("build, error, message", [
    (lambda x: sg.pad(x, -1), ValueError, r"pad: pad_width -1 contains negative values"),
    (lambda x: sg.pad(x, 1.5), TypeError, r"pad: pad_width must be of integral type"),
    (lambda x: sg.pad(x, ((1, 2), (3, 4), (5, 6))), ValueError, r"pad: pad_width .* does not fit an operand of rank 2"),
    (lambda x: sg.pad(x, 1, mode="mean"), ValueError, r"pad: mode 'mean' is not supported; use one of constant"),
    (lambda x: sg.pad(x, 1, constant_values=(1, 2, 3)), ValueError, r"pad: constant_values .* does not fit"),
    (lambda x: sg.pad(x, 1, constant_values=sg.vector("v")), ValueError, r"pad: a symbolic constant value must be 0-d"),
    (lambda x: sg.pad(sg.tensor("e", shape=(0, 2)), 1, mode="edge"), ValueError, r"pad: cannot extend empty axis 0"),
])
def test_pad_errors(build, error, message):
    with pytest.raises(error, match=message):
        build(sg.matrix("x"))


# ---------------------------------------------------------------- tile, repeat, flip, roll

@pytest.mark.parametrize("reps", [2, (2, 1), (1, 2, 1, 3), (0, 2), (3,), ()])
@pytest.mark.parametrize("shape", [(3, 4), (1,), (0, 2), ()])
def test_tile_matches_numpy(reps, shape, rng):
    for dtype in ("float64", "bool"):
        check(lambda a: sg.tile(a, reps), lambda a: np.tile(a, reps), [random_array(rng, shape, dtype)])


@pytest.mark.parametrize("repeats, axis", [(2, None), (3, 1), (0, -1), (1, 0), ([1, 0, 2], 0), ([2], 1), (np.array([1, 2, 0, 1]), -1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_repeat_matches_numpy(repeats, axis, dtype, rng):
    value = random_array(rng, (3, 4), dtype)
    statics = (True,) if np.ndim(repeats) and len(repeats) > 1 else (True, False)
    check(lambda a: sg.repeat(a, repeats, axis), lambda a: np.repeat(a, repeats, axis), [value], statics=statics)


def test_repeat_of_scalars_and_empty_tensors(rng):
    check(lambda a: sg.repeat(a, 3), lambda a: np.repeat(a, 3), [np.float64(2.0)])
    check(lambda a: sg.repeat(a, 2, axis=0), lambda a: np.repeat(a, 2, axis=0), [np.zeros((0, 2))])


@pytest.mark.parametrize("build, error, message", [
    (lambda: sg.repeat(sg.matrix("m"), -1), ValueError, r"repeat: negative repetition count"),
    (lambda: sg.repeat(sg.matrix("m"), [1, -2], axis=0), ValueError, r"repeat: negative repetition count"),
    (lambda: sg.repeat(sg.matrix("m"), 1.5), TypeError, r"repeat: repeats must be an int or a sequence of ints"),
    (lambda: sg.repeat(sg.matrix("m"), [1, 2], axis=0), ValueError, r"repeat: a sequence of repeats needs the size of axis 0"),
    (lambda: sg.repeat(sg.tensor("t", shape=(3, 2)), [1, 2], axis=0), ValueError, r"repeat: 2 repeats for axis 0 of size 3"),
    (lambda: sg.repeat(sg.matrix("m"), 2, axis=2), np.exceptions.AxisError, r"repeat: axis 2 is out of bounds"),
    (lambda: sg.tile(sg.matrix("m"), (2, -1)), ValueError, r"tile: negative repetition count in reps \(2, -1\)"),
    (lambda: sg.tile(sg.matrix("m"), 1.5), TypeError, r"tile: a repetition count must be an int"),
])
def test_tile_and_repeat_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (), 1])
@pytest.mark.parametrize("shape", [(2, 3, 4), (0, 1, 2)])
def test_flip_matches_numpy(axis, shape, rng):
    for dtype in DTYPES:
        check(lambda a: sg.flip(a, axis), lambda a: np.flip(a, axis), [random_array(rng, shape, dtype)])


@pytest.mark.parametrize("shift, axis", [(1, None), (-5, None), (2, 1), ((1, 2), (0, 2)), (3, (0, 0)), (7, -1), (0, 1),
                                         ((1, -1), 2), (-13, 0)])
@pytest.mark.parametrize("shape", [(2, 3, 4), (0, 3, 1), (1, 1, 1)])
def test_roll_matches_numpy(shift, axis, shape, rng):
    for dtype in ("float64", "int32"):
        check(lambda a: sg.roll(a, shift, axis), lambda a: np.roll(a, shift, axis), [random_array(rng, shape, dtype)])


def test_roll_and_flip_errors():
    with pytest.raises(TypeError, match=r"roll: a shift must be an int"):
        sg.roll(sg.vector("v"), 1.5, 0)
    with pytest.raises(ValueError, match=r"roll: shift \(1, 2, 3\) and axis \(0, 1\) must have the same length"):
        sg.roll(sg.matrix("m"), (1, 2, 3), (0, 1))
    with pytest.raises(np.exceptions.AxisError, match=r"roll: axis 3 is out of bounds"):
        sg.roll(sg.matrix("m"), 1, 3)
    with pytest.raises(np.exceptions.AxisError, match=r"flip: axis -3 is out of bounds"):
        sg.flip(sg.matrix("m"), -3)


# ---------------------------------------------------------------- split and array_split

@pytest.mark.parametrize("sections", [1, 2, 3, [1, 3], [0, 0, 5], [2, 1], [-1], []])
@pytest.mark.parametrize("axis", [0, -1])
def test_array_split_matches_numpy(sections, axis, rng):
    value = rng.normal(size=(6, 5))
    expected = np.array_split(value, sections, axis)
    for static in (True, False):
        x = sg.tensor("x", shape=value.shape if static else (None, None))
        parts = sg.array_split(x, sections, axis)
        assert isinstance(parts, list) and len(parts) == len(expected)
        for mode in MODES:
            for result, part in zip(sg.function([x], parts, mode=mode)(value), expected):
                assert_same(result, part)
        if static:
            assert [p.type.shape for p in parts] == [e.shape for e in expected]


@pytest.mark.parametrize("sections", [1, 3, [1, 3], [4, 2]])
def test_split_matches_numpy(sections, rng):
    value = rng.normal(size=(6, 2)).astype("float32")
    expected = np.split(value, sections)
    parts = sg.split(sg.constant(value), sections)
    assert len(parts) == len(expected)
    for part, e in zip(parts, expected):
        assert_same(part.eval(), e)


def test_split_parts_have_gradients(rng):
    sg.verify_grad(lambda x: sg.concatenate([p * (i + 1) for i, p in enumerate(sg.array_split(x, 3, axis=1))], axis=1),
                   [rng.normal(size=(2, 7))], rng=rng)


@pytest.mark.parametrize("build, error, message", [
    (lambda: sg.split(sg.tensor("x", shape=(5,)), 2), ValueError, r"split: axis 0 of size 5 .* does not divide into 2 equal"),
    (lambda: sg.split(sg.vector("x"), 2), ValueError, r"split: cannot check that axis 0 .* divides into 2 equal sections"),
    (lambda: sg.array_split(sg.vector("x"), 0), ValueError, r"array_split: the number of sections must be larger than 0"),
    (lambda: sg.split(sg.vector("x"), 1.5), TypeError, r"split: indices_or_sections must be an int or a sequence"),
    (lambda: sg.split(sg.scalar("s"), 1), ValueError, r"split: operand float64\[\] must have at least 1 dimension"),
    (lambda: sg.array_split(sg.matrix("m"), 2, axis=-3), np.exceptions.AxisError, r"array_split: axis -3 is out of bounds"),
])
def test_split_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


# ---------------------------------------------------------------- diff and cumprod

@pytest.mark.parametrize("n, axis", [(1, -1), (2, 0), (0, 1), (3, -1), (5, -1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_diff_matches_numpy(n, axis, dtype, rng):
    check(lambda a: sg.diff(a, n, axis), lambda a: np.diff(a, n, axis), [random_array(rng, (3, 4), dtype)])


def test_diff_with_prepend_and_append(rng):
    value = rng.normal(size=(3, 4))
    check(lambda a: sg.diff(a, 1, 1, prepend=0.5, append=value[:, :2]),
          lambda a: np.diff(a, 1, 1, prepend=0.5, append=value[:, :2]), [value])
    check(lambda a: sg.diff(a, 2, 0, append=1), lambda a: np.diff(a, 2, 0, append=1), [value])


def test_diff_errors():
    with pytest.raises(ValueError, match=r"diff: order must be non-negative but got -1"):
        sg.diff(sg.vector("v"), -1)
    with pytest.raises(ValueError, match=r"diff: operand float64\[\] must have at least 1 dimension"):
        sg.diff(sg.scalar("s"))
    with pytest.raises(np.exceptions.AxisError, match=r"diff: axis 1 is out of bounds"):
        sg.diff(sg.vector("v"), axis=1)


@pytest.mark.parametrize("axis", [None, 0, -1, 1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cumprod_matches_numpy(axis, dtype, rng):
    for shape in [(3, 4), (0, 2), (1, 1)]:
        value = random_array(rng, shape, dtype)
        check(lambda a: sg.cumprod(a, axis), lambda a: np.cumprod(a, axis), [value])
    check(lambda a: sg.cumprod(a, axis, dtype="float32"), lambda a: np.cumprod(a, axis, dtype="float32"),
          [random_array(rng, (3, 4), dtype)])


def _cumprod_jacobian(v):
    n = len(v)
    return np.array([[np.prod([v[k] for k in range(j + 1) if k != i]) if i <= j else 0.0 for i in range(n)]
                     for j in range(n)])


@pytest.mark.parametrize("value", [[1.5, 2.0, 3.0, -4.0], [2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 3.0, 4.0],
                                   [1.0, 2.0, 3.0, 0.0], [3.0, 0.0, 2.0, 0.0], [0.0, 5.0, 0.0, 2.0]])
def test_cumprod_derivatives_are_exact_with_zeros(value, rng):
    value = np.array(value)
    jac = _cumprod_jacobian(value)
    x = sg.vector("x")
    cotangent = rng.normal(size=4)
    for mode in MODES:
        vjp, jvp = sg.function([x], [sg.grad(sg.sum(sg.cumprod(x) * cotangent), x),
                                     sg.jvp(sg.cumprod(x), x, sg.constant(cotangent))], mode=mode)(value)
        np.testing.assert_allclose(vjp, cotangent @ jac, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(jvp, jac @ cotangent, rtol=1e-12, atol=1e-12)


def test_cumprod_second_derivative_away_from_zeros():
    x = sg.vector("x")
    hessian = sg.hessian(sg.cumprod(x)[-1], x)  # the Hessian of the full product
    value = np.array([2.0, -1.5, 3.0])
    expected = np.array([[0.0, 3.0, -1.5], [3.0, 0.0, 2.0], [-1.5, 2.0, 0.0]])
    np.testing.assert_allclose(hessian.eval({x: value}), expected)


def _cumprod_hessians(value):
    """d^2 cumprod(x)_j / dx_a dx_b by sympy, for each j."""
    sympy = pytest.importorskip("sympy")
    symbols = sympy.symbols(f"x0:{len(value)}")
    at = dict(zip(symbols, value))
    return np.array([[[float(sympy.diff(sympy.prod(symbols[:j + 1]), a, b).subs(at)) for b in symbols] for a in symbols]
                     for j in range(len(value))])


@pytest.mark.parametrize("value", [[2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 3.0, 4.0], [1.0, 2.0, 3.0, 0.0],
                                   [3.0, 0.0, 2.0, 0.0], [0.0, 5.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
def test_cumprod_second_derivatives_are_exact_with_zeros(value, rng):
    value = np.array(value)
    cotangent, direction = rng.normal(size=4), rng.normal(size=4)
    expected = np.einsum("j,jab->ab", cotangent, _cumprod_hessians(value))
    x = sg.vector("x")
    weighted = sg.sum(sg.cumprod(x) * cotangent)
    reverse_over_reverse = sg.hessian(weighted, x)
    forward_over_reverse = sg.jvp(sg.grad(weighted, x), x, sg.constant(direction))
    reverse_over_forward = sg.grad(sg.sum(sg.jvp(sg.cumprod(x), x, sg.constant(direction)) * cotangent), x)
    hessian, hvp_forward, hvp_reverse = sg.function(
        [x], [reverse_over_reverse, forward_over_reverse, reverse_over_forward])(value)
    np.testing.assert_allclose(hessian, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hvp_forward, expected @ direction, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hvp_reverse, expected @ direction, rtol=1e-12, atol=1e-12)


def test_cumprod_second_derivatives_with_zeros_along_an_axis(rng):
    value = rng.normal(size=(2, 4))
    value[0, 1] = value[1, 0] = value[1, 2] = 0.0
    x = sg.matrix("x")
    cotangent = rng.normal(size=(2, 4))
    hessian = sg.hessian(sg.sum(sg.cumprod(x, axis=1) * cotangent), x).eval({x: value})
    for row in range(2):
        expected = np.einsum("j,jab->ab", cotangent[row], _cumprod_hessians(value[row]))
        np.testing.assert_allclose(hessian[row, :, row, :], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(hessian[0, :, 1, :], 0.0)


def test_cumprod_batches_in_jacobians(rng):
    x = sg.matrix("x")
    value = rng.normal(size=(2, 3))
    value[0, 1] = 0.0
    jac = sg.jacobian(sg.cumprod(x, axis=1), x).eval({x: value})
    for row in range(2):
        np.testing.assert_allclose(jac[row, :, row, :], _cumprod_jacobian(value[row]), atol=1e-12)


# ---------------------------------------------------------------- linspace and meshgrid

@pytest.mark.parametrize("start, stop, num", [(0.0, 1.0, 5), (1, 10, 7), (2.0, -3.0, 1), (0.0, 1.0, 0), (-1, 1, 2),
                                              (np.float32(0), np.float32(3), 11), (0.1, 0.7, 50)])
@pytest.mark.parametrize("endpoint", [True, False])
def test_linspace_matches_numpy_to_the_last_bit(start, stop, num, endpoint):
    expected = np.linspace(start, stop, num, endpoint=endpoint)
    n = sg.scalar("n", dtype="int64")
    for count, givens in ((num, {}), (n, {n: num})):
        samples = sg.linspace(start, stop, count, endpoint=endpoint)
        assert samples.dtype == expected.dtype
        for mode in MODES:
            result = sg.function(list(givens), samples, mode=mode)(*givens.values())
            np.testing.assert_array_equal(result, expected)
            assert result.dtype == expected.dtype
    assert sg.linspace(start, stop, num).type.shape == (num,)


def test_linspace_with_symbolic_bounds_arrays_axis_dtype_and_step(rng):
    a, b = sg.scalar("a"), sg.scalar("b")
    samples, step = sg.linspace(a, b, 4, retstep=True)
    result, result_step = sg.function([a, b], [samples, step])(1.0, 2.5)
    expected, expected_step = np.linspace(1.0, 2.5, 4, retstep=True)
    np.testing.assert_array_equal(result, expected)
    assert result_step == expected_step
    check(lambda s, e: sg.linspace(s, e, 5, axis=-1), lambda s, e: np.linspace(s, e, 5, axis=-1),
          [rng.normal(size=(2, 1)), rng.normal(size=(3,))])
    np.testing.assert_array_equal(sg.linspace(0, 10, 4, dtype="int32").eval(), np.linspace(0, 10, 4, dtype="int32"))
    assert np.isnan(sg.linspace(0.0, 1.0, 1, retstep=True)[1].eval())


def test_linspace_gradients(rng):
    sg.verify_grad(lambda a, b: sg.linspace(a, b, 6) ** 2, [np.array(0.3), np.array(1.7)], rng=rng)
    sg.verify_grad(lambda a, b: sg.linspace(a, b, 5, endpoint=False, axis=1), [rng.normal(size=(3,)), rng.normal(size=(2, 1))], rng=rng)


def test_linspace_errors():
    with pytest.raises(ValueError, match=r"linspace: number of samples, -1, must be non-negative"):
        sg.linspace(0, 1, -1)
    with pytest.raises(TypeError, match=r"linspace: num must be a 0-d number"):
        sg.linspace(0, 1, sg.scalar("f"))
    with pytest.raises(np.exceptions.AxisError, match=r"linspace: axis 2 is out of bounds"):
        sg.linspace(0, 1, 3, axis=2)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("shapes", [[(3,), (2,)], [(3,), (2,), (4,)], [(5,)], [(0,), (2,)], [(2, 2), (3,)], []])
def test_meshgrid_matches_numpy(indexing, sparse, shapes, rng):
    values = [rng.normal(size=s) for s in shapes]
    expected = np.meshgrid(*values, indexing=indexing, sparse=sparse)
    for static in (True, False):
        inputs = [sg.tensor(f"x{i}", shape=s if static else (None,) * len(s)) for i, s in enumerate(shapes)]
        outputs = sg.meshgrid(*inputs, indexing=indexing, sparse=sparse)
        assert isinstance(outputs, tuple) and len(outputs) == len(expected)
        for output, e in zip(outputs, expected):
            if static:
                assert output.type.shape == e.shape
        for mode in MODES:
            for result, e in zip(sg.function(inputs, list(outputs), mode=mode)(*values), expected):
                assert_same(result, e)


def test_meshgrid_gradient_and_error(rng):
    sg.verify_grad(lambda x, y: sg.meshgrid(x, y)[0] * sg.meshgrid(x, y)[1] ** 2, [rng.normal(size=3), rng.normal(size=2)], rng=rng)
    with pytest.raises(ValueError, match=r"meshgrid: indexing must be 'xy' or 'ij', got 'yx'"):
        sg.meshgrid(sg.vector("x"), indexing="yx")


# ---------------------------------------------------------------- atleast_nd, moveaxis, ravel

@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 3), (0,), (1, 2, 3, 4)])
def test_atleast_nd_matches_numpy(name, shape, rng):
    check(getattr(sg, name), getattr(np, name), [random_array(rng, shape, "float32")])


def test_atleast_nd_with_several_inputs_returns_a_tuple():
    results = sg.atleast_2d(1.0, [1, 2], np.ones((2, 2)))
    assert isinstance(results, tuple)
    assert [r.type.shape for r in results] == [a.shape for a in np.atleast_2d(1.0, [1, 2], np.ones((2, 2)))]


@pytest.mark.parametrize("source, destination", [(0, -1), ((0, 1), (-1, -2)), ((3, 0), (1, 2)), (-1, 0), ((), ())])
def test_moveaxis_matches_numpy(source, destination, rng):
    check(lambda a: sg.moveaxis(a, source, destination), lambda a: np.moveaxis(a, source, destination),
          [rng.normal(size=(2, 3, 4, 1))])


def test_moveaxis_errors():
    with pytest.raises(ValueError, match=r"moveaxis: source \(0, 1\) and destination 0 must have the same number"):
        sg.moveaxis(sg.matrix("m"), (0, 1), 0)
    with pytest.raises(ValueError, match=r"moveaxis: repeated axis"):
        sg.moveaxis(sg.matrix("m"), (0, 0), (0, 1))
    with pytest.raises(np.exceptions.AxisError, match=r"moveaxis: axis 2 is out of bounds"):
        sg.moveaxis(sg.matrix("m"), 2, 0)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 4)])
def test_ravel_matches_numpy(shape, rng):
    check(sg.ravel, np.ravel, [random_array(rng, shape, "int32")])
    with pytest.raises(ValueError, match=r"ravel: only order='C' is supported"):
        sg.ravel(sg.matrix("m"), order="F")


# ---------------------------------------------------------------- gradients and forward mode

GRADIENT_CASES = [
    (lambda x: sg.pad(x, ((1, 2), (3, 0))), [(2, 3)]),
    (lambda x: sg.pad(x, ((1, 2), (3, 4)), mode="edge"), [(2, 3)]),
    (lambda x: sg.pad(x, (5, 4), mode="reflect"), [(2, 3)]),
    (lambda x: sg.pad(x, 4, mode="symmetric"), [(2, 3)]),
    (lambda x: sg.pad(x, (1, 5), mode="wrap"), [(2, 3)]),
    (lambda x: sg.tile(x, (2, 1, 3)), [(2, 3)]),
    (lambda x: sg.repeat(x, 2, axis=1), [(2, 3)]),
    (lambda x: sg.repeat(x, [2, 0, 3], axis=-1), [(2, 3)]),
    (lambda x: sg.repeat(x, 3), [(2, 3)]),
    (lambda x: sg.flip(x) * sg.flip(x, 0), [(2, 3)]),
    (lambda x: sg.roll(x, (1, -4), (0, 1)), [(2, 3)]),
    (lambda x: sg.roll(x, 2), [(2, 3)]),
    (lambda x: sg.diff(x, 2, axis=1), [(2, 4)]),
    (lambda x: sg.diff(x, 1, axis=0, prepend=1.0), [(3, 2)]),
    (lambda x: sg.cumprod(x, axis=1), [(2, 4)]),
    (lambda x: sg.cumprod(x), [(2, 3)]),
    (lambda x: sg.atleast_3d(x) * 2, [(3,)]),
    (lambda x: sg.moveaxis(x, 0, -1), [(2, 3, 4)]),
    (lambda x: sg.ravel(x), [(2, 3)]),
    (lambda x, y: sg.concatenate(sg.array_split(x, 2, axis=1) + [y], axis=1), [(2, 5), (2, 1)]),
]


@pytest.mark.parametrize("build, shapes", GRADIENT_CASES)
def test_gradients_match_finite_differences(build, shapes, rng):
    sg.verify_grad(build, [rng.normal(size=s) for s in shapes], rng=rng)


@pytest.mark.parametrize("build, shapes", GRADIENT_CASES)
def test_forward_mode_matches_finite_differences(build, shapes, rng):
    assert_jvp_matches_finite_differences(build, [rng.normal(size=s) for s in shapes], rng)


@pytest.mark.parametrize("build", [lambda x: sg.pad(x, (2, 3), mode="reflect"), lambda x: sg.roll(x, 2, 0),
                                   lambda x: sg.repeat(x, 2, axis=0), lambda x: sg.tile(x, 2),
                                   lambda x: sg.array_split(x, 2)[1], lambda x: sg.cumprod(x)])
def test_gradients_with_sizes_known_only_at_run_time(build, rng):
    from op_testing import gradients_with_unknown_sizes

    (static,), (unknown,) = gradients_with_unknown_sizes(build, [rng.normal(size=(5,))], rng)
    np.testing.assert_allclose(static, unknown, rtol=1e-12, atol=1e-12)
