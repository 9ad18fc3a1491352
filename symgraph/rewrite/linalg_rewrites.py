"""Rewrites of `sg.linalg` expressions: stable and cheaper forms of inverses and determinants.

stabilize: `inv(A) @ b -> solve(A, b)` (one factorization, no explicit inverse, smaller error);
`log(det(A)) -> log(sign) + logabsdet` of `slogdet(A)` (no overflow of det; the log of the sign keeps
NumPy's NaN for negative and -inf for zero determinants) and `log(abs(det(A))) -> logabsdet`.
specialize: determinants of a Cholesky factor L (triangular) and of its Gram products L @ L^T,
L^T @ L are products of L's diagonal, and their log-determinants sums of its logs (2 sum(log(diag)));
with SciPy, a solve with a single matrix becomes an LU factorization and a solve with the factors
(`solve_to_lu_solve`): the solves with A and with A^T that a gradient needs then share one
factorization, since equal nodes are one node.

Example:
    >>> import numpy as np, symgraph as sg
    >>> a = sg.matrix("a")
    >>> f = sg.function([a], sg.log(sg.linalg.det(a)))
    >>> f.report.rewrites["log_det_to_slogdet"], float(f(np.eye(2) * 1e200))
    (1, 921.0340371976183)
"""
import importlib.util
import warnings

import numpy as np

from ..graph.op import Op
from ..graph.type import TensorType
from ..ops.linalg import EinsumSpec, Einsum, MatMul
from ..ops.linalg_decomp import Cholesky, Det, Inv, SlogDet, Solve
from ..ops.reduce import Reduce
from ..ops.shape import DimShuffle
from .build import producer, producer_of_type
from .registry import register_rewrite

_solve = Solve()
_slogdet = SlogDet()


@register_rewrite("inv_matmul_to_solve", "stabilize", tracks=[MatMul])
def inv_matmul_to_solve(node, build):
    """inv(A) @ b -> solve(A, b): `b` 1-d is one vector in both, else a stack of matrices in both."""
    inverse, b = node.inputs
    if producer_of_type(inverse, Inv) is None or b.ndim == 0:
        return None
    return build.cast(build.apply(_solve, inverse.owner.inputs[0], b), node.outputs[0].dtype)


def _determinant_input(var, op_type):
    node = producer_of_type(var, op_type)
    return None if node is None else node.inputs[0]


@register_rewrite("log_det_to_slogdet", "stabilize", tracks=["log"])
def log_det_to_slogdet(node, build):
    """log(det(A)) -> log(sign) + logabsdet with (sign, logabsdet) = slogdet(A)."""
    a = _determinant_input(node.inputs[0], Det)
    if a is None:
        return None
    sign, logabsdet = build.apply(_slogdet, a)
    return build.cast(build.elemwise("add", build.elemwise("log", sign), logabsdet), node.outputs[0].dtype)


@register_rewrite("log_abs_det_to_slogdet", "stabilize", tracks=["log"])
def log_abs_det_to_slogdet(node, build):
    """log(abs(det(A))) -> logabsdet of slogdet(A)."""
    magnitude = producer(node.inputs[0], "abs")
    a = None if magnitude is None else _determinant_input(magnitude.inputs[0], Det)
    if a is None:
        return None
    return build.cast(build.apply(_slogdet, a)[1], node.outputs[0].dtype)


def _is_matrix_transpose_of(var, other):
    """Is `var` the DimShuffle swapping the last two axes of `other`?"""
    node = producer_of_type(var, DimShuffle)
    if node is None or node.inputs[0] is not other:
        return False
    n = other.ndim
    return node.op.order == tuple(range(n - 2)) + (n - 1, n - 2)


def _cholesky_factor(var):
    """(L, power) when `var` is a Cholesky factor L (power 1) or a product of one with its transpose,
    L @ L^T or L^T @ L (power 2, the determinant squared); else None."""
    if producer_of_type(var, Cholesky) is not None:
        return var, 1
    node = producer_of_type(var, MatMul)
    if node is None:
        return None
    left, right = node.inputs
    for factor, transposed in ((left, right), (right, left)):
        if producer_of_type(factor, Cholesky) is not None and _is_matrix_transpose_of(transposed, factor):
            return factor, 2
    return None


def _diagonal(build, x):
    spec = EinsumSpec.parse("...ii->...i", [x.ndim])
    return build.apply(Einsum(spec.subscripts), x)


