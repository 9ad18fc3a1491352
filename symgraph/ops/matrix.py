"""Matrix helpers: `trace diag diagonal tril triu kron vdot inner`, with NumPy's semantics.

Each is an exact composition of existing ops (advanced indexing with `arange` indices, `set_subtensor`,
`where` with a triangular mask, products and reshapes), so gradients, forward mode, batching, fusion and
printing come with them. Sizes may be known only at run time; they then enter as symbolic sizes.

Example:
    >>> import symgraph as sg
    >>> m = sg.tensor("m", shape=(4, 3))
    >>> sg.diagonal(m, offset=1).type
    TensorType(float64, (2,))
    >>> sg.trace(sg.eye(3)).eval()
    array(3.)
"""
import builtins

import numpy as np

from ..errors import ShapeError
from ..graph.basic import as_variable, constant
from .creation import arange, zeros
from .elemwise import ge, le, maximum, minimum, multiply, where
from .indexing import set_subtensor
from .linalg import _sizes_conflict, dot, tensordot
from .reduce import sum
from .shape import flatten, moveaxis, normalize_axis, reshape
from .shape_of import symbolic_sizes

__all__ = ["trace", "diag", "diagonal", "tril", "triu", "kron", "vdot", "inner"]


def _static_offset(offset, op_name):
    if isinstance(offset, (bool, np.bool_)) or not isinstance(offset, (int, np.integer)):
        raise TypeError(f"{op_name}: the offset must be an int, got {offset!r}")
    return int(offset)


def _diagonal_length(rows, columns, offset):
    """How many entries diagonal `offset` of a rows x columns matrix has (sizes int or symbolic)."""
    if offset >= 0:
        columns = columns - offset
    else:
        rows = rows + offset
    if isinstance(rows, int) and isinstance(columns, int):
        return builtins.max(builtins.min(rows, columns), 0)
    return maximum(minimum(rows, columns), 0)


