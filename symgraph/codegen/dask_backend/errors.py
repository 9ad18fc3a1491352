"""Errors raised while Dask computes: the task functions this backend makes (element-wise kernels, index
writes and reads, nan_guard's checks) re-raise what fails in them naming the node, for a fused kernel the
step, and the user line that created it, as the NumPy backend's errors do (its linker maps the line that
failed; a task runs outside the compiled function, so the task carries its description). Errors raised
in Dask's own chunk functions (tree reductions, products, shapes) are Dask's as they are.

With nan_guard, every floating-point value is checked block by block as Dask computes it (a lazy check,
not a computation per node): its consumers read the checked blocks, so the first node whose output holds
NaN or inf is the one named.

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], sg.log(x) * 2.0, backend=sg.backend("dask", chunks=2), mode=sg.Mode(nan_guard=True))
    >>> with np.errstate(invalid="ignore"):
    ...     f(np.array([1.0, 2.0, -1.0]))
    Traceback (most recent call last):
    ...
    FloatingPointError: nan_guard: NaN in the output of log(float64[?]), created at ...
"""
import dask.array as da
import numpy as np

from ..linker import with_location


class Located:
    """`function` (a task's function), re-raising what it raises with `where` (what it computes) appended
    to the message. It shows `function`'s signature (Dask reads it to pass `block_id`) and pickles small."""

    __slots__ = ("function", "where", "__wrapped__")

    def __init__(self, function, where):
        self.function = function
        self.where = where
        self.__wrapped__ = function

    def __call__(self, *args, **kwargs):
        try:
            return self.function(*args, **kwargs)
        except Exception as exc:
            raise with_location(exc, self.where) from exc

    def __dask_tokenize__(self):
        return ("symgraph-located", self.function, self.where)

    def __reduce__(self):
        return Located, (self.function, self.where)


class FiniteCheck:
    """What generated code calls on a value under nan_guard: the value, each of its blocks checked as it is
    computed (`error(block)`, a NonFiniteError, is raised for a block holding NaN or inf); a value that is
    no dask array is checked at once."""

    __slots__ = ("error",)

    def __init__(self, error):
        self.error = error

    def __call__(self, value):
        if not isinstance(value, da.Array):
            _finite_block(value, self.error)
            return value
        return value.map_blocks(_finite_block, self.error, dtype=value.dtype, meta=value._meta)


def _finite_block(block, error):
    if not np.isfinite(block).all():
        raise error(block)
    return block
