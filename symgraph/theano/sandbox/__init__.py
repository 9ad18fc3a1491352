"""`theano.sandbox`: holds `rng_mrg` (`MRG_RandomStreams`).

Example:
    >>> from symgraph.theano.sandbox.rng_mrg import MRG_RandomStreams
    >>> MRG_RandomStreams.__name__
    'RandomStreams'
"""
from . import rng_mrg

__all__ = ["rng_mrg"]
