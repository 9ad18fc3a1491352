"""Sorting and gathering: `sort`, `argsort`, `partition`, `argpartition`, `searchsorted`, and the gathers
`take`, `take_along_axis` with the write `put_along_axis`.

`sort`, `argsort` and `argpartition` are ops; the gathers are NumPy's own constructions out of indexing
(`take_along_axis(a, i, axis)` is `a[arange, ..., i, ..., arange]` with broadcast aranges), so they inherit
the indexing gradients: a gather's gradient is a scatter-add with `np.add.at` semantics for repeated
indices. `sort`'s gradient gathers the output gradient back through the inverse of the sorting
permutation; integer results (argsort, argpartition, searchsorted) carry no gradient.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> sg.function([x], [sg.sort(x), sg.argsort(x)])([3.0, 1.0, 2.0])
    [array([1., 2., 3.]), array([1, 2, 0])]
"""
import numpy as np

from ..errors import ShapeError
from ..graph.basic import as_variable
from ..graph.op import Op
from ..graph.type import TensorType
from .creation import arange
from .elemwise import is_differentiable_dtype, lift_operands
from .indexing import set_subtensor
from .shape import flatten, normalize_axis, reshape

__all__ = [
    "sort",
    "argsort",
    "partition",
    "argpartition",
    "take",
    "take_along_axis",
    "put_along_axis",
    "searchsorted",
    "unique",
]

_SORT_KINDS = (None, "quicksort", "mergesort", "heapsort", "stable")


def _check_sort_kind(kind, op_name):
    if kind not in _SORT_KINDS:
        raise ValueError(f"{op_name}: kind must be one of {_SORT_KINDS[1:]} or None, got {kind!r}")
    return kind


def _sortable(x, axis, op_name):
    """(x, axis in range): `axis=None` sorts the flattened tensor, as NumPy does."""
    x = as_variable(x)
    if axis is None:
        return flatten(x), 0
    return x, normalize_axis(axis, x.ndim, op_name, x.type)


class Sort(Op):
    """`np.sort` along `axis`; its gradient gathers through the inverse of the sorting permutation."""

    __props__ = ("axis", "kind")

    def __init__(self, axis, kind=None):
        self.axis = axis
        self.kind = kind

    @property
    def name(self):
        return "sort"

    def output_types(self, x):
        return [TensorType(x.dtype, x.shape)]

    def perform(self, x):
        return np.sort(x, axis=self.axis, kind=self.kind)

    def _permutation(self, x):
        return ArgSort(self.axis, self.kind)(x)

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        (x,) = inputs
        if gz is None or not is_differentiable_dtype(x.dtype):
            return [None]
        # output[i] = x[perm[i]], so x[j] receives gz[inverse(perm)[j]]; argsort of a permutation inverts it.
        inverse = ArgSort(self.axis, "stable")(self._permutation(x))
        return [take_along_axis(gz, inverse, self.axis)]

    def pushforward(self, inputs, outputs, tangents):
        (tangent,) = tangents
        if tangent is None:
            return [None]
        return [take_along_axis(tangent, self._permutation(inputs[0]), self.axis)]


class _IndexOf(Op):
    """Base of ops with integer (index) results: no gradient flows through them."""

    def pullback(self, inputs, outputs, output_grads):
        return [None] * len(inputs)

    def pushforward(self, inputs, outputs, tangents):
        return [None]


class ArgSort(_IndexOf):
    """`np.argsort` along `axis` (int64 indices)."""

    __props__ = ("axis", "kind")

    def __init__(self, axis, kind=None):
        self.axis = axis
        self.kind = kind

    @property
    def name(self):
        return "argsort"

    def output_types(self, x):
        return [TensorType("int64", x.shape)]

    def perform(self, x):
        return np.argsort(x, axis=self.axis, kind=self.kind).astype(np.int64, copy=False)


class ArgPartition(_IndexOf):
    """`np.argpartition` with static `kth` (a tuple of ints) along `axis` (int64 indices)."""

    __props__ = ("kth", "axis")

    def __init__(self, kth, axis):
        self.kth = tuple(kth)
        self.axis = axis

    @property
    def name(self):
        return "argpartition"

    def output_types(self, x):
        size = x.shape[self.axis]
        for k in self.kth:
            if size is not None and not -size <= k < size:
                raise ValueError(f"argpartition: kth {k} is out of bounds for axis {self.axis} of operand {x}")
        return [TensorType("int64", x.shape)]

    def perform(self, x):
        return np.argpartition(x, list(self.kth), axis=self.axis).astype(np.int64, copy=False)


