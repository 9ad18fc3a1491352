"""Cache-blocked, multi-threaded evaluation of fused element-wise kernels on large arrays.

Naive NumPy evaluates `exp(-x*x/2) * sin(3*x)` one whole-array operation at a time: every step streams
the full arrays through memory and allocates a full-size temporary. Here the output is cut into blocks
small enough to stay in the L2 cache; each block runs the whole chain of ufuncs with `out=` into a few
scratch buffers that are reused from block to block, and blocks are shared between threads (NumPy's
ufunc loops release the GIL, so both cores compute at once).

When every operand is either the full output shape and C-contiguous, or holds a single element (a
scalar after broadcasting), the blocks are runs of the flat arrays. Otherwise the kernel's axes are split
into groups, (outer, middle, inner), such that every C-contiguous operand spans each group or is 1 there
(a bias row spans the trailing axes, a column the leading ones), and the blocks are tiles cut along the
groups, each operand sliced to match (`Tiling`). Steps on single-element operands only are computed once,
before the blocks. Other layouts (a transposed operand, say) take the direct path (one NumPy call per
step). A kernel feeding a reduction or a softmax (blocked_reduce.py) uses the middle group for the
reduced axes.

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

from ...ops.fused import Fused
from ..memory import RecycledOutput

BLOCK_ELEMENTS = 65536
"""Elements per block (512 KiB of float64 per buffer): fastest among 4K..256K for both kernels of
`python -m benchmarks.tune_blocked` in three runs (10-25% ahead of 32K, which fits the 1 MiB L2 cache
better but makes twice as many Python-level calls)."""

BROADCAST_TILE_ELEMENTS = 1 << 18
"""Elements per tile of a BroadcastTiling: its steps make new arrays, and a tile costs about 3 us of
Python, so tiles are larger than blocks. On a (256, 784, 256) outer product in float32 (multiply, and
exp, multiply, tanh) 256K beat 16K, 64K and 1M: 8.9 and 10.1 ms against 10.8 and 14.6 ms at 64K."""

STEP_NANOSECONDS = dict.fromkeys(
    ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "reciprocal", "sinh", "cosh", "tan", "tanh",
     "arcsin", "arccos", "arctan", "arctanh", "arcsinh", "arctan2", "power", "where", "clip", "sign", "relu",
     "logical_and", "logical_or", "logical_xor", "logical_not", "copysign", "heaviside", "deg2rad", "rad2deg"], 1.0)
STEP_NANOSECONDS.update(dict.fromkeys(
    ["sin", "cos", "erf", "erfc", "arccosh", "mod", "floor_divide", "sigmoid", "softplus", "hypot", "logaddexp",
     "logaddexp2", "fmod", "sinc", "gammaln", "digamma", "polygamma"], 8.0))
"""Single-thread time per float64 element of each element-wise row, in three tiers read off a measurement
of every row on 32K elements (rows not listed, the arithmetic and comparisons, take about 0.3 ns)."""
DEFAULT_STEP_NANOSECONDS = 0.3

CONSUMER_NANOSECONDS = {"logsumexp": 1.6, "softmax": 2.4, "log_softmax": 2.4}
"""Single-thread time per float64 element of the consumer of a fused reduction, measured on 64x1024 blocks
(max, subtract, exp, sum and divide for softmax); sum, mean, max and min take about 0.3 ns."""

BLOCKED_MIN_NANOSECONDS = 250_000
"""Below this much estimated work, a kernel runs as the direct chain of NumPy calls: with fewer Python-level
steps it wins on small arrays. `benchmarks.tune_blocked` shows the crossover near 0.25 ms for a chain of
cheap arithmetic (262K elements of `ew_memory`) and for transcendental functions (16K of `ew_compute`)."""

THREADED_MIN_NANOSECONDS = 750_000
"""Below this much estimated work, blocks stay on the calling thread: a hand-off to the pool costs about
0.1 ms here, repaid from about 0.75 ms of work (512K elements of `ew_memory`, 64K of `ew_compute`)."""


def kernel_nanoseconds(op):
    """Estimated single-thread nanoseconds per element of a `Fused` or `FusedReduce` op's work: each step
    of its kernel, and its consumer's.

    Example:
        >>> from symgraph.ops.elemwise import scalar_op
        >>> from symgraph.ops.fused import Fused
        >>> kernel_nanoseconds(Fused(1, [(scalar_op("sin"), (0,)), (scalar_op("add"), (1, 0))]))
        8.3
    """
    steps = sum(STEP_NANOSECONDS.get(row.name, DEFAULT_STEP_NANOSECONDS) for row, _ in op.steps)
    consumer = getattr(op, "consumer", None)
    return steps if consumer is None else steps + CONSUMER_NANOSECONDS.get(consumer.name, DEFAULT_STEP_NANOSECONDS)


def elements_for(nanoseconds, op):
    """The kernel size from which `op` (a Fused or FusedReduce op) does `nanoseconds` of work (at least
    one element)."""
    return max(1, math.ceil(nanoseconds / kernel_nanoseconds(op)))


def blocked_min_elements(op):
    """Kernel size from which an op's blocked path beats its direct chain: BLOCKED_MIN_NANOSECONDS of
    estimated work, or THREADED_MIN_NANOSECONDS for a Fused kernel of one step (a lone element-wise op),
    which saves no memory traffic by blocks and gains only the other cores. Measured on 1000x1000
    float64: a lone multiply by a column took 356 us directly and 415 us by blocks, exp 552 and 425 us.

    Example:
        >>> from symgraph.ops.elemwise import scalar_op
        >>> from symgraph.ops.fused import Fused
        >>> blocked_min_elements(Fused(1, [(scalar_op("sin"), (0,)), (scalar_op("add"), (1, 0))]))
        30121
        >>> blocked_min_elements(Fused(2, [(scalar_op("multiply"), (0, 1))]))
        2500000
    """
    if isinstance(op, Fused) and len(op.steps) == 1:
        return elements_for(THREADED_MIN_NANOSECONDS, op)
    return elements_for(BLOCKED_MIN_NANOSECONDS, op)


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
    """The schedule of a kernel for one pattern of full / single-element operands, and its result dtype."""

    __slots__ = ("hoisted", "block_steps", "buffer_dtypes", "out_dtype")

    def __init__(self, hoisted, block_steps, buffer_dtypes, out_dtype):
        self.hoisted = hoisted
        self.block_steps = block_steps
        self.buffer_dtypes = buffer_dtypes
        self.out_dtype = out_dtype


class BlockedKernel:
    """Evaluates one Fused op (given its operand dtypes) over cache-sized blocks of its output."""

    def __init__(self, op, input_dtypes):
        self.op = op
        self.nin = op.nin
        self.value_dtypes = list(input_dtypes)
        for row, refs in op.steps:
            self.value_dtypes.append(row.output_dtype([self.value_dtypes[r] for r in refs]))
        self.out_dtype = self.value_dtypes[-1]
        self.threaded_min_elements = elements_for(THREADED_MIN_NANOSECONDS, op)
        self._plans = {}
        self.outputs = RecycledOutput()

    def try_run(self, *arrays, out=None):
        """The kernel's result on `arrays` by blocks, or None when the blocked path does not apply.

        `out`, an array the caller no longer needs (it may be one of `arrays`: each block is read before
        its results are written), receives the result when it has the result's shape, dtype and layout.
        """
        shape = blocked_output_shape(arrays)
        if shape is not None:
            full = tuple(array.size != 1 for array in arrays)
            plan, values = self.prepare([array.reshape(-1) if is_full else array for array, is_full in zip(arrays, full)],
                                        full)
            out = result_array(out, shape, self.out_dtype, self.outputs)
            blocks = -(-out.size // BLOCK_ELEMENTS)
            full_inputs = [i for i, is_full in enumerate(full) if is_full]
            share(blocks, out.size, self.threaded_min_elements, _run_blocks, plan, values, full_inputs, out.reshape(-1))
            return out
        tiling = self.tiling(arrays, _leading_and_trailing_axes, _row_tile_shape)
        if tiling is not None:
            out = result_array(out, tiling.shape, self.out_dtype, self.outputs)
            outer_tiles, _, inner_tiles = tiling.counts
            share(outer_tiles * inner_tiles, out.size, self.threaded_min_elements, _write_tiles, tiling,
                  self.out_dtype, out.reshape(tiling.sizes))
            return out
        tiling = self.broadcast_tiling(arrays)
        if tiling is None:
            return None
        out = result_array(out, tiling.shape, self.out_dtype, self.outputs)
        share(tiling.count, out.size, self.threaded_min_elements, _write_broadcast_tiles, tiling, out)
        return out

    def broadcast_tiling(self, arrays):
        """The BroadcastTiling of a call on `arrays`, or None when they do not broadcast together, are empty
        or all hold one element."""
        layout = _tileable_layout(arrays)
        if layout is None:
            return None
        shape, full = layout
        padded = [array[(None,) * (len(shape) - array.ndim)] if is_full else array
                  for array, is_full in zip(arrays, full)]
        plan, values = self.prepare(padded, full)
        return BroadcastTiling(shape, plan, values, [i for i, is_full in enumerate(full) if is_full])

    def tiling(self, arrays, splits, tile_shape):
        """The Tiling of a call on `arrays` for the first of `splits(shape)` (candidate (outer, middle,
        inner) groups of the kernel's axes, as (start, stop) pairs) that every operand suits, with tiles of
        `tile_shape(group sizes)` elements; None when none does, or the arrays do not broadcast together,
        are empty, or all hold one element."""
        layout = _tileable_layout(arrays)
        if layout is None:
            return None
        shape, full = layout
        for groups in splits(shape):
            fitted = [grouped_view(array, shape, groups) if is_full else (array, None)
                      for array, is_full in zip(arrays, full)]
            if all(fit is not None for fit in fitted):
                break
        else:
            return None
        plan, values = self.prepare([view for view, _ in fitted], full)
        sliced = [(i, view, spans) for i, (view, spans) in enumerate(fitted) if spans is not None]
        return Tiling(shape, groups, tile_shape, plan, values, sliced)

    def prepare(self, views, full):
        """(plan, values) for operand `views`, of which those flagged in `full` are sliced into blocks and
        the others hold one element: values lists the operands (single elements as 0-d arrays), then one
        slot per step, filled for the steps computed once, before the blocks."""
        plan = self._plans.get(full)
        if plan is None:
            plan = self._plans[full] = self._make_plan(full)
        values = [view if is_full else view.reshape(()) for view, is_full in zip(views, full)]
        values += [None] * len(self.op.steps)
        for step in plan.hoisted:
            values[step.slot] = np.asarray(step.function(*[values[r] for r in step.refs]))
        return plan, values

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
        if not self.op.steps:  # the kernel is its input: copy each block of it
            plans.append(_StepPlan(np.positive, (0,), None, None, True))
        return _Plan(hoisted, plans, buffer_dtypes, self.out_dtype)


def _tileable_layout(arrays):
    """(broadcast shape, which arrays hold more than one element) of a call worth tiling; None when the
    arrays do not broadcast together, are empty, or all hold one element (every step would then be
    computed before the tiles)."""
    try:
        shape = np.broadcast_shapes(*(array.shape for array in arrays))
    except ValueError:
        return None
    full = tuple(array.size != 1 for array in arrays)
    if 0 in shape or not any(full):
        return None
    return shape, full


def result_array(out, shape, dtype, outputs):
    """`out` (an array the caller no longer needs, or None) when it can take a result of `shape` and
    `dtype` (C-contiguous), else an array from `outputs` (a RecycledOutput)."""
    if out is None or out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
        return outputs.empty(shape, dtype)
    return out


def _leading_and_trailing_axes(shape):
    """Splits of a kernel's axes into leading (outer) and trailing (inner) groups around an empty middle
    one, for operands that broadcast along some axes: a bias row spans the trailing axes, a column the
    leading ones."""
    for k in range(len(shape) - 1, 0, -1):
        yield (0, k), (k, k), (k, len(shape))


def _row_tile_shape(sizes):
    """Tiles of about BLOCK_ELEMENTS elements over (outer, 1, inner) groups: whole rows when they fit."""
    outer, _, inner = sizes
    tile_inner = min(inner, BLOCK_ELEMENTS)
    return min(outer, max(1, BLOCK_ELEMENTS // tile_inner)), 1, tile_inner


def _write_tiles(tiling, dtype, out, first, stop):
    """Compute output tiles [first, stop) of a kernel into `out`, its (outer, 1, inner) view."""
    state = TileScratch(tiling, dtype)
    for unit in range(first, stop):
        outer, inner = tiling.output_tile(unit)
        compute_tile(tiling, state, (outer, slice(None), inner), out[outer, :, inner])


class BroadcastTiling:
    """Tiles of a kernel whose operands no grouping of axes suits (the two sides of an outer product,
    `x[:, :, None] * y[:, None, :]`, or a transposed operand): a tile fixes an index of each leading axis
    and a run of the next one, and keeps the trailing axes whole, about BROADCAST_TILE_ELEMENTS in all.
    Operands are sliced only along the axes they span; NumPy broadcasts the rest inside the tile, so a
    step's value can be smaller than the tile and has no scratch buffer. `sliced` lists (operand index,
    which leading axes it spans or None for all, whether it spans axis `split`)."""

    __slots__ = ("shape", "plan", "values", "sliced", "split", "run", "runs", "count")

    def __init__(self, shape, plan, values, sliced):
        self.shape = shape
        self.plan = plan
        self.values = values
        trailing = 1
        split = len(shape) - 1
        while split > 0 and trailing * shape[split] <= BROADCAST_TILE_ELEMENTS:
            trailing *= shape[split]
            split -= 1
        self.split = split
        self.run = max(1, BROADCAST_TILE_ELEMENTS // trailing)
        self.runs = -(-shape[split] // self.run)
        self.count = math.prod(shape[:split]) * self.runs
        self.sliced = []
        for i in sliced:
            spans = tuple(n != 1 for n in values[i].shape[:split])
            self.sliced.append((i, None if all(spans) else spans, values[i].shape[split] != 1))

    def tile(self, unit):
        """The indices of tile number `unit` along the leading axes (ints, then a slice of axis `split`)."""
        unit, run = divmod(unit, self.runs)
        leading = []
        for size in reversed(self.shape[:self.split]):
            unit, index = divmod(unit, size)
            leading.append(index)
        start = run * self.run
        return tuple(reversed(leading)), slice(start, min(start + self.run, self.shape[self.split]))


def _write_broadcast_tiles(tiling, out, first, stop):
    """Compute tiles [first, stop) of a BroadcastTiling into `out`, the kernel's result."""
    values = list(tiling.values)
    whole = slice(None)
    for unit in range(first, stop):
        leading, run = tiling.tile(unit)
        for i, spans, spans_split in tiling.sliced:
            index = leading if spans is None else tuple(k if span else 0 for k, span in zip(leading, spans))
            values[i] = tiling.values[i][index + (run if spans_split else whole,)]
        run_steps(tiling.plan, values, None, out[leading + (run,)])


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


