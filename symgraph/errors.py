"""Exceptions that symgraph raises on purpose (besides plain TypeError/ValueError).

Example:
    >>> import symgraph as sg
    >>> issubclass(sg.ShapeError, ValueError)
    True
"""


class ShapeError(ValueError):
    """Shapes that cannot agree: raised when building a graph or running a compiled function."""


class DisconnectedInputError(ValueError):
    """`sg.grad` was asked for the gradient of an input that no path links to the cost."""


class NotDifferentiableError(TypeError):
    """An operation on the path from the cost to a requested input has no gradient."""


class GradientError(AssertionError):
    """`sg.verify_grad` found analytic and finite-difference gradients that disagree."""

    def __init__(self, message, *, index=None, analytic=None, numeric=None, abs_err=None, rel_err=None):
        super().__init__(message)
        self.index = index
        self.analytic = analytic
        self.numeric = numeric
        self.abs_err = abs_err
        self.rel_err = rel_err
