"""The memory plan: which dead intermediate array an element-wise node may write its result into.

NumPy's allocator hands large arrays back to the system when they are freed, so every fresh large
temporary faults its pages in again (and the kernel zeroes them). A node that computes element by
element can instead write into an operand's array when that array is certainly the function's own and
nothing will read it again:

- it was made by an operation that always returns a new array (a matmul, a ufunc, a fused kernel
  ending in a ufunc, a fused reduction or softmax), so it is no input, constant, shared value or view of one;
- this node is the last to read its values (later uses of its shape alone do not count: writing into
  it keeps its shape) and it is not an output;
- no operation that may return a view of it (a transpose, a reshape, an index...) uses it, so no alias
  of it lives on.

Whether the result really has the operand's shape (broadcasting may enlarge it) is proved from static
shapes or checked when the function runs, by the lowering of the node. The plan is the rewrite group
"inplace" (`sg.Mode(exclude=["inplace"])` switches it off); `f.report.rewrites["buffer_reuse"]` counts
the nodes that write into an operand.

Example:
    >>> import symgraph as sg
    >>> x, w, b = sg.matrix("x"), sg.matrix("w"), sg.vector("b")
    >>> f = sg.function([x, w, b], sg.tanh(x @ w + b))
    >>> "out=v0" in f.source, f.report.rewrites["buffer_reuse"]
    (True, 1)

Across calls, a compiled kernel keeps its last large output and writes the next result into it once the
caller has dropped it (`RecycledOutput`), so a function called in a loop does not fault in fresh pages.
"""
import math
import sys
import threading

import numpy as np

from ..ops.elemwise import Elemwise
from ..ops.fused import Fused, FusedReduce
from ..ops.linalg import MatMul
from ..ops.reduce import Reduce
from ..ops.shape_of import Shape
from ..rewrite.registry import register_pass_name
from ..rewrite.specialized_ops import FitLike, FullLike

BUFFER_REUSE = "buffer_reuse"
register_pass_name(BUFFER_REUSE, "inplace")


def _ends_in_ufunc(op):
    """Does an element-wise op (or kernel) compute its result with a ufunc, which returns a new array?"""
    if type(op) is Elemwise:
        return isinstance(op.scalar.impl, np.ufunc)
    if type(op) is Fused:
        return isinstance(op.steps[-1][0].impl, np.ufunc)
    return False


def _makes_new_arrays(op):
    """Is every result of `op` a new array (never an input, a constant or a view of one)?"""
    return type(op) in (MatMul, FusedReduce) or _ends_in_ufunc(op)


def _may_alias(node, position):
    """May `node`'s output be (a view of) its input at `position`? Unknown operations: yes."""
    op = node.op
    if _ends_in_ufunc(op) or type(op) in (FusedReduce, MatMul, Shape, FullLike):
        return False
    if type(op) is Reduce:
        return not op.axis  # a reduction over no axis may hand its operand back
    if type(op) is FitLike:
        return position == 0  # the target's array only gives its shape
    return True


def computes_in_place(node):
    """Can `node` write its result into an operand's array (an element-wise ufunc or kernel)?"""
    return _ends_in_ufunc(node.op) or type(node.op) is FusedReduce


def _reads_only_shape(node, position):
    """Does `node` use its input at `position` only for its shape (which writing into it keeps)?"""
    return (type(node.op) is Shape and position == 0) or (type(node.op) in (FitLike, FullLike) and position == 1)


def reusable_operands(nodes, outputs):
    """{node: input positions whose array the node may overwrite} for the scheduled `nodes`."""
    aliased = set()
    last_reader = {}
    for node in nodes:
        for position, var in enumerate(node.inputs):
            if _may_alias(node, position):
                aliased.add(var)
            if not _reads_only_shape(node, position):
                last_reader[var] = node
    kept = set(outputs)
    plan = {}
    for node in nodes:
        if not computes_in_place(node):
            continue
        positions = [position for position, var in enumerate(node.inputs)
                     if last_reader.get(var) is node and var not in kept and var not in aliased and var.ndim > 0
                     and var.owner is not None and _makes_new_arrays(var.owner.op)]
        if positions:
            plan[node] = positions
    return plan


RECYCLE_MIN_BYTES = 1 << 20
"""Outputs from this size are recycled (RecycledOutput); NumPy's allocator serves smaller ones quickly."""


class RecycledOutput:
    """A kernel's last large output array, written again by the next call of the same shape and dtype
    when nothing but this slot holds it (the caller dropped it): a fresh array's pages are faulted in and
    zeroed by the kernel on first write, which costs a memory-bound kernel a quarter of its time.

    Example:
        >>> outputs = RecycledOutput()
        >>> first = outputs.empty((1 << 18,), np.dtype("float64"))
        >>> kept = outputs.empty((1 << 18,), np.dtype("float64"))  # `first` is still held: a new array
        >>> kept is first
        False
        >>> del first, kept
        >>> again = outputs.empty((1 << 18,), np.dtype("float64"))  # dropped: the same memory again
        >>> again.shape
        (262144,)
    """

    def __init__(self):
        self._array = None
        self._lock = threading.Lock()

    def empty(self, shape, dtype):
        """An uninitialized array of `shape` and `dtype` that no one else holds."""
        if math.prod(shape) * dtype.itemsize < RECYCLE_MIN_BYTES:
            return np.empty(shape, dtype)
        with self._lock:
            array, self._array = self._array, None
        # references now: `array` and getrefcount's argument; any more and the caller still holds it
        if array is None or array.shape != shape or array.dtype != dtype or sys.getrefcount(array) > 2:
            array = np.empty(shape, dtype)
        with self._lock:
            self._array = array
        return array
