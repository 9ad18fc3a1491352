"""`sg.linalg`, part 1: solving, inverting and factoring matrices (`solve`, `inv`, `det`, `slogdet`,
`cholesky`, `solve_triangular`, `pinv`, `matrix_power`, `lstsq`). The spectral part (`qr`, `svd`, `eigh`,
`eigvalsh`, `norm`) is in `linalg_spectral.py`.

Every op works on stacks of matrices: the last two axes are the matrix, leading axes are a batch, as in
`numpy.linalg`. Output dtypes are NumPy's, found by running the NumPy (or SciPy) reference on tiny
arrays. Derivatives follow the standard matrix-calculus rules and are built from these same ops
(solves, inverses, products), so they can be differentiated again. A singular matrix raises
`numpy.linalg.LinAlgError` at run time, naming the node and the line of user code that built it.

Example:
    >>> import numpy as np, symgraph as sg
    >>> a, b = sg.matrix("a"), sg.vector("b")
    >>> sg.linalg.solve(a, b).eval({a: [[2.0, 0.0], [0.0, 4.0]], b: [2.0, 2.0]})
    array([1. , 0.5])
"""
import functools

import numpy as np

from ..errors import ShapeError
from ..graph.basic import as_variable
from ..graph.op import Op
from ..graph.type import TensorType, broadcast_static_shapes
from .creation import arange, eye, zeros_like
from .elemwise import cast, ge, gt, is_differentiable_dtype
from .linalg import sum_if_any, einsum, matmul
from .reduce import sum as reduce_sum
from .indexing import getitem
from .shape import broadcast_to, concatenate, expand_dims, squeeze, swapaxes
from .shape_of import shape_of

__all__ = ["solve", "inv", "det", "slogdet", "cholesky", "solve_triangular", "pinv", "matrix_power", "lstsq"]


# ---------------------------------------------------------------- helpers shared by the linalg ops

def matrix_transpose(x):
    """`x` with its last two axes swapped (the transpose of every matrix of a stack)."""
    return swapaxes(x, -1, -2)


def symmetric_part(x):
    """(x + x^T) / 2 for every matrix of a stack."""
    return (x + matrix_transpose(x)) * np.asarray(0.5, dtype=x.dtype)


def matrix_size(x, axis):
    """The size of `x` along `axis`: an int when static, else a symbolic int64 scalar."""
    size = x.type.shape[axis]
    return size if size is not None else shape_of(x)[axis]


def identity_like(x, axis=-1):
    """The identity matrix of `x`'s dtype whose size is `x`'s size along `axis`."""
    return eye(matrix_size(x, axis), dtype=x.dtype)


def diagonal_of(x):
    """The main diagonals of a stack of matrices, shape (..., n)."""
    return einsum("...ii->...i", x)


def diagonal_matrix(v):
    """Stack of diagonal matrices with diagonals `v` (shape (..., n) -> (..., n, n))."""
    return expand_dims(v, -1) * identity_like(v)


def triangle_mask(x, lower, strict=False):
    """A mask of `x`'s dtype, 1 on the lower (or upper) triangle of its square matrices, else 0; `strict`
    leaves the diagonal out."""
    n = matrix_size(x, -1)
    rows, columns = expand_dims(arange(n), -1), arange(n)
    compare = gt if strict else ge
    return cast(compare(rows, columns) if lower else compare(columns, rows), x.dtype)


def as_columns(b, vector):
    """A right-hand side as a stack of matrices: a vector becomes one column."""
    return expand_dims(b, -1) if vector else b


def from_columns(x, vector):
    """The inverse of `as_columns`."""
    return squeeze(x, -1) if vector else x


@functools.lru_cache(maxsize=None)
def reference_dtypes(function, *dtypes) -> tuple:
    """The dtype of each output `function` gives on 1x1 matrices (or a length-1 vector as second operand)
    of `dtypes`: one per element of a tuple result, as outputs differ (eigh of a complex matrix has real
    eigenvalues and complex eigenvectors)."""
    samples = [np.eye(1, dtype=dtypes[0])] + [np.ones((1,), dtype=d) for d in dtypes[1:]]
    result = function(*samples)
    return tuple(np.asarray(r).dtype for r in (result if isinstance(result, tuple) else (result,)))


