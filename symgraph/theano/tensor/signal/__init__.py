"""`theano.tensor.signal`: holds `pool` (`pool_2d`).

Example:
    >>> from symgraph.theano.tensor.signal import pool
    >>> callable(pool.pool_2d)
    True
"""
from . import pool

__all__ = ["pool"]
