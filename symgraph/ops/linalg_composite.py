"""`sg.linalg`, part 3: the rest of `numpy.linalg`, each an exact composition of existing ops (products,
`solve`, `inv`, `svd`, `norm`, reshapes and indexing), so derivatives, forward mode and batching come with
them: `multi_dot`, `matrix_rank`, `cond`, `tensorinv`, `tensorsolve`, `cross`, `vecdot`, and NumPy 2's
array-API names `matmul`, `tensordot`, `outer`, `diagonal`, `trace` and `matrix_transpose`.

Example:
    >>> import symgraph as sg
    >>> a, b, c = sg.matrix("a"), sg.matrix("b"), sg.vector("c")
    >>> sg.linalg.multi_dot([a, b, c]).eval({a: [[1.0, 2.0]], b: [[1.0], [1.0]], c: [3.0]})
    array([9.])
"""
import builtins
import functools
import operator

import numpy as np

from ..errors import ShapeError
from ..graph.basic import as_variable
from .elemwise import cast, gt, isnan, logical_and, logical_not, maximum, neq, where
from .linalg import dot, matmul, tensordot  # matmul and tensordot are numpy.linalg's too, unchanged
from .linalg import outer as flat_outer
from .linalg_decomp import check_matrix_stack, inv, solve
from .linalg_decomp import matrix_transpose as swap_last_axes
from .linalg_spectral import norm, svd
from .matrix import diagonal as diagonal_on_axes
from .matrix import trace as trace_on_axes
from .reduce import any as reduce_any
from .reduce import sum as reduce_sum
from .shape import expand_dims, flatten, moveaxis, normalize_axis, reshape, stack, transpose
from .shape_of import symbolic_sizes

__all__ = ["multi_dot", "matrix_rank", "cond", "tensorinv", "tensorsolve", "cross", "vecdot", "matmul", "tensordot",
           "outer", "diagonal", "trace", "matrix_transpose"]


def _product(sizes):
    """The product of sizes that are ints or symbolic int scalars (an int when all are ints)."""
    return functools.reduce(operator.mul, sizes, 1)


def _all_static(sizes):
    return builtins.all(isinstance(size, int) for size in sizes)


# ---------------------------------------------------------------- multi_dot

def _cheapest_order(dims):
    """split(i, j): where the cheapest product of matrices i..j (matrix k is dims[k] x dims[k + 1]) splits,
    counting scalar multiplications (the classic matrix-chain dynamic programme)."""
    @functools.lru_cache(maxsize=None)
    def best(i, j):
        if i == j:
            return 0, None
        return builtins.min((best(i, k)[0] + best(k + 1, j)[0] + dims[i] * dims[k + 1] * dims[j + 1], k)
                            for k in range(i, j))

    return lambda i, j: best(i, j)[1]


def _chain_product(matrices):
    """The product of 2-d `matrices`, in the cheapest order when every size is static, else left to right."""
    dims = [m.type.shape[0] for m in matrices] + [matrices[-1].type.shape[1]]
    if None in dims:
        return functools.reduce(matmul, matrices)
    split = _cheapest_order(tuple(dims))

    def product(i, j):
        if i == j:
            return matrices[i]
        k = split(i, j)
        return matmul(product(i, k), product(k + 1, j))

    return product(0, len(matrices) - 1)


