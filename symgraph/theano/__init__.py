"""`symgraph.theano`: run code written for Theano (`import symgraph.theano as theano`).

Thin names over symgraph's own API, with Theano's signatures: `theano.function` (with `theano.In` and
`theano.Out`), `theano.shared`,
`theano.scan`, `theano.grad`, `theano.config` (`floatX`, `mode`), `theano.tensor` (typed constructors,
element-wise and reduction names, `nnet`, `signal.pool`, `shared_randomstreams`), `theano.printing`,
`theano.gradient`, `theano.ifelse`, `theano.scan_module` and `theano.sandbox.rng_mrg`. It adds no math
of its own; where Theano and NumPy differ it follows Theano (see docs/theano.md).

Example:
    >>> import numpy as np
    >>> import symgraph.theano as theano
    >>> import symgraph.theano.tensor as T
    >>> x = T.dmatrix("x")
    >>> logistic = theano.function([x], 1 / (1 + T.exp(-x)))
    >>> logistic([[0.0, 1.0], [-1.0, -2.0]]).round(4)
    array([[0.5   , 0.7311],
           [0.2689, 0.1192]])
"""
from . import gradient, ifelse, printing, sandbox, scan_module, tensor
from .compile import In, Out, function, shared
from .config import config
from .gradient import grad
from .scanning import scan

__all__ = ["function", "shared", "In", "Out", "scan", "grad", "config", "tensor", "gradient", "printing", "ifelse",
           "scan_module", "sandbox"]
