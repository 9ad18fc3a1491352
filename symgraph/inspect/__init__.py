"""Reading graphs at any stage: printers, networkx/DOT export, the SymPy bridge, and profiling.

Nothing here changes a graph. `debugprint` and `pprint` print, `to_networkx`/`to_dot`/`render` export,
`to_sympy`/`from_sympy`/`latex` translate element-wise graphs, `compare` shows a graph before and after
optimization, and `profile_function` (behind `f.profile(...)`) times a compiled function node by node.

Example:
    >>> import symgraph as sg
    >>> x, W, b = sg.matrix("x"), sg.matrix("W"), sg.vector("b")
    >>> sg.pprint(sg.tanh(x @ W + b))
    'tanh((x @ W) + b)'
"""
from .export import render, to_dot, to_networkx
from .listing import compare, debugprint
from .pretty import pprint
from .sympy_bridge import from_sympy, latex, to_sympy

__all__ = ["compare", "debugprint", "from_sympy", "latex", "pprint", "render", "to_dot", "to_networkx", "to_sympy"]
