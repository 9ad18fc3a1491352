"""Dask lowering of index writes (`set_subtensor`, `inc_subtensor`, and the gradients of indexing), with
NumPy's semantics: a copy of `x` with the indexed region set or incremented, repeated integer indices
accumulating every contribution in "inc" (`np.add.at`) and keeping the last write in "set".

A basic index (ints, slices, new axes, Ellipsis) writes with Dask's own assignment, chunk by chunk: such
a region names no element twice, so an increment is the assignment of the region plus the value. An
index with index arrays or masks goes through one task that resolves the index: it computes the
coordinates in `x` of every element of the region (NumPy's indexing of a zero-stride grid of
coordinates, so negative indices, masks and the placement of advanced axes are NumPy's own) and sorts
the contributions by the chunk of `x` they fall into, keeping their order; then each chunk of the result
is its chunk of `x` with its own contributions applied by NumPy (`np.add.at`, or an assignment). The
index arrays and the value are gathered into that one task, so they must fit in memory; `x` need not.
Advanced reads that Dask's indexing does not do as NumPy does (several index arrays, masks, new axes,
integers mixed with an index array) are resolved the same way: each chunk of `x` gives its elements of
the region and one task places them, so the result is one chunk. A mask that is a dask array is
computed when the function is called, since the size of the result depends on it.

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> x, i = sg.vector("x"), sg.tensor("i", dtype="int32", shape=(None,))
    >>> f = sg.function([x, i], sg.inc_subtensor(x[i], 1.0), backend=sg.backend("dask", chunks=2))
    >>> f(np.zeros(5), np.array([4, 0, -1], dtype="int32")).tolist()
    [1.0, 0.0, 0.0, 0.0, 2.0]
"""
import dask
import dask.array as da
import numpy as np

from ...ops.indexing import AdvancedIndex, IndexWrite, entry_kind, index_key, is_advanced
from ..linker import node_description
from . import BACKEND
from .errors import Located


class IndexWriting:
    """What generated code calls for an index write node (see the module docstring); NumPy's reference
    when no operand is a dask array. Errors of its tasks end with `where` (errors.py)."""

    __slots__ = ("op", "where")

    def __init__(self, op, where):
        self.op = op
        self.where = where

    def __call__(self, x, v, *index_values):
        if not any(isinstance(value, da.Array) for value in (x, v, *index_values)):
            return self.op.perform(x, v, *index_values)
        x = da.asarray(x)
        if x.ndim == 0:
            # one element: NumPy's reference in one task
            return da.from_delayed(dask.delayed(Located(self.op.perform, self.where))(x, v, *index_values), (), x.dtype)
        if is_advanced(self.op.index):
            return scattered(self.op.mode, self.op.index, x, v, index_values, self.where)
        return _assigned(self.op.mode, index_key(self.op.index, index_values), x, v)


def _assigned(mode, key, x, v):
    """`x` with the region `x[key]` of a basic index set to (or incremented by) `v`, by Dask's assignment."""
    result = x.copy()  # a new array object: Dask's assignment replaces the graph of the array it writes into
    region = result[key]
    if 0 in region.shape:
        # an empty region, where Dask's assignment refuses values NumPy broadcasts (and writes nothing)
        np.broadcast_shapes(np.shape(v), region.shape)
        return result
    if mode == "inc":
        v = region + v
    if None in key:
        # Dask's assignment takes no new axes: drop them from the index and from the value, where they have size 1
        kept = _without_new_axes(key, x.ndim)
        v = da.broadcast_to(v, region.shape)[tuple(slice(None) if keep else 0 for keep in kept)]
        key = tuple(entry for entry in key if entry is not None)
    result[key] = v
    return result


def _without_new_axes(key, ndim):
    """For each axis of `x[key]` (a basic index), False when a new axis (None) made it, else True.

    Example:
        >>> _without_new_axes((None, 1, slice(None), None, Ellipsis), 4)
        [False, True, False, True, True]
    """
    kept = []
    for entry in key:
        if entry is None:
            kept.append(False)
        elif entry is Ellipsis:
            kept += [True] * (ndim - sum(item is not None and item is not Ellipsis for item in key))
        elif isinstance(entry, slice):
            kept.append(True)
    if Ellipsis not in key:
        kept += [True] * (ndim - sum(item is not None for item in key))
    return kept


def scattered(mode, index, x, v, index_values, where):
    """`x` with `v` written at `x[index]` (an advanced index) as the module docstring says; errors of its
    tasks end with `where`."""
    contributions = dask.delayed(Located(_contributions, where), pure=True)(index, x.shape, x.chunks, v, *index_values)
    return x.map_blocks(Located(_write_block, where), contributions, mode, x.numblocks, dtype=x.dtype,
                        meta=np.empty((0,) * x.ndim, x.dtype))


def _contributions(index, shape, chunks, v, *index_values):
    """For each chunk of `x` (in C order of the chunk grid), the (coordinates in the chunk, values) of the
    elements of the region `x[index]` that fall into it, in the region's order.

    Example:
        >>> from symgraph.ops.indexing import ARRAY
        >>> [(local[0].tolist(), values.tolist()) for local, values in
        ...  _contributions((ARRAY,), (5,), ((2, 3),), np.array([1.0, 2.0, 3.0]), np.array([4, 0, -1]))]
        [([0], [2.0]), ([2, 2], [1.0, 3.0])]
    """
    region_shape, per_block = _by_chunk(index, shape, chunks, index_values)
    values = np.broadcast_to(v, region_shape).ravel()
    return [(local, values[positions]) for local, positions in per_block]


