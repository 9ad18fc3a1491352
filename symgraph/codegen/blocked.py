"""Cache-blocked, multi-threaded evaluation of fused element-wise kernels (and of their full reductions)
on large arrays.

Naive NumPy evaluates `exp(-x*x/2) * sin(3*x)` one whole-array operation at a time: every step streams
the full arrays through memory and allocates a full-size temporary. Here the output is cut into blocks
small enough to stay in the L2 cache; each block runs the whole chain of ufuncs with `out=` into a few
scratch buffers that are reused from block to block, and blocks are shared between threads (NumPy's
ufunc loops release the GIL, so both cores compute at once).

The blocked path applies when every operand is either the full output shape and C-contiguous, or holds
a single element (a scalar after broadcasting); steps on single-element operands only are computed once,
before the blocks. Other broadcasting patterns take the direct path (one NumPy call per step).
A kernel feeding a full reduction (`BlockedReduction`) reduces each block as soon as it is computed and
combines the per-block results, so its full-size result is never allocated.

Example:
    >>> import numpy as np
    >>> from symgraph.ops.elemwise import scalar_op
    >>> from symgraph.ops.fused import Fused
    >>> op = Fused(2, ((scalar_op("exp"), (0,)), (scalar_op("multiply"), (2, 1))))
    >>> kernel = BlockedKernel(op, [np.dtype("float64"), np.dtype("float64")])
    >>> x = np.linspace(0, 1, 300_000)
    >>> bool(np.allclose(kernel.try_run(x, np.array(2.0)), np.exp(x) * 2.0))
    True
"""
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

BLOCK_ELEMENTS = 65536
"""Elements per block (512 KiB of float64 per buffer): fastest among 4K..256K for both kernels of
`python -m benchmarks.tune_blocked` in three runs (10-25% ahead of 32K, which fits the 1 MiB L2 cache
better but makes twice as many Python-level calls)."""

STEP_NANOSECONDS = dict.fromkeys(
    ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "reciprocal", "sinh", "cosh", "tan", "tanh",
     "arcsin", "arccos", "arctan", "arctanh", "arcsinh", "arctan2", "power", "where", "clip", "sign", "relu",
     "logical_and", "logical_or", "logical_xor", "logical_not"], 1.0)
STEP_NANOSECONDS.update(dict.fromkeys(
    ["sin", "cos", "erf", "erfc", "arccosh", "mod", "floor_divide", "sigmoid", "softplus"], 8.0))
"""Single-thread time per float64 element of each element-wise row, in three tiers read off a measurement
of every row on 32K elements (rows not listed, the arithmetic and comparisons, take about 0.3 ns)."""
DEFAULT_STEP_NANOSECONDS = 0.3

BLOCKED_MIN_NANOSECONDS = 250_000
"""Below this much estimated work, a kernel runs as the direct chain of NumPy calls: with fewer Python-level
steps it wins on small arrays. `benchmarks.tune_blocked` shows the crossover near 0.25 ms for a chain of
cheap arithmetic (262K elements of `ew_memory`) and for transcendental functions (16K of `ew_compute`)."""

THREADED_MIN_NANOSECONDS = 750_000
"""Below this much estimated work, blocks stay on the calling thread: a hand-off to the pool costs about
0.1 ms here, repaid from about 0.75 ms of work (512K elements of `ew_memory`, 64K of `ew_compute`)."""


def kernel_nanoseconds(steps):
    """Estimated single-thread nanoseconds per output element of a kernel's `steps` ((row, refs) pairs).

    Example:
        >>> from symgraph.ops.elemwise import scalar_op
        >>> kernel_nanoseconds([(scalar_op("sin"), (0,)), (scalar_op("add"), (1, 0))])
        8.3
    """
    return sum(STEP_NANOSECONDS.get(row.name, DEFAULT_STEP_NANOSECONDS) for row, _ in steps)


def elements_for(nanoseconds, steps):
    """The output size from which a kernel of `steps` does `nanoseconds` of work (at least one element)."""
    return max(1, math.ceil(nanoseconds / kernel_nanoseconds(steps)))


def blocked_min_elements(op):
    """Output size from which a kernel op's blocked path beats its direct chain (BLOCKED_MIN_NANOSECONDS
    of estimated work).

    Example:
        >>> from symgraph.ops.elemwise import scalar_op
        >>> from symgraph.ops.fused import Fused
        >>> blocked_min_elements(Fused(1, [(scalar_op("sin"), (0,)), (scalar_op("add"), (1, 0))]))
        30121
    """
    return elements_for(BLOCKED_MIN_NANOSECONDS, op.steps)


_WORKERS = max(1, min(os.cpu_count() or 1, 8))
_pool = None


def _thread_pool():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_WORKERS - 1, thread_name_prefix="symgraph-kernel")
    return _pool


class _StepPlan:
    """How one step runs inside a block: its function, operand slots, and where its result goes."""

    __slots__ = ("function", "refs", "slot", "buffer", "writes_out")

    def __init__(self, function, refs, slot, buffer, writes_out):
        self.function = function
        self.refs = refs
        self.slot = slot
        self.buffer = buffer
        self.writes_out = writes_out


