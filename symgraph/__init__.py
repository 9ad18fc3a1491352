"""symgraph: a define-then-compile symbolic tensor compiler over NumPy.

Build a graph of symbolic tensors, differentiate it symbolically, optimize it, and compile it into a
readable Python function over NumPy.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], sg.exp(x).sum())
    >>> float(f([0.0, 0.0]))
    2.0
"""
from .autodiff import Lop, Rop, grad, hessian, jacobian, jvp, verify_grad, vjp, vmap
from .codegen.backend import BackendUnavailableError, backend
from .config import config
from .errors import DisconnectedInputError, GradientError, NotDifferentiableError, ScanError, ShapeError
from .function import Function, function
from .graph.basic import Constant, SharedVariable, Variable, constant, shared
from .graph.inputs import matrix, scalar, tensor, vector
from .graph.type import TensorType
from . import linalg
from .ops import *  # noqa: F401,F403
from .ops import random
from .rewrite import optimize
from .rewrite.mode import Mode
from . import nnet
from .inspect import debugprint, from_sympy, latex, pprint, render, to_dot, to_networkx, to_sympy

__version__ = "0.1.0"
