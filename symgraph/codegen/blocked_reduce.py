"""Block-by-block evaluation of a fused reduction (`FusedReduce`): an element-wise kernel feeding a sum,
mean, max, min or logsumexp, or a softmax or log_softmax, over some of its axes.

The kernel's result is seen as three groups of axes, (outer, reduced, inner): `axis=-1` of a matrix is
(rows, columns, 1), `axis=0` is (1, rows, columns), all axes are (1, size, 1). The reduced axes must be
consecutive, and every operand must be C-contiguous and, in each group, either span the kernel's extent
or be 1 throughout: a full array, a bias row, a column, or a single element. Other layouts take the
direct path (one NumPy call per step, then the consumer).

Tiles of about BLOCK_ELEMENTS elements cut the three groups. For a reduction, the kernel runs on a tile
into a scratch buffer, the tile is reduced over its reduced group and the result combined with those of
the tiles before it along that group (add, maximum, minimum; logaddexp of per-tile logsumexps; mean
divides at the end), so the kernel's full-size result never exists. A softmax needs whole slices along
the reduced group: its tiles span that group, the kernel writes straight into the output and the tile is
normalized in place while it is in the cache. Threads share the output tiles; when there is only one (a
full reduction), they share the reduced group's tiles and their partial results are combined in order.

Example:
    >>> from symgraph.ops.elemwise import scalar_op
    >>> from symgraph.ops.fused import FusedReduce
    >>> from symgraph.ops.reduce import Reduce
    >>> op = FusedReduce(2, ((scalar_op("subtract"), (0, 1)), (scalar_op("square"), (2,))), Reduce("sum", (1,)))
    >>> reduction = BlockedReduction(op, [np.dtype("float64")] * 2, kernel_ndim=2)
    >>> x = np.ones((300, 1000))
    >>> reduction.try_run(x, np.full(1000, 3.0))[:3]
    array([4000., 4000., 4000.])
"""
import math

import numpy as np

from .blocked import BLOCK_ELEMENTS, BlockedKernel, run_steps, share


def _logsumexp_of_tile(tile, partial_dtype):
    """logsumexp over axis 1 of a scratch `tile` (overwritten), shifted by its maximum like the reference."""
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.maximum.reduce(tile, axis=1, keepdims=True)
        shift[~np.isfinite(shift)] = 0
        np.subtract(tile, shift, out=tile)
        np.exp(tile, out=tile)
        total = np.add.reduce(tile, axis=1, keepdims=True)
        np.log(total, out=total)
        return np.add(total, shift, out=total)


def _softmax_in_place(tile, scratch):
    """exp(tile - max) / sum(exp(tile - max)) over axis 1, written into `tile` (the reference's formula)."""
    with np.errstate(invalid="ignore"):
        np.subtract(tile, np.maximum.reduce(tile, axis=1, keepdims=True), out=tile)
        np.exp(tile, out=tile)
        np.divide(tile, np.add.reduce(tile, axis=1, keepdims=True), out=tile)


def _log_softmax_in_place(tile, scratch):
    """tile - max - log(sum(exp(tile - max))) over axis 1, written into `tile`; `scratch` takes the exps."""
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.maximum.reduce(tile, axis=1, keepdims=True)
        shift[~np.isfinite(shift)] = 0
        np.subtract(tile, shift, out=tile)
        total = np.add.reduce(np.exp(tile, out=scratch), axis=1, keepdims=True)
        np.subtract(tile, np.log(total, out=total), out=tile)


REDUCERS = {
    "sum": (lambda tile, dtype: np.add.reduce(tile, axis=1, keepdims=True, dtype=dtype), np.add),
    "mean": (lambda tile, dtype: np.add.reduce(tile, axis=1, keepdims=True, dtype=dtype), np.add),
    "max": (lambda tile, dtype: np.maximum.reduce(tile, axis=1, keepdims=True), np.maximum),
    "min": (lambda tile, dtype: np.minimum.reduce(tile, axis=1, keepdims=True), np.minimum),
    "logsumexp": (_logsumexp_of_tile, np.logaddexp),
}
"""kind -> (reduce a tile over axis 1 keeping it, in the partial dtype; ufunc combining two partials)."""

NORMALIZERS = {"softmax": _softmax_in_place, "log_softmax": _log_softmax_in_place}
"""kind -> normalize a tile over axis 1 in place (given a scratch buffer of its shape)."""


NORMALIZED_MIN_INNER = 128
"""Least inner extent of a softmax's tile. A softmax over the first axis of a 2000x2000 matrix sees tiles of
2000 strided rows; 32 columns (one cache-sized tile) took 17.6 ms, 128 columns 12.5 ms, 2000 columns 21.6."""


def _groups(shape, axis):
    """The (start, stop) of the outer, reduced and inner axis groups of a kernel of `shape` reduced over the
    consecutive sorted `axis`."""
    return (0, axis[0]), (axis[0], axis[-1] + 1), (axis[-1] + 1, len(shape))


def _three_d_view(array, shape, groups):
    """(`array` as an (outer, reduced, inner) view, which groups it spans) when it is C-contiguous and spans
    each group of the kernel's `shape` or is 1 there; else None."""
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


