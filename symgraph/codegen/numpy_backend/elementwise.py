"""How the NumPy lowerings call an element-wise row: `np_exp(x)`. Element-wise nodes themselves, alone or
fused, lower in fused.py (a lone one is a kernel of one step).

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> "np_sin(x)" in sg.function([x], sg.sin(x), mode="fast_compile").source
    True
"""
import numpy as np


def elementwise_callee(row, namespace):
    """The name generated code calls an element-wise row's function by: `np_<name>` for a NumPy top-level
    function (one global lookup: `np.<name>` costs a second one on every call, a tenth of a small call),
    else the row's name with a counter."""
    function = row.impl
    name = getattr(function, "__name__", None)
    if name is not None and getattr(np, name, None) is function:
        return namespace.bind(function, f"np_{name}", exact=True)
    return namespace.bind(function, row.name)
