"""`sg.linalg`: linear algebra with the names of `numpy.linalg` (and SciPy's `solve_triangular`).

Example:
    >>> import symgraph as sg
    >>> a = sg.matrix("a")
    >>> float(sg.linalg.det(a).eval({a: [[2.0, 0.0], [0.0, 3.0]]}))
    6.0
"""
from .ops.linalg_decomp import *  # noqa: F401,F403
from .ops.linalg_decomp import __all__ as _decomp_names
from .ops.linalg_spectral import *  # noqa: F401,F403
from .ops.linalg_spectral import __all__ as _spectral_names

__all__ = list(_decomp_names) + list(_spectral_names)