class _Plan:
    """The schedule of a kernel for one pattern of full / single-element operands."""

    __slots__ = ("hoisted", "block_steps", "buffer_dtypes")

    def __init__(self, hoisted, block_steps, buffer_dtypes):
        self.hoisted = hoisted
        self.block_steps = block_steps
        self.buffer_dtypes = buffer_dtypes


class BlockedKernel:
    """Evaluates one Fused op (given its operand dtypes) over cache-sized blocks of its output."""

    def __init__(self, op, input_dtypes):
        self.op = op
        self.nin = op.nin
        self.value_dtypes = list(input_dtypes)
        for row, refs in op.steps:
            self.value_dtypes.append(row.output_dtype([self.value_dtypes[r] for r in refs]))
        self.out_dtype = self.value_dtypes[-1]
        self.threaded_min_elements = elements_for(THREADED_MIN_NANOSECONDS, op.steps)
        self._plans = {}

    def try_run(self, *arrays, out=None):
        """The kernel's result on `arrays` by blocks, or None when the blocked path does not apply.

        `out`, an array the caller no longer needs (it may be one of `arrays`: each block is read before
        its results are written), receives the result when it has the result's shape, dtype and layout.
        """
        layout = self.layout(arrays)
        if layout is None:
            return None
        shape, plan, values, full_inputs = layout
        if out is None or out.shape != shape or out.dtype != self.out_dtype or not out.flags.c_contiguous:
            out = np.empty(shape, dtype=self.out_dtype)
        share_blocks(out.size, self.threaded_min_elements, _run_blocks, plan, values, full_inputs, out.reshape(-1))
        return out

    def layout(self, arrays):
        """(output shape, plan, block values, indices of the full inputs) for `arrays`, with the
        single-element steps already computed; None when the blocked path does not apply."""
        shape = blocked_output_shape(arrays)
        if shape is None:
            return None
        full = tuple(array.size != 1 for array in arrays)
        plan = self._plans.get(full)
        if plan is None:
            plan = self._plans[full] = self._make_plan(full)
        values = [array.reshape(-1) if is_full else array.reshape(()) for array, is_full in zip(arrays, full)]
        values += [None] * len(self.op.steps)
        for step in plan.hoisted:
            values[step.slot] = np.asarray(step.function(*[values[r] for r in step.refs]))
        full_inputs = [i for i, is_full in enumerate(full) if is_full]
        return shape, plan, values, full_inputs

    def _make_plan(self, full):
        """Hoist single-element steps; give each block step a scratch buffer reused once its value is dead."""
        nin = self.nin
        is_full = list(full)
        hoisted = []
        block_steps = []
        for index, (row, refs) in enumerate(self.op.steps):
            slot = nin + index
            step_full = any(is_full[r] for r in refs)
            is_full.append(step_full)
            if not step_full:
                hoisted.append(_StepPlan(row.impl, refs, slot, None, False))
            else:
                block_steps.append((index, row, refs, slot))
        last_use = {}
        for position, (_, _, refs, _) in enumerate(block_steps):
            for r in refs:
                last_use[r] = position
        last_slot = nin + len(self.op.steps) - 1
        free = {}
        buffer_of = {}
        buffer_dtypes = []
        plans = []
        for position, (index, row, refs, slot) in enumerate(block_steps):
            for r in refs:
                if last_use.get(r) == position and r in buffer_of:
                    free.setdefault(self.value_dtypes[r], []).append(buffer_of.pop(r))
            writes_out = slot == last_slot
            buffer = None
            if isinstance(row.impl, np.ufunc) and not writes_out:
                dtype = self.value_dtypes[slot]
                pool = free.get(dtype)
                if pool:
                    buffer = pool.pop()
                else:
                    buffer = len(buffer_dtypes)
                    buffer_dtypes.append(dtype)
                buffer_of[slot] = buffer
            plans.append(_StepPlan(row.impl, refs, slot, buffer, writes_out))
        return _Plan(hoisted, plans, buffer_dtypes)


_BLOCK_REDUCTIONS = {"sum": np.add.reduce, "mean": np.add.reduce, "max": np.maximum.reduce,
                     "min": np.minimum.reduce}
"""How one block is reduced, and how the blocks' partial results are combined (mean divides at the end)."""


