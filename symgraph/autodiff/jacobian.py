"""`sg.jacobian` and `sg.hessian`: every row of the Jacobian from one batched reverse pass, or every column
from one batched forward pass.

The vector-Jacobian product `u -> J^T u` is built once with a symbolic cotangent `u`, then batched
(`vectorize`) over the rows of the identity: one graph whose kernels are matrix-sized computes all rows,
as JAX's `jacrev` does, instead of one gradient graph or one backward pass per output entry. Where the
sizes are static and a variable has fewer entries than the expression, its block is the Jacobian-vector
product `t -> J t` batched over the columns of the identity instead (JAX's `jacfwd`): fewer products,
each about as cheap as computing the expression.

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
from ..graph.traversal import toposort
from ..ops.creation import eye, ones
from ..ops.elemwise import is_differentiable_dtype
from ..ops.linalg import DiagonalMatrix
from ..ops.reduce import prod
from ..ops.shape import reshape
from ..ops.shape_of import shape_of
from ..errors import NotDifferentiableError
from ..ops.shape import transpose
from .forward import jvp
from .grad import as_variable_list, gradients_for, restore_structure
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
        return gradients_for("sg.jacobian", "expr", expr, wrt, disconnected_inputs=disconnected_inputs)
    cotangent = tensor("cotangent", dtype=expr.dtype, shape=expr.type.shape)
    rows = gradients_for("sg.jacobian", "expr", None, wrt_list, disconnected_inputs=disconnected_inputs,
                         known_grads={expr: cotangent})
    count = _size(expr)
    if expr.ndim == 1:
        # a structured identity: the rewrites keep diag(ones) * s and diag(s) @ W as row scalings
        identity = DiagonalMatrix()(ones(symbolic_sizes(expr), dtype=expr.dtype))
    else:
        identity = reshape(eye(count, dtype=expr.dtype), (count,) + symbolic_sizes(expr))
    forward = [_by_columns(expr, v, count) for v in wrt_list]
    reverse = [(i, rows_of_v) for i, (rows_of_v, block) in enumerate(zip(rows, forward)) if block is None]
    results = list(forward)
    if reverse:
        batched = vectorize([rows_of_v for _, rows_of_v in reverse], {cotangent: identity}, count)
        for (i, _), rows_of_v in zip(reverse, batched):
            results[i] = reshape(rows_of_v, symbolic_sizes(expr) + symbolic_sizes(wrt_list[i]))
    return restore_structure(results, single, wrt)


def _by_columns(expr, v, count):
    """The block d expr / d v from batched forward products, when the sizes are static and `v` has fewer
    entries than `expr` (fewer products); None otherwise, and when an op on the way has no forward rule.
    A vector `expr` keeps the reverse form, whose structured identity computes layer Jacobians as exact
    row scalings (no 0 * inf terms)."""
    if not isinstance(count, int) or expr.ndim < 2 or None in v.type.shape or not is_differentiable_dtype(v.dtype):
        return None
    columns = math.prod(v.type.shape)
    if columns >= count:
        return None
    if _has_custom_gradient(expr, v):
        return None
    tangent = tensor("tangent", dtype=v.dtype, shape=v.type.shape)
    try:
        column = jvp(expr, v, tangent)
    except NotDifferentiableError:
        return None
    identity = reshape(eye(columns, dtype=v.dtype), (columns,) + v.type.shape)
    (batched,) = vectorize([column], {tangent: identity}, columns)  # (columns,) + expr.shape
    return reshape(transpose(reshape(batched, (columns, count))), expr.type.shape + v.type.shape)


def _has_custom_gradient(expr, v):
    """Does an op between `v` and `expr` give its own reverse-mode rule (`custom_gradient`, `grad_override`),
    which forward products would not follow?"""
    return any(getattr(node.op, "grad_override", None) is not None for node in toposort([expr], stop_at=[v]))


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
    gradients = gradients_for("sg.hessian", "the cost", cost, wrt_list, disconnected_inputs=disconnected_inputs)
    results = [jacobian(g, v, disconnected_inputs="ignore") for g, v in zip(gradients, wrt_list)]
    return restore_structure(results, single, wrt)