def _over_last_axis(kind, build, x):
    return build.apply(Reduce(kind, (x.ndim - 1,)), x)


@register_rewrite("det_of_cholesky", "specialize", tracks=[Det])
def det_of_cholesky(node, build):
    """det(L) -> prod(diag(L)) and det(L @ L^T) -> prod(diag(L)) ** 2 for a Cholesky factor L."""
    found = _cholesky_factor(node.inputs[0])
    if found is None:
        return None
    factor, power = found
    product = _over_last_axis("prod", build, _diagonal(build, factor))
    result = build.elemwise("square", product) if power == 2 else product
    return build.cast(result, node.outputs[0].dtype)


@register_rewrite("logdet_of_cholesky", "specialize", tracks=[SlogDet])
def logdet_of_cholesky(node, build):
    """slogdet(L) -> (1, sum(log(diag(L)))) and slogdet(L @ L^T) -> (1, 2 * sum(log(diag(L)))) for a
    Cholesky factor L (whose diagonal is positive: the sign is the product of its signs, exactly 1)."""
    found = _cholesky_factor(node.inputs[0])
    if found is None:
        return None
    factor, power = found
    diagonal = _diagonal(build, factor)
    sign = _over_last_axis("prod", build, build.elemwise("sign", diagonal))
    logabsdet = _over_last_axis("sum", build, build.elemwise("log", diagonal))
    if power == 2:
        logabsdet = build.elemwise("multiply", build.constant(2, logabsdet.dtype), logabsdet)
    return [build.cast(sign, node.outputs[0].dtype), build.cast(logabsdet, node.outputs[1].dtype)]


# ---------------------------------------------------------------- solves through a shared LU factorization

class LuFactor(Op):
    """SciPy's `lu_factor` of one square float matrix: (the packed L and U factors, the int32 pivots).

    Like NumPy's `solve`, an exactly singular matrix (a zero pivot) raises `numpy.linalg.LinAlgError`,
    where SciPy would only warn. Built by the specializer after differentiation, so it has no derivative.
    """

    nout = 2

    @property
    def name(self):
        return "lu_factor"

    def output_types(self, a):
        return [a, TensorType("int32", a.shape[-1:])]

    def perform(self, a):
        from scipy.linalg import LinAlgWarning, lu_factor

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LinAlgWarning)  # a zero pivot raises below, as NumPy does
            lu, pivots = lu_factor(a, check_finite=False)
        if np.any(np.diagonal(lu) == 0):
            raise np.linalg.LinAlgError("Singular matrix")
        return lu, pivots


class LuSolve(Op):
    """SciPy's `lu_solve` with the factors of `LuFactor`: x with A x = b (trans 0) or A^T x = b (trans 1)."""

    __props__ = ("trans",)

    def __init__(self, trans):
        self.trans = trans

    @property
    def name(self):
        return "lu_solve"

    def output_types(self, lu, pivots, b):
        rows = lu.shape[-1] if lu.shape[-1] is not None else b.shape[0]
        return [TensorType(b.dtype, (rows,) + b.shape[1:])]

    def perform(self, lu, pivots, b):
        from scipy.linalg import lu_solve

        return lu_solve((lu, pivots), b, trans=self.trans, check_finite=False)


_lu_factor = LuFactor()
_SCIPY_INSTALLED = importlib.util.find_spec("scipy") is not None


def _untransposed(a):
    """(matrix, 1) when `a` is the transpose of a matrix, else (a, 0)."""
    node = producer_of_type(a, DimShuffle)
    if node is not None and node.op.input_ndim == 2 and node.op.order == (1, 0):
        return node.inputs[0], 1
    return a, 0


@register_rewrite("solve_to_lu_solve", "specialize", tracks=[Solve])
def solve_to_lu_solve(node, build):
    """solve(A, b) -> lu_solve(lu_factor(A), b) and solve(A^T, b) -> lu_solve(lu_factor(A), b, trans=1)
    for one float matrix A and b of its dtype (SciPy only; stacks keep NumPy's batched solve)."""
    a, b = node.inputs
    dtype = node.outputs[0].dtype
    if not _SCIPY_INSTALLED or a.ndim != 2 or b.ndim > 2 or dtype.name not in ("float32", "float64"):
        return None
    if a.dtype != dtype or b.dtype != dtype:
        return None
    matrix, trans = _untransposed(a)
    lu, pivots = build.apply(_lu_factor, matrix)
    return build.apply(LuSolve(trans), lu, pivots, b)
