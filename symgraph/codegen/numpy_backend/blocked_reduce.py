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

from .blocked import (BLOCK_ELEMENTS, BlockedKernel, TileScratch, blocked_output_shape, compute_tile, flat_blocks,
                      result_array, share)


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


def _reduction_splits(axis, all_axes, normalizes):
    """The function giving a kernel shape's candidate (outer, reduced, inner) splits for a consumer over the
    consecutive sorted `axis`: the reduced group is `axis`; a reduction over all axes may also reduce the
    leading axes as the reduced group and the others as the inner one."""
    def splits(shape):
        yield (0, axis[0]), (axis[0], axis[-1] + 1), (axis[-1] + 1, len(shape))
        if all_axes and not normalizes:
            for k in range(len(shape) - 1, 0, -1):
                yield (0, 0), (0, k), (k, len(shape))

    return splits


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
        self._splits = _reduction_splits(self.axis, len(self.axis) == kernel_ndim, self.kind in NORMALIZERS)
        self.keepdims = getattr(op.consumer, "keepdims", True)
        self.dtype = self.kernel.out_dtype
        # np.mean accumulates float16 in float32 and rounds the mean back; other floats in their own type
        self.partial_dtype = np.result_type(self.dtype, np.float32) if self.kind == "mean" else self.dtype

    def try_run(self, *arrays, out=None):
        """The consumer's result on the kernel's result on `arrays`, or None when the blocked path does not
        apply. A softmax writes into `out` (an array the caller no longer needs, possibly one of `arrays`)
        when it has the result's shape, dtype and layout."""
        if self.kind in REDUCERS and len(self.axis) == self.ndim:
            result = self._reduce_flat(arrays)
            if result is not None:
                return result
        tiling = self._tiling(arrays)
        if tiling is None:
            return None
        shape = tiling.shape
        if self.kind in NORMALIZERS:
            out = result_array(out, shape, self.dtype, self.kernel.outputs)
            self._normalize(tiling, out.reshape(tiling.sizes))
            return out
        return np.asarray(self._reduce(tiling)).reshape(self._reduced_shape(shape))

    def _reduce_flat(self, arrays):
        """A reduction over all axes when every operand is full-size or one element: the blocks are runs of
        the flat arrays, each reduced to one partial result, and the partials are combined at the end.
        With two threads this took 7.4-8.4 ms on mean((a - b)**2) over 1e7 elements, where (1, n, 1) tiles
        took 9.9-12.5 ms: fewer Python steps per block, so fewer waits for the GIL."""
        shape = blocked_output_shape(arrays)
        if shape is None or len(shape) != self.ndim:
            return None
        full = tuple(array.size != 1 for array in arrays)
        plan, values = self.kernel.prepare([array.reshape(-1) if is_full else array
                                            for array, is_full in zip(arrays, full)], full)
        size = math.prod(shape)
        full_inputs = [i for i, is_full in enumerate(full) if is_full]
        shares = share(-(-size // BLOCK_ELEMENTS), size, self.kernel.threaded_min_elements, self._reduce_blocks,
                       plan, values, full_inputs, size)
        partials = np.array([partial for block_partials in shares for partial in block_partials], dtype=self.partial_dtype)
        total = np.asarray(REDUCERS[self.kind][1].reduce(partials))
        return np.asarray(self._finish(total, size)).reshape(self._reduced_shape(shape))

    def _reduce_blocks(self, plan, shared_values, full_inputs, size, first, stop):
        """The partial results of blocks [first, stop) of the flat kernel result, in order."""
        logsumexp = self.kind == "logsumexp"
        combine = REDUCERS[self.kind][1]
        partials = []
        for block in flat_blocks(plan, shared_values, full_inputs, size, first, stop, None):
            partials.append(_logsumexp_of_tile(block.reshape(1, -1, 1), None).reshape(()) if logsumexp
                            else combine.reduce(block, dtype=self.partial_dtype))
        return partials

    def _tiling(self, arrays):
        """The tiled layout of a call on `arrays`, or None when the blocked path does not apply."""
        if not self.consecutive:
            return None
        tiling = self.kernel.tiling(arrays, self._splits, self._tile_shape)
        return tiling if tiling is not None and len(tiling.shape) == self.ndim else None

    def _reduces_inner(self, tiling):
        """Does this call reduce the inner group too (a reduction over all axes split in two groups)?"""
        return len(self.axis) == self.ndim and tiling.groups[2][0] < self.ndim

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
        """The consumer's result shape for a kernel result of `shape`."""
        if self.keepdims:
            return tuple(1 if a in self.axis else n for a, n in enumerate(shape))
        return tuple(n for a, n in enumerate(shape) if a not in self.axis)

    def _reduce(self, tiling):
        """The (outer, 1, inner) result of a reduction: threads share the output tiles or, when there is
        one, the reduced group's tiles."""
        n_outer, n_reduced, n_inner = tiling.counts
        outer, reduced, inner = tiling.sizes
        reduce_inner = self._reduces_inner(tiling)
        elements = math.prod(tiling.sizes)
        threaded_min = self.kernel.threaded_min_elements
        if n_outer * n_inner > 1:
            result = np.empty((outer, 1, inner), dtype=self.partial_dtype if reduce_inner else self.dtype)
            share(n_outer * n_inner, elements, threaded_min, self._reduce_tiles, tiling, result)
            if not reduce_inner:
                return result
            reduce = REDUCERS[self.kind][0]
            return self._finish(reduce(result.reshape(1, inner, 1), self.partial_dtype), elements)
        combine = REDUCERS[self.kind][1]
        partials = share(n_reduced, elements, threaded_min, self._reduce_along, tiling)
        total = partials[0]
        for partial in partials[1:]:
            combine(total, partial, out=total)
        if reduce_inner:
            total = REDUCERS[self.kind][0](total.reshape(1, inner, 1), self.partial_dtype)
        return self._finish(total, elements if reduce_inner else reduced)

    def _reduce_tiles(self, tiling, result, first, stop):
        """Reduce output tiles [first, stop) into `result`, each over the whole reduced group."""
        state = TileScratch(tiling, self.dtype)
        for unit in range(first, stop):
            outer, inner = tiling.output_tile(unit)
            total = self._partial(tiling, state, outer, inner, 0, tiling.counts[1])
            result[outer, :, inner] = total if self._reduces_inner(tiling) else self._finish(total, tiling.sizes[1])

    def _reduce_along(self, tiling, first, stop):
        """The partial result of the only output tile over the reduced group's tiles [first, stop)."""
        state = TileScratch(tiling, self.dtype)
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
            compute_tile(tiling, state, (outer, slice(start, stop_), inner), target)
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
        """Compute and normalize output tiles [first, stop) in `out`, each spanning the reduced group."""
        state = TileScratch(tiling, self.dtype)
        normalize = NORMALIZERS[self.kind]
        for unit in range(first, stop):
            outer, inner = tiling.output_tile(unit)
            target = out[outer, :, inner]
            compute_tile(tiling, state, (outer, slice(None), inner), target)
            normalize(target, state.result[: target.size].reshape(target.shape))
