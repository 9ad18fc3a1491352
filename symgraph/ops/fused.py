"""`Fused`: a chain (or small DAG) of element-wise rows computed as one operation; `FusedReduce`: such a
kernel followed by a full reduction (sum, mean, max or min over every axis of the kernel's result).

The optimizer's fusion phase builds them; users do not. Its kernel is a list of steps `(row, refs)`: step
`k` applies the element-wise row to the values named by `refs`, where a ref `r < nin` is the kernel's input
`r` and `r >= nin` is the result of step `r - nin`. The last step's result is the output. Broadcasting and
dtype promotion are those of the rows, step by step, exactly as if the nodes had not been fused.

Example:
    >>> import symgraph as sg
    >>> from symgraph.ops.elemwise import scalar_op
    >>> op = Fused(2, ((scalar_op("exp"), (0,)), (scalar_op("add"), (2, 1))))
    >>> x, y = sg.vector("x"), sg.vector("y")
    >>> op(x, y).owner.op.inner_names, op.name
    (['exp', 'add'], 'fused')
    >>> total = FusedReduce(op.nin, op.steps, "sum", keepdims=False)(x, y)
    >>> total.owner.op.inner_names, total.ndim
    (['exp', 'add', 'sum'], 0)
"""
import weakref

import numpy as np

from ..errors import NotDifferentiableError
from ..graph.op import Op
from .elemwise import Elemwise
from .reduce import Reduce

STEP_SITES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
"""For each Apply node of a Fused op: the creation sites of the nodes it replaced, one per step, so that a
run-time error inside the kernel names the user's line that built the failing operation."""


def _made_by_the_optimizer(op, what, transform):
    """The error for differentiating an op that only the optimizer makes."""
    return NotDifferentiableError(f"{op} is {what} made by the optimizer; differentiate the graph before "
                                  f"optimizing it ({transform} on the original variables)")


class Fused(Op):
    """Element-wise kernel over `nin` inputs; `steps` is a tuple of (ScalarOp, tuple of refs)."""

    __props__ = ("nin", "steps")

    def __init__(self, nin, steps):
        self.nin = nin
        self.steps = tuple((row, tuple(refs)) for row, refs in steps)
        for index, (row, refs) in enumerate(self.steps):
            if len(refs) != row.nin or any(not 0 <= r < nin + index for r in refs):
                raise ValueError(f"fused: step {index} ({row.name}) has invalid operand refs {refs}")

    @property
    def name(self):
        return "fused"

    @property
    def inner_names(self):
        """Names of the element-wise operations inside, in the order they are computed."""
        return [row.name for row, _ in self.steps]

    def __str__(self):
        return f"fused{{{','.join(self.inner_names)}}}"

    __repr__ = __str__

    def value_types(self, *input_types):
        """Types of the kernel's values: its inputs, then each step's result."""
        if len(input_types) != self.nin:
            raise TypeError(f"{self} takes {self.nin} operands, got {len(input_types)}")
        types = list(input_types)
        for row, refs in self.steps:
            types.extend(Elemwise(row).output_types(*[types[r] for r in refs]))
        return types

    def output_types(self, *input_types):
        return [self.value_types(*input_types)[-1]]

    def perform(self, *values):
        values = list(values)
        for row, refs in self.steps:
            values.append(row.impl(*[values[r] for r in refs]))
        return values[-1]

    def pullback(self, inputs, outputs, output_grads):
        raise _made_by_the_optimizer(self, "a fused element-wise kernel", "sg.grad")

    def pushforward(self, inputs, outputs, tangents):
        raise _made_by_the_optimizer(self, "a fused element-wise kernel", "sg.jvp")


FUSABLE_REDUCTIONS = ("sum", "mean", "max", "min")
"""Reduction kinds a kernel can feed block by block: each combines per-block partial results exactly."""


class FusedReduce(Op):
    """The element-wise kernel `Fused(nin, steps)` reduced by `kind` over all its axes (kept as size 1 when
    `keepdims`); the kernel's result must be floating point. Its value is that of the unfused graph.

    Example:
        >>> import numpy as np
        >>> from symgraph.ops.elemwise import scalar_op
        >>> op = FusedReduce(1, ((scalar_op("exp"), (0,)),), "max", keepdims=True)
        >>> op.perform(np.zeros((2, 3)))
        array([[1.]])
    """

    __props__ = ("nin", "steps", "kind", "keepdims")

    def __init__(self, nin, steps, kind, keepdims):
        if kind not in FUSABLE_REDUCTIONS:
            raise ValueError(f"fused reduction: kind {kind!r} is not one of {FUSABLE_REDUCTIONS}")
        kernel = Fused(nin, steps)
        self.nin = kernel.nin
        self.steps = kernel.steps
        self.kind = kind
        self.keepdims = bool(keepdims)

    @property
    def name(self):
        return "fused"

    @property
    def kernel(self):
        """The element-wise part, as a `Fused` op."""
        return Fused(self.nin, self.steps)

    @property
    def inner_names(self):
        """Names of the element-wise operations inside, in the order they are computed, then the reduction."""
        return self.kernel.inner_names + [self.kind]

    def __str__(self):
        keep = ", keepdims=True" if self.keepdims else ""
        return f"fused{{{','.join(self.inner_names)}{keep}}}"

    __repr__ = __str__

    def value_types(self, *input_types):
        """Types of the kernel's values: its inputs, then each step's result (the reduced one excluded)."""
        return self.kernel.value_types(*input_types)

    def reduction(self, ndim):
        """The `Reduce` op this node applies to the kernel's result of rank `ndim`."""
        return Reduce(self.kind, tuple(range(ndim)), self.keepdims)

    def output_types(self, *input_types):
        kernel_type = self.value_types(*input_types)[-1]
        if kernel_type.dtype.kind != "f":
            raise TypeError(f"{self}: the kernel's result must be floating point, got {kernel_type}")
        return self.reduction(kernel_type.ndim).output_types(kernel_type)

    def perform(self, *values):
        kernel_value = self.kernel.perform(*values)
        return self.reduction(np.ndim(kernel_value)).perform(kernel_value)

    def pullback(self, inputs, outputs, output_grads):
        raise _made_by_the_optimizer(self, "a fused reduction of an element-wise kernel", "sg.grad")

    def pushforward(self, inputs, outputs, tangents):
        raise _made_by_the_optimizer(self, "a fused reduction of an element-wise kernel", "sg.jvp")