def multi_dot(arrays, *, out=None):
    """The product of two or more arrays, like `np.linalg.multi_dot`: the first may be 1-d (a row vector)
    and the last 1-d (a column vector), the others are matrices; the matrices are multiplied in the order
    with the fewest scalar multiplications when their sizes are static. Two arrays give `dot`.

    `out` must be None (results are new variables).

    Example:
        >>> import symgraph as sg
        >>> a, b, c = sg.tensor("a", shape=(10, 100)), sg.tensor("b", shape=(100, 5)), sg.tensor("c", shape=(5, 50))
        >>> product = sg.linalg.multi_dot([a, b, c])  # (a @ b) @ c: 7,500 multiplications, a @ (b @ c) 75,000
        >>> product.owner.inputs[1] is c
        True
    """
    if out is not None:
        raise TypeError("multi_dot: out is not supported (results are new variables)")
    arrays = [as_variable(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError(f"multi_dot: expected at least two arrays, got {len(arrays)}")
    if len(arrays) == 2:
        return dot(*arrays)
    row_vector, column_vector = arrays[0].ndim == 1, arrays[-1].ndim == 1
    if row_vector:
        arrays[0] = expand_dims(arrays[0], 0)
    if column_vector:
        arrays[-1] = expand_dims(arrays[-1], -1)
    for position, a in enumerate(arrays):
        if a.ndim != 2:
            raise ShapeError(f"multi_dot: array {position} has type {a.type}; expected a matrix (the first and last "
                             "may be vectors)")
    result = _chain_product(arrays)
    if row_vector and column_vector:
        return result[0, 0]
    if row_vector:
        return result[0]
    return result[:, 0] if column_vector else result


# ---------------------------------------------------------------- matrix_rank, cond

def _largest_matrix_size(a):
    """max(M, N) of `a`'s matrices: an int when static, else a symbolic scalar."""
    rows, columns = symbolic_sizes(a)[-2:]
    return builtins.max(rows, columns) if _all_static((rows, columns)) else maximum(rows, columns)


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """The rank of a matrix (or of each of a stack), like `np.linalg.matrix_rank`: how many singular values
    exceed `tol`, which defaults to `rtol` (default max(M, N) * eps) times the largest singular value.
    `tol` and `rtol` may be numbers or variables (one per matrix of a stack); a 0-d or 1-d `A` has rank 1
    unless all its elements are zero. `hermitian` is accepted for NumPy's signature and gives the same
    values. The result is int64 and has no derivative.

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> sg.linalg.matrix_rank(a).eval({a: [[1.0, 2.0], [2.0, 4.0]]})
        array(1)
    """
    if tol is not None and rtol is not None:
        raise ValueError("matrix_rank: tol and rtol cannot both be set")
    A = as_variable(A)
    if A.ndim < 2:
        return cast(reduce_any(neq(A, 0)), "int64")
    values = svd(A, compute_uv=False)
    if tol is None:
        # The first singular value is the largest; the slice sums to 0 for matrices with none (NumPy's initial=0).
        largest = reduce_sum(values[..., :1], axis=-1, keepdims=True)
        if rtol is None:
            rtol = cast(_largest_matrix_size(A), values.dtype) * np.finfo(values.dtype).eps
        else:
            rtol = as_variable(rtol)[..., None]
        tol = largest * rtol
    else:
        tol = as_variable(tol)[..., None]
    return reduce_sum(cast(gt(values, tol), "int64"), axis=-1)


def cond(x, p=None):
    """The condition number of a matrix (or of each of a stack), like `np.linalg.cond`: for `p` None, 2
    or -2 the ratio of the largest and smallest singular values (smallest over largest for -2), any
    matrix shape; for the other `norm` orders ("fro", "nuc", 1, -1, inf, -inf) of square matrices
    norm(x, p) * norm(inv(x), p). It is real (float32 for float32 and complex64). As in NumPy, a NaN
    condition number (0 / 0) becomes inf unless `x` holds a NaN; but a singular matrix with one of the
    other orders raises `numpy.linalg.LinAlgError` in `inv` (NumPy gives inf there).

    Example:
        >>> import symgraph as sg
        >>> a = sg.matrix("a")
        >>> float(sg.linalg.cond(a).eval({a: [[4.0, 0.0], [0.0, 0.5]]}))
        8.0
    """
    x = as_variable(x)
    through_singular_values = p is None or (not isinstance(p, str) and p in (2, -2))
    check_matrix_stack("cond", x.type, square=not through_singular_values)
    if 0 in x.type.shape[-2:]:
        raise ShapeError(f"cond: not defined for empty matrices, got type {x.type}")
    if through_singular_values:
        values = svd(x, compute_uv=False)
        largest, smallest = values[..., 0], values[..., -1]
        ratio = smallest / largest if p == -2 else largest / smallest
    else:
        ratio = norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))
    unexplained_nan = logical_and(isnan(ratio), logical_not(reduce_any(isnan(x), axis=(-2, -1))))
    return where(unexplained_nan, np.inf, ratio)