def reference_dtype(function, *dtypes) -> np.dtype:
    """The dtype of the one output of `function` (see `reference_dtypes`)."""
    (dtype,) = reference_dtypes(function, *dtypes)
    return dtype


def checked_dtypes(op_name, function, *types) -> tuple:
    """`reference_dtypes` for operands of `types`; a TypeError naming `op_name` where NumPy refuses them."""
    try:
        return reference_dtypes(function, *(t.dtype for t in types))
    except TypeError as exc:
        described = " and ".join(str(t) for t in types)
        raise TypeError(f"{op_name}: not defined for operand(s) of type {described} ({exc})") from None


def checked_dtype(op_name, function, *types) -> np.dtype:
    """`checked_dtypes` of a function with one output."""
    (dtype,) = checked_dtypes(op_name, function, *types)
    return dtype


def check_matrix_stack(op_name, t, square=True):
    """ShapeError unless `t` is a stack of matrices (ndim >= 2), square ones when `square`."""
    if t.ndim < 2:
        raise ShapeError(f"{op_name}: expected a matrix or a stack of matrices (at least 2 dimensions), got type {t}")
    rows, columns = t.shape[-2:]
    if square and rows is not None and columns is not None and rows != columns:
        raise ShapeError(f"{op_name}: expected square matrices (last two dimensions equal), got type {t}")


def _unify(size_a, size_b):
    return size_a if size_a is not None else size_b


def _right_hand_side_shape(op_name, a, b):
    """The static result shape of solving stacks `a` for right-hand sides `b` (NumPy 2 rules: `b` is a
    vector only when b.ndim == 1, else a stack of matrices whose batch broadcasts with `a`'s)."""
    check_matrix_stack(op_name, a)
    if b.ndim == 0:
        raise ShapeError(f"{op_name}: the right-hand side must have at least one dimension, got types {a} and {b}")
    n = _unify(a.shape[-1], a.shape[-2])
    rows = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if n is not None and rows is not None and n != rows:
        raise ShapeError(f"{op_name}: operands of types {a} and {b} have mismatched sizes {n} and {rows}")
    n = _unify(n, rows)
    if b.ndim == 1:
        return a.shape[:-2] + (n,)
    batch = broadcast_static_shapes(a.shape[:-2], b.shape[:-2], op_name=op_name, types=(a, b))
    return batch + (n, b.shape[-1])


def _square_matrix_type(op_name, function, a):
    check_matrix_stack(op_name, a)
    n = _unify(a.shape[-1], a.shape[-2])
    return TensorType(checked_dtype(op_name, function, a), a.shape[:-2] + (n, n))


# ---------------------------------------------------------------- solve

class Solve(Op):
    """`np.linalg.solve(a, b)`: x with a @ x == b; `b` is a vector only when b.ndim == 1 (NumPy 2)."""

    @property
    def name(self):
        return "solve"

    def output_types(self, a, b):
        return [TensorType(checked_dtype("solve", np.linalg.solve, a, b), _right_hand_side_shape("solve", a, b))]

    def perform(self, a, b):
        return np.linalg.solve(a, b)

    def pullback(self, inputs, outputs, output_grads):
        a, b = inputs
        (g,) = output_grads
        vector = b.ndim == 1
        x = as_columns(outputs[0], vector)
        grad_b = solve(matrix_transpose(a), as_columns(g, vector))
        grad_a = -matmul(grad_b, matrix_transpose(x)) if is_differentiable_dtype(a.dtype) else None
        return [grad_a, from_columns(grad_b, vector)]

    def pushforward(self, inputs, outputs, tangents):
        a, b = inputs
        ta, tb = tangents
        vector = b.ndim == 1
        x = as_columns(outputs[0], vector)
        rhs = sum_if_any([None if tb is None else as_columns(tb, vector), None if ta is None else -matmul(ta, x)])
        return [from_columns(solve(a, rhs), vector)]


_solve = Solve()


def solve(a, b):
    """The solution x of a @ x == b, like `np.linalg.solve`, batched over leading axes.

    As in NumPy 2, `b` is one vector (per matrix of `a`) only when b.ndim == 1; otherwise it is a stack
    of matrices (columns are right-hand sides) whose batch axes broadcast with `a`'s.

    Example:
        >>> import symgraph as sg
        >>> sg.linalg.solve(sg.tensor("a", shape=(5, 3, 3)), sg.vector("b", shape=(3,))).type
        TensorType(float64, (5, 3))
    """
    return _solve(as_variable(a), as_variable(b))


