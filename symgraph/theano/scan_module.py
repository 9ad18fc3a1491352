"""`theano.scan_module`: `scan` and `until` (a scan step that returns `until(cond)` stops when it holds).

Example:
    >>> import symgraph.theano as theano
    >>> import symgraph.theano.tensor as T
    >>> x = T.dscalar("x")
    >>> values, _ = theano.scan(lambda v: (v * 2, theano.scan_module.until(v * 2 > 10)),
    ...                         outputs_info=x, n_steps=20)
    >>> theano.function([x], values)(1.0)
    array([ 2.,  4.,  8., 16.])
"""
from ..ops import until
from .scanning import scan

__all__ = ["scan", "until"]
