"""`theano.gradient`: `grad` with Theano's signature, and the gradient helpers `grad_clip`, `grad_scale`,
`zero_grad` and `disconnected_grad`, built on `sg.grad`, `sg.custom_gradient` and `sg.stop_gradient`.

Example:
    >>> import symgraph.theano as theano
    >>> import symgraph.theano.tensor as T
    >>> x = T.dvector("x")
    >>> g = T.grad(T.sum(theano.gradient.grad_clip(x, -1.0, 1.0) * 5), x)
    >>> g.eval({x: [1.0, 2.0]})
    array([1., 1.])
"""
from ..autodiff import Lop, Rop, hessian, jacobian, verify_grad as _sg_verify_grad
from ..autodiff import grad as _sg_grad
from ..ops import clip, custom_gradient, multiply, stop_gradient
from .compile import sg_mode

__all__ = ["grad", "grad_clip", "grad_scale", "zero_grad", "disconnected_grad", "jacobian", "hessian",
           "Rop", "Lop", "verify_grad"]


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise", add_names=True, known_grads=None,
         return_disconnected="zero", null_gradients="raise"):
    """Reverse-mode gradient of `cost` with respect to `wrt` (a variable or a list), like `theano.grad`.

    `add_names` is accepted (symgraph names nothing); `return_disconnected` must be "zero" and
    `null_gradients` "raise" (symgraph has no null or disconnected gradient objects).

    Example:
        >>> import symgraph.theano.tensor as T
        >>> x = T.dscalar("x")
        >>> float(T.grad(x ** 3, x).eval({x: 2.0}))
        12.0
    """
    if return_disconnected != "zero":
        raise ValueError(f"theano.grad: argument return_disconnected={return_disconnected!r} cannot be honoured "
                         "by symgraph: disconnected gradients are zeros")
    if null_gradients != "raise":
        raise ValueError(f"theano.grad: argument null_gradients={null_gradients!r} cannot be honoured by "
                         "symgraph: an op without a gradient raises sg.NotDifferentiableError")
    return _sg_grad(cost, wrt, consider_constant=consider_constant, disconnected_inputs=disconnected_inputs,
                    known_grads=known_grads)


@custom_gradient
def _clipped_identity(x, lower, upper):
    return x


@_clipped_identity.defvjp
def _clip_cotangent(inputs, outputs, output_grads):
    return [clip(output_grads[0], inputs[1], inputs[2]), None, None]


def grad_clip(x, lower_bound, upper_bound):
    """`x` itself, whose gradient is clipped to `[lower_bound, upper_bound]` on the way back.

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> x = T.dscalar("x")
        >>> float(T.grad(theano.gradient.grad_clip(x, -0.5, 0.5) * 3, x).eval({x: 1.0}))
        0.5
    """
    return _clipped_identity(x, lower_bound, upper_bound)


@custom_gradient
def _scaled_identity(x, multiplier):
    return x


@_scaled_identity.defvjp
def _scale_cotangent(inputs, outputs, output_grads):
    return [multiply(output_grads[0], inputs[1]), None]


def grad_scale(x, multiplier):
    """`x` itself, whose gradient is multiplied by `multiplier` on the way back.

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> x = T.dscalar("x")
        >>> float(T.grad(theano.gradient.grad_scale(x, 0.5) * 3, x).eval({x: 1.0}))
        1.5
    """
    return _scaled_identity(x, multiplier)


def zero_grad(x):
    """`x` with a zero gradient: `sg.stop_gradient`.

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> x = T.dscalar("x")
        >>> float(T.grad(x + theano.gradient.zero_grad(x) ** 2, x).eval({x: 3.0}))
        1.0
    """
    return stop_gradient(x)


disconnected_grad = zero_grad
"""Theano's other name for `zero_grad` (symgraph makes no difference between the two)."""


def verify_grad(fun, pt, n_tests=2, rng=None, eps=None, out_type=None, abs_tol=None, rel_tol=None, mode=None,
                cast_to_output_type=False, no_debug_ref=True):
    """Finite-difference check of `fun`'s gradient at the points `pt`, like `theano.gradient.verify_grad`.

    `rng` is a `np.random.RandomState`, a `np.random.Generator` or a seed; `n_tests` checks are made.
    Raises `sg.GradientError` on a mismatch.

    Example:
        >>> import numpy as np
        >>> import symgraph.theano as theano
        >>> theano.gradient.verify_grad(lambda a: (a ** 2).sum(), [np.ones(3)], rng=np.random.RandomState(0))
    """
    if hasattr(rng, "randint"):  # a legacy np.random.RandomState: draw a seed from it, as Theano draws points
        rng = int(rng.randint(2 ** 31))
    for test in range(n_tests):
        seed = None if rng is None or not isinstance(rng, int) else rng + test
        _sg_verify_grad(fun, pt, eps=eps, rtol=rel_tol, atol=abs_tol, rng=rng if seed is None else seed,
                        mode=None if mode is None else sg_mode(mode))
