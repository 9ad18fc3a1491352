"""sg.linalg against NumPy and SciPy: values, dtypes and static shapes on batched, size-0 and size-1 stacks
in both compile modes, derivatives in both modes (and second derivatives), identities checked with
hypothesis, batching, the rewrites, and every error path."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph as sg
from op_testing import assert_jvp_matches_finite_differences
from symgraph.autodiff.vectorize import PerSliceLoop
from symgraph.graph.traversal import toposort

la = sg.linalg
MODES = [None, "fast_compile"]


def well_conditioned(rng, shape, dtype="float64"):
    """Random matrices with n added on the diagonal (far from singular)."""
    n = shape[-1]
    return (rng.standard_normal(shape) + n * np.eye(n)).astype(dtype)


def spd(rng, shape, dtype="float64"):
    """Symmetric positive-definite matrices X X^T + n I."""
    x = rng.standard_normal(shape)
    return (x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def general(rng, shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


def compile_like(build, values, static, mode):
    inputs = [sg.tensor(f"x{i}", dtype=v.dtype, shape=v.shape if static else (None,) * v.ndim)
              for i, v in enumerate(values)]
    outputs = build(*inputs)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    return outputs, sg.function(inputs, outputs, mode=mode, on_unused_input="ignore")(*values)


def assert_agrees_with(build, reference, values, rtol, data_dependent=()):
    """Every output's values, dtype and static shape equal NumPy's, with static and unknown sizes, in
    the default and the fast_compile mode; the outputs at positions `data_dependent` have sizes no
    static shape can tell."""
    expected = reference(*values)
    expected = [np.asarray(e) for e in (expected if isinstance(expected, tuple) else (expected,))]
    for static in (True, False):
        for mode in MODES:
            outputs, results = compile_like(build, values, static, mode)
            assert len(results) == len(expected)
            for position, (out, result, wanted) in enumerate(zip(outputs, results, expected)):
                assert result.dtype == wanted.dtype and out.dtype == wanted.dtype
                assert result.shape == wanted.shape
                if static and position in data_dependent:
                    assert out.type.shape == (None,) * wanted.ndim
                elif static:
                    assert out.type.shape == wanted.shape
                else:
                    assert len(out.type.shape) == wanted.ndim
                np.testing.assert_allclose(result, wanted, rtol=rtol, atol=rtol)


def _scipy_solve_triangular(**options):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    return lambda a, b: scipy_linalg.solve_triangular(a, b, **options)


# (id, build, NumPy reference, [(input sampler, shape)])
VALUE_CASES = [
    ("solve-vector", la.solve, np.linalg.solve, [(well_conditioned, (3, 3)), (general, (3,))]),
    ("solve-matrix", la.solve, np.linalg.solve, [(well_conditioned, (3, 3)), (general, (3, 2))]),
    ("solve-batched-vector", la.solve, np.linalg.solve, [(well_conditioned, (2, 3, 3)), (general, (3,))]),
    ("solve-broadcast", la.solve, np.linalg.solve, [(well_conditioned, (2, 1, 3, 3)), (general, (4, 3, 2))]),
    ("solve-empty-batch", la.solve, np.linalg.solve, [(well_conditioned, (0, 3, 3)), (general, (0, 3, 1))]),
    ("solve-1x1", la.solve, np.linalg.solve, [(well_conditioned, (1, 1)), (general, (1,))]),
    ("inv", la.inv, np.linalg.inv, [(well_conditioned, (4, 4))]),
    ("inv-batched", la.inv, np.linalg.inv, [(well_conditioned, (2, 3, 3, 3))]),
    ("inv-0x0", la.inv, np.linalg.inv, [(general, (2, 0, 0))]),
    ("det", la.det, np.linalg.det, [(general, (4, 4))]),
    ("det-batched", la.det, np.linalg.det, [(general, (5, 2, 2))]),
    ("det-empty-batch", la.det, np.linalg.det, [(general, (0, 2, 2))]),
    ("det-0x0", la.det, np.linalg.det, [(general, (0, 0))]),
    ("slogdet", la.slogdet, np.linalg.slogdet, [(general, (3, 4, 4))]),
    ("cholesky", la.cholesky, np.linalg.cholesky, [(spd, (4, 4))]),
    ("cholesky-batched", la.cholesky, np.linalg.cholesky, [(spd, (2, 3, 3))]),
    ("cholesky-upper", lambda a: la.cholesky(a, upper=True), lambda a: np.linalg.cholesky(a, upper=True),
     [(spd, (3, 3))]),
    ("cholesky-1x1", la.cholesky, np.linalg.cholesky, [(spd, (1, 1, 1))]),
    ("qr", la.qr, np.linalg.qr, [(general, (5, 3))]),
    ("qr-wide", la.qr, np.linalg.qr, [(general, (2, 3, 4))]),
    ("qr-complete", lambda a: la.qr(a, mode="complete"), lambda a: np.linalg.qr(a, mode="complete"),
     [(general, (4, 2))]),
    ("qr-r", lambda a: la.qr(a, mode="r"), lambda a: np.linalg.qr(a, mode="r"), [(general, (4, 3))]),
    ("svd", la.svd, np.linalg.svd, [(general, (4, 3))]),
    ("svd-reduced", lambda a: la.svd(a, full_matrices=False), lambda a: np.linalg.svd(a, full_matrices=False),
     [(general, (2, 3, 5))]),
    ("svd-values", lambda a: la.svd(a, compute_uv=False), lambda a: np.linalg.svd(a, compute_uv=False),
     [(general, (0, 3, 2))]),
    ("eigh", la.eigh, np.linalg.eigh, [(spd, (2, 4, 4))]),
    ("eigh-upper", lambda a: la.eigh(a, UPLO="U"), lambda a: np.linalg.eigh(a, UPLO="U"), [(general, (3, 3))]),
    ("eigvalsh", la.eigvalsh, np.linalg.eigvalsh, [(general, (3, 3))]),
    ("eigvalsh-upper", lambda a: la.eigvalsh(a, "U"), lambda a: np.linalg.eigvalsh(a, "U"), [(general, (2, 3, 3))]),
    ("pinv", la.pinv, np.linalg.pinv, [(general, (4, 2))]),
    ("pinv-batched-rcond", lambda a: la.pinv(a, rcond=0.5), lambda a: np.linalg.pinv(a, rcond=0.5),
     [(general, (2, 2, 3))]),
    ("pinv-hermitian", lambda a: la.pinv(a, hermitian=True), lambda a: np.linalg.pinv(a, hermitian=True),
     [(spd, (3, 3))]),
    ("solve_triangular-lower", lambda a, b: la.solve_triangular(a, b, lower=True),
     _scipy_solve_triangular(lower=True), [(well_conditioned, (3, 3)), (general, (3,))]),
    ("solve_triangular-trans-unit", lambda a, b: la.solve_triangular(a, b, trans="T", unit_diagonal=True),
     _scipy_solve_triangular(trans="T", unit_diagonal=True), [(well_conditioned, (3, 3)), (general, (3, 2))]),
    ("solve_triangular-batched", lambda a, b: la.solve_triangular(a, b, trans=2),
     _scipy_solve_triangular(trans=2), [(well_conditioned, (2, 3, 3)), (general, (2, 3, 2))]),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("build, reference, samplers", [pytest.param(*case[1:], id=case[0]) for case in VALUE_CASES])
def test_values_match_numpy(rng, build, reference, samplers, dtype):
    values = [sample(rng, shape, dtype) for sample, shape in samplers]
    assert_agrees_with(build, reference, values, rtol=1e-4 if dtype == "float32" else 1e-9)


@pytest.mark.parametrize("shape_a, shape_b", [((5, 3), (5,)), ((5, 3), (5, 2)), ((2, 4), (2,)), ((3, 3), (3, 2)),
                                               ((1, 1), (1,))])
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "float32"), ("float32", "int32")])
def test_lstsq_matches_numpy(rng, shape_a, shape_b, dtypes):
    values = [general(rng, shape_a, dtypes[0]), (rng.standard_normal(shape_b) * 3).astype(dtypes[1])]
    assert_agrees_with(la.lstsq, lambda a, b: tuple(np.linalg.lstsq(a, b)), values,
                       rtol=1e-4 if "float32" in dtypes else 1e-9, data_dependent=(1,))


def test_lstsq_rank_deficient_matrix_has_no_residuals_and_its_rank():
    a, b = sg.matrix("a"), sg.vector("b")
    x, residuals, rank, s = sg.function([a, b], list(la.lstsq(a, b, rcond=1e-10)))(np.ones((3, 2)), np.arange(3.0))
    expected = np.linalg.lstsq(np.ones((3, 2)), np.arange(3.0), rcond=1e-10)
    np.testing.assert_allclose(x, expected[0])
    assert residuals.shape == (0,) and int(rank) == 1


@pytest.mark.parametrize("shape_a, shape_b", [((4, 2), (4,)), ((4, 2), (4, 3)), ((2, 3), (2,))])
def test_lstsq_derivatives(rng, shape_a, shape_b):
    values = [general(rng, shape_a), general(rng, shape_b)]
    smooth = lambda a, b: (lambda x, r, _, s: sg.concatenate([x.flatten(), r, s]))(*la.lstsq(a, b))
    sg.verify_grad(smooth, values, rng=rng)
    assert_jvp_matches_finite_differences(smooth, values, rng)


@pytest.mark.parametrize("build, reference", [
    (la.solve, np.linalg.solve), (la.inv, np.linalg.inv), (la.det, np.linalg.det), (la.slogdet, np.linalg.slogdet),
    (la.pinv, np.linalg.pinv), (lambda a: la.svd(a, compute_uv=False), lambda a: np.linalg.svd(a, compute_uv=False)),
], ids=["solve", "inv", "det", "slogdet", "pinv", "svd"])
def test_integer_inputs_give_float64_like_numpy(build, reference):
    a = np.array([[2, 1], [1, 3]], dtype="int32")
    values = [a, np.array([1, 2], dtype="int64")] if build is la.solve else [a]
    assert_agrees_with(build, reference, values, rtol=1e-12)


def test_solve_triangular_reads_only_its_triangle():
    a = np.array([[2.0, 100.0], [1.0, 4.0]])
    x, b = sg.matrix("x"), sg.vector("b")
    lower = sg.function([x, b], la.solve_triangular(x, b, lower=True))
    np.testing.assert_allclose(lower(a, [2.0, 5.0]), [1.0, 1.0])
    unit = sg.function([x, b], la.solve_triangular(x, b, unit_diagonal=True))
    np.testing.assert_allclose(unit(a, [101.0, 1.0]), [1.0, 1.0])


@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 3, 6])
def test_matrix_power_matches_numpy(rng, n):
    a = well_conditioned(rng, (2, 3, 3))
    assert_agrees_with(lambda x: la.matrix_power(x, n), lambda x: np.linalg.matrix_power(x, n), [a], rtol=1e-9)


def test_matrix_power_keeps_integers_and_gives_identities_for_zero():
    a = np.array([[1, 2], [3, np.iinfo("int64").max]], dtype="int64")
    assert_agrees_with(lambda x: la.matrix_power(x, 0), lambda x: np.linalg.matrix_power(x, 0), [a], rtol=0)
    assert_agrees_with(lambda x: la.matrix_power(x, 2), lambda x: np.linalg.matrix_power(x, 2), [a[:1, :1].copy()], rtol=0)
    nan = np.full((2, 2), np.nan)
    x = sg.matrix("x")
    np.testing.assert_array_equal(sg.function([x], la.matrix_power(x, 0))(nan), np.eye(2))


NORM_CASES = [
    ((4,), None, None), ((4,), 2, None), ((4,), np.inf, None), ((4,), -np.inf, None), ((4,), 0, None),
    ((4,), 1, None), ((4,), -1, None), ((4,), 3.5, None), ((4,), -2, None),
    ((3, 4), None, None), ((3, 4), "fro", None), ((3, 4), "nuc", None), ((3, 4), np.inf, None),
    ((3, 4), -np.inf, None), ((3, 4), 1, None), ((3, 4), -1, None), ((3, 4), 2, None), ((3, 4), -2, None),
    ((2, 3, 4), None, None), ((2, 3, 4), None, 1), ((2, 3, 4), 1, -1), ((2, 3, 4), 0.5, (0,)),
    ((2, 3, 4), "fro", (2, 0)), ((2, 3, 4), "nuc", (1, 2)), ((2, 3, 4), 2, (2, 1)), ((2, 3, 4), -1, (0, 2)),
    ((2, 3, 4), np.inf, (2, 1)), ((0, 3), 1, 1), ((1, 1), 2, None),
]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, ord, axis", NORM_CASES)
def test_norm_matches_numpy(rng, shape, ord, axis, keepdims):
    for dtype in ("float64", "float32"):
        x = rng.standard_normal(shape).astype(dtype)
        x.flat[::3] = 0  # zeros for ord=0
        with np.errstate(divide="ignore"):  # negative orders of zero entries, in NumPy and here
            assert_agrees_with(lambda v: la.norm(v, ord, axis, keepdims),
                               lambda v: np.linalg.norm(v, ord, axis, keepdims), [x], rtol=1e-4 if dtype == "float32" else 1e-9)


def test_norm_of_integers_is_float64():
    assert_agrees_with(la.norm, np.linalg.norm, [np.array([[3, 4], [0, 0]], dtype="int32")], rtol=1e-12)
    assert_agrees_with(lambda v: la.norm(v, 0), lambda v: np.linalg.norm(v, 0), [np.array([3, 0, 1])], rtol=0)


@pytest.mark.parametrize("shape, ord, axis", [
    ((2, 3), "fro", None), ((2, 3), None, (0, 1)), ((2, 3), None, None), ((2, 3), 1, None), ((2, 3), np.inf, None), ((4,), 0, None), ((4,), 3, None),
    ((4,), -1, None), ((4,), 0.5, None), ((4,), 2, None), ((4,), np.inf, None), ((2, 4), 1, 1),
])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_norm_of_complex_input_is_real_like_numpy(shape, ord, axis, dtype):
    x = (np.arange(1.0, 1 + np.prod(shape)) * (1 - 2j) + 1j).reshape(shape).astype(dtype)
    x.flat[::3] = 0
    with np.errstate(divide="ignore"):
        assert_agrees_with(lambda v: la.norm(v, ord, axis), lambda v: np.linalg.norm(v, ord, axis), [x],
                           rtol=1e-5 if dtype == "complex64" else 1e-12)


def _hermitian_positive_definite(dtype):
    x = np.array([[4.0, 1.0 + 2.0j, 0.5j], [0.0, 3.0, -1.0], [2.0j, 1.0, 5.0]])
    return (x @ x.conj().T + 3 * np.eye(3)).astype(dtype)


@pytest.mark.parametrize("build, reference, data_dependent", [
    (la.eigh, np.linalg.eigh, ()),
    (la.eigvalsh, np.linalg.eigvalsh, ()),
    (la.svd, np.linalg.svd, ()),
    (lambda a: la.svd(a, full_matrices=False), lambda a: np.linalg.svd(a, full_matrices=False), ()),
    (lambda a: la.svd(a, compute_uv=False), lambda a: np.linalg.svd(a, compute_uv=False), ()),
    (la.slogdet, np.linalg.slogdet, ()),
    (la.qr, np.linalg.qr, ()),
    (la.inv, np.linalg.inv, ()),
    (la.det, np.linalg.det, ()),
    (la.cholesky, np.linalg.cholesky, ()),
    (la.pinv, np.linalg.pinv, ()),
    (lambda a: la.lstsq(a[:, :2], a[:, 0]), lambda a: np.linalg.lstsq(a[:, :2], a[:, 0]), (1,)),
    (lambda a: la.norm(a, "nuc"), lambda a: np.linalg.norm(a, "nuc"), ()),
    (lambda a: la.norm(a, 2), lambda a: np.linalg.norm(a, 2), ()),
    (lambda a: la.norm(a, -2), lambda a: np.linalg.norm(a, -2), ()),
], ids=["eigh", "eigvalsh", "svd", "svd-reduced", "svd-values", "slogdet", "qr", "inv", "det", "cholesky", "pinv",
        "lstsq", "norm-nuc", "norm-2", "norm--2"])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_decompositions_have_numpys_dtype_per_output(build, reference, data_dependent, dtype):
    assert_agrees_with(build, reference, [_hermitian_positive_definite(dtype)],
                       rtol=1e-4 if dtype == "complex64" else 1e-10, data_dependent=data_dependent)


def test_a_cast_of_complex_eigenvectors_is_kept():
    a = sg.matrix("a", dtype="complex64")
    vectors = la.eigh(a)[1]
    assert vectors.dtype == np.complex64
    with pytest.warns(np.exceptions.ComplexWarning):  # NumPy's, for the imaginary parts the cast drops
        real = sg.function([a], vectors.astype("float32"))(_hermitian_positive_definite("complex64"))
    assert real.dtype == np.float32


# ---------------------------------------------------------------- derivatives

def _symmetric(x):
    """An SPD matrix (stack) built from an unconstrained one, so finite differences stay symmetric."""
    return x @ sg.swapaxes(x, -1, -2) + 3 * sg.eye(x.shape[-1])


def _qr_without_sign_gauge(a, mode="reduced"):
    q, r = la.qr(a, mode=mode)
    signs = sg.sign(sg.einsum("...ii->...i", r))
    return sg.concatenate([(q * signs[..., None, :]).flatten(), (r * signs[..., :, None]).flatten()])


def _svd_without_sign_gauge(a, full_matrices=False):
    u, s, vh = la.svd(a, full_matrices=full_matrices)
    k = s.shape[-1] if s.type.shape[-1] is None else s.type.shape[-1]
    return sg.concatenate([s.flatten(), (sg.abs(u[..., :k]) * s[..., None, :]).flatten(),
                           (sg.abs(vh[..., :k, :]) * s[..., :, None]).flatten()])


def _eigh_without_sign_gauge(x):
    w, v = la.eigh(_symmetric(x))
    return sg.concatenate([w.flatten(), (sg.abs(v) * w[..., None, :]).flatten()])


DERIVATIVE_CASES = [
    ("solve-vector", la.solve, [(well_conditioned, (3, 3)), (general, (3,))]),
    ("solve-broadcast", la.solve, [(well_conditioned, (2, 3, 3)), (general, (3, 2))]),
    ("solve-batched-b", la.solve, [(well_conditioned, (3, 3)), (general, (2, 3, 1))]),
    ("inv", la.inv, [(well_conditioned, (2, 3, 3))]),
    ("det", la.det, [(general, (2, 3, 3))]),
    ("slogdet", lambda a: la.slogdet(a)[1], [(general, (3, 3))]),
    ("cholesky", lambda x: la.cholesky(_symmetric(x)), [(general, (2, 3, 3))]),
    ("cholesky-upper", lambda x: la.cholesky(_symmetric(x), upper=True), [(general, (3, 3))]),
    ("solve_triangular", lambda a, b: la.solve_triangular(a, b, lower=True), [(well_conditioned, (3, 3)), (general, (3,))]),
    ("solve_triangular-trans-unit", lambda a, b: la.solve_triangular(a, b, trans=1, unit_diagonal=True),
     [(well_conditioned, (2, 3, 3)), (general, (3, 2))]),
    ("pinv-tall", la.pinv, [(general, (4, 2))]),
    ("pinv-wide", la.pinv, [(general, (2, 2, 3))]),
    ("matrix_power", lambda a: la.matrix_power(a, -2), [(well_conditioned, (3, 3))]),
    ("qr", _qr_without_sign_gauge, [(general, (4, 3))]),
    ("qr-square-batched", _qr_without_sign_gauge, [(general, (2, 3, 3))]),
    ("qr-complete", lambda a: _qr_without_sign_gauge(a, "complete"), [(general, (3, 3))]),
    ("qr-r", lambda a: la.qr(a, mode="r") ** 2, [(general, (4, 3))]),
    ("svd-tall", _svd_without_sign_gauge, [(general, (4, 3))]),
    ("svd-wide", _svd_without_sign_gauge, [(general, (2, 2, 4))]),
    ("svd-full-square", lambda a: _svd_without_sign_gauge(a, True), [(general, (3, 3))]),
    ("svd-reconstruction", lambda a: (lambda u, s, vh: (u * s[..., None, :]) @ vh)(*la.svd(a, False)),
     [(general, (3, 2))]),
    ("svd-values", lambda a: la.svd(a, compute_uv=False), [(general, (2, 4, 3))]),
    ("eigh", _eigh_without_sign_gauge, [(general, (3, 3))]),
    ("eigh-upper", lambda x: sg.abs(la.eigh(_symmetric(x), UPLO="U")[1]).sum(), [(general, (2, 3, 3))]),
    ("eigvalsh", lambda x: la.eigvalsh(_symmetric(x)), [(general, (2, 3, 3))]),
    ("norm-vector", lambda x: la.norm(x, 3, axis=-1), [(general, (2, 4))]),
    ("norm-nuc", lambda x: la.norm(x, "nuc"), [(general, (3, 4))]),
    ("norm-2", lambda x: la.norm(x, 2, axis=(0, 2)), [(general, (3, 2, 4))]),
    ("norm-inf", lambda x: la.norm(x, np.inf, keepdims=True), [(general, (3, 4))]),
]
DERIVATIVE_PARAMS = [pytest.param(*case[1:], id=case[0]) for case in DERIVATIVE_CASES]


@pytest.mark.parametrize("build, samplers", DERIVATIVE_PARAMS)
def test_gradient_matches_finite_differences(rng, build, samplers):
    sg.verify_grad(build, [sample(rng, shape) for sample, shape in samplers], rng=rng)


@pytest.mark.parametrize("build, samplers", DERIVATIVE_PARAMS)
def test_forward_mode_matches_finite_differences(rng, build, samplers):
    assert_jvp_matches_finite_differences(build, [sample(rng, shape) for sample, shape in samplers], rng)


@pytest.mark.parametrize("build, samplers", [
    (lambda a, b: sg.grad((la.solve(a, b) ** 2).sum(), a) * a, [(well_conditioned, (3, 3)), (general, (3,))]),
    (lambda a, b: sg.grad((la.solve(a, b) ** 2).sum(), b), [(well_conditioned, (3, 3)), (general, (3, 2))]),
    (lambda a: sg.grad(la.det(a), a), [(general, (3, 3))]),
    (lambda x: sg.grad(la.cholesky(_symmetric(x)).sum(), x), [(general, (3, 3))]),
], ids=["solve-a", "solve-b", "det", "cholesky"])
def test_second_derivatives_match_finite_differences(rng, build, samplers):
    sg.verify_grad(build, [sample(rng, shape) for sample, shape in samplers], rng=rng)


@pytest.mark.parametrize("build", [
    lambda a: la.solve(a, a[0]).sum(), lambda a: la.det(a), lambda a: la.cholesky(a).sum(),
    lambda a: la.svd(a, compute_uv=False).sum(), lambda a: la.eigh(a)[1].sum(), lambda a: la.norm(a, "nuc"),
    lambda a: la.qr(a)[0].sum(), lambda a: la.pinv(a).sum(),
], ids=["solve", "det", "cholesky", "svd", "eigh", "norm", "qr", "pinv"])
def test_float32_gradients_stay_float32(rng, build):
    a = sg.matrix("a", dtype="float32")
    g = sg.grad(build(a), a)
    assert g.dtype == np.float32
    assert sg.function([a], g)(spd(rng, (3, 3), "float32")).dtype == np.float32


def test_gradients_with_sizes_known_only_at_run_time(rng):
    values = [well_conditioned(rng, (2, 3, 3)), general(rng, (3,))]
    cost = lambda a, b: (la.solve(a, b) * la.det(a)[:, None]).sum() + la.norm(la.inv(a), "nuc", axis=(1, 2)).sum()
    results = []
    for shape_a, shape_b in (((2, 3, 3), (3,)), ((None, None, None), (None,))):
        a, b = sg.tensor("a", shape=shape_a), sg.vector("b", shape=shape_b)
        results.append(sg.function([a, b], sg.grad(cost(a, b), [a, b]))(*values))
    for static, unknown in zip(*results):
        np.testing.assert_allclose(static, unknown, rtol=1e-12)


def test_slogdet_sign_has_zero_gradient(rng):
    a = sg.matrix("a")
    sign, logabsdet = la.slogdet(a)
    g = sg.function([a], sg.grad(sign.sum() + 0 * logabsdet, a))(general(rng, (3, 3)))
    np.testing.assert_array_equal(g, np.zeros((3, 3)))


def test_eigh_vector_gradient_is_not_finite_at_repeated_eigenvalues():
    a = sg.matrix("a")
    g = sg.function([a], sg.grad(sg.abs(la.eigh(a)[1]).sum() + la.eigvalsh(a).sum(), a))
    values_only = sg.function([a], sg.grad(la.eigvalsh(a).sum(), a))
    with np.errstate(all="ignore"):
        assert not np.isfinite(g(np.eye(3))).all()
    np.testing.assert_allclose(values_only(np.eye(3)), np.eye(3))


# ---------------------------------------------------------------- identities (hypothesis)

_a, _x = sg.tensor("a", shape=(3, 3)), sg.vector("x", shape=(3,))
_solve_roundtrip = sg.function([_a, _x], la.solve(_a, _a @ _x))
_det_and_eigenvalue_product = sg.function([_a], [la.det(_a), sg.prod(la.eigvalsh(_a))])
_cholesky_product = sg.function([_a], (lambda l: l @ l.T)(la.cholesky(_a)))
_entries = st.lists(st.floats(-2, 2), min_size=9, max_size=9).map(lambda v: np.array(v).reshape(3, 3))


@settings(max_examples=15, deadline=None)
@given(_entries, st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_solve_inverts_the_product(entries, x):
    a = entries + 8 * np.eye(3)
    np.testing.assert_allclose(_solve_roundtrip(a, x), x, rtol=1e-9, atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(_entries)
def test_determinant_of_spd_is_the_product_of_its_eigenvalues(entries):
    a = entries @ entries.T + np.eye(3)
    d, product = _det_and_eigenvalue_product(a)
    np.testing.assert_allclose(d, product, rtol=1e-9)


@settings(max_examples=15, deadline=None)
@given(_entries)
def test_cholesky_factor_times_its_transpose_is_the_matrix(entries):
    a = entries @ entries.T + np.eye(3)
    np.testing.assert_allclose(_cholesky_product(a), a, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- batching

@pytest.mark.parametrize("build, samplers", [
    (lambda a: la.inv(a), [(well_conditioned, (3, 3))]),
    (lambda a, b: la.solve(a, b), [(well_conditioned, (3, 3)), (general, (3,))]),
    (lambda a, b: la.solve_triangular(a, b, lower=True), [(well_conditioned, (2, 3, 3)), (general, (3, 2))]),
    (lambda x: la.cholesky(_symmetric(x)), [(general, (3, 3))]),
    (lambda a: la.svd(a, compute_uv=False), [(general, (3, 2))]),
], ids=["inv", "solve", "solve_triangular", "cholesky", "svd"])
def test_jacobians_batch_without_per_slice_loops(rng, build, samplers):
    values = [sample(rng, shape) for sample, shape in samplers]
    inputs = [sg.tensor(f"x{i}", shape=v.shape) for i, v in enumerate(values)]
    out = build(*inputs).flatten()
    jacobians = sg.jacobian(out, inputs)
    assert not any(isinstance(node.op, PerSliceLoop) for node in toposort(jacobians))
    computed = sg.function(inputs, jacobians)(*values)
    for i in range(2):
        row = sg.function(inputs, sg.grad(out[i], inputs))(*values)
        for jacobian, expected in zip(computed, row):
            np.testing.assert_allclose(jacobian[i], expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- rewrites

a_var, b_var = sg.matrix("a"), sg.vector("b")
_factor = la.cholesky(a_var @ a_var.T + 3 * sg.eye(a_var.shape[0]))

REWRITE_CASES = [
    ("inv_matmul_to_solve", la.inv(a_var) @ b_var),
    ("inv_matmul_to_solve", la.inv(a_var) @ sg.outer(b_var, b_var)),
    ("log_det_to_slogdet", sg.log(la.det(a_var)) * b_var.sum()),
    ("log_abs_det_to_slogdet", sg.log(sg.abs(la.det(a_var))) * b_var.sum()),
    ("det_of_cholesky", la.det(_factor) * b_var.sum()),
    ("det_of_cholesky", la.det(_factor @ _factor.T) * b_var.sum()),
    ("logdet_of_cholesky", sg.log(la.det(_factor)) * b_var.sum()),
    ("logdet_of_cholesky", la.slogdet(_factor.T @ _factor)[1] * b_var.sum()),
]


@pytest.mark.parametrize("name, expression", REWRITE_CASES)
def test_rewrite_fires_and_agrees_with_the_graph_without_it(rng, name, expression):
    values = [well_conditioned(rng, (3, 3)), general(rng, (3,))]
    rewritten = sg.function([a_var, b_var], expression)
    plain = sg.function([a_var, b_var], expression, mode=sg.Mode(exclude=[name]))
    assert rewritten.report.rewrites.get(name, 0) >= 1
    assert name not in plain.report.rewrites
    np.testing.assert_allclose(rewritten(*values), plain(*values), rtol=1e-10)


def test_rewritten_gradients_agree(rng):
    a = sg.matrix("a")
    cost = sg.log(la.det(la.cholesky(a @ a.T + 3 * sg.eye(3)))) + (la.inv(a) @ sg.ones(3)).sum()
    value = well_conditioned(rng, (3, 3))
    rewritten = sg.function([a], [cost, sg.grad(cost, a)])
    plain = sg.function([a], [cost, sg.grad(cost, a)], mode="fast_compile")
    assert {"log_det_to_slogdet", "logdet_of_cholesky", "det_of_cholesky", "inv_matmul_to_solve"} <= set(
        rewritten.report.rewrites)
    for got, expected in zip(rewritten(value), plain(value)):
        np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_gradient_shares_one_lu_factorization_between_its_solves(rng, dtype):
    a, b = sg.matrix("a", dtype=dtype), sg.matrix("b", dtype=dtype)
    x = la.solve(a, b)
    outputs = [x, *sg.grad((x * x).sum(), [a, b])]
    f = sg.function([a, b], outputs)
    plain = sg.function([a, b], outputs, mode=sg.Mode(exclude=["solve_to_lu_solve"]))
    assert f.report.rewrites["solve_to_lu_solve"] == 2
    assert [node.op.name for node in f.graph.nodes if node.op.name in ("lu_factor", "solve")] == ["lu_factor"]
    values = [well_conditioned(rng, (4, 4), dtype), general(rng, (4, 2), dtype)]
    for got, expected in zip(f(*values), plain(*values)):
        assert got.dtype == expected.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, expected, rtol=1e-4 if dtype == "float32" else 1e-12)


def test_solves_of_stacks_and_of_mixed_dtypes_keep_numpys_solve():
    a, b = sg.tensor("a", shape=(None, 3, 3)), sg.vector("b")
    assert "solve_to_lu_solve" not in sg.function([a, b], la.solve(a, b)).report.rewrites
    a32 = sg.matrix("a", dtype="float32")
    assert "solve_to_lu_solve" not in sg.function([a32, b], la.solve(a32, b)).report.rewrites


def test_log_det_keeps_numpy_results_for_negative_zero_and_huge_determinants():
    a = sg.matrix("a")
    f = sg.function([a], sg.log(la.det(a)))
    assert f.report.rewrites["log_det_to_slogdet"] == 1
    with np.errstate(all="ignore"):
        assert np.isnan(f(-np.eye(3)))
        assert f(np.zeros((2, 2))) == -np.inf
    assert f(np.eye(3) * 1e200) == pytest.approx(3 * np.log(1e200))


def test_inv_matmul_rewrite_keeps_the_result_dtype(rng):
    a, b = sg.matrix("a", dtype="float32"), sg.vector("b", dtype="int32")
    f = sg.function([a, b], la.inv(a) @ b)
    assert f.report.rewrites["inv_matmul_to_solve"] == 1
    result = f(well_conditioned(rng, (3, 3), "float32"), np.array([1, 2, 3], dtype="int32"))
    assert result.dtype == (la.inv(a) @ b).dtype


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("build, shape, message", [
    (la.inv, (2, 3), r"inv: expected square matrices .* got type float64\[2,3\]"),
    (la.det, (4, 2, 3), r"det: expected square matrices .* got type float64\[4,2,3\]"),
    (la.cholesky, (3, 2), r"cholesky: expected square matrices .* float64\[3,2\]"),
    (la.slogdet, (3,), r"slogdet: expected a matrix or a stack of matrices \(at least 2 dimensions\), got type float64\[3\]"),
    (la.eigh, (2, 3), r"eigh: expected square matrices"),
    (la.eigvalsh, (2, 3), r"eigh: expected square matrices"),
    (la.qr, (3,), r"qr: expected a matrix"),
    (la.svd, (), r"svd: expected a matrix"),
    (lambda a: la.matrix_power(a, 2), (2, 3), r"matrix_power: expected square matrices"),
    (lambda a: la.pinv(a, hermitian=True), (2, 3), r"pinv: expected square matrices"),
])
def test_bad_shapes_raise_at_build_time(build, shape, message):
    with pytest.raises(sg.ShapeError, match=message):
        build(sg.tensor("a", shape=shape))


@pytest.mark.parametrize("build, shape_b, message", [
    (la.solve, (4,), r"solve: operands of types float64\[3,3\] and float64\[4\] have mismatched sizes 3 and 4"),
    (la.solve, (2, 4, 1), r"solve: operands of types float64\[3,3\] and float64\[2,4,1\] have mismatched sizes"),
    (la.solve, (), r"solve: the right-hand side must have at least one dimension"),
    (la.solve_triangular, (2,), r"solve_triangular: operands of types float64\[3,3\] and float64\[2\]"),
])
def test_mismatched_right_hand_sides_raise_at_build_time(build, shape_b, message):
    with pytest.raises(sg.ShapeError, match=message):
        build(sg.tensor("a", shape=(3, 3)), sg.tensor("b", shape=shape_b))


def test_solve_batch_mismatch_raises_at_build_time():
    with pytest.raises(sg.ShapeError, match="solve"):
        la.solve(sg.tensor("a", shape=(2, 3, 3)), sg.tensor("b", shape=(4, 3, 1)))


@pytest.mark.parametrize("call, error, message", [
    (lambda a: la.qr(a, mode="raw"), ValueError, r"qr: mode must be one of .* got 'raw'"),
    (lambda a: la.eigh(a, UPLO="X"), ValueError, r"eigh: UPLO must be 'L' or 'U', got 'X'"),
    (lambda a: la.eigvalsh(a, UPLO="l"), ValueError, r"eigvalsh: UPLO"),
    (lambda a: la.norm(a, "bad"), ValueError, r"norm: invalid norm order 'bad' for matrices"),
    (lambda a: la.norm(a, "fro", axis=0), ValueError, r"norm: invalid norm order 'fro' for vectors"),
    (lambda a: la.norm(a, 3), ValueError, r"norm: invalid norm order 3 for matrices"),
    (lambda a: la.norm(a, axis=(0, 1, 0)), ValueError, r"norm: repeated axis"),
    (lambda a: la.norm(a[None], 1), sg.ShapeError, r"norm: an ord needs a 1-d or 2-d operand or an axis"),
    (lambda a: la.matrix_power(a, 1.5), TypeError, r"matrix_power: the exponent must be an int, got 1.5"),
    (lambda a: la.solve_triangular(a, a, trans=3), ValueError, r"solve_triangular: trans must be"),
    (lambda a: la.pinv(a, rcond=sg.scalar("r")), TypeError, r"pinv: rcond must be a number known while building"),
    (lambda a: la.lstsq(a, a, rcond=sg.scalar("r")), TypeError, r"lstsq: rcond must be a number known while building"),
    (lambda a: la.lstsq(a[None], a[0]), sg.ShapeError, r"lstsq: expected a matrix and a vector or matrix, got types"),
    (lambda a: la.lstsq(a, sg.ones(4)), sg.ShapeError, r"lstsq: operands of types float64\[3,3\] and float64\[4\] have mismatched"),
    (lambda a: la.inv(sg.cast(a, "float16")), TypeError, r"inv: not defined for operand\(s\) of type float16\[3,3\]"),
])
def test_bad_arguments_raise(call, error, message):
    with pytest.raises(error, match=message):
        call(sg.tensor("a", shape=(3, 3)))


@pytest.mark.parametrize("build, shape, message", [
    (lambda a: la.qr(a)[0].sum(), (2, 3), r"qr\(mode='reduced'\) of a matrix of type float64\[2,3\] has no derivative"),
    (lambda a: la.qr(a, mode="complete")[1].sum(), (3, 2), r"qr\(mode='complete'\)"),
    (lambda a: la.svd(a)[0].sum(), (3, 2), r"svd\(full_matrices=True\) of a matrix of type float64\[3,2\] has no derivative"),
])
def test_undefined_derivatives_raise_not_differentiable(build, shape, message):
    a = sg.tensor("a", shape=shape)
    with pytest.raises(sg.NotDifferentiableError, match=message):
        sg.grad(build(a), a)
    with pytest.raises(sg.NotDifferentiableError, match=message):
        sg.jvp(build(a), a, sg.zeros(shape))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("build, shape, message", [
    (lambda a: la.qr(a)[1].sum(), (3, 4), r"qr\(mode='reduced'\) of a matrix of shape \(3, 4\) has no derivative"),
    (lambda a: la.qr(a, mode="r").sum(), (2, 3, 4), r"qr\(mode='r'\) of a matrix of shape \(2, 3, 4\)"),
    (lambda a: la.qr(a, mode="complete")[0].sum(), (4, 3), r"qr\(mode='complete'\) of a matrix of shape \(4, 3\)"),
    (lambda a: la.svd(a)[0].sum(), (4, 3), r"svd\(full_matrices=True\) of a matrix of shape \(4, 3\) has no derivative"),
    (lambda a: la.svd(a)[2].sum(), (3, 5), r"svd\(full_matrices=True\) of a matrix of shape \(3, 5\)"),
])
def test_undefined_derivatives_with_sizes_known_only_at_run_time_raise_not_differentiable(build, shape, message, mode):
    a = sg.tensor("a", shape=(None,) * len(shape))
    value = np.random.default_rng(0).normal(size=shape)
    for derivative in (sg.grad(build(a), a), sg.jvp(build(a), a, a)):
        with pytest.raises(sg.NotDifferentiableError, match=message):
            sg.function([a], derivative, mode=mode)(value)
    square = value[..., :2, :2]  # inside the domain the check changes nothing
    static = sg.tensor("s", shape=square.shape)
    np.testing.assert_allclose(sg.function([a], sg.grad(build(a), a), mode=mode)(square),
                               sg.function([static], sg.grad(build(static), static), mode=mode)(square), rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("build, value, node_name", [
    (la.inv, np.ones((2, 2)), "inv"),
    (lambda a: la.solve(a, a[0]), np.zeros((3, 3)), "solve"),
    (lambda a: la.solve(a, a[0]), np.array([[1.0, 2.0], [2.0, 4.0]]), "solve"),
    (lambda a: la.solve(sg.stack([a, a]), a), np.ones((2, 2)), "solve"),
    (la.cholesky, -np.eye(2), "cholesky"),
], ids=["inv", "solve", "solve-rank-1", "solve-batched", "cholesky"])
def test_singular_matrices_raise_linalg_error_naming_the_node_and_line(build, value, node_name, mode):
    a = sg.matrix("a")
    out = build(a)
    line = out.owner.site
    f = sg.function([a], out, mode=mode)
    with pytest.raises(np.linalg.LinAlgError) as caught:
        f(value)
    text = str(caught.value)
    assert re.search(r"Singular matrix|not positive definite", text)
    # The default mode solves one matrix through its LU factorization: that node fails, at the same line.
    expected = "lu_factor" if node_name == "solve" and mode is None and out.ndim == 1 else node_name
    assert f"while computing node {expected}" in text and str(line) in text
    assert "test_ops_linalg_decomp.py" in text


def test_linalg_namespace_names_numpys_functions_with_docstrings_and_reference_entries():
    reference = (__import__("pathlib").Path(__file__).resolve().parent.parent / "docs" / "reference.md").read_text()
    assert set(la.__all__) == {"solve", "inv", "det", "slogdet", "cholesky", "solve_triangular", "pinv",
                               "matrix_power", "lstsq", "qr", "svd", "svdvals", "eigh", "eigvalsh", "norm",
                               "vector_norm", "matrix_norm", "multi_dot", "matrix_rank", "cond", "tensorinv",
                               "tensorsolve", "cross", "vecdot", "matmul", "tensordot", "outer", "diagonal", "trace",
                               "matrix_transpose"}
    # Every numpy.linalg name but eig and eigvals (their dtype depends on the values: see the reference).
    assert set(np.linalg.__all__) - set(dir(la)) == {"eig", "eigvals"}
    assert la.LinAlgError is np.linalg.LinAlgError
    for name in la.__all__:
        function = getattr(la, name)
        assert "Example:" in function.__doc__ and ">>>" in function.__doc__
        assert f"sg.linalg.{name}" in reference
        if name != "solve_triangular":
            assert hasattr(np.linalg, name)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5)])
@pytest.mark.parametrize("static", [False, True])
def test_singular_values_of_full_svd_of_non_square_matrices_are_differentiable(shape, static):
    a = np.random.default_rng(3).normal(size=shape)
    m = sg.tensor("m", shape=shape if static else (None, None))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    weights = np.arange(1.0, len(s) + 1)
    gradient = sg.grad((sg.linalg.svd(m)[1] * weights).sum(), m).eval({m: a})
    np.testing.assert_allclose(gradient, (u * weights) @ vh, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- the rest of numpy.linalg (compositions)

def _rank_deficient(rng, shape, dtype="float64"):
    """Matrices of rank 1 (when the stack is not empty)."""
    left, right = rng.standard_normal(shape[:-1] + (1,)), rng.standard_normal(shape[:-2] + (1, shape[-1]))
    return (left @ right).astype(dtype)


def _zeros(rng, shape, dtype="float64"):
    return np.zeros(shape, dtype)


def _three_by_two(rng, shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


COMPOSITE_VALUE_CASES = [
    ("multi_dot-3", lambda a, b, c: la.multi_dot([a, b, c]), lambda a, b, c: np.linalg.multi_dot([a, b, c]),
     [(general, (2, 4)), (general, (4, 3)), (general, (3, 5))]),
    ("multi_dot-4-vectors", lambda a, b, c, d: la.multi_dot([a, b, c, d]),
     lambda a, b, c, d: np.linalg.multi_dot([a, b, c, d]),
     [(general, (4,)), (general, (4, 3)), (general, (3, 6)), (general, (6,))]),
    ("multi_dot-row-vector", lambda a, b, c: la.multi_dot([a, b, c]), lambda a, b, c: np.linalg.multi_dot([a, b, c]),
     [(general, (4,)), (general, (4, 1)), (general, (1, 2))]),
    ("multi_dot-column-vector", lambda a, b, c: la.multi_dot([a, b, c]),
     lambda a, b, c: np.linalg.multi_dot([a, b, c]), [(general, (0, 4)), (general, (4, 3)), (general, (3,))]),
    ("multi_dot-2", lambda a, b: la.multi_dot([a, b]), lambda a, b: np.linalg.multi_dot([a, b]),
     [(general, (2, 3, 4)), (general, (4, 2))]),
    ("matrix_rank", la.matrix_rank, np.linalg.matrix_rank, [(_rank_deficient, (3, 4, 3))]),
    ("matrix_rank-full", la.matrix_rank, np.linalg.matrix_rank, [(general, (3, 5))]),
    ("matrix_rank-tol", lambda a: la.matrix_rank(a, tol=0.5), lambda a: np.linalg.matrix_rank(a, tol=0.5),
     [(general, (2, 3, 3))]),
    ("matrix_rank-rtol", lambda a: la.matrix_rank(a, rtol=0.5), lambda a: np.linalg.matrix_rank(a, rtol=0.5),
     [(general, (2, 3, 3))]),
    ("matrix_rank-hermitian", lambda a: la.matrix_rank(a, hermitian=True),
     lambda a: np.linalg.matrix_rank(a, hermitian=True), [(spd, (3, 3))]),
    ("matrix_rank-empty", la.matrix_rank, np.linalg.matrix_rank, [(general, (0, 3))]),
    ("matrix_rank-empty-batch", la.matrix_rank, np.linalg.matrix_rank, [(general, (0, 2, 2))]),
    ("matrix_rank-zero-vector", la.matrix_rank, lambda v: np.asarray(np.linalg.matrix_rank(v), "int64"),
     [(_zeros, (3,))]),
    ("matrix_rank-vector", la.matrix_rank, lambda v: np.asarray(np.linalg.matrix_rank(v), "int64"), [(general, (3,))]),
    ("cond", la.cond, np.linalg.cond, [(general, (2, 3, 3))]),
    ("cond-non-square", la.cond, np.linalg.cond, [(general, (4, 2))]),
    ("cond-minus-2", lambda a: la.cond(a, -2), lambda a: np.linalg.cond(a, -2), [(general, (3, 3))]),
    ("cond-fro", lambda a: la.cond(a, "fro"), lambda a: np.linalg.cond(a, "fro"), [(well_conditioned, (2, 3, 3))]),
    ("cond-1", lambda a: la.cond(a, 1), lambda a: np.linalg.cond(a, 1), [(well_conditioned, (3, 3))]),
    ("cond-inf", lambda a: la.cond(a, -np.inf), lambda a: np.linalg.cond(a, -np.inf), [(well_conditioned, (1, 1))]),
    ("cond-nuc", lambda a: la.cond(a, "nuc"), lambda a: np.linalg.cond(a, "nuc"), [(well_conditioned, (3, 3))]),
    ("tensorinv", lambda a: la.tensorinv(a, ind=1), lambda a: np.linalg.tensorinv(a, ind=1),
     [(lambda rng, shape, dtype: well_conditioned(rng, (4, 4), dtype).reshape(shape), (4, 2, 2))]),
    ("tensorinv-2", la.tensorinv, np.linalg.tensorinv,
     [(lambda rng, shape, dtype: well_conditioned(rng, (6, 6), dtype).reshape(shape), (2, 3, 6))]),
    ("tensorsolve", la.tensorsolve, np.linalg.tensorsolve,
     [(lambda rng, shape, dtype: well_conditioned(rng, (6, 6), dtype).reshape(shape), (2, 3, 2, 3)),
      (general, (2, 3))]),
    ("tensorsolve-axes", lambda a, b: la.tensorsolve(a, b, axes=(0,)), lambda a, b: np.linalg.tensorsolve(a, b, (0,)),
     [(lambda rng, shape, dtype: well_conditioned(rng, (6, 6), dtype).reshape(shape), (6, 2, 3)), (general, (2, 3))]),
    ("cross", la.cross, np.linalg.cross, [(general, (3,)), (general, (3,))]),
    ("cross-broadcast", la.cross, np.linalg.cross, [(general, (2, 1, 3)), (general, (4, 3))]),
    ("cross-axis", lambda a, b: la.cross(a, b, axis=0), lambda a, b: np.linalg.cross(a, b, axis=0),
     [(general, (3, 2)), (general, (3, 1))]),
    ("vecdot", la.vecdot, np.linalg.vecdot, [(general, (2, 3)), (general, (3,))]),
    ("vecdot-axis", lambda a, b: la.vecdot(a, b, axis=0), lambda a, b: np.linalg.vecdot(a, b, axis=0),
     [(general, (3, 2)), (general, (3, 1))]),
    ("vecdot-empty", la.vecdot, np.linalg.vecdot, [(general, (2, 0)), (general, (1, 0))]),
    ("outer", la.outer, np.linalg.outer, [(general, (3,)), (general, (0,))]),
    ("diagonal", lambda a: la.diagonal(a, offset=1), lambda a: np.linalg.diagonal(a, offset=1), [(general, (2, 3, 4))]),
    ("trace", lambda a: la.trace(a, offset=-1), lambda a: np.linalg.trace(a, offset=-1), [(general, (2, 4, 3))]),
    ("matrix_transpose", la.matrix_transpose, np.linalg.matrix_transpose, [(general, (2, 3, 4))]),
    ("matmul", la.matmul, np.linalg.matmul, [(general, (2, 3, 4)), (general, (4,))]),
    ("tensordot", lambda a, b: la.tensordot(a, b, axes=1), lambda a, b: np.linalg.tensordot(a, b, axes=1),
     [(general, (2, 3)), (general, (3, 4))]),
    ("svdvals", la.svdvals, np.linalg.svdvals, [(general, (2, 4, 3))]),
    ("vector_norm", la.vector_norm, np.linalg.vector_norm, [(general, (2, 3, 4))]),
    ("vector_norm-axes", lambda x: la.vector_norm(x, axis=(0, 2), ord=3, keepdims=True),
     lambda x: np.linalg.vector_norm(x, axis=(0, 2), ord=3, keepdims=True), [(general, (2, 3, 4))]),
    ("vector_norm-keepdims", lambda x: la.vector_norm(x, keepdims=True, ord=-np.inf),
     lambda x: np.linalg.vector_norm(x, keepdims=True, ord=-np.inf), [(general, (2, 3))]),
    ("vector_norm-0d", la.vector_norm, np.linalg.vector_norm, [(general, ())]),
    ("vector_norm-empty", lambda x: la.vector_norm(x, axis=0), lambda x: np.linalg.vector_norm(x, axis=0),
     [(general, (0, 2))]),
    ("matrix_norm", la.matrix_norm, np.linalg.matrix_norm, [(general, (2, 3, 4))]),
    ("matrix_norm-nuc", lambda x: la.matrix_norm(x, ord="nuc", keepdims=True),
     lambda x: np.linalg.matrix_norm(x, ord="nuc", keepdims=True), [(general, (2, 3, 4))]),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("build, reference, samplers",
                         [pytest.param(*case[1:], id=case[0]) for case in COMPOSITE_VALUE_CASES])
def test_numpy_linalg_compositions_match_numpy(rng, build, reference, samplers, dtype):
    values = [sample(rng, shape, dtype) for sample, shape in samplers]
    assert_agrees_with(build, reference, values, rtol=1e-4 if dtype == "float32" else 1e-9)


@pytest.mark.parametrize("build, reference, values", [
    (la.vecdot, np.linalg.vecdot, [np.array([100, 100], "int8"), np.array([2, 1], "int8")]),
    (la.vecdot, np.linalg.vecdot, [np.array([True, False]), np.array([True, True])]),
    (la.cross, np.linalg.cross, [np.array([1, 2, 3], "int8"), np.array([4, 5, 6], "int16")]),
    (lambda x: la.trace(x, dtype="int8"), lambda x: np.linalg.trace(x, dtype="int8"), [np.full((2, 2), 100, "int8")]),
    (la.matrix_rank, np.linalg.matrix_rank, [np.array([[1, 2], [2, 4]], "int32")]),
    (la.cond, np.linalg.cond, [np.array([[2, 0], [0, 1]], "int32")]),
    (la.vector_norm, np.linalg.vector_norm, [np.array([3, 4], "int8")]),
], ids=["vecdot-int8", "vecdot-bool", "cross-int", "trace-dtype", "matrix_rank-int", "cond-int", "vector_norm-int"])
def test_numpy_linalg_compositions_keep_numpys_dtypes(build, reference, values):
    assert_agrees_with(build, reference, values, rtol=1e-12)


def test_cond_of_a_singular_matrix_is_inf_unless_it_holds_nan():
    a = sg.matrix("a")
    f = sg.function([a], [la.cond(a), la.cond(a, -2)])
    with np.errstate(all="ignore"):
        for value in (np.zeros((2, 2)), np.array([[1.0, 1.0], [1.0, 1.0]])):
            np.testing.assert_array_equal(f(value), [np.linalg.cond(value), np.linalg.cond(value, -2)])
        with_nan = np.array([[np.nan, 0.0], [0.0, 1.0]])
        assert np.isnan(la.cond(a, "fro").eval({a: with_nan})) and np.isnan(np.linalg.cond(with_nan, "fro"))


def test_multi_dot_multiplies_in_the_cheapest_order():
    a, b, c = sg.tensor("a", shape=(10, 100)), sg.tensor("b", shape=(100, 5)), sg.tensor("c", shape=(5, 50))
    left_first = la.multi_dot([a, b, c])
    assert left_first.owner.inputs[1] is c and left_first.owner.inputs[0].owner.inputs[0] is a
    d = sg.tensor("d", shape=(50, 1))
    right_first = la.multi_dot([b, c, d])  # b @ (c @ d): 750 multiplications against 25,000 + 500
    assert right_first.owner.inputs[0] is b


COMPOSITE_DERIVATIVE_CASES = [
    ("multi_dot", lambda a, b, c: la.multi_dot([a, b, c]), [(general, (3,)), (general, (3, 2)), (general, (2, 4))]),
    ("cond", la.cond, [(general, (2, 3, 3))]),
    ("cond-non-square", la.cond, [(general, (4, 2))]),
    ("cond-fro", lambda a: la.cond(a, "fro"), [(well_conditioned, (3, 3))]),
    ("tensorinv", lambda a: la.tensorinv(a, ind=1), [(lambda rng, shape: well_conditioned(rng, (4, 4)).reshape(shape),
                                                      (4, 2, 2))]),
    ("tensorsolve", la.tensorsolve, [(lambda rng, shape: well_conditioned(rng, (4, 4)).reshape(shape), (2, 2, 4)),
                                     (general, (2, 2))]),
    ("cross", la.cross, [(general, (2, 3)), (general, (3,))]),
    ("vecdot", lambda a, b: la.vecdot(a, b, axis=0), [(general, (3, 2)), (general, (3, 1))]),
    ("outer", la.outer, [(general, (3,)), (general, (2,))]),
    ("trace", la.trace, [(general, (2, 3, 3))]),
    ("svdvals", la.svdvals, [(general, (3, 2))]),
    ("vector_norm", lambda x: la.vector_norm(x, axis=(0, 2), ord=3), [(general, (2, 3, 2))]),
    ("matrix_norm", lambda x: la.matrix_norm(x, ord="nuc"), [(general, (2, 3, 2))]),
]
COMPOSITE_DERIVATIVE_PARAMS = [pytest.param(*case[1:], id=case[0]) for case in COMPOSITE_DERIVATIVE_CASES]


@pytest.mark.parametrize("build, samplers", COMPOSITE_DERIVATIVE_PARAMS)
def test_numpy_linalg_composition_gradients_match_finite_differences(rng, build, samplers):
    sg.verify_grad(build, [sample(rng, shape) for sample, shape in samplers], rng=rng)


@pytest.mark.parametrize("call, error, message", [
    (lambda a: la.multi_dot([a]), ValueError, r"multi_dot: expected at least two arrays, got 1"),
    (lambda a: la.multi_dot([a, a[None], a]), sg.ShapeError, r"multi_dot: array 1 has type float64\[1,3,3\]"),
    (lambda a: la.multi_dot([a, a], out=a), TypeError, r"multi_dot: out is not supported"),
    (lambda a: la.matrix_rank(a, tol=1.0, rtol=1.0), ValueError, r"matrix_rank: tol and rtol cannot both be set"),
    (lambda a: la.cond(a[:, :2], "fro"), sg.ShapeError, r"cond: expected square matrices"),
    (lambda a: la.cond(a[:0, :0]), sg.ShapeError, r"cond: not defined for empty matrices, got type float64\[0,0\]"),
    (lambda a: la.cond(a, "bad"), ValueError, r"norm: invalid norm order 'bad' for matrices"),
    (lambda a: la.tensorinv(a, ind=0), ValueError, r"tensorinv: ind must be a positive int, got 0"),
    (lambda a: la.tensorinv(a[:2]), sg.ShapeError, r"tensorinv: the first 2 axes of type float64\[2,3\] hold 6 "),
    (lambda a: la.tensorsolve(a[:2], a[0, :2]), sg.ShapeError, r"tensorsolve: a of type float64\[2,3\] has 2 elements"),
    (lambda a: la.tensorsolve(a[0], a), sg.ShapeError, r"tensorsolve: the right-hand side of type float64\[3,3\] has more"),
    (lambda a: la.cross(a[:, :2], a), ValueError, r"cross: operands must be \(stacks of\) 3-element vectors along axis -1, got type float64\[3,2\]"),
    (lambda a: la.vecdot(sg.cast(a, "complex128"), a), TypeError, r"vecdot: complex operands are not supported"),
    (lambda a: la.vecdot(a[:, :2], a), sg.ShapeError, r"matmul"),
    (lambda a: la.outer(a, a[0]), sg.ShapeError, r"outer: expected 1-d operands, got types float64\[3,3\] and float64\[3\]"),
    (lambda a: la.matrix_transpose(a[0]), sg.ShapeError, r"matrix_transpose: expected a matrix or a stack of matrices"),
    (lambda a: la.matrix_norm(a[0]), sg.ShapeError, r"matrix_norm: expected a matrix or a stack of matrices"),
    (lambda a: la.vector_norm(a, ord="fro"), ValueError, r"vector_norm: invalid norm order 'fro' for vectors"),
    (lambda a: la.diagonal(a[0]), ValueError, r"diagonal: operand float64\[3\] must have at least 2 dimensions"),
])
def test_numpy_linalg_compositions_reject_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(sg.tensor("a", shape=(3, 3)))


@pytest.mark.parametrize("build, values", [
    (la.cross, [np.ones((2, 4)), np.ones(3)]),
    (la.tensorsolve, [np.ones((2, 3)), np.ones(2)]),
    (la.tensorinv, [np.ones((2, 3, 1))]),
], ids=["cross", "tensorsolve", "tensorinv"])
def test_numpy_linalg_compositions_check_sizes_known_only_at_run_time(build, values):
    inputs = [sg.tensor(f"x{i}", shape=(None,) * v.ndim) for i, v in enumerate(values)]
    f = sg.function(inputs, build(*inputs))
    with pytest.raises(ValueError):
        f(*values)