class _Tiling:
    """One call's layout: the kernel's shape, its group sizes, the tile's extents, the number of tiles along
    each group, the kernel's plan and values, and (operand index, view, spans) of the sliced operands."""

    __slots__ = ("shape", "sizes", "tile", "counts", "plan", "values", "sliced", "tile_elements", "reduce_inner")

    def __init__(self, shape, sizes, tile, plan, values, sliced, reduce_inner):
        self.shape = shape
        self.reduce_inner = reduce_inner
        self.sizes = sizes
        self.tile = tile
        self.counts = tuple(-(-size // step) for size, step in zip(sizes, tile))
        self.plan = plan
        self.values = values
        self.sliced = sliced
        self.tile_elements = math.prod(tile)

    def ranges(self, group, index):
        """The (start, stop) of tile `index` along `group` (0 outer, 1 reduced, 2 inner)."""
        start = index * self.tile[group]
        return start, min(start + self.tile[group], self.sizes[group])


class _ThreadState:
    """A thread's own operand list and scratch buffers, sized for the largest tile."""

    __slots__ = ("values", "buffers", "result")

    def __init__(self, tiling, dtype):
        self.values = list(tiling.values)
        self.buffers = [np.empty(tiling.tile_elements, dtype=d) for d in tiling.plan.buffer_dtypes]
        self.result = np.empty(tiling.tile_elements, dtype=dtype)


def _compute_tile(tiling, state, slices, target):
    """Run the kernel on the tile `slices` (an (outer, reduced, inner) triple of slices) into `target`."""
    for i, view, spans in tiling.sliced:
        state.values[i] = view[tuple(s if span else slice(None) for s, span in zip(slices, spans))]
    shape = target.shape
    size = math.prod(shape)
    run_steps(tiling.plan, state.values, [buffer[:size].reshape(shape) for buffer in state.buffers], target)


class BlockedReduction:
    """Evaluates one FusedReduce op, given its operand dtypes and its kernel's rank, tile by tile.

    Sums add per-tile partial results in a different order than NumPy's pairwise sum, so they may differ
    in the last bits. NaN and infinities give what the unfused graph gives.
    """

    def __init__(self, op, input_dtypes, kernel_ndim):
        self.kernel = BlockedKernel(op, input_dtypes)
        self.kind = op.kind
        self.axis = op.axis
        self.ndim = kernel_ndim
        self.consecutive = self.axis == tuple(range(self.axis[0], self.axis[-1] + 1))
        self.keepdims = getattr(op.consumer, "keepdims", True)
        self.dtype = self.kernel.out_dtype
        # np.mean accumulates float16 in float32 and rounds the mean back; other floats in their own type
        self.partial_dtype = np.result_type(self.dtype, np.float32) if self.kind == "mean" else self.dtype

    def try_run(self, *arrays, out=None):
        """The consumer's result on the kernel's result on `arrays`, or None when the blocked path does not
        apply. A softmax writes into `out` (an array the caller no longer needs, possibly one of `arrays`)
        when it has the result's shape, dtype and layout."""
        tiling = self._tiling(arrays)
        if tiling is None:
            return None
        shape = tiling.shape
        if self.kind in NORMALIZERS:
            if out is None or out.shape != shape or out.dtype != self.dtype or not out.flags.c_contiguous:
                out = np.empty(shape, dtype=self.dtype)
            self._normalize(tiling, out.reshape(tiling.sizes))
            return out
        return np.asarray(self._reduce(tiling)).reshape(self._reduced_shape(shape))

    def _tiling(self, arrays):
        """The layout of a call on `arrays`, or None when the blocked path does not apply. A reduction over
        all axes whose operands do not span them all (a bias row) reduces the leading axes tile by tile,
        then the per-column results (`reduce_inner`)."""
        if not self.consecutive:
            return None
        try:
            shape = np.broadcast_shapes(*(array.shape for array in arrays))
        except ValueError:
            return None
        if len(shape) != self.ndim or 0 in shape:
            return None
        full = tuple(array.size != 1 for array in arrays)
        if not any(full):
            return None  # a single element: every step would be computed before the tiles
        splits = [_groups(shape, self.axis)]
        if len(self.axis) == self.ndim and self.kind not in NORMALIZERS:
            splits += [((0, 0), (0, k), (k, self.ndim)) for k in range(self.ndim - 1, 0, -1)]
        for groups in splits:
            fitted = [_three_d_view(array, shape, groups) if is_full else (array, None)
                      for array, is_full in zip(arrays, full)]
            if all(fit is not None for fit in fitted):
                break
        else:
            return None
        plan, values = self.kernel.prepare([view for view, _ in fitted], full)
        sliced = [(i, view, spans) for i, (view, spans) in enumerate(fitted) if spans is not None]
        sizes = tuple(math.prod(shape[start:stop]) for start, stop in groups)
        return _Tiling(shape, sizes, self._tile_shape(sizes), plan, values, sliced, groups[1][1] < len(self.axis))

    def _tile_shape(self, sizes):
        """(outer, reduced, inner) extents of a tile: about BLOCK_ELEMENTS elements, inner first; a softmax's
        tile spans the whole reduced group, and at least NORMALIZED_MIN_INNER of the inner one."""
        outer, reduced, inner = sizes
        if self.kind in NORMALIZERS:
            tile_inner = min(inner, max(NORMALIZED_MIN_INNER, BLOCK_ELEMENTS // reduced))
            tile_reduced = reduced
        else:
            tile_inner = min(inner, BLOCK_ELEMENTS)
            tile_reduced = min(reduced, max(1, BLOCK_ELEMENTS // tile_inner))
        return min(outer, max(1, BLOCK_ELEMENTS // (tile_reduced * tile_inner))), tile_reduced, tile_inner

    def _reduced_shape(self, shape):
        if self.keepdims:
            return tuple(1 if a in self.axis else n for a, n in enumerate(shape))
        return tuple(n for a, n in enumerate(shape) if a not in self.axis)

    def _reduce(self, tiling):
        """The (outer, 1, inner) result of a reduction: threads share the output tiles or, when there is
        one, the reduced group's tiles."""
        n_outer, n_reduced, n_inner = tiling.counts
        outer, reduced, inner = tiling.sizes
        elements = math.prod(tiling.sizes)
        threaded_min = self.kernel.threaded_min_elements
        if n_outer * n_inner > 1:
            result = np.empty((outer, 1, inner), dtype=self.partial_dtype if tiling.reduce_inner else self.dtype)
            share(n_outer * n_inner, elements, threaded_min, self._reduce_tiles, tiling, result)
            if not tiling.reduce_inner:
                return result
            reduce = REDUCERS[self.kind][0]
            return self._finish(reduce(result.reshape(1, inner, 1), self.partial_dtype), elements)
        combine = REDUCERS[self.kind][1]
        partials = share(n_reduced, elements, threaded_min, self._reduce_along, tiling)
        total = partials[0]
        for partial in partials[1:]:
            combine(total, partial, out=total)
        if tiling.reduce_inner:
            total = REDUCERS[self.kind][0](total.reshape(1, inner, 1), self.partial_dtype)
        return self._finish(total, elements if tiling.reduce_inner else reduced)

    def _reduce_tiles(self, tiling, result, first, stop):
        """Reduce output tiles [first, stop) into `result`, each over the whole reduced group."""
        state = _ThreadState(tiling, self.dtype)
        for unit in range(first, stop):
            outer_tile, inner_tile = divmod(unit, tiling.counts[2])
            outer, inner = slice(*tiling.ranges(0, outer_tile)), slice(*tiling.ranges(2, inner_tile))
            total = self._partial(tiling, state, outer, inner, 0, tiling.counts[1])
            result[outer, :, inner] = total if tiling.reduce_inner else self._finish(total, tiling.sizes[1])

    def _reduce_along(self, tiling, first, stop):
        """The partial result of the only output tile over the reduced group's tiles [first, stop)."""
        state = _ThreadState(tiling, self.dtype)
        return self._partial(tiling, state, slice(None), slice(None), first, stop)

    def _partial(self, tiling, state, outer, inner, first, stop):
        """Reduce the tiles [first, stop) along the reduced group within the `outer` and `inner` slices,
        combining their results in order (in the partial dtype, keeping the reduced axis)."""
        reduce, combine = REDUCERS[self.kind]
        rows = len(range(*outer.indices(tiling.sizes[0])))
        columns = len(range(*inner.indices(tiling.sizes[2])))
        total = None
        for reduced_tile in range(first, stop):
            start, stop_ = tiling.ranges(1, reduced_tile)
            shape = (rows, stop_ - start, columns)
            target = state.result[: math.prod(shape)].reshape(shape)
            _compute_tile(tiling, state, (outer, slice(start, stop_), inner), target)
            partial = reduce(target, self.partial_dtype)
            total = partial if total is None else combine(total, partial, out=total)
        return total

    def _finish(self, total, count):
        """The reduction's value from the combined partial results of `count` elements each (a mean divides,
        and rounds float16 back from its float32 accumulator)."""
        if self.kind == "mean":
            return np.true_divide(total, count, out=total).astype(self.dtype, copy=False)
        return total

    def _normalize(self, tiling, out):
        """Write the softmax or log_softmax of the kernel's result into `out`, an (outer, reduced, inner)
        view; threads share the tiles, each spanning the reduced group."""
        n_outer, _, n_inner = tiling.counts
        share(n_outer * n_inner, math.prod(tiling.sizes), self.kernel.threaded_min_elements, self._normalize_tiles,
              tiling, out)

    def _normalize_tiles(self, tiling, out, first, stop):
        state = _ThreadState(tiling, self.dtype)
        normalize = NORMALIZERS[self.kind]
        for unit in range(first, stop):
            outer_tile, inner_tile = divmod(unit, tiling.counts[2])
            outer, inner = slice(*tiling.ranges(0, outer_tile)), slice(*tiling.ranges(2, inner_tile))
            target = out[outer, :, inner]
            _compute_tile(tiling, state, (outer, slice(None), inner), target)
            normalize(target, state.result[: target.size].reshape(target.shape))