# ---------------------------------------------------------------- inv, det, slogdet

class Inv(Op):
    """`np.linalg.inv`: the inverse of every square matrix of a stack."""

    @property
    def name(self):
        return "inv"

    def output_types(self, a):
        return [_square_matrix_type("inv", np.linalg.inv, a)]

    def perform(self, a):
        return np.linalg.inv(a)

    def pullback(self, inputs, outputs, output_grads):
        inverse_t = matrix_transpose(outputs[0])
        return [-matmul(matmul(inverse_t, output_grads[0]), inverse_t)]

    def pushforward(self, inputs, outputs, tangents):
        inverse = outputs[0]
        return [-matmul(matmul(inverse, tangents[0]), inverse)]


_inv = Inv()


def inv(a):
    """The inverse of a square matrix (or of each of a stack), like `np.linalg.inv`.

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> sg.linalg.inv(a).eval({a: [[2.0, 0.0], [0.0, 4.0]]})
        array([[0.5 , 0.  ],
               [0.  , 0.25]])
    """
    return _inv(as_variable(a))


def _batch_scalars_as_matrices(v):
    """A stack of scalars (shape (...)) with two size-1 axes added, to scale a stack of matrices."""
    return expand_dims(v, (-1, -2))


def _trace_of_product_with_inverse(a, ta):
    """trace(inv(a) @ ta) for stacks: the directional derivative of log|det(a)|."""
    return reduce_sum(matrix_transpose(inv(a)) * ta, axis=(-2, -1))


class Det(Op):
    """`np.linalg.det`: the determinant of every square matrix of a stack.

    Its derivative is det(A) * inv(A)^T (Jacobi's formula), so it needs A to be invertible.
    """

    @property
    def name(self):
        return "det"

    def output_types(self, a):
        check_matrix_stack("det", a)
        return [TensorType(checked_dtype("det", np.linalg.det, a), a.shape[:-2])]

    def perform(self, a):
        return np.asarray(np.linalg.det(a))

    def pullback(self, inputs, outputs, output_grads):
        (a,), (d,), (g,) = inputs, outputs, output_grads
        return [_batch_scalars_as_matrices(g * d) * matrix_transpose(inv(a))]

    def pushforward(self, inputs, outputs, tangents):
        return [outputs[0] * _trace_of_product_with_inverse(inputs[0], tangents[0])]


_det = Det()


def det(a):
    """The determinant of a square matrix (or of each of a stack), like `np.linalg.det`.

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> float(sg.linalg.det(a).eval({a: [[1.0, 2.0], [3.0, 4.0]]}))
        -2.0000000000000004
    """
    return _det(as_variable(a))


class SlogDet(Op):
    """`np.linalg.slogdet`: (sign, log|det|) of every square matrix of a stack; the sign is constant
    wherever it is differentiable, so only log|det| carries a derivative, inv(A)^T."""

    nout = 2

    @property
    def name(self):
        return "slogdet"

    def output_types(self, a):
        check_matrix_stack("slogdet", a)
        return [TensorType(dtype, a.shape[:-2]) for dtype in checked_dtypes("slogdet", np.linalg.slogdet, a)]

    def perform(self, a):
        sign, logabsdet = np.linalg.slogdet(a)
        return np.asarray(sign), np.asarray(logabsdet)

    def pullback(self, inputs, outputs, output_grads):
        return [_batch_scalars_as_matrices(output_grads[1]) * matrix_transpose(inv(inputs[0]))]

    def pushforward(self, inputs, outputs, tangents):
        return [None, _trace_of_product_with_inverse(inputs[0], tangents[0])]


_slogdet = SlogDet()


def slogdet(a):
    """(sign, logabsdet) of the determinant, like `np.linalg.slogdet`: det(a) == sign * exp(logabsdet)
    without overflow. Returns a pair of variables.

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> sign, logabsdet = sg.linalg.slogdet(a)
        >>> [float(v) for v in sg.function([a], [sign, logabsdet])([[0.0, 2.0], [1.0, 0.0]])]
        [-1.0, 0.6931471805599453]
    """
    sign, logabsdet = _slogdet(as_variable(a))
    return sign, logabsdet


# ---------------------------------------------------------------- triangular solves

