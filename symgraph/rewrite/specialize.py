"""Specialize phase: general operations replaced by cheaper special cases.

`np.power` is several times slower than a multiplication, a square or a square root, and NumPy
itself treats `x ** 0.5` as `sqrt(x)` (so NaN and infinities propagate the same way). A sum of
products over every axis is a dot product (one BLAS call, no temporary).

Products with transposed operands need no rewrite to avoid materializing the transpose: a transpose
lowers to a NumPy view (`np.transpose`), which `np.matmul` hands to BLAS with transposed strides, as
fast as a contiguous copy would be (see `matmul_of_transposes` in the canonicalize phase for A.T @ B.T).

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> sg.optimize(x ** 2, mode=sg.Mode(exclude=["fusion"])).owner.op.name
    'square'
"""
import numpy as np

from ..graph.basic import Constant
from ..ops.creation import Eye, Full
from ..ops.gradient_ops import FitShape
from ..ops.linalg import DiagonalMatrix, MatMul, TensorDot
from ..ops.reduce import Reduce
from ..ops.shape import NEW_AXIS, DimShuffle, Reshape
from ..ops.shape_of import Shape
from .build import broadcasts_into, fill_value, is_filled_with, producer, producer_of_type
from .registry import register_rewrite
from .specialized_ops import FitLike, FullLike

_matmul = MatMul()
_flatten = Reshape((-1,))
_fit_like = FitLike()


def _exponent(node):
    """(base cast to the result's dtype, exponent value) of `x ** c` with c a uniform constant that changes
    no size; else None."""
    x, c = node.inputs
    value = fill_value(c)
    if value is None or not broadcasts_into(c, x):
        return None
    return x, value


def _as_result(build, node, x):
    return build.cast(x, node.outputs[0].dtype)


@register_rewrite("power_to_multiplications", "specialize", tracks=["power"])
def power_to_multiplications(node, build):
    """x ** 2 -> square(x), x ** 3 -> x * square(x), x ** 4 -> square(square(x))."""
    found = _exponent(node)
    if found is None or found[1] not in (2, 3, 4):
        return None
    x = _as_result(build, node, found[0])
    squared = build.elemwise("square", x)
    if found[1] == 2:
        return squared
    if found[1] == 3:
        return build.elemwise("multiply", x, squared)
    return build.elemwise("square", squared)


@register_rewrite("power_to_sqrt", "specialize", tracks=["power"])
def power_to_sqrt(node, build):
    """x ** 0.5 -> sqrt(x)."""
    found = _exponent(node)
    if found is None or found[1] != 0.5 or node.outputs[0].dtype.kind not in "fc":
        return None
    return build.elemwise("sqrt", _as_result(build, node, found[0]))


@register_rewrite("power_to_reciprocal", "specialize", tracks=["power"])
def power_to_reciprocal(node, build):
    """x ** -1 -> reciprocal(x) for float results (integers to negative powers raise in NumPy)."""
    found = _exponent(node)
    if found is None or found[1] != -1 or node.outputs[0].dtype.kind not in "fc":
        return None
    return build.elemwise("reciprocal", _as_result(build, node, found[0]))


@register_rewrite("multiply_self_to_square", "specialize", tracks=["multiply"])
def multiply_self_to_square(node, build):
    """x * x -> square(x) (not for bool, whose square NumPy makes int8)."""
    x, y = node.inputs
    return build.elemwise("square", x) if x is y and x.dtype.kind != "b" else None


@register_rewrite("sum_of_product_to_dot", "specialize", tracks=[Reduce])
def sum_of_product_to_dot(node, build):
    """sum(x * y) over every axis -> dot of x and y (flattened), for float operands of the same shape."""
    op = node.op
    product = producer(node.inputs[0], "multiply")
    if op.kind != "sum" or op.keepdims or op.dtype is not None or product is None:
        return None
    x, y = product.inputs
    if x.ndim == 0 or len(op.axis) != x.ndim or x.dtype.kind != "f" or not build.facts.same_shape(x, y):
        return None
    if x.ndim > 1:
        x, y = build.apply(_flatten, x), build.apply(_flatten, y)
    result = build.apply(_matmul, x, y)
    return result if result.dtype == node.outputs[0].dtype else None


def _shape_source(vector, ndim):
    """x when `vector` is x.shape for an x of rank `ndim`, else None."""
    shape = producer_of_type(vector, Shape)
    return shape.inputs[0] if shape is not None and shape.inputs[0].ndim == ndim else None


@register_rewrite("fit_shape_of_variable", "specialize", tracks=[FitShape])
def fit_shape_of_variable(node, build):
    """fit_shape(g, x.shape) -> one node reading the shape of x itself."""
    if node.op.batch_ndim != 0:
        return None
    like = _shape_source(node.inputs[1], len(node.op.shape))
    return None if like is None else build.apply(_fit_like, node.inputs[0], like)


@register_rewrite("full_of_shape_of_variable", "specialize", tracks=[Full])
def full_of_shape_of_variable(node, build):
    """full(x.shape, value) (zeros_like, ones_like ...) -> one node reading the shape of x itself."""
    if len(node.inputs) != 2:
        return None
    like = _shape_source(node.inputs[1], len(node.op.shape))
    return None if like is None else build.apply(FullLike(node.op.dtype), node.inputs[0], like)


