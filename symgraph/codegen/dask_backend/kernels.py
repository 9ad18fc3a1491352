"""Dask lowering of element-wise ops and fused kernels: each is ONE `blockwise` layer, one task per chunk,
whose block function is the kernel's NumPy chain; a fused reduction is that layer followed by the
reduction (Dask's tree reduction: its first, per-chunk step runs on the kernel's block).

Operands broadcast as in NumPy: an operand of lower rank is aligned with the output's trailing axes,
size-1 axes broadcast against chunked ones, 0-d values go to every block whole, and the chunks of
operands that share an axis are unified first. Values that are no dask arrays at all (sizes and shapes,
0-d arguments, constants) are computed with NumPy at once: they are small.

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> f = sg.function([x], sg.exp(x) * 2.0 + 1.0, backend=sg.backend("dask", chunks=2, compute=False))
    >>> "kernel" in f.source
    True
    >>> result = f(np.zeros((4, 4)))
    >>> len(result.__dask_graph__()) - 4  # one task per chunk for the three operations, besides the input's
    4
"""
import traceback

import dask.array as da
import numpy as np

from ...graph.inputs import tensor
from ...ops.elemwise import Elemwise
from ..linker import link, node_description, with_location
from ..numpy_backend.fused import StepDescription
from ...ops.fused import Fused, FusedReduce
from . import BACKEND
from .reductions import reduced


class BlockFunction:
    """The per-block function of a kernel: the NumPy backend's compiled code of the kernel node (its
    temporaries freed or written into as they die, cache-blocked threads for large blocks), compiled on
    the first call in each process. It pickles as the op, its operand types and the descriptions its
    errors end with (`where`: the node's; `step_wheres`: each step's, for a fused kernel), so worker
    processes of `dask.distributed` compile their own."""

    __slots__ = ("op", "input_types", "where", "step_wheres", "_program")

    def __init__(self, op, input_types, where, step_wheres=()):
        self.op = op
        self.input_types = tuple(input_types)
        self.where = where
        self.step_wheres = tuple(step_wheres)
        self._program = None

    def __call__(self, *blocks):
        if self._program is None:
            # blocks have the sizes of chunks, not the graph's static ones
            leaves = [tensor(f"x{i}", t.dtype, (None,) * t.ndim) for i, t in enumerate(self.input_types)]
            self._program = link(leaves, [self.op(*leaves)], name="block", backend="numpy")
        try:
            return np.asarray(self._program.callable(*blocks)[0])
        except Exception as exc:
            raise with_location(exc, self._where_in(exc)) from exc

    def _where_in(self, exc):
        """What failed: the step of the kernel whose line raised `exc`, else the node."""
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename == self._program.filename and self.step_wheres:
                step = getattr(self._program.description_at_line(lineno), "step", None)
                if step is not None:
                    return f"in {self.step_wheres[step]}"
        return self.where

    def __dask_tokenize__(self):
        return ("symgraph-block-function", str(self.op), id(self))

    def __reduce__(self):
        return BlockFunction, (self.op, self.input_types, self.where, self.step_wheres)


def blockwise(function, dtype, ndim, operands):
    """One blockwise layer applying `function` to the operands' blocks, broadcasting them (see the module
    docstring); `function` itself on the values when none of them is a dask array."""
    if not any(isinstance(value, da.Array) for value in operands):
        return function(*operands)
    index = tuple(range(ndim))
    arguments = []
    for value in operands:
        if not isinstance(value, da.Array):
            value = np.asarray(value)
            if value.ndim == 0:
                arguments += [value, None]
                continue
            value = da.from_array(value, chunks=-1)
        arguments += [value, index[ndim - value.ndim:]]
    return da.blockwise(function, index, *arguments, dtype=dtype, meta=np.empty((0,) * ndim, dtype=dtype))


class KernelCall:
    """What generated code calls for an element-wise node: the blockwise layer of its kernel, then for a
    fused reduction the reduction or normalization of the kernel's result."""

    __slots__ = ("function", "dtype", "ndim", "consumer")

    def __init__(self, kernel, node, kernel_type, consumer=None):
        self.function = BlockFunction(kernel, _types(node), f"while computing node {node_description(node)}",
                                      [str(StepDescription(node, step)) for step in range(len(node.op.steps))]
                                      if isinstance(node.op, (Fused, FusedReduce)) else ())
        self.dtype = kernel_type.dtype
        self.ndim = kernel_type.ndim
        self.consumer = consumer

    def __call__(self, *operands):
        value = blockwise(self.function, self.dtype, self.ndim, operands) if self.function.op.steps else operands[0]
        return value if self.consumer is None else reduced(self.consumer, value)


def _types(node):
    return [v.type for v in node.inputs]


def _call(call, input_names, namespace, hint):
    return f"{namespace.bind(call, hint)}({', '.join(input_names)})"


@BACKEND.expression(Elemwise)
def _lower_elemwise(node, input_names, namespace):
    row = node.op.scalar
    kernel = Fused(len(node.inputs), ((row, tuple(range(len(node.inputs)))),))
    return _call(KernelCall(kernel, node, node.outputs[0].type), input_names, namespace, row.name)


@BACKEND.expression(Fused)
def _lower_fused(node, input_names, namespace):
    return _call(KernelCall(node.op, node, node.outputs[0].type), input_names, namespace, "kernel")


@BACKEND.expression(FusedReduce)
def _lower_fused_reduce(node, input_names, namespace):
    op = node.op
    kernel_type = op.value_types(*[v.type for v in node.inputs])[-1]
    return _call(KernelCall(op.kernel, node, kernel_type, op.consumer), input_names, namespace,
                 f"kernel_{op.kind}")
