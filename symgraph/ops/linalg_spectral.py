"""`sg.linalg`, part 2: factorizations into orthogonal factors and norms (`qr`, `svd`, `eigh`,
`eigvalsh`, `norm`), batched over leading axes like `numpy.linalg`.

Orthogonal factors are unique only up to the signs of their columns (and, at repeated eigenvalues or
singular values, up to rotations within the repeated block). Their derivatives are the standard ones
for distinct values: the eigh and svd rules divide by differences of eigenvalues (squared singular
values), so at repeated values the derivatives of the vectors are infinite or NaN, while the
derivatives of the values themselves (and of `eigvalsh`, `svd(compute_uv=False)`, `norm`) stay finite.

Example:
    >>> import numpy as np, symgraph as sg
    >>> a = sg.matrix("a")
    >>> sg.linalg.eigvalsh(a).eval({a: [[2.0, 1.0], [1.0, 2.0]]})
    array([1., 3.])
"""
import numpy as np

from ..errors import NotDifferentiableError, ShapeError
from ..graph.basic import as_variable
from ..graph.op import Op
from ..graph.type import TensorType
from .creation import is_zeros, zeros_like
from .elemwise import abs as elementwise_abs
from .elemwise import cast, is_differentiable_dtype, neq, power, sqrt
from .linalg import sum_if_any, matmul
from .linalg_decomp import (SolveTriangular, check_matrix_stack, checked_dtypes, diagonal_matrix, diagonal_of,
                            identity_like, matrix_transpose, symmetric_part, triangle_mask)
from .reduce import max as reduce_max
from .reduce import min as reduce_min
from .reduce import sum as reduce_sum
from .shape import expand_dims, normalize_axes, transpose

__all__ = ["qr", "svd", "svdvals", "eigh", "eigvalsh", "norm", "vector_norm", "matrix_norm"]


def _known_min(m, n):
    return None if m is None or n is None else min(m, n)


_upper_solve = SolveTriangular(lower=False, trans=0, unit_diagonal=False)
_upper_transposed_solve = SolveTriangular(lower=False, trans=1, unit_diagonal=False)


def _times_inverse_upper(x, r):
    """x @ inv(r) for upper-triangular r, by one triangular solve: (r^-T x^T)^T."""
    return matrix_transpose(_upper_transposed_solve(r, matrix_transpose(x)))


def _times_inverse_upper_transposed(x, r):
    """x @ inv(r)^T for upper-triangular r, by one triangular solve: (r^-1 x^T)^T."""
    return matrix_transpose(_upper_solve(r, matrix_transpose(x)))


def _copy_lower_to_upper(x):
    """Each matrix's lower triangle, mirrored onto its upper one (a symmetric matrix)."""
    strict = x * triangle_mask(x, lower=True, strict=True)
    return strict + matrix_transpose(strict) + diagonal_matrix(diagonal_of(x))


# ---------------------------------------------------------------- where the factorizations have derivatives

_SHAPE_RULES = {"square": lambda rows, columns: rows == columns, "tall": lambda rows, columns: rows >= columns}


class DifferentiableShapeCheck(Op):
    """The identity on its first input, once the matrices of its second one are seen to obey `rule`
    ("square", or "tall": rows >= columns); otherwise it raises `NotDifferentiableError` with `message`,
    whose "{matrix}" names their shape. It guards a factorization's derivative when the sizes are unknown
    while building: the value it passes on is one that derivative needs, so the check runs first."""

    __props__ = ("rule", "message")
    view_map = {0: 0}

    def __init__(self, rule, message):
        self.rule = rule
        self.message = message

    @property
    def name(self):
        return "differentiable_shape_check"

    def __str__(self):
        return f"{self.name}{{{self.rule}}}"  # the message, long, is left to the error

    __repr__ = __str__

    def output_types(self, x, a):
        return [x]

    def perform(self, x, a):
        if not _SHAPE_RULES[self.rule](*a.shape[-2:]):
            raise NotDifferentiableError(self.message.format(matrix=f"shape {a.shape}"))
        return x

    def pullback(self, inputs, outputs, output_grads):
        return [output_grads[0], None]

    def pushforward(self, inputs, outputs, tangents):
        return [tangents[0]]