class BlockedReduction:
    """Evaluates one FusedReduce op (given its operand dtypes): the kernel runs block by block into a
    scratch buffer each thread reuses, each block is reduced at once, and the partials are combined, so
    the full-size kernel result never exists.

    Sums add their partials in a different order than NumPy's pairwise sum, so they may differ in the
    last bits. Max and min of a block holding NaN are NaN, and so is their result, as in NumPy.

    Example:
        >>> from symgraph.ops.elemwise import scalar_op
        >>> from symgraph.ops.fused import FusedReduce
        >>> op = FusedReduce(2, ((scalar_op("subtract"), (0, 1)), (scalar_op("square"), (2,))), "mean", False)
        >>> reduction = BlockedReduction(op, [np.dtype("float64"), np.dtype("float64")])
        >>> a = np.linspace(0, 1, 300_000)
        >>> bool(np.isclose(reduction.try_run(a, a + 2.0), 4.0))
        True
    """

    def __init__(self, op, input_dtypes):
        self.kernel = BlockedKernel(op, input_dtypes)
        self.kind = op.kind
        self.keepdims = op.keepdims
        self.dtype = self.kernel.out_dtype
        # np.mean accumulates float16 in float32 and rounds the mean back; other floats in their own type
        self.partial_dtype = np.result_type(self.dtype, np.float32) if self.kind == "mean" else self.dtype

    def try_run(self, *arrays):
        """The reduction of the kernel's result on `arrays`, or None when the blocked path does not apply."""
        layout = self.kernel.layout(arrays)
        if layout is None:
            return None
        shape, plan, values, full_inputs = layout
        size = int(np.prod(shape))
        shares = share_blocks(size, self.kernel.threaded_min_elements, _reduce_blocks, plan, values, full_inputs, self.dtype, self.partial_dtype,
                              _BLOCK_REDUCTIONS[self.kind])
        partials = np.array([partial for share in shares for partial in share], dtype=self.partial_dtype)
        result = _BLOCK_REDUCTIONS[self.kind](partials)
        if self.kind == "mean":
            result = np.true_divide(result, size)
        return np.asarray(result, dtype=self.dtype).reshape((1,) * len(shape) if self.keepdims else ())


def _reduce_blocks(plan, shared_values, full_inputs, dtype, partial_dtype, reduce, start, stop):
    """The reductions of the kernel's result over each block of elements [start, stop), in order."""
    values = list(shared_values)
    scratch = [np.empty(BLOCK_ELEMENTS, dtype=buffer_dtype) for buffer_dtype in plan.buffer_dtypes]
    result = np.empty(BLOCK_ELEMENTS, dtype=dtype)
    partials = []
    for lo in range(start, stop, BLOCK_ELEMENTS):
        hi = min(lo + BLOCK_ELEMENTS, stop)
        block = result[: hi - lo]
        run_block(plan, shared_values, full_inputs, values, scratch, lo, hi, block)
        partials.append(reduce(block, dtype=partial_dtype))
    return partials


def blocked_output_shape(arrays):
    """The output shape when every array is C-contiguous with that shape or holds one element, else None."""
    shape = None
    for array in arrays:
        if array.size != 1:
            if shape is None:
                shape = array.shape
            elif array.shape != shape:
                return None
            if not array.flags.c_contiguous:
                return None
    if not shape or 0 in shape:
        return None
    if any(array.ndim > len(shape) for array in arrays):
        return None
    return shape


def share_blocks(size, threaded_min_elements, work, *arguments):
    """[work(*arguments, start, stop) for each thread's share of elements [0, size)], in element order.

    Shares are whole blocks; sizes below `threaded_min_elements` run on the calling thread only. Otherwise the calling thread
    computes the first share itself while the pool computes the others: it would only wait idle, and each
    hand-off to the pool costs tens of microseconds.
    """
    if size < threaded_min_elements or _WORKERS == 1:
        return [work(*arguments, 0, size)]
    chunk = -(-size // _WORKERS)
    chunk = -(-chunk // BLOCK_ELEMENTS) * BLOCK_ELEMENTS
    bounds = [(lo, min(lo + chunk, size)) for lo in range(0, size, chunk)]
    futures = [_thread_pool().submit(work, *arguments, lo, hi) for lo, hi in bounds[1:]]
    first = work(*arguments, *bounds[0])
    return [first] + [future.result() for future in futures]


def _run_blocks(plan, shared_values, full_inputs, flat_out, start, stop):
    """Run the plan's block steps on elements [start, stop) of the output, one block at a time."""
    values = list(shared_values)
    scratch = [np.empty(BLOCK_ELEMENTS, dtype=dtype) for dtype in plan.buffer_dtypes]
    for lo in range(start, stop, BLOCK_ELEMENTS):
        hi = min(lo + BLOCK_ELEMENTS, stop)
        run_block(plan, shared_values, full_inputs, values, scratch, lo, hi, flat_out[lo:hi])


def run_block(plan, shared_values, full_inputs, values, scratch, lo, hi, target):
    """Compute elements [lo, hi) of the kernel's result into `target`; `values` and `scratch` are the
    calling thread's own (its view of the values and its scratch buffers)."""
    for i in full_inputs:
        values[i] = shared_values[i][lo:hi]
    for step in plan.block_steps:
        operands = [values[r] for r in step.refs]
        if step.writes_out:
            if isinstance(step.function, np.ufunc):
                step.function(*operands, out=target)
            else:
                target[...] = step.function(*operands)
        elif step.buffer is not None:
            values[step.slot] = step.function(*operands, out=scratch[step.buffer][: hi - lo])
        else:
            values[step.slot] = step.function(*operands)
