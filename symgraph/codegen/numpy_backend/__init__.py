"""The NumPy backend: every graph lowers to Python over NumPy calls (always available, the default).

Its lowering rules are grouped by op family, one module each: element-wise ops, lone or fused, with their
cache-blocked threaded paths (fused.py, blocked.py, blocked_reduce.py; elementwise.py names the calls),
reductions (reductions.py), products (products.py), creation (creation.py), shapes (shape.py),
indexing (indexing.py), and loops and lazy branches (loops.py). Ops none of them lowers call their
reference implementation.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> "np_exp(" in sg.function([x], sg.exp(x)).source
    True
"""
from ..backend import Backend

BACKEND = Backend("numpy")

from . import elementwise, fused, reductions, products, creation, shape, indexing, loops  # noqa: E402,F401
