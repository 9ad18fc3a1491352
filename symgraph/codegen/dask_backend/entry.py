"""The Dask backend's entry point: arguments become dask arrays (checked without computing), and the
results are computed in one `dask.compute` call.

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> argument = DaskArgument(0, x, None, chunks=2)
    >>> argument(np.zeros(5)).chunks
    ((2, 2, 1),)
"""
import math

import dask
import dask.array as da
import numpy as np

from ...function_args import check_shape


class DaskArgument:
    """Converts the value of input `position` (None: a shared variable) of variable `var`.

    A dask array is checked without computing: known chunk sizes, dtype (cast lazily when that is safe),
    rank and static sizes. Anything else goes through `check_input(position, value)` (the compiled
    function's own conversion and errors; None: trusted input) and becomes a dask array chunked as
    `input_chunks` says, except 0-d values, which stay NumPy (learning rates, sizes and indices are read
    by slicing and shape code, and a dask scalar would only add tasks).
    """

    __slots__ = ("position", "var", "check_input", "chunks")

    def __init__(self, position, var, check_input, chunks):
        self.position = position
        self.var = var
        self.check_input = check_input
        self.chunks = input_chunks(chunks, var, position is None)

    def label(self):
        name = f" ({self.var.name!r})" if self.var.name else ""
        return f"shared variable{name}" if self.position is None else f"input {self.position}{name}"

    def __call__(self, value):
        if isinstance(value, da.Array):
            return self._checked(value)
        if self.check_input is not None:
            value = self.check_input(self.position, value)
        value = np.asarray(value)
        if value.ndim == 0:
            return value
        return da.from_array(value, chunks=self.chunks)

    def _checked(self, value):
        label, type_ = self.label(), self.var.type
        if any(math.isnan(size) for size in value.shape):
            raise ValueError(f"{label}: a dask array with unknown chunk sizes (shape {value.shape}); call "
                             f".compute_chunk_sizes() on it first")
        if value.dtype != type_.dtype:
            if not np.can_cast(value.dtype, type_.dtype, "safe"):
                raise TypeError(f"{label}: expected dtype {type_.dtype}, got a dask array of dtype {value.dtype} "
                                f"(a cast to {type_.dtype} would lose information; convert it explicitly with .astype)")
            value = value.astype(type_.dtype)
        check_shape(value, type_, label)
        return value


def input_chunks(chunks, var, shared):
    """The chunks of the leaf `var` made from a NumPy value, by the backend's option `chunks`: a dict
    gives them by variable name ("auto" for names it lacks); a tuple gives them for the leading axes (so
    (1000, 5) chunks a (n, 5) matrix and a (n,) vector of targets alike by rows), and applies to
    inputs, not to shared variables (weights: "auto"); anything else (an int, "auto", -1) is Dask's own.

    Example:
        >>> import symgraph as sg
        >>> input_chunks((1000, 5), sg.vector("y"), shared=False)
        (1000,)
    """
    if isinstance(chunks, dict):
        return chunks.get(var.name, "auto")
    if isinstance(chunks, tuple):
        return "auto" if shared else chunks[:var.ndim]
    return chunks


class ResultFinisher:
    """Turns the values of the `outputs` (the first `n_outputs` are the user's, the rest new values of
    shared variables) into what the call returns and stores.

    The user's outputs are computed when the option `compute` is set, the updates unless `lazy_updates`
    is; everything computed is computed in ONE `dask.compute` call, so a value two results share is
    computed once. Computed results are NumPy arrays the caller owns: a value that was no dask array (0-d
    arguments and what is computed from them alone: small) is copied, and so is a read-only result or one
    that may share memory with an earlier result. Results left lazy are dask arrays.
    """

    __slots__ = ("computed", "n_results")

    def __init__(self, outputs, n_outputs, options):
        self.n_results = len(outputs)
        self.computed = [position for position in range(len(outputs))
                         if (options["compute"] if position < n_outputs else not options["lazy_updates"])]

    def __call__(self, *values):
        values = list(values)
        if self.computed:
            computed = dask.compute(*[values[p] for p in self.computed])
            owned = []
            for position, value in zip(self.computed, computed):
                was_numpy = not isinstance(values[position], da.Array)
                value = np.array(value) if was_numpy else _owned(np.asarray(value), owned)
                owned.append(value)
                values[position] = value
        lazy = set(range(self.n_results)) - set(self.computed)
        for position in lazy:
            if not isinstance(values[position], da.Array):
                values[position] = da.from_array(np.asarray(values[position]))
        return values


def _owned(array, earlier):
    """`array`, copied if read-only or possibly sharing memory with one of the arrays `earlier`."""
    if not array.flags.writeable:
        return array.copy()
    for other in earlier:
        if other is array or ((array.base is not None or other.base is not None) and np.may_share_memory(array, other)):
            return array.copy()
    return array
