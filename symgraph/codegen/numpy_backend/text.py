"""Formatting of op parameters as source text for the NumPy lowerings (only ints, bools, floats and dtype
names reach generated code through here).

Example:
    >>> int_tuple([2])
    '(2,)'
"""
import numpy as np


def tuple_text(items):
    """Python for the tuple of the source strings `items`: `()`, `(a,)` or `(a, b)`."""
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def int_tuple(values):
    return tuple_text([str(int(v)) for v in values])


def dtype_text(name, namespace):
    """`np.<name>` when NumPy has that scalar type, else a bound name for the dtype."""
    dtype = np.dtype(name)
    if getattr(np, dtype.name, None) is dtype.type:
        return f"np.{dtype.name}"
    return namespace.bind(dtype, dtype.name)


def number_text(value):
    return repr(int(value)) if float(value).is_integer() else repr(float(value))
