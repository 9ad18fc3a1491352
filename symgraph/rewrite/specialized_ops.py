"""Operations that only the specializer builds: `x.shape` read by the op itself instead of a separate node.

Gradients are full of `fit_shape(g, x.shape)` (sum a gradient back to its input's shape, decided at run
time when static shapes cannot tell) and `zeros(x.shape)`. Giving the op `x` rather than `x.shape` drops a
node per use (and a small allocation per call); the values are the same.

Example:
    >>> import numpy as np
    >>> FitLike().perform(np.ones((4, 3)), np.zeros(3)).tolist()
    [4.0, 4.0, 4.0]
"""
import numpy as np

from ..graph.op import Op
from ..graph.type import TensorType
from ..ops.elemwise import is_differentiable_dtype
from ..ops.gradient_ops import fit_array


class FitLike(Op):
    """`fit_shape(g, x.shape)`: g summed and broadcast to the shape of x (see `fit_array`)."""

    @property
    def name(self):
        return "fit_shape"

    def output_types(self, g, like):
        return [TensorType(g.dtype, like.shape)]

    def perform(self, g, like):
        return fit_array(g, np.shape(like))

    def pullback(self, inputs, outputs, output_grads):
        # Summing is the adjoint of broadcasting and vice versa: the engine fits gz back to g's shape.
        return [output_grads[0], None]

    def pushforward(self, inputs, outputs, tangents):
        tangent = tangents[0]
        return [None if tangent is None else self(tangent, inputs[1])]


class FullLike(Op):
    """`full(x.shape, value, dtype)`: `value` broadcast to the shape of x, as a new array of `dtype`."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    @property
    def name(self):
        return "full"

    def output_types(self, value, like):
        return [TensorType(self.dtype, like.shape)]

    def perform(self, value, like):
        return np.full(np.shape(like), value, dtype=self.dtype)

    def pullback(self, inputs, outputs, output_grads):
        carries = is_differentiable_dtype(inputs[0].dtype) and is_differentiable_dtype(self.dtype)
        return [output_grads[0] if carries else None, None]

    def pushforward(self, inputs, outputs, tangents):
        tangent = tangents[0]
        if tangent is None or not is_differentiable_dtype(self.dtype):
            return [None]
        return [self(tangent, inputs[1])]