# ---------------------------------------------------------------- tensorinv, tensorsolve

def tensorinv(a, ind=2):
    """The inverse of `a` with respect to the tensor dot product over `ind` axes, like
    `np.linalg.tensorinv`: `tensordot(tensorinv(a, ind), a, ind)` is the identity over `a.shape[ind:]`.
    The result has shape `a.shape[ind:] + a.shape[:ind]`; both parts must hold the same number of elements.

    Example:
        >>> import symgraph as sg
        >>> a = sg.tensor("a", shape=(4, 2, 2))
        >>> sg.linalg.tensorinv(a, ind=1).type
        TensorType(float64, (2, 2, 4))
    """
    if isinstance(ind, (bool, np.bool_)) or not isinstance(ind, (int, np.integer)) or ind <= 0:
        raise ValueError(f"tensorinv: ind must be a positive int, got {ind!r}")
    a = as_variable(a)
    sizes = symbolic_sizes(a)
    front, back = sizes[:ind], sizes[ind:]
    if _all_static(sizes) and _product(front) != _product(back):
        raise ShapeError(f"tensorinv: the first {ind} axes of type {a.type} hold {_product(front)} elements and "
                         f"the others {_product(back)}; they must hold the same number")
    return reshape(inv(reshape(a, (_product(back), _product(front)))), back + front)


def tensorsolve(a, b, axes=None):
    """The x with `tensordot(a, x, axes=x.ndim) == b`, like `np.linalg.tensorsolve`: x has shape
    `a.shape[b.ndim:]`, and `a`'s leading `b.ndim` axes must hold as many elements as the others. `axes`
    (None or a sequence of axes of `a`) are moved to the end of `a`, in that order, first.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> a, b = sg.tensor("a", shape=(2, 3, 6)), sg.tensor("b", shape=(2, 3))
        >>> x = sg.linalg.tensorsolve(a, b)
        >>> x.type
        TensorType(float64, (6,))
        >>> values = {a: np.eye(6).reshape(2, 3, 6), b: np.arange(6.0).reshape(2, 3)}
        >>> x.eval(values)
        array([0., 1., 2., 3., 4., 5.])
    """
    a, b = as_variable(a), as_variable(b)
    if axes is not None:
        moved = [normalize_axis(axis, a.ndim, "tensorsolve", a.type) for axis in axes]
        a = transpose(a, [axis for axis in range(a.ndim) if axis not in moved] + moved)
    if b.ndim > a.ndim:
        raise ShapeError(f"tensorsolve: the right-hand side of type {b.type} has more axes than a of type {a.type}")
    sizes = symbolic_sizes(a)
    rows, unknowns = _product(sizes[:b.ndim]), _product(sizes[b.ndim:])
    if _all_static(sizes) and rows != unknowns:
        raise ShapeError(f"tensorsolve: a of type {a.type} has {rows} elements on its first {b.ndim} axes and "
                         f"{unknowns} on the others; they must be equal")
    return reshape(solve(reshape(a, (rows, unknowns)), flatten(b)), sizes[b.ndim:])


# ---------------------------------------------------------------- cross, vecdot