_TRANS = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}


def _solve_triangular_reference(a, b, lower, trans, unit_diagonal):
    """SciPy's `solve_triangular` on one matrix (or NumPy's `solve` on the triangle without SciPy)."""
    try:
        from scipy.linalg import solve_triangular as scipy_solve_triangular
    except ImportError:
        triangle = np.tril(a) if lower else np.triu(a)
        if unit_diagonal:
            triangle = triangle - np.diag(np.diag(triangle)) + np.eye(len(a), dtype=a.dtype)
        return np.linalg.solve(triangle.T if trans else triangle, b)
    return scipy_solve_triangular(a, b, lower=lower, trans=trans, unit_diagonal=unit_diagonal)


class SolveTriangular(Op):
    """`scipy.linalg.solve_triangular(a, b, trans, lower, unit_diagonal)` over stacks: only the lower
    (or upper) triangle of `a` is read, and not its diagonal when `unit_diagonal`; `trans` 1 (or 2, the
    same for real matrices) solves a^T x = b. `b` is a vector only when b.ndim == 1."""

    __props__ = ("lower", "trans", "unit_diagonal")

    def __init__(self, lower, trans, unit_diagonal):
        self.lower = lower
        self.trans = trans
        self.unit_diagonal = unit_diagonal

    @property
    def name(self):
        return "solve_triangular"

    def _reference(self, a, b):
        return _solve_triangular_reference(a, b, self.lower, self.trans, self.unit_diagonal)

    def output_types(self, a, b):
        shape = _right_hand_side_shape("solve_triangular", a, b)
        return [TensorType(checked_dtype("solve_triangular", self._reference, a, b), shape)]

    def perform(self, a, b):
        vector = b.ndim == 1
        columns = b[:, None] if vector else b
        batch = np.broadcast_shapes(a.shape[:-2], columns.shape[:-2])
        a = np.broadcast_to(a, batch + a.shape[-2:])
        columns = np.broadcast_to(columns, batch + columns.shape[-2:])
        dtype = reference_dtype(self._reference, a.dtype, columns.dtype)
        result = np.empty(columns.shape, dtype=dtype)
        for index in np.ndindex(*batch):
            result[index] = self._reference(a[index], columns[index])
        return result[..., 0] if vector else result

    def triangle(self, a):
        """`a` masked to the part this op reads (unit-diagonal matrices read no diagonal)."""
        return a * triangle_mask(a, self.lower, strict=self.unit_diagonal)

    def transposed(self):
        """The op solving with the transposed triangle (for real matrices)."""
        return SolveTriangular(self.lower, 0 if self.trans else 1, self.unit_diagonal)

    def pullback(self, inputs, outputs, output_grads):
        a, b = inputs
        vector = b.ndim == 1
        x = as_columns(outputs[0], vector)
        grad_b = self.transposed()(a, as_columns(output_grads[0], vector))
        grad_a = None
        if is_differentiable_dtype(a.dtype):
            outer = matmul(grad_b, matrix_transpose(x)) if self.trans == 0 else matmul(x, matrix_transpose(grad_b))
            grad_a = -self.triangle(outer)
        return [grad_a, from_columns(grad_b, vector)]

    def pushforward(self, inputs, outputs, tangents):
        a, b = inputs
        ta, tb = tangents
        vector = b.ndim == 1
        x = as_columns(outputs[0], vector)
        change = None
        if ta is not None:
            triangle = self.triangle(ta)
            change = -matmul(matrix_transpose(triangle) if self.trans else triangle, x)
        rhs = sum_if_any([None if tb is None else as_columns(tb, vector), change])
        return [from_columns(self(a, rhs), vector)]


def solve_triangular(a, b, lower=False, trans=0, unit_diagonal=False):
    """The solution x of a @ x == b for triangular `a`, with SciPy's `solve_triangular` semantics.

    Only the upper (or, with `lower=True`, the lower) triangle of `a` is read; `unit_diagonal=True`
    takes its diagonal as ones. `trans` is 0/"N" (a x = b), 1/"T" (a^T x = b) or 2/"C" (a^H x = b).
    Batched over leading axes like `solve`: `b` is a vector only when b.ndim == 1. Uses SciPy when
    installed, else NumPy's `solve` on the triangle.

    Example:
        >>> import symgraph as sg
        >>> a, b = sg.matrix("a"), sg.vector("b")
        >>> sg.linalg.solve_triangular(a, b, lower=True).eval({a: [[2.0, 9.0], [1.0, 1.0]], b: [2.0, 3.0]})
        array([1., 2.])
    """
    if trans not in _TRANS or isinstance(trans, bool):
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return SolveTriangular(bool(lower), _TRANS[trans], bool(unit_diagonal))(as_variable(a), as_variable(b))