def share(count, elements, threaded_min_elements, work, *arguments):
    """[work(*arguments, start, stop) for each thread's share of the work units [0, count)], in unit order.

    `elements` is the work's total number of elements; below `threaded_min_elements` everything runs on
    the calling thread. Otherwise the calling thread computes the first share itself while the pool
    computes the others: it would only wait idle, and each hand-off to the pool costs tens of microseconds.
    """
    if elements < threaded_min_elements or _WORKERS == 1 or count < 2:
        return [work(*arguments, 0, count)]
    chunk = -(-count // _WORKERS)
    bounds = [(lo, min(lo + chunk, count)) for lo in range(0, count, chunk)]
    futures = [_thread_pool().submit(work, *arguments, lo, hi) for lo, hi in bounds[1:]]
    first = work(*arguments, *bounds[0])
    return [first] + [future.result() for future in futures]


def flat_blocks(plan, shared_values, full_inputs, size, first_block, stop_block, out):
    """Compute blocks [first_block, stop_block) of a flat kernel result of `size` elements, one at a time,
    yielding each: into `out[lo:hi]` when `out` (flat) is given, else into a scratch buffer the next block
    reuses (the caller reduces each block before asking for the next)."""
    values = list(shared_values)
    scratch = [np.empty(BLOCK_ELEMENTS, dtype=dtype) for dtype in plan.buffer_dtypes]
    result = np.empty(BLOCK_ELEMENTS, dtype=plan.out_dtype) if out is None else out
    for lo in range(first_block * BLOCK_ELEMENTS, min(stop_block * BLOCK_ELEMENTS, size), BLOCK_ELEMENTS):
        hi = min(lo + BLOCK_ELEMENTS, size)
        for i in full_inputs:
            values[i] = shared_values[i][lo:hi]
        block = result[lo:hi] if out is not None else result[: hi - lo]
        run_steps(plan, values, [buffer[: hi - lo] for buffer in scratch], block)
        yield block


def _run_blocks(plan, shared_values, full_inputs, flat_out, first_block, stop_block):
    """Run the plan's block steps on blocks [first_block, stop_block) of the flat output."""
    for _ in flat_blocks(plan, shared_values, full_inputs, flat_out.size, first_block, stop_block, flat_out):
        pass


def run_steps(plan, values, scratch, target):
    """Compute the plan's block steps into `target`: `values` holds this block's operands (the caller's
    own list, filled with the block's slices of the inputs) and `scratch` this thread's buffers, each
    shaped like `target` (None: every step but the last makes a new array)."""
    for step in plan.block_steps:
        operands = [values[r] for r in step.refs]
        if step.writes_out:
            if isinstance(step.function, np.ufunc):
                step.function(*operands, out=target)
            else:
                target[...] = step.function(*operands)
        elif step.buffer is not None and scratch is not None:
            values[step.slot] = step.function(*operands, out=scratch[step.buffer])
        else:
            values[step.slot] = step.function(*operands)


def grouped_view(array, shape, groups):
    """(`array` as an (outer, middle, inner) view, which groups it spans) when it is C-contiguous and spans
    each group of axes of the kernel's `shape` or is 1 there; else None. `groups` holds each group's
    (start, stop) axes."""
    if not array.flags.c_contiguous:
        return None
    padded = (1,) * (len(shape) - array.ndim) + array.shape
    extents = []
    spans = []
    for start, stop in groups:
        part = padded[start:stop]
        if part == shape[start:stop]:
            extents.append(math.prod(part))
            spans.append(True)
        elif all(n == 1 for n in part):
            extents.append(1)
            spans.append(False)
        else:
            return None
    return array.reshape(extents), tuple(spans)


class Tiling:
    """One call's layout: the kernel's shape, its (outer, middle, inner) axis groups and their sizes, the
    tile's extents, the number of tiles along each group, the kernel's plan and values, and (operand index,
    view, spans) of the operands sliced per tile."""

    __slots__ = ("shape", "groups", "sizes", "tile", "counts", "plan", "values", "sliced", "tile_elements")

    def __init__(self, shape, groups, tile_shape, plan, values, sliced):
        self.shape = shape
        self.groups = groups
        self.sizes = tuple(math.prod(shape[start:stop]) for start, stop in groups)
        self.tile = tile_shape(self.sizes)
        self.counts = tuple(-(-size // step) for size, step in zip(self.sizes, self.tile))
        self.plan = plan
        self.values = values
        self.sliced = sliced
        self.tile_elements = math.prod(self.tile)

    def output_tile(self, unit):
        """The (outer, inner) slices of output tile number `unit` (tiles along the inner group vary fastest)."""
        outer_tile, inner_tile = divmod(unit, self.counts[2])
        return slice(*self.ranges(0, outer_tile)), slice(*self.ranges(2, inner_tile))

    def ranges(self, group, index):
        """The (start, stop) of tile `index` along `group` (0 outer, 1 middle, 2 inner)."""
        start = index * self.tile[group]
        return start, min(start + self.tile[group], self.sizes[group])


class TileScratch:
    """A thread's own operand list, the kernel's scratch buffers and one `result` buffer of the kernel's
    dtype (a reduction's tile, a log_softmax's exps), each sized for the largest tile."""

    __slots__ = ("values", "buffers", "result")

    def __init__(self, tiling, dtype):
        self.values = list(tiling.values)
        self.buffers = [np.empty(tiling.tile_elements, dtype=d) for d in tiling.plan.buffer_dtypes]
        self.result = np.empty(tiling.tile_elements, dtype=dtype)


def compute_tile(tiling, state, slices, target):
    """Run the kernel on the tile `slices` (an (outer, middle, inner) triple of slices) into `target`, with
    the thread's TileScratch `state`."""
    for i, view, spans in tiling.sliced:
        state.values[i] = view[tuple(s if span else slice(None) for s, span in zip(slices, spans))]
    shape = target.shape
    size = math.prod(shape)
    run_steps(tiling.plan, state.values, [buffer[:size].reshape(shape) for buffer in state.buffers], target)