def require_differentiable_shape(values, a, rule, message):
    """`values` (what a derivative of a factorization of `a` needs), once `a`'s matrices obey `rule` (see
    `DifferentiableShapeCheck`): decided while building when a's static sizes tell, else at run time."""
    rows, columns = a.type.shape[-2:]
    if rows is not None and columns is not None:
        if not _SHAPE_RULES[rule](rows, columns):
            raise NotDifferentiableError(message.format(matrix=f"type {a.type}"))
        return values
    check = DifferentiableShapeCheck(rule, message)
    return [check(v, a) for v in values]


# ---------------------------------------------------------------- qr

class QR(Op):
    """`np.linalg.qr(a, mode)` for mode "reduced" or "complete" (outputs Q, R) or "r" (R only).

    Derivatives exist where the factorization is smooth: "reduced" (and "r") with at least as many rows
    as columns, and "complete" for square matrices.
    """

    __props__ = ("mode",)

    def __init__(self, mode):
        self.mode = mode

    @property
    def nout(self):
        return 1 if self.mode == "r" else 2

    @property
    def name(self):
        return "qr"

    def output_types(self, a):
        check_matrix_stack("qr", a, square=False)
        q_dtype, r_dtype = checked_dtypes("qr", np.linalg.qr, a)
        batch, (m, n) = a.shape[:-2], a.shape[-2:]
        k = m if self.mode == "complete" else _known_min(m, n)
        r = TensorType(r_dtype, batch + (k, n))
        return [r] if self.mode == "r" else [TensorType(q_dtype, batch + (m, k)), r]

    def perform(self, a):
        result = np.linalg.qr(a, mode=self.mode)
        return result if self.mode == "r" else tuple(result)

    def _factors(self, a, outputs):
        """Q and R for the derivatives, which exist only for mode "reduced" (and "r") with rows >= columns
        and for "complete" with square matrices (NotDifferentiableError otherwise, at run time when the
        sizes are unknown while building)."""
        q, r = QR("reduced")(a) if self.mode == "r" else outputs
        message = (f"qr(mode={self.mode!r}) of a matrix of {{matrix}} has no derivative: the factorization is "
                   "differentiable for mode 'reduced' or 'r' with rows >= columns, and 'complete' for square matrices")
        # Every derivative solves with R, so checking R puts the check first.
        (r,) = require_differentiable_shape([r], a, "square" if self.mode == "complete" else "tall", message)
        return q, r

    def pullback(self, inputs, outputs, output_grads):
        (a,) = inputs
        q, r = self._factors(a, outputs)
        grad_q, grad_r = (None, output_grads[0]) if self.mode == "r" else output_grads
        if grad_q is None:  # mode "r": only R's gradient flows back
            grad_q = zeros_like(q)
        m = matmul(r, matrix_transpose(grad_r)) - matmul(matrix_transpose(grad_q), q)
        return [_times_inverse_upper_transposed(grad_q + matmul(q, _copy_lower_to_upper(m)), r)]

    def pushforward(self, inputs, outputs, tangents):
        (a,), (t,) = inputs, tangents
        q, r = self._factors(a, outputs)
        t_r_inv = _times_inverse_upper(t, r)
        c = matmul(matrix_transpose(q), t_r_inv)
        lower = c * triangle_mask(c, lower=True, strict=True)
        upper_part = c - (lower - matrix_transpose(lower))  # Q^T dQ is antisymmetric; R's change is upper
        grad_r = matmul(upper_part, r)
        if self.mode == "r":
            return [grad_r]
        return [t_r_inv - matmul(q, upper_part), grad_r]


_QR_MODES = ("reduced", "complete", "r")


def qr(a, mode="reduced"):
    """The QR factorization a == Q @ R, like `np.linalg.qr`: Q with orthonormal columns, R upper
    triangular. mode "reduced" (default) gives Q (M, K) and R (K, N) with K = min(M, N), "complete"
    gives Q (M, M) and R (M, N), "r" gives R alone. Returns (Q, R) or R.

    Example:
        >>> import symgraph as sg
        >>> q, r = sg.linalg.qr(sg.tensor("a", shape=(5, 3)))
        >>> q.type, r.type
        (TensorType(float64, (5, 3)), TensorType(float64, (3, 3)))
    """
    if mode not in _QR_MODES:
        raise ValueError(f"qr: mode must be one of {_QR_MODES}, got {mode!r}")
    result = QR(mode)(as_variable(a))
    return result if mode == "r" else tuple(result)


