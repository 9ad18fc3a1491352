"""`sg.jacobian` and `sg.hessian`: every row of the Jacobian from one batched reverse pass.

The vector-Jacobian product `u -> J^T u` is built once with a symbolic cotangent `u`, then batched
(`vectorize`) over the rows of the identity: one graph whose kernels are matrix-sized computes all rows,
as JAX's `jacrev` does, instead of one gradient graph or one backward pass per output entry.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> sg.jacobian(x ** 2, x).eval({x: [1.0, 3.0]})
    array([[2., 0.],
           [0., 6.]])
"""
import math

from ..graph.basic import Variable
from ..graph.inputs import tensor
from ..ops.creation import eye, ones
from ..ops.elemwise import is_differentiable_dtype
from ..ops.linalg import DiagonalMatrix
from ..ops.reduce import prod
from ..ops.shape import reshape
from ..ops.shape_of import shape_of
from .grad import as_variable_list, grad, restore_structure
from .vectorize import symbolic_sizes, vectorize


def _size(var):
    """The number of entries of `var`: an int when static, else a symbolic int64 scalar."""
    if None not in var.type.shape:
        return math.prod(var.type.shape)
    return prod(shape_of(var))


def jacobian(expr, wrt, disconnected_inputs="raise"):
    """The Jacobian of `expr` with respect to `wrt` (a variable or a list/tuple of them).

    Each result has shape `expr.shape + v.shape` (sizes may be symbolic): entry `[i..., j...]` is
    d expr[i...] / d v[j...]. `disconnected_inputs` is handled as in `sg.grad`.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> sg.jacobian(sg.stack([x[0] * x[1], x[1]]), x).eval({x: [2.0, 3.0]})
        array([[3., 2.],
               [0., 1.]])
    """
    if not isinstance(expr, Variable):
        raise TypeError(f"sg.jacobian: expr must be a symbolic variable, got {expr!r}")
    if not is_differentiable_dtype(expr.dtype):
        raise TypeError(f"sg.jacobian: expr must have a float dtype, got {expr!r} of type {expr.type}")
    wrt_list, single = as_variable_list(wrt, "variable in wrt", "sg.jacobian")
    if expr.ndim == 0:
        return grad(expr, wrt, disconnected_inputs=disconnected_inputs)
    cotangent = tensor("cotangent", dtype=expr.dtype, shape=expr.type.shape)
    rows = grad(None, wrt_list, disconnected_inputs=disconnected_inputs, known_grads={expr: cotangent})
    count = _size(expr)
    if expr.ndim == 1:
        # a structured identity: the rewrites keep diag(ones) * s and diag(s) @ W as row scalings
        identity = DiagonalMatrix()(ones(symbolic_sizes(expr), dtype=expr.dtype))
    else:
        identity = reshape(eye(count, dtype=expr.dtype), (count,) + symbolic_sizes(expr))
    batched = vectorize(rows, {cotangent: identity}, count)
    results = [reshape(rows_of_v, symbolic_sizes(expr) + symbolic_sizes(v)) for rows_of_v, v in zip(batched, wrt_list)]
    return restore_structure(results, single, wrt)


def hessian(cost, wrt, disconnected_inputs="raise"):
    """The Hessian of the 0-d `cost`: for a variable `v`, shape `v.shape + v.shape`; for a list, the list of
    the diagonal blocks (one Hessian per variable).

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> sg.hessian((x ** 3).sum(), x).eval({x: [1.0, 2.0]})
        array([[ 6.,  0.],
               [ 0., 12.]])
    """
    wrt_list, single = as_variable_list(wrt, "variable in wrt", "sg.hessian")
    gradients = grad(cost, wrt_list, disconnected_inputs=disconnected_inputs)
    results = [jacobian(g, v, disconnected_inputs="ignore") for g, v in zip(gradients, wrt_list)]
    return restore_structure(results, single, wrt)
