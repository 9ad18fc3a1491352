"""`theano.sandbox.rng_mrg.MRG_RandomStreams`: the same streams as `RandomStreams` (symgraph has one
generator, NumPy's PCG64, for both).

Example:
    >>> import symgraph.theano as theano
    >>> from symgraph.theano.sandbox.rng_mrg import MRG_RandomStreams
    >>> srng = MRG_RandomStreams(seed=1)
    >>> theano.function([], srng.normal((3,)))().shape
    (3,)
"""
from ..tensor.shared_randomstreams import RandomStreams as MRG_RandomStreams

__all__ = ["MRG_RandomStreams"]
