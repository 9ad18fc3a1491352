"""Dask lowering of products: matmul, tensordot and einsum (Dask's blocked products).

Dask would rechunk operands whose chunks along a contracted axis differ, silently copying the whole of one
of them; the products refuse that for two arguments of the function instead, naming them, so the user
chooses the chunks. An operand the function computed (whose chunks the user did not choose) is rechunked
like the other.

Example:
    >>> import numpy as np
    >>> import dask.array as da
    >>> import symgraph as sg
    >>> a, b = sg.matrix("a"), sg.matrix("b")
    >>> f = sg.function([a, b], a @ b, backend="dask")
    >>> f(da.ones((4, 6), chunks=(2, 3)), da.ones((6, 2), chunks=(3, 2))).tolist()
    [[6.0, 6.0], [6.0, 6.0], [6.0, 6.0], [6.0, 6.0]]
    >>> f(da.ones((4, 6), chunks=(2, 3)), da.ones((6, 2), chunks=(2, 2)))
    Traceback (most recent call last):
    ...
    ValueError: matmul: the chunks of a along its axis 1 ((3, 3)) differ from those of b along its axis 0 ((2, 2, 2)); rechunk one of them (or pass NumPy arrays and the chunks= option)...
"""

import dask.array as da

from ...ops.linalg import Einsum, MatMul, TensorDot
from . import BACKEND



class Product:
    """What generated code calls for a matmul or tensordot node: Dask's product after checking that the
    contracted axes' chunks agree."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def contracted_axes(self, a, b):
        op = self.node.op
        if isinstance(op, TensorDot):
            return list(zip(op.axes_a, op.axes_b))
        return [(a.ndim - 1, max(b.ndim - 2, 0))] if a.ndim and b.ndim else []

    def __call__(self, a, b):
        op = self.node.op
        if not (isinstance(a, da.Array) or isinstance(b, da.Array)):
            return op.perform(a, b)
        if isinstance(a, da.Array) and isinstance(b, da.Array):
            a, b = self._aligned(a, b)
        if isinstance(op, TensorDot):
            return _of_dtype(da.tensordot(a, b, axes=(tuple(op.axes_a), tuple(op.axes_b))), self.node)
        return _of_dtype(da.matmul(a, b), self.node)

    def _aligned(self, a, b):
        """The operands with the same chunks along each contracted axis: an operand this function computed
        is rechunked like the other (its chunks are no choice of the user's); two arguments that differ are
        refused."""
        computed_a, computed_b = (var.owner is not None for var in self.node.inputs)
        for axis_a, axis_b in self.contracted_axes(a, b):
            if a.chunks[axis_a] == b.chunks[axis_b]:
                continue
            if computed_b:
                b = b.rechunk({axis_b: a.chunks[axis_a]})
            elif computed_a:
                a = a.rechunk({axis_a: b.chunks[axis_b]})
            else:
                raise ValueError(self._misaligned(a, axis_a, b, axis_b))
        return a, b

    def _misaligned(self, a, axis_a, b, axis_b):
        first, second = (v.name or f"operand {i}" for i, v in enumerate(self.node.inputs))
        return (f"{self.node.op.name}: the chunks of {first} along its axis {axis_a} ({a.chunks[axis_a]}) differ "
                f"from those of {second} along its axis {axis_b} ({b.chunks[axis_b]}); rechunk one of them (or "
                f"pass NumPy arrays and the chunks= option)")


def _of_dtype(product, node):
    """`product` cast to the node's dtype: Dask adds the partial products of integers in int64 and counts
    the true ones of booleans; the cast gives NumPy's wrapped integers and logical or of ands exactly."""
    dtype = node.outputs[0].dtype
    return product if product.dtype == dtype else product.astype(dtype)


class EinsumCall:
    """What generated code calls for an einsum node."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def __call__(self, *operands):
        if not any(isinstance(v, da.Array) for v in operands):
            return self.node.op.perform(*operands)
        return _of_dtype(da.einsum(self.node.op.subscripts, *operands), self.node)


@BACKEND.expression(MatMul, TensorDot)
def _lower_product(node, input_names, namespace):
    return f"{namespace.bind(Product(node), node.op.name)}({', '.join(input_names)})"


@BACKEND.expression(Einsum)
def _lower_einsum(node, input_names, namespace):
    return f"{namespace.bind(EinsumCall(node), 'einsum')}({', '.join(input_names)})"