# ---------------------------------------------------------------- cholesky

def _phi(x):
    """The lower triangle of each matrix with its diagonal halved (the Cholesky derivative's projection)."""
    return x * triangle_mask(x, lower=True) - diagonal_matrix(diagonal_of(x)) * np.asarray(0.5, dtype=x.dtype)


_lower_solve = SolveTriangular(lower=True, trans=0, unit_diagonal=False)
_lower_transposed_solve = SolveTriangular(lower=True, trans=1, unit_diagonal=False)


class Cholesky(Op):
    """`np.linalg.cholesky(a, upper=upper)`: L with a == L @ L^T (lower) or U with a == U^T @ U.

    NumPy reads one triangle of `a`, so the function only sees symmetric matrices: the derivatives are
    the ones along symmetric perturbations (the gradient is symmetric), like JAX's.
    """

    __props__ = ("upper",)

    def __init__(self, upper):
        self.upper = upper

    @property
    def name(self):
        return "cholesky"

    def output_types(self, a):
        return [_square_matrix_type("cholesky", np.linalg.cholesky, a)]

    def perform(self, a):
        return np.linalg.cholesky(a, upper=self.upper)

    def _lower_factor(self, factor):
        return matrix_transpose(factor) if self.upper else factor

    def pullback(self, inputs, outputs, output_grads):
        lower = self._lower_factor(outputs[0])
        grad_lower = self._lower_factor(output_grads[0])
        # A's gradient is L^-T Phi(L^T G) L^-1, symmetrized: two triangular solves instead of an inverse.
        left = _lower_transposed_solve(lower, _phi(matmul(matrix_transpose(lower), grad_lower)))
        both = matrix_transpose(_lower_transposed_solve(lower, matrix_transpose(left)))
        return [symmetric_part(both)]

    def pushforward(self, inputs, outputs, tangents):
        lower = self._lower_factor(outputs[0])
        # dL = L Phi(L^-1 dA L^-T) for the symmetric part of dA.
        left = _lower_solve(lower, symmetric_part(tangents[0]))
        inner = matrix_transpose(_lower_solve(lower, matrix_transpose(left)))
        return [self._lower_factor(matmul(lower, _phi(inner)))]


def cholesky(a, /, *, upper=False):
    """The Cholesky factor of a symmetric positive-definite matrix (or of each of a stack), like
    `np.linalg.cholesky`: lower-triangular L with a == L @ L.T, or with `upper=True` U == L.T.

    Only the lower (upper) triangle of `a` is read. A matrix that is not positive definite raises
    `numpy.linalg.LinAlgError` at run time. Gradients are symmetric (see `Cholesky`).

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> sg.linalg.cholesky(a).eval({a: [[4.0, 2.0], [2.0, 2.0]]})
        array([[2., 0.],
               [1., 1.]])
    """
    return Cholesky(bool(upper))(as_variable(a))


# ---------------------------------------------------------------- pinv

