"""`theano.ifelse.ifelse`: a lazy two-way branch on a scalar condition (`sg.ifelse`).

Example:
    >>> from symgraph.theano.ifelse import ifelse
    >>> import symgraph.theano.tensor as T
    >>> a = T.dscalar("a")
    >>> float(ifelse(T.lt(a, 0), -a, a).eval({a: -2.0}))
    2.0
"""
from ..ops import ifelse

__all__ = ["ifelse"]