class SearchSorted(_IndexOf):
    """`np.searchsorted(a, v, side)` for a 1-d sorted `a`: int64 insertion indices of `v`'s shape."""

    __props__ = ("side",)

    def __init__(self, side):
        self.side = side

    @property
    def name(self):
        return "searchsorted"

    def output_types(self, a, v):
        if a.ndim != 1:
            raise ShapeError(f"searchsorted: the sorted operand must be 1-d, got types {a} and {v}")
        try:
            np.searchsorted(np.zeros(1, a.dtype), np.zeros(1, v.dtype))
        except TypeError as exc:
            raise TypeError(f"searchsorted: not defined for operands of types {a} and {v} ({exc})") from None
        return [TensorType("int64", v.shape)]

    def perform(self, a, v):
        return np.asarray(np.searchsorted(a, v, side=self.side), dtype=np.int64)


def sort(x, axis=-1, kind=None):
    """A sorted copy of `x` along `axis` (None: the flattened tensor), like `np.sort`; NaNs go last.

    The gradient is the output gradient moved back to where each element came from.

    Example:
        >>> import symgraph as sg
        >>> sg.sort(sg.constant([[3, 1], [0, 2]]), axis=None).eval()
        array([0, 1, 2, 3])
    """
    _check_sort_kind(kind, "sort")
    x, axis = _sortable(x, axis, "sort")
    return Sort(axis, kind)(x)


def argsort(x, axis=-1, kind=None):
    """The int64 indices that sort `x` along `axis` (None: the flattened tensor), like `np.argsort`.

    Example:
        >>> import symgraph as sg
        >>> sg.argsort(sg.constant([3.0, 1.0, 2.0])).eval()
        array([1, 2, 0])
    """
    _check_sort_kind(kind, "argsort")
    x, axis = _sortable(x, axis, "argsort")
    return ArgSort(axis, kind)(x)


def _kth_tuple(kth, op_name):
    values = np.asarray(kth)
    if values.dtype.kind not in "iu" or values.ndim > 1:
        raise TypeError(f"{op_name}: kth must be an int or a sequence of ints known while building, got {kth!r}")
    return tuple(int(k) for k in values.reshape(-1))


def argpartition(x, kth, axis=-1, kind="introselect"):
    """Indices that partition `x` along `axis` around the `kth` element(s), like `np.argpartition`:
    the element at position `kth` is where sorting would put it, smaller ones before, larger after.
    `kth` is an int or a sequence of ints fixed while building.

    Example:
        >>> import symgraph as sg
        >>> int(sg.argpartition(sg.constant([5.0, 1.0, 4.0, 2.0]), 0).eval()[0])
        1
    """
    if kind != "introselect":
        raise ValueError(f"argpartition: kind must be 'introselect', got {kind!r}")
    kth = _kth_tuple(kth, "argpartition")
    x, axis = _sortable(x, axis, "argpartition")
    return ArgPartition(kth, axis)(x)


def partition(x, kth, axis=-1, kind="introselect"):
    """A copy of `x` partitioned along `axis` around the `kth` element(s), like `np.partition`.

    It is `take_along_axis(x, argpartition(x, kth, axis), axis)`, so its gradient is a scatter through
    the same indices. The order within each side of a `kth` element is unspecified, as in NumPy.

    Example:
        >>> import symgraph as sg
        >>> float(sg.partition(sg.constant([5.0, 1.0, 4.0, 2.0]), 2).eval()[2])
        4.0
    """
    if kind != "introselect":
        raise ValueError(f"partition: kind must be 'introselect', got {kind!r}")
    kth = _kth_tuple(kth, "partition")
    x, axis = _sortable(x, axis, "partition")
    return take_along_axis(x, ArgPartition(kth, axis)(x), axis)


def _integer_indices(indices, op_name):
    indices = as_variable(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op_name}: indices must have an integer dtype, got {indices.type}")
    return indices


def _along_axis_index(arr, indices, axis, op_name):
    """The advanced index that `take_along_axis` uses: `indices` on `axis`, broadcast aranges elsewhere."""
    indices = _integer_indices(indices, op_name)
    if axis is None:
        if indices.ndim != 1:
            raise ValueError(f"{op_name}: with axis=None indices must be 1-d, got type {indices.type}")
        return flatten(arr), (indices,)
    if indices.ndim != arr.ndim:
        raise ValueError(
            f"{op_name}: indices must have the same number of dimensions as arr, got types {arr.type} and {indices.type}"
        )
    axis = normalize_axis(axis, arr.ndim, op_name, arr.type)
    index = []
    for dim in range(arr.ndim):
        if dim == axis:
            index.append(indices)
            continue
        size = arr.type.shape[dim]
        positions = arange(arr.shape[dim] if size is None else size)
        index.append(reshape(positions, tuple(-1 if d == dim else 1 for d in range(arr.ndim))))
    return arr, tuple(index)