def _diagonal_indices(rows, columns, offset):
    """(row indices, column indices) of the entries of diagonal `offset`, int64 vectors."""
    steps = arange(_diagonal_length(rows, columns, offset))
    return steps + builtins.max(-offset, 0), steps + builtins.max(offset, 0)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal `offset` of the matrices spanned by `axis1` and `axis2` of `a`, like `np.diagonal`: those
    two axes are removed and the diagonal becomes the last axis (a copy, not a view).

    Example:
        >>> import symgraph as sg
        >>> sg.diagonal([[1, 2, 3], [4, 5, 6]], offset=1).eval()
        array([2, 6])
    """
    return _diagonal(a, offset, axis1, axis2, "diagonal")


def _diagonal(a, offset, axis1, axis2, op_name):
    """`diagonal`, for the public function `op_name` (`diagonal` or `trace`), which its errors name."""
    a = as_variable(a)
    offset = _static_offset(offset, op_name)
    if a.ndim < 2:
        raise ValueError(f"{op_name}: operand {a.type} must have at least 2 dimensions")
    first = normalize_axis(axis1, a.ndim, op_name, a.type)
    second = normalize_axis(axis2, a.ndim, op_name, a.type)
    if first == second:
        raise ValueError(f"{op_name}: axis1 and axis2 cannot be the same (both {first}) for operand {a.type}")
    sizes = symbolic_sizes(a)
    rows, columns = _diagonal_indices(sizes[first], sizes[second], offset)
    return moveaxis(a, (first, second), (-2, -1))[..., rows, columns]


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """The sum along diagonal `offset` of the matrices spanned by `axis1` and `axis2`, like `np.trace`;
    `dtype` chooses the accumulator as in `sg.sum` (integers and bools accumulate in int64).

    Example:
        >>> import symgraph as sg
        >>> sg.trace([[1, 2], [3, 4]]).eval()
        array(5)
    """
    return sum(_diagonal(a, offset, axis1, axis2, "trace"), axis=-1, dtype=dtype)


def diag(v, k=0):
    """For a 1-d `v`, the square matrix with `v` on diagonal `k` and zeros elsewhere; for a 2-d `v`, its
    diagonal `k`, like `np.diag`.

    Example:
        >>> import symgraph as sg
        >>> sg.diag([1, 2], k=1).eval()
        array([[0, 1, 0],
               [0, 0, 2],
               [0, 0, 0]])
    """
    v = as_variable(v)
    k = _static_offset(k, "diag")
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: operand {v.type} must be 1-d or 2-d")
    (length,) = symbolic_sizes(v)
    size = length + builtins.abs(k)
    rows, columns = _diagonal_indices(size, size, k)
    return set_subtensor(zeros((size, size), dtype=v.dtype)[rows, columns], v)


def _triangle(x, k, keep, op_name):
    """`x` where `keep(row + k, column)` holds on the last two axes (a 1-d `x` is the rows of a square), else 0."""
    x = as_variable(x)
    k = _static_offset(k, op_name)
    if x.ndim == 0:
        raise ValueError(f"{op_name}: operand {x.type} must have at least 1 dimension")
    sizes = symbolic_sizes(x)
    rows, columns = (sizes[-1], sizes[-1]) if x.ndim == 1 else sizes[-2:]
    mask = keep(arange(rows)[:, None] + k, arange(columns)[None, :])
    return where(mask, x, constant(np.zeros((), dtype=x.dtype)))


def tril(m, k=0):
    """`m` with the entries above diagonal `k` of its last two axes set to zero, like `np.tril` (leading
    axes are a batch; a 1-d `m` is repeated as the rows of a square matrix first).

    Example:
        >>> import symgraph as sg
        >>> sg.tril([[1, 2], [3, 4]]).eval()
        array([[1, 0],
               [3, 4]])
    """
    return _triangle(m, k, ge, "tril")


def triu(m, k=0):
    """`m` with the entries below diagonal `k` of its last two axes set to zero, like `np.triu`.

    Example:
        >>> import symgraph as sg
        >>> sg.triu([[1, 2], [3, 4]], k=1).eval()
        array([[0, 2],
               [0, 0]])
    """
    return _triangle(m, k, le, "triu")


def kron(a, b):
    """The Kronecker product: blocks `a[i, j, ...] * b`, like `np.kron` (the operand of lower rank gets
    leading axes of size 1 first).

    Example:
        >>> import symgraph as sg
        >>> sg.kron([1, 10], [1, 2, 3]).eval()
        array([ 1,  2,  3, 10, 20, 30])
    """
    a, b = as_variable(a), as_variable(b)
    ndim = builtins.max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (ndim - a.ndim) + symbolic_sizes(a))
    b = reshape(b, (1,) * (ndim - b.ndim) + symbolic_sizes(b))
    # Interleave the axes, a's at even and b's at odd positions, so that merging each pair gives the blocks.
    spread_a = a[tuple(x for _ in range(ndim) for x in (slice(None), None))]
    spread_b = b[tuple(x for _ in range(ndim) for x in (None, slice(None)))]
    product = multiply(spread_a, spread_b)
    sizes_a, sizes_b = symbolic_sizes(a), symbolic_sizes(b)
    return reshape(product, tuple(size_a * size_b for size_a, size_b in zip(sizes_a, sizes_b)))


def vdot(a, b):
    """The dot product of the flattened operands, like `np.vdot` for real tensors (both must have the same
    number of elements).

    Example:
        >>> import symgraph as sg
        >>> sg.vdot([[1, 2], [3, 4]], [[1, 0], [0, 1]]).eval()
        array(5)
    """
    a, b = as_variable(a), as_variable(b)
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        raise TypeError(f"vdot: complex operands are not supported, got {a.type} and {b.type}")
    a, b = flatten(a), flatten(b)
    if None not in (a.type.shape[0], b.type.shape[0]) and a.type.shape[0] != b.type.shape[0]:
        raise ValueError(f"vdot: operands of {a.type.shape[0]} and {b.type.shape[0]} elements cannot be multiplied")
    return dot(a, b)


def inner(a, b):
    """The sum of products over the last axes of `a` and `b`, like `np.inner`: the result has shape
    `a.shape[:-1] + b.shape[:-1]`; a 0-d operand multiplies.

    Example:
        >>> import symgraph as sg
        >>> sg.inner([[1, 2], [3, 4]], [1, 10]).eval()
        array([21, 43])
    """
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if _sizes_conflict(a.type.shape[-1], b.type.shape[-1]):
        raise ShapeError(f"inner: operands of types {a.type} and {b.type} have different sizes on their last axes")
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))
