"""`Fused`: a chain (or small DAG) of element-wise rows computed as one operation; `FusedReduce`: such a
kernel feeding a reduction (sum, mean, max, min, logsumexp) or a softmax or log_softmax over some axes.

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
    >>> total = FusedReduce(op.nin, op.steps, Reduce("sum", (0,)))(x, y)
    >>> total.owner.op.inner_names, total.ndim
    (['exp', 'add', 'sum'], 0)
"""
import weakref

import numpy as np

from ..errors import NotDifferentiableError
from ..graph.op import Op
from .elemwise import Elemwise
from .nnet import LogSoftmax, Softmax
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
        # Lowering asks several times per node; a 10,000-step kernel would redo 10,000 broadcasts each time.
        # The memo lives outside __props__, so pickles and comparisons ignore it.
        memo = self.__dict__.setdefault("_value_types_memo", {})
        if input_types not in memo:
            types = list(input_types)
            for row, refs in self.steps:
                types.extend(Elemwise(row).output_types(*[types[r] for r in refs]))
            memo[input_types] = tuple(types)
        return list(memo[input_types])

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


FUSABLE_REDUCTIONS = ("sum", "mean", "max", "min", "logsumexp")
"""Reduction kinds a kernel can feed block by block: each combines per-block partial results exactly (up
to rounding)."""


def is_fusable_consumer(op):
    """Can `op` consume a kernel's result inside a `FusedReduce`? A reduction of a kind in
    FUSABLE_REDUCTIONS without an accumulator dtype, or a softmax or log_softmax, over at least one axis."""
    if type(op) is Reduce:
        return op.kind in FUSABLE_REDUCTIONS and op.dtype is None and bool(op.axis)
    return type(op) in (Softmax, LogSoftmax) and bool(op.axis)


class FusedReduce(Op):
    """The element-wise kernel `Fused(nin, steps)` feeding `consumer`: a reduction (sum, mean, max, min or
    logsumexp) or a normalization (softmax, log_softmax) over some of the kernel's axes. The kernel's
    result must be floating point. With no steps (and one input) the kernel is its input. Its value is
    that of the unfused graph.

    Example:
        >>> import numpy as np
        >>> from symgraph.ops.elemwise import scalar_op
        >>> op = FusedReduce(1, ((scalar_op("exp"), (0,)),), Reduce("max", (0, 1), keepdims=True))
        >>> op.perform(np.zeros((2, 3)))
        array([[1.]])
        >>> FusedReduce(1, ((scalar_op("negative"), (0,)),), Softmax((1,))).perform(np.zeros((1, 2)))
        array([[0.5, 0.5]])
    """

    __props__ = ("nin", "steps", "consumer")

    def __init__(self, nin, steps, consumer):
        if not is_fusable_consumer(consumer):
            raise ValueError(f"fused reduction: {consumer} cannot consume a kernel; it must be a reduction of a "
                             f"kind in {FUSABLE_REDUCTIONS} without dtype, or a softmax or log_softmax, over "
                             f"at least one axis")
        kernel = Fused(nin, steps)
        if not kernel.steps and nin != 1:
            raise ValueError(f"fused reduction: a kernel with no steps has one input, not {nin}")
        self.nin = kernel.nin
        self.steps = kernel.steps
        self.consumer = consumer

    @property
    def name(self):
        return "fused"

    @property
    def kind(self):
        """The consumer's name: "sum", "mean", "max", "min", "logsumexp", "softmax" or "log_softmax"."""
        return self.consumer.name

    @property
    def axis(self):
        """The sorted axes of the kernel's result that the consumer reduces or normalizes over."""
        return self.consumer.axis

    @property
    def kernel(self):
        """The element-wise part, as a `Fused` op."""
        return Fused(self.nin, self.steps)

    @property
    def inner_names(self):
        """Names of the element-wise operations inside, in the order they are computed, then the consumer."""
        return self.kernel.inner_names + [self.kind]

    def __str__(self):
        return f"fused{{{','.join(self.kernel.inner_names + [str(self.consumer)])}}}"

    __repr__ = __str__

    def value_types(self, *input_types):
        """Types of the kernel's values: its inputs, then each step's result (the consumer's excluded)."""
        return self.kernel.value_types(*input_types)

    def output_types(self, *input_types):
        kernel_type = self.value_types(*input_types)[-1]
        if kernel_type.dtype.kind != "f":
            raise TypeError(f"{self}: the kernel's result must be floating point, got {kernel_type}")
        return self.consumer.output_types(kernel_type)

    def perform(self, *values):
        return self.consumer.perform(self.kernel.perform(*values))

    def pullback(self, inputs, outputs, output_grads):
        raise _made_by_the_optimizer(self, "a fused reduction of an element-wise kernel", "sg.grad")

    def pushforward(self, inputs, outputs, tangents):
        raise _made_by_the_optimizer(self, "a fused reduction of an element-wise kernel", "sg.jvp")