def take_along_axis(arr, indices, axis):
    """`arr`'s values at `indices` along `axis`, like `np.take_along_axis`: `indices` has arr's rank and
    broadcasts against it on the other axes (axis=None: into the flattened `arr`, 1-d indices).

    Its gradient adds the output gradient back at the indices, counting repeated indices every time.

    Example:
        >>> import symgraph as sg
        >>> x = sg.constant([[10, 30, 20], [60, 40, 50]])
        >>> sg.take_along_axis(x, sg.argsort(x, axis=1), axis=1).eval()
        array([[10, 20, 30],
               [40, 50, 60]])
    """
    (arr,) = lift_operands((arr,))
    source, index = _along_axis_index(arr, indices, axis, "take_along_axis")
    return source[index]


def put_along_axis(arr, indices, values, axis):
    """A new tensor equal to `arr` with `values` written at `indices` along `axis`, the functional form of
    `np.put_along_axis` (which writes in place). `values` broadcasts against `indices`; with repeated
    indices the last write wins, as in NumPy. With axis=None the 1-d `indices` address the flattened
    `arr` and the result keeps `arr`'s shape, as NumPy does.

    Example:
        >>> import symgraph as sg
        >>> x = sg.constant([[1.0, 2.0], [3.0, 4.0]])
        >>> sg.put_along_axis(x, sg.constant([[1], [0]]), 0.0, axis=1).eval()
        array([[1., 0.],
               [0., 4.]])
    """
    (arr,) = lift_operands((arr,))
    source, index = _along_axis_index(arr, indices, axis, "put_along_axis")
    written = set_subtensor(source[index], values)
    return reshape(written, arr.shape) if axis is None else written


def take(a, indices, axis=None):
    """Elements of `a` at `indices` along `axis` (None: of the flattened `a`), like `np.take`; the result
    has `a`'s axes with `axis` replaced by the axes of `indices`. Out-of-range indices raise (NumPy's
    default `mode="raise"`); negative ones count from the end.

    Example:
        >>> import symgraph as sg
        >>> sg.take(sg.constant([[1, 2, 3], [4, 5, 6]]), [2, 0], axis=1).eval()
        array([[3, 1],
               [6, 4]])
    """
    (a,) = lift_operands((a,))
    indices = _integer_indices(indices, "take")
    if axis is None:
        return flatten(a)[indices]
    axis = normalize_axis(axis, a.ndim, "take", a.type)
    return a[(slice(None),) * axis + (indices,)]


def searchsorted(a, v, side="left", sorter=None):
    """Indices where the values `v` would be inserted into the sorted 1-d `a` to keep it sorted, like
    `np.searchsorted` (int64, `v`'s shape). `side="right"` puts equal values after their equals;
    `sorter` (indices that sort `a`) searches `a[sorter]`. The result carries no gradient.

    Example:
        >>> import symgraph as sg
        >>> sg.searchsorted(sg.constant([1.0, 2.0, 3.0]), sg.constant([2.0, 0.5])).eval()
        array([1, 0])
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    a, v = lift_operands((a, v))
    if sorter is not None:
        a = take(a, sorter)
    return SearchSorted(side)(a, v)


def unique(ar, *args, **kwargs):
    """Not available: the number of distinct values depends on the values themselves, while every
    symgraph output has a size that follows from the input sizes. Raises NotImplementedError.

    Use `np.unique` on computed values, or keep the size fixed: `s = sg.sort(x)` with
    `sg.neq(s[1:], s[:-1])` marks where a new value starts.

    Example:
        >>> import symgraph as sg
        >>> sg.unique(sg.vector("x"))
        Traceback (most recent call last):
        ...
        NotImplementedError: unique: ...
    """
    raise NotImplementedError(
        "unique: the size of its result depends on the data (the number of distinct values), and symgraph "
        "outputs must have sizes that follow from the input sizes; apply np.unique to computed values, or "
        "mark first occurrences with s = sg.sort(x) and sg.neq(s[1:], s[:-1])"
    )