def _three_components(x, axis):
    """The three components of the vectors of `x` along `axis`, each with that axis removed."""
    vectors = moveaxis(x, normalize_axis(axis, x.ndim, "cross", x.type), -1)
    size = vectors.type.shape[-1]
    if size is not None and size != 3:
        raise ValueError(f"cross: operands must be (stacks of) 3-element vectors along axis {axis}, got type {x.type}")
    if size is None:
        # A run-time size other than 3 then fails in this reshape instead of crossing the first three entries.
        vectors = reshape(vectors, symbolic_sizes(vectors)[:-1] + (3,))
    return [vectors[..., i] for i in range(3)]


def cross(x1, x2, /, *, axis=-1):
    """The cross products of 3-element vectors along `axis` of `x1` and `x2`, like `np.linalg.cross`; the
    other axes broadcast, and the result's vectors lie along `axis` too.

    Example:
        >>> import symgraph as sg
        >>> sg.linalg.cross([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]).eval()
        array([0., 0., 1.])
    """
    x1, x2 = as_variable(x1), as_variable(x2)
    a1, a2, a3 = _three_components(x1, axis)
    b1, b2, b3 = _three_components(x2, axis)
    products = stack([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], axis=-1)
    return moveaxis(products, -1, normalize_axis(axis, products.ndim, "cross", products.type))


def vecdot(x1, x2, /, *, axis=-1):
    """The dot products of the vectors along `axis` of `x1` and `x2`, like `np.linalg.vecdot` for real
    operands: both have the same size along `axis`, the other axes broadcast, and integers keep their dtype.

    Example:
        >>> import symgraph as sg
        >>> sg.linalg.vecdot([[1, 2], [3, 4]], [1, 1]).eval()
        array([3, 7])
    """
    x1, x2 = as_variable(x1), as_variable(x2)
    if x1.dtype.kind == "c" or x2.dtype.kind == "c":
        raise TypeError(f"vecdot: complex operands are not supported, got {x1.type} and {x2.type}")
    rows = expand_dims(moveaxis(x1, normalize_axis(axis, x1.ndim, "vecdot", x1.type), -1), -2)
    columns = expand_dims(moveaxis(x2, normalize_axis(axis, x2.ndim, "vecdot", x2.type), -1), -1)
    return matmul(rows, columns)[..., 0, 0]


# ---------------------------------------------------------------- NumPy 2's array-API names

def outer(x1, x2, /):
    """The outer product of two vectors, like `np.linalg.outer` (which, unlike `sg.outer`, takes only 1-d
    operands): `result[i, j] = x1[i] * x2[j]`.

    Example:
        >>> import symgraph as sg
        >>> sg.linalg.outer([1, 2], [1, 10]).eval()
        array([[ 1, 10],
               [ 2, 20]])
    """
    x1, x2 = as_variable(x1), as_variable(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ShapeError(f"outer: expected 1-d operands, got types {x1.type} and {x2.type}")
    return flat_outer(x1, x2)


def diagonal(x, /, *, offset=0):
    """The diagonal `offset` of every matrix of a stack (the last two axes), like `np.linalg.diagonal`.

    Example:
        >>> import symgraph as sg
        >>> sg.linalg.diagonal([[1, 2], [3, 4]], offset=1).eval()
        array([2])
    """
    return diagonal_on_axes(x, offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """The sum of the diagonal `offset` of every matrix of a stack (the last two axes), like
    `np.linalg.trace`; `dtype` chooses the accumulator as in `sg.sum`.

    Example:
        >>> import symgraph as sg
        >>> sg.linalg.trace([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]).eval()
        array([ 5, 13])
    """
    return trace_on_axes(x, offset, -2, -1, dtype)


def matrix_transpose(x, /):
    """Every matrix of a stack transposed (the last two axes swapped), like `np.linalg.matrix_transpose`.

    Example:
        >>> import symgraph as sg
        >>> sg.linalg.matrix_transpose(sg.tensor("x", shape=(5, 2, 3))).type
        TensorType(float64, (5, 3, 2))
    """
    x = as_variable(x)
    check_matrix_stack("matrix_transpose", x.type, square=False)
    return swap_last_axes(x)
