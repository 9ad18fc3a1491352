"""Differentiation: reverse mode (`grad`, `vjp`), forward mode (`jvp`), Jacobians, Hessians, gradient checks,
and batching (`vmap`)."""
from .forward import Lop, Rop, jvp, vjp
from .grad import grad
from .jacobian import hessian, jacobian
from .verify import verify_grad
from .batching import vmap