class Pinv(Op):
    """`np.linalg.pinv(a, rcond, hermitian)`: the Moore-Penrose pseudo-inverse of every matrix of a stack.

    The derivative is the one of a matrix of constant rank (Golub and Pereyra); where a small singular
    value crosses the cutoff the pseudo-inverse jumps and has no derivative.
    """

    __props__ = ("rcond", "hermitian")

    def __init__(self, rcond, hermitian):
        self.rcond = rcond
        self.hermitian = hermitian

    @property
    def name(self):
        return "pinv"

    def output_types(self, a):
        check_matrix_stack("pinv", a, square=self.hermitian)
        return [TensorType(checked_dtype("pinv", np.linalg.pinv, a), a.shape[:-2] + (a.shape[-1], a.shape[-2]))]

    def perform(self, a):
        if self.rcond is None:
            return np.linalg.pinv(a, hermitian=self.hermitian)
        return np.linalg.pinv(a, rcond=self.rcond, hermitian=self.hermitian)

    def pullback(self, inputs, outputs, output_grads):
        (a,), (p,), (g,) = inputs, outputs, output_grads
        p_t, g_t = matrix_transpose(p), matrix_transpose(g)
        left_null = identity_like(a, -2) - matmul(a, p)  # I - A A+, projects onto the complement of A's range
        right_null = identity_like(a, -1) - matmul(p, a)  # I - A+ A
        terms = [
            -matmul(matmul(p_t, g), p_t),
            matmul(matmul(left_null, g_t), matmul(p, p_t)),
            matmul(matmul(p_t, p), matmul(g_t, right_null)),
        ]
        return [sum_if_any(terms)]

    def pushforward(self, inputs, outputs, tangents):
        (a,), (p,), (t,) = inputs, outputs, tangents
        p_t, t_t = matrix_transpose(p), matrix_transpose(t)
        left_null = identity_like(a, -2) - matmul(a, p)
        right_null = identity_like(a, -1) - matmul(p, a)
        terms = [
            -matmul(matmul(p, t), p),
            matmul(matmul(p, p_t), matmul(t_t, left_null)),
            matmul(matmul(right_null, t_t), matmul(p_t, p)),
        ]
        return [sum_if_any(terms)]


