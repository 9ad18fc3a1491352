"""`sg.linalg`: linear algebra with the names of `numpy.linalg` (and SciPy's `solve_triangular`); its
`LinAlgError` is NumPy's, the error a singular matrix raises at run time.

Example:
    >>> import symgraph as sg
    >>> a = sg.matrix("a")
    >>> float(sg.linalg.det(a).eval({a: [[2.0, 0.0], [0.0, 3.0]]}))
    6.0
"""
from numpy import linalg as _numpy_linalg

from .ops.linalg_composite import *  # noqa: F401,F403
from .ops.linalg_composite import __all__ as _composite_names
from .ops.linalg_decomp import *  # noqa: F401,F403
from .ops.linalg_decomp import __all__ as _decomp_names
from .ops.linalg_spectral import *  # noqa: F401,F403
from .ops.linalg_spectral import __all__ as _spectral_names

LinAlgError = _numpy_linalg.LinAlgError

__all__ = list(_decomp_names) + list(_spectral_names) + list(_composite_names)