def _by_chunk(index, shape, chunks, index_values):
    """(shape of the region `x[index]`, for each chunk of `x` in C order of the chunk grid: (coordinates in
    the chunk, flat positions in the region) of the region's elements in that chunk, in the region's order)."""
    key = index_key(index, index_values)
    grids = [_axis_grid(shape, axis)[key] for axis in range(len(shape))]
    coordinates = [grid.ravel() for grid in grids]
    ends = [np.cumsum(sizes) for sizes in chunks]
    numblocks = tuple(len(sizes) for sizes in chunks)
    block_of = np.ravel_multi_index([np.searchsorted(axis_ends, axis_coordinates, side="right")
                                     for axis_ends, axis_coordinates in zip(ends, coordinates)], numblocks)
    order = np.argsort(block_of, kind="stable")  # stable: the last write to an element stays the last
    splits = np.cumsum(np.bincount(block_of, minlength=int(np.prod(numblocks))))[:-1]
    starts = [axis_ends - np.asarray(sizes) for axis_ends, sizes in zip(ends, chunks)]
    per_block = []
    for flat, positions in enumerate(np.split(order, splits)):
        location = np.unravel_index(flat, numblocks)
        local = tuple(axis_coordinates[positions] - axis_starts[block]
                      for axis_coordinates, axis_starts, block in zip(coordinates, starts, location))
        per_block.append((local, positions))
    return grids[0].shape, per_block


def gathered(index, x, index_values, where):
    """`x[index]` (an advanced index Dask's indexing does not do as NumPy does) as one chunk: each chunk
    of `x` gives its elements of the region, and one task places them; errors of its tasks end with
    `where`."""
    index_values = [_computed_mask(value) for value in index_values]
    located = dask.delayed(Located(_by_chunk, where), pure=True, nout=2)(index, x.shape, x.chunks, index_values)
    pieces = [dask.delayed(Located(_read_block, where), pure=True)(block, located[1], flat)
              for flat, block in enumerate(x.to_delayed().ravel())]
    region = dask.delayed(Located(_placed, where), pure=True)(located[0], x.dtype, located[1], pieces)
    return da.from_delayed(region, _region_shape(index, x.shape, index_values), x.dtype)


def _computed_mask(value):
    """A mask that is a dask array, computed: the size of the region depends on its values."""
    return value.compute() if isinstance(value, da.Array) and value.dtype == bool else value


def _region_shape(index, shape, index_values):
    """The shape of `x[index]` without computing a dask index array (only its shape matters)."""
    stand_ins = [np.zeros(value.shape, np.intp) if isinstance(value, da.Array) else value for value in index_values]
    return np.broadcast_to(np.empty((), np.int8), shape)[index_key(index, stand_ins)].shape


def _read_block(block, per_block, flat):
    local, _ = per_block[flat]
    return block[local]


def _placed(region_shape, dtype, per_block, pieces):
    region = np.empty(int(np.prod(region_shape)), dtype)
    for (_, positions), values in zip(per_block, pieces):
        region[positions] = values
    return region.reshape(region_shape)


def _axis_grid(shape, axis):
    """An array of `shape` whose elements are their own coordinates along `axis` (a zero-stride view)."""
    column = np.arange(shape[axis]).reshape((-1,) + (1,) * (len(shape) - axis - 1))
    return np.broadcast_to(column, shape)


def _write_block(block, contributions, mode, numblocks, block_id=None):
    """A chunk of the result: its chunk of `x` with its own contributions set or added."""
    local, values = contributions[int(np.ravel_multi_index(block_id, numblocks))]
    result = np.array(block, copy=True)
    if mode == "set":
        result[local] = values
    else:
        np.add.at(result, local, values)
    return result


class AdvancedReading:
    """What generated code calls for an advanced index read: Dask's indexing for one 1-d NumPy index array
    among slices (which Dask does as NumPy does), else `gathered`; NumPy's for NumPy values."""

    __slots__ = ("index", "by_dask", "where")

    def __init__(self, index, where):
        self.index = index
        self.where = where
        kinds = [entry_kind(entry) for entry in index]
        self.by_dask = kinds.count("array") == 1 and all(kind in ("array", "slice", "ellipsis") for kind in kinds)

    def __call__(self, x, *index_values):
        if not any(isinstance(value, da.Array) for value in (x, *index_values)):
            return x[index_key(self.index, index_values)]
        x = da.asarray(x)
        # Dask reads a dask index array out of bounds without an error, so only NumPy ones go to Dask
        if self.by_dask and all(type(value) is np.ndarray and value.ndim == 1 for value in index_values):
            return x[index_key(self.index, index_values)]
        return gathered(self.index, x, index_values, self.where)


@BACKEND.expression(AdvancedIndex)
def _lower_advanced_index(node, input_names, namespace):
    reading = AdvancedReading(node.op.index, f"while computing node {node_description(node)}")
    return f"{namespace.bind(reading, 'getitem')}({', '.join(input_names)})"


@BACKEND.expression(IndexWrite)
def _lower_index_write(node, input_names, namespace):
    writing = IndexWriting(node.op, f"while computing node {node_description(node)}")
    return f"{namespace.bind(writing, node.op.name)}({', '.join(input_names)})"