def _scaled_identity(var):
    """s when `var` is eye(n) * s (square identity, main diagonal) with s of rank 0 or 1, else None."""
    product = producer(var, "multiply")
    if product is None:
        return None
    for eye_var, scale in (product.inputs, product.inputs[::-1]):
        if scale.ndim <= 1 and _is_identity(eye_var):
            return scale
    return None


def _is_identity(var):
    """True when `var` is a square identity matrix: an `eye(n)` node or a constant (folded) one."""
    if isinstance(var, Constant):
        data = var.data
        return data.ndim == 2 and data.shape[0] == data.shape[1] and np.array_equal(data, np.eye(data.shape[0]))
    eye_node = producer_of_type(var, Eye)
    if eye_node is None:
        return False
    rows, columns, diagonal = eye_node.inputs
    square = rows is columns or (None not in var.type.shape and len(set(var.type.shape)) == 1)
    return square and fill_value(diagonal) == 0


@register_rewrite("identity_scaled_product", "specialize", tracks=[MatMul, TensorDot], extra_groups=("unsafe",))
def identity_scaled_product(node, build):
    """(eye(n) * s) @ B -> s[:, None] * B: a diagonal matrix times B scales B's rows, O(n m) not O(n^2 m).

    Batched reverse mode (sg.jacobian) builds exactly this product from the identity of cotangents. In the
    "unsafe" group (off by default): the product's 0 * inf and 0 * NaN terms, which make whole columns NaN,
    are dropped. Switch it on with `sg.Mode(include=["identity_scaled_product"])` for fast Jacobians of
    maps whose values are finite.
    """
    a, b = node.inputs
    if isinstance(node.op, TensorDot) and (node.op.axes_a, node.op.axes_b) != ((1,), (0,)):
        return None
    if a.ndim != 2 or (isinstance(node.op, MatMul) and b.ndim > 2):
        return None
    scale = _scaled_identity(a)
    if scale is None:
        return None
    if scale.ndim == 1 and b.ndim > 1:
        scale = build.apply(DimShuffle(1, (0,) + (NEW_AXIS,) * (b.ndim - 1)), scale)
    result = build.elemwise("multiply", scale, b)
    return result if result.type.is_compatible(node.outputs[0].type) else None


_diag = DiagonalMatrix()


def _diagonal(var):
    """d when `var` is diag(d) (a DiagonalMatrix node), else None."""
    node = producer_of_type(var, DiagonalMatrix)
    return None if node is None else node.inputs[0]


def _diagonal_rows(var):
    """d when `var` is diag(d), or diag(d) with each row fitted to a 1-d shape (a batched pullback meeting a
    broadcast operand), else None. A fitted row is row i of diag(d) (when the size is kept) or its sum d_i
    (when it is 1); either way its product with B is d_i times B's row, broadcast, so `d[:, None] * B`."""
    fit = producer_of_type(var, FitShape)
    if fit is not None and fit.op.batch_ndim == 1 and len(fit.op.shape) == 1:
        var = fit.inputs[0]
    return _diagonal(var)


@register_rewrite("diagonal_scaled", "specialize", tracks=["multiply", "add"])
def diagonal_scaled(node, build):
    """diag(d) * s -> diag(d * s) for s of rank 0 or 1 (it scales the columns, so the diagonal), and
    diag(a) + diag(b) -> diag(a + b): the off-diagonal zeros of diag are structural, so they stay zeros
    whatever s holds (NaN and infinities included)."""
    x, y = node.inputs
    if node.op.scalar.name == "add":
        a, b = _diagonal(x), _diagonal(y)
        result = None if a is None or b is None else build.apply(_diag, build.elemwise("add", a, b))
    else:
        result = None
        for matrix, scale in ((x, y), (y, x)):
            d = _diagonal(matrix)
            if d is not None and scale.ndim <= 1:
                # the identity seed of sg.jacobian times s is diag(s) itself
                ones_times_scale = is_filled_with(d, 1) and broadcasts_into(d, scale) and scale.dtype == d.dtype
                result = build.apply(_diag, scale if ones_times_scale else build.elemwise("multiply", d, scale))
                break
    return result if result is not None and result.type.is_compatible(node.outputs[0].type) else None


@register_rewrite("diagonal_product", "specialize", tracks=[MatMul, TensorDot])
def diagonal_product(node, build):
    """diag(d) @ B -> d[:, None] * B (B's rows scaled) and A @ diag(d) -> A * d (A's columns scaled):
    O(n m) instead of the O(n^2 m) dense product, and no structural zero meets an infinity of B."""
    a, b = node.inputs
    if isinstance(node.op, TensorDot):
        contracted = (node.op.axes_a, node.op.axes_b)
        left, right = contracted == ((1,), (0,)) and a.ndim == 2, contracted == ((a.ndim - 1,), (0,)) and b.ndim == 2
    else:
        left, right = a.ndim == 2 and b.ndim <= 2, b.ndim == 2 and a.ndim <= 2
    result = None
    if left and _diagonal_rows(a) is not None:
        d = _diagonal_rows(a)
        if b.ndim > 1:
            d = build.apply(DimShuffle(1, (0,) + (NEW_AXIS,) * (b.ndim - 1)), d)
        result = build.elemwise("multiply", d, b)
    elif right and _diagonal(b) is not None:
        result = build.elemwise("multiply", a, _diagonal(b))
    return result if result is not None and result.type.is_compatible(node.outputs[0].type) else None