# ---------------------------------------------------------------- spectral helpers

def _inverse_differences(values):
    """F[..., i, j] = 1 / (values_j - values_i) off the diagonal, 0 on it (the eigenvector derivative's
    coupling; infinite where two values coincide)."""
    differences = expand_dims(values, -2) - expand_dims(values, -1)
    identity = identity_like(values)
    return (1 - identity) / (differences + identity)


def _scale_columns(x, v):
    """x @ diag(v) for stacks."""
    return x * expand_dims(v, -2)


def _scale_rows(x, v):
    """diag(v) @ x for stacks."""
    return x * expand_dims(v, -1)


# ---------------------------------------------------------------- eigh, eigvalsh

def _check_uplo(op_name, uplo):
    if uplo not in ("L", "U"):
        raise ValueError(f"{op_name}: UPLO must be 'L' or 'U', got {uplo!r}")


class Eigh(Op):
    """`np.linalg.eigh(a, UPLO)`: eigenvalues (ascending) and orthonormal eigenvectors (columns) of
    symmetric matrices. Only one triangle is read, so the derivatives are along symmetric perturbations
    (the gradient is symmetric); the eigenvectors' ones are for distinct eigenvalues."""

    __props__ = ("UPLO",)
    nout = 2

    def __init__(self, UPLO):
        self.UPLO = UPLO

    @property
    def name(self):
        return "eigh"

    def output_types(self, a):
        check_matrix_stack("eigh", a)
        values_dtype, vectors_dtype = checked_dtypes("eigh", np.linalg.eigh, a)
        n = a.shape[-1] if a.shape[-1] is not None else a.shape[-2]
        return [TensorType(values_dtype, a.shape[:-2] + (n,)), TensorType(vectors_dtype, a.shape[:-2] + (n, n))]

    def perform(self, a):
        return tuple(np.linalg.eigh(a, UPLO=self.UPLO))

    def pullback(self, inputs, outputs, output_grads):
        w, v = outputs
        grad_w, grad_v = output_grads
        inner = diagonal_matrix(grad_w) + _inverse_differences(w) * matmul(matrix_transpose(v), grad_v)
        return [symmetric_part(matmul(matmul(v, inner), matrix_transpose(v)))]

    def pushforward(self, inputs, outputs, tangents):
        w, v = outputs
        projected = matmul(matmul(matrix_transpose(v), symmetric_part(tangents[0])), v)
        return [diagonal_of(projected), matmul(v, _inverse_differences(w) * projected)]


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (or each of a stack), like
    `np.linalg.eigh`: returns (w, v) with a @ v == v * w. Only the lower (UPLO="L") or upper ("U")
    triangle is read. See the module notes on repeated eigenvalues.

    Example:
        >>> import symgraph as sg
        >>> w, v = sg.linalg.eigh(sg.tensor("a", shape=(4, 3, 3)))
        >>> w.type, v.type
        (TensorType(float64, (4, 3)), TensorType(float64, (4, 3, 3)))
    """
    _check_uplo("eigh", UPLO)
    w, v = Eigh(UPLO)(as_variable(a))
    return w, v


class Eigvalsh(Op):
    """`np.linalg.eigvalsh(a, UPLO)`: the eigenvalues of symmetric matrices; their gradient
    V diag(g) V^T needs the eigenvectors, which the pullback computes with `eigh`."""

    __props__ = ("UPLO",)

    def __init__(self, UPLO):
        self.UPLO = UPLO

    @property
    def name(self):
        return "eigvalsh"

    def output_types(self, a):
        return Eigh(self.UPLO).output_types(a)[:1]

    def perform(self, a):
        return np.linalg.eigvalsh(a, UPLO=self.UPLO)

    def pullback(self, inputs, outputs, output_grads):
        _, v = Eigh(self.UPLO)(inputs[0])
        return [matmul(_scale_columns(v, output_grads[0]), matrix_transpose(v))]

    def pushforward(self, inputs, outputs, tangents):
        _, v = Eigh(self.UPLO)(inputs[0])
        return [diagonal_of(matmul(matmul(matrix_transpose(v), symmetric_part(tangents[0])), v))]


def eigvalsh(a, UPLO="L"):
    """The eigenvalues (ascending) of a symmetric matrix (or each of a stack), like `np.linalg.eigvalsh`.

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> sg.linalg.eigvalsh(a).eval({a: [[2.0, 0.0], [0.0, 1.0]]})
        array([1., 2.])
    """
    _check_uplo("eigvalsh", UPLO)
    return Eigvalsh(UPLO)(as_variable(a))


# ---------------------------------------------------------------- svd

class SVD(Op):
    """`np.linalg.svd(a, full_matrices, compute_uv)`: (U, S, Vh), or S alone without `compute_uv`.

    Singular values have derivatives wherever they are distinct or not (U diag(g) Vh); the factors' ones
    need distinct nonzero singular values and, with `full_matrices`, square matrices (the extra columns
    of a full U or Vh are not determined by the matrix).
    """

    __props__ = ("full_matrices", "compute_uv")

    def __init__(self, full_matrices, compute_uv):
        self.full_matrices = full_matrices
        self.compute_uv = compute_uv

    @property
    def nout(self):
        return 3 if self.compute_uv else 1

    @property
    def name(self):
        return "svd"

    def output_types(self, a):
        check_matrix_stack("svd", a, square=False)
        u_dtype, s_dtype, vh_dtype = checked_dtypes("svd", np.linalg.svd, a)
        batch, (m, n) = a.shape[:-2], a.shape[-2:]
        k = _known_min(m, n)
        s = TensorType(s_dtype, batch + (k,))
        if not self.compute_uv:
            return [s]
        u_columns, vh_rows = (m, n) if self.full_matrices else (k, k)
        return [TensorType(u_dtype, batch + (m, u_columns)), s, TensorType(vh_dtype, batch + (vh_rows, n))]

    def perform(self, a):
        if not self.compute_uv:
            return np.linalg.svd(a, compute_uv=False)
        return tuple(np.linalg.svd(a, full_matrices=self.full_matrices))

    def _factors(self, a, outputs):
        """U, S and Vh for the factors' derivatives: with `full_matrices` they exist only for square
        matrices (NotDifferentiableError otherwise, at run time when the sizes are unknown while building)."""
        if not self.compute_uv:
            return SVD(False, True)(a)
        u, s, vh = outputs
        if not self.full_matrices:
            return u, s, vh
        message = ("svd(full_matrices=True) of a matrix of {matrix} has no derivative unless the matrix is square: "
                   "use full_matrices=False")
        u, vh = require_differentiable_shape([u, vh], a, "square", message)
        return u, s, vh

    def pullback(self, inputs, outputs, output_grads):
        (a,) = inputs
        grad_s = output_grads[1] if self.compute_uv else output_grads[0]
        if not self.compute_uv or all(g is None or is_zeros(g) for g in (output_grads[0], output_grads[2])):
            # Only the singular values are differentiated: dS = U^T dA V needs just the reduced factors.
            u, _, vh = SVD(False, True)(a)
            return [matmul(_scale_columns(u, grad_s), vh)]
        u, s, vh = self._factors(a, outputs)
        grad_u, grad_s, grad_vh = output_grads
        v, grad_v = matrix_transpose(vh), matrix_transpose(grad_vh)
        coupling = _inverse_differences(s * s)
        u_part = coupling * (matmul(matrix_transpose(u), grad_u) - matmul(matrix_transpose(grad_u), u))
        v_part = coupling * (matmul(matrix_transpose(v), grad_v) - matmul(matrix_transpose(grad_v), v))
        inner = _scale_columns(u_part, s) + diagonal_matrix(grad_s) + _scale_rows(v_part, s)
        # Components outside the spans of U and V (non-square matrices): (I - U U^T) gU S^-1 V^T and
        # U S^-1 gV^T (I - V V^T), computed without forming the projectors.
        outside_u = grad_u - matmul(u, matmul(matrix_transpose(u), grad_u))
        outside_v = grad_v - matmul(v, matmul(matrix_transpose(v), grad_v))
        terms = [
            matmul(matmul(u, inner), vh),
            matmul(_scale_columns(outside_u, 1 / s), vh),
            matmul(_scale_columns(u, 1 / s), matrix_transpose(outside_v)),
        ]
        return [sum_if_any(terms)]

    def pushforward(self, inputs, outputs, tangents):
        (a,), (t,) = inputs, tangents
        u, s, vh = self._factors(a, outputs)
        v = matrix_transpose(vh)
        projected = matmul(matmul(matrix_transpose(u), t), v)
        grad_s = diagonal_of(projected)
        if not self.compute_uv:
            return [grad_s]
        coupling = _inverse_differences(s * s)
        projected_t = matrix_transpose(projected)
        u_rotation = coupling * (_scale_columns(projected, s) + _scale_rows(projected_t, s))
        v_rotation = coupling * (_scale_rows(projected, s) + _scale_columns(projected_t, s))
        t_v, t_t_u = matmul(t, v), matmul(matrix_transpose(t), u)
        outside_u = t_v - matmul(u, matmul(matrix_transpose(u), t_v))
        outside_v = t_t_u - matmul(v, matmul(matrix_transpose(v), t_t_u))
        grad_u = matmul(u, u_rotation) + _scale_columns(outside_u, 1 / s)
        grad_v = matmul(v, v_rotation) + _scale_columns(outside_v, 1 / s)
        return [grad_u, grad_s, matrix_transpose(grad_v)]


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """The singular value decomposition a == U @ diag(S) @ Vh, like `np.linalg.svd`, with NumPy's
    defaults and shapes: (U, S, Vh) with U (M, M) and Vh (N, N) when `full_matrices`, else U (M, K) and
    Vh (K, N) (K = min(M, N)); S (K,) descending; only S when `compute_uv` is False. `hermitian` is
    accepted for NumPy's signature and changes nothing but speed in NumPy (the general algorithm runs).

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> sg.linalg.svd(a, compute_uv=False).eval({a: [[3.0, 0.0], [0.0, -4.0]]})
        array([4., 3.])
    """
    result = SVD(bool(full_matrices), bool(compute_uv))(as_variable(a))
    return tuple(result) if compute_uv else result


def svdvals(x, /):
    """The singular values (descending) of a matrix or of each of a stack, like `np.linalg.svdvals`: the
    same as `svd(x, compute_uv=False)`, with its derivatives.

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> sg.linalg.svdvals(a).eval({a: [[0.0, 2.0], [-3.0, 0.0]]})
        array([3., 2.])
    """
    return svd(x, compute_uv=False)


# ---------------------------------------------------------------- norm

_VECTOR_ORDS_REDUCED = {np.inf: reduce_max, -np.inf: reduce_min}
_MATRIX_SUM_ORDS = {1: (reduce_max, "columns"), -1: (reduce_min, "columns"),
                    np.inf: (reduce_max, "rows"), -np.inf: (reduce_min, "rows")}


def _vector_norm(x, ord, axis, keepdims):
    # Every norm is real: complex entries count by their magnitude, in the matching real dtype.
    magnitude = elementwise_abs(x)
    if ord is None or ord == 2:
        return sqrt(reduce_sum(magnitude * magnitude, axis=axis, keepdims=keepdims))
    if ord in _VECTOR_ORDS_REDUCED:
        return _VECTOR_ORDS_REDUCED[ord](magnitude, axis=axis, keepdims=keepdims)
    if ord == 0:
        return reduce_sum(cast(neq(x, 0), magnitude.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return reduce_sum(magnitude, axis=axis, keepdims=keepdims)
    exponent = np.asarray(ord, dtype=magnitude.dtype)
    return power(reduce_sum(power(magnitude, exponent), axis=axis, keepdims=keepdims), 1 / exponent)


def _singular_values_over(x, row_axis, column_axis):
    """The singular values of the matrices spanning `row_axis` and `column_axis`, as the last axis."""
    rest = [axis for axis in range(x.ndim) if axis not in (row_axis, column_axis)]
    return svd(transpose(x, rest + [row_axis, column_axis]), compute_uv=False)


def _matrix_norm(x, ord, row_axis, column_axis, keepdims):
    if ord in (None, "fro"):
        result = _vector_norm(x, None, (row_axis, column_axis), False)
    elif ord in ("nuc", 2, -2):
        values = _singular_values_over(x, row_axis, column_axis)
        result = {"nuc": reduce_sum, 2: reduce_max, -2: reduce_min}[ord](values, axis=-1)
    elif ord in _MATRIX_SUM_ORDS:
        reduce, summed = _MATRIX_SUM_ORDS[ord]
        summed_axis, kept_axis = (row_axis, column_axis) if summed == "columns" else (column_axis, row_axis)
        sums = reduce_sum(elementwise_abs(x), axis=summed_axis, keepdims=True)
        result = reduce(sums, axis=(row_axis, column_axis))
    else:
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices")
    return expand_dims(result, tuple(sorted((row_axis, column_axis)))) if keepdims else result


def _norm_operand(x):
    """`x` as a variable, integers and bools as float64 (NumPy's norms are floats)."""
    x = as_variable(x)
    return x if is_differentiable_dtype(x.dtype) else cast(x, "float64")


def _is_valid_vector_ord(ord):
    return ord is None or (isinstance(ord, (int, float, np.integer, np.floating)) and not isinstance(ord, bool))


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norms, like `np.linalg.norm`, built from reductions (and `svd` for the
    ord=2, -2 and "nuc" matrix norms), so they inherit their gradients.

    `axis` None: the 2-norm of the flattened `x` when `ord` is None, else a vector norm (1-d `x`) or a
    matrix norm (2-d `x`); an int: vector norms along it; a pair: matrix norms over those axes.
    Vector ords: None/2, inf, -inf, 0 (count of nonzeros), 1, any other number p (sum |x|^p)^(1/p).
    Matrix ords: None/"fro", "nuc", inf, -inf, 1, -1, 2, -2. Integer inputs give float64; complex inputs
    give the real norm of their magnitudes (float32 for complex64), as in NumPy.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> float(sg.linalg.norm(x).eval({x: [3.0, 4.0]})), float(sg.linalg.norm(x, 1).eval({x: [3.0, -4.0]}))
        (5.0, 7.0)
    """
    x = _norm_operand(x)
    if axis is None:
        if ord is None:
            result = _vector_norm(x, None, None, False)
            return expand_dims(result, tuple(range(x.ndim))) if keepdims else result
        if x.ndim not in (1, 2):
            raise ShapeError(f"norm: an ord needs a 1-d or 2-d operand or an axis, got type {x.type}")
        axis = tuple(range(x.ndim))
    axes = normalize_axes(axis, x.ndim, "norm", x.type)
    if len(axes) == 1:
        if not _is_valid_vector_ord(ord):
            raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes[0], axes[1], keepdims)
    raise ValueError(f"norm: axis must name one or two axes, got {axis!r}")


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """Vector norms like `np.linalg.vector_norm`: the elements over `axis` (None: all of them, an int,
    or a tuple of any number of axes) count as one vector. The ords are those of vectors in `norm`.

    Example:
        >>> import symgraph as sg
        >>> x = sg.matrix("x")
        >>> sg.linalg.vector_norm(x, axis=(0, 1), ord=1).eval({x: [[1.0, -2.0], [3.0, -4.0]]})
        array(10.)
    """
    x = _norm_operand(x)
    if not _is_valid_vector_ord(ord):
        raise ValueError(f"vector_norm: invalid norm order {ord!r} for vectors")
    axes = None if axis is None else normalize_axes(axis, x.ndim, "vector_norm", x.type)
    return _vector_norm(x, ord, axes, keepdims)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Matrix norms of the last two axes, like `np.linalg.matrix_norm`: `norm(x, ord, axis=(-2, -1))`.

    Example:
        >>> import symgraph as sg
        >>> x = sg.tensor("x", shape=(None, 2, 2))
        >>> sg.linalg.matrix_norm(x, ord=1).eval({x: [[[1.0, -2.0], [3.0, -4.0]]]})
        array([6.])
    """
    x = _norm_operand(x)
    if x.ndim < 2:
        raise ShapeError(f"matrix_norm: expected a matrix or a stack of matrices (at least 2 dimensions), got type {x.type}")
    return norm(x, ord, axis=(-2, -1), keepdims=keepdims)