def pinv(a, rcond=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse, like `np.linalg.pinv`: singular values below
    rcond * (largest singular value) count as zero (NumPy's default cutoff when `rcond` is None).

    `rcond` is a number known while building. Gradients assume the rank stays the same nearby.

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> sg.linalg.pinv(a).eval({a: [[1.0, 0.0], [0.0, 0.0]]})
        array([[1., 0.],
               [0., 0.]])
    """
    if rcond is not None and not isinstance(rcond, (int, float, np.integer, np.floating)):
        raise TypeError(f"pinv: rcond must be a number known while building, got {rcond!r}")
    return Pinv(None if rcond is None else float(rcond), bool(hermitian))(as_variable(a))


# ---------------------------------------------------------------- matrix_power

def matrix_power(a, n):
    """`a` raised to the integer power `n` by repeated squaring, like `np.linalg.matrix_power`:
    n == 0 gives identities of a's dtype, n < 0 powers the inverse.

    `n` is an int known while building; the result is built from `matmul` (and `inv`), so it inherits
    their gradients.

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a", dtype="int64")
        >>> sg.linalg.matrix_power(a, 3).eval({a: [[1, 1], [0, 1]]})
        array([[1, 3],
               [0, 1]])
    """
    a = as_variable(a)
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: the exponent must be an int, got {n!r}")
    check_matrix_stack("matrix_power", a.type)
    n = int(n)
    if n == 0:
        return broadcast_to(identity_like(a), tuple(matrix_size(a, axis) for axis in range(a.ndim)))
    base = inv(a) if n < 0 else a
    n = abs(n)
    result = None
    while True:
        if n % 2:
            result = base if result is None else matmul(result, base)
        n //= 2
        if not n:
            return result
        base = matmul(base, base)


# ---------------------------------------------------------------- lstsq

@functools.lru_cache(maxsize=None)
def _lstsq_dtypes(a_dtype, b_dtype, b_ndim):
    """(solution, residual, singular value) dtypes of `np.linalg.lstsq` for these operand dtypes."""
    x, residuals, _, s = np.linalg.lstsq(np.eye(1, dtype=a_dtype), np.ones((1,) * b_ndim, dtype=b_dtype))
    return x.dtype, residuals.dtype, s.dtype


class Lstsq(Op):
    """`np.linalg.lstsq(a, b, rcond)` of one matrix: (x, residuals, rank, s).

    `residuals` holds the squared residual norms per column of b only when the rank is N and M > N (else
    it is empty), so its static size is unknown. Derivatives are those of the same quantities built
    from `pinv` and `svd` (for a matrix of constant rank): x = pinv(a) @ b, the residuals
    sum((b - a @ x) ** 2, axis=0) and s the singular values; the rank has none.
    """

    __props__ = ("rcond",)
    nout = 4

    def __init__(self, rcond):
        self.rcond = rcond

    @property
    def name(self):
        return "lstsq"

    def output_types(self, a, b):
        if a.ndim != 2 or b.ndim not in (1, 2):
            raise ShapeError(f"lstsq: expected a matrix and a vector or matrix, got types {a} and {b}")
        if a.shape[0] is not None and b.shape[0] is not None and a.shape[0] != b.shape[0]:
            raise ShapeError(f"lstsq: operands of types {a} and {b} have mismatched sizes {a.shape[0]} and {b.shape[0]}")
        try:
            x_dtype, residual_dtype, s_dtype = _lstsq_dtypes(a.dtype, b.dtype, b.ndim)
        except TypeError as exc:
            raise TypeError(f"lstsq: not defined for operands of types {a} and {b} ({exc})") from None
        m, n = a.shape
        k = None if m is None or n is None else min(m, n)
        return [TensorType(x_dtype, (n,) + b.shape[1:]), TensorType(residual_dtype, (None,)), TensorType("int32", ()),
                TensorType(s_dtype, (k,))]

    def perform(self, a, b):
        x, residuals, rank, s = np.linalg.lstsq(a, b, rcond=self.rcond)
        return x, residuals, np.asarray(rank, dtype=np.int32), s

    def _cutoff(self, a):
        """The relative cutoff of the pseudo-inverse that matches lstsq's (None: NumPy pinv's default)."""
        if self.rcond is not None:
            return self.rcond
        m, n = a.type.shape
        return None if m is None or n is None else max(m, n) * float(np.finfo(a.dtype).eps)

    def _smooth_outputs(self, a, b):
        """x, every column's squared residual norm and the singular values as differentiable expressions."""
        from .linalg_spectral import svd

        x = matmul(Pinv(self._cutoff(a), False)(a), b)
        residual = b - matmul(a, x)
        squares = residual * residual
        residuals = reduce_sum(squares, axis=0) if b.ndim == 2 else reduce_sum(squares, keepdims=True)
        return x, residuals, svd(a, compute_uv=False)

    def pullback(self, inputs, outputs, output_grads):
        from ..autodiff.forward import vjp

        a, b = inputs
        grad_x, grad_residuals, _, grad_s = output_grads
        x, residuals, s = self._smooth_outputs(a, b)
        # The residuals' gradient is empty where lstsq returns none: padded with zeros to one per column.
        columns = matrix_size(residuals, 0)
        weights = getitem(concatenate([grad_residuals, zeros_like(residuals)]), slice(None, columns))
        wrt = [v for v in (a, b) if is_differentiable_dtype(v.dtype)]
        grads = dict(zip(map(id, wrt), vjp([x, residuals, s], wrt, [grad_x, weights, grad_s])))
        return [grads.get(id(a)), grads.get(id(b))]

    def pushforward(self, inputs, outputs, tangents):
        from ..autodiff.forward import jvp

        a, b = inputs
        pairs = [(v, t) for v, t in zip(inputs, tangents) if t is not None and is_differentiable_dtype(v.dtype)]
        x, residuals, s = self._smooth_outputs(a, b)
        tangent_x, tangent_residuals, tangent_s = jvp([x, residuals, s], [v for v, _ in pairs], [t for _, t in pairs])
        present = matrix_size(outputs[1], 0)  # 0 where lstsq returns no residuals
        return [tangent_x, getitem(tangent_residuals, slice(None, present)), None, tangent_s]


def lstsq(a, b, rcond=None):
    """The least-squares solution of a @ x == b, like `np.linalg.lstsq`: returns (x, residuals, rank, s).

    `a` is one (M, N) matrix and `b` (M,) or (M, K). `residuals` are the squared residual norms (one per
    column) when a has rank N and M > N, else an empty array; `rank` an int32 scalar; `s` the singular
    values of a. Singular values at most rcond * max(s) count as zero (NumPy's default rcond when None).

    Example:
        >>> import symgraph as sg
        >>> a, b = sg.matrix("a"), sg.vector("b")
        >>> x, residuals, rank, s = sg.linalg.lstsq(a, b)
        >>> [v.tolist() for v in sg.function([a, b], [x, residuals])([[2.0], [0.0]], [4.0, 3.0])]
        [[2.0], [9.0]]
    """
    if rcond is not None and not isinstance(rcond, (int, float, np.integer, np.floating)):
        raise TypeError(f"lstsq: rcond must be a number known while building, got {rcond!r}")
    x, residuals, rank, s = Lstsq(None if rcond is None else float(rcond))(as_variable(a), as_variable(b))
    return x, residuals, rank, s
