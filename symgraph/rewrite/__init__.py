"""The graph optimizer: local rewrites grouped in phases, switched by `sg.Mode`, reported in `f.report`.

Importing this package registers the whole rewrite library (one module per phase).

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> sg.optimize(x * 1) is x
    True
"""
from . import (  # noqa: F401  (importing the library registers its rewrites, in this order)
    canonicalize, canonicalize_shape, constant_folding, inline, linalg_rewrites, merge, specialize, stabilize,
    stabilize_softmax,
    unsafe,
)
from .engine import RewriteError, RewritePass
from .mode import Mode, get_mode
from .pipeline import optimize, optimize_graph
from .registry import REWRITES, register_rewrite
from .report import CompileReport

__all__ = ["CompileReport", "Mode", "REWRITES", "RewriteError", "RewritePass", "get_mode", "optimize",
           "optimize_graph", "register_rewrite"]
