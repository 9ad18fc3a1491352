"""Exceptions that symgraph raises on purpose (besides plain TypeError/ValueError).

Example:
    >>> import symgraph as sg
    >>> issubclass(sg.ShapeError, ValueError)
    True
"""


class ShapeError(ValueError):
    """Shapes that cannot agree, found while building a graph; the message names the op and operand types.

    Sizes known only at run time that turn out not to agree raise a ValueError (often NumPy's own) that
    the compiled function re-raises naming the failing node and the user line that created it.

    Example:
        >>> import symgraph as sg
        >>> sg.tensor("a", shape=(2,)) + sg.tensor("b", shape=(3,))
        Traceback (most recent call last):
        ...
        symgraph.errors.ShapeError: add: operands with shapes float64[2], float64[3] cannot be broadcast together
    """


class ScanError(ValueError):
    """A loop that cannot run as given: a step whose outputs do not fit their initial values, sequences of
    different lengths, a negative `n_steps` ... The message names the scan (its `name`) and the values.

    Example:
        >>> import symgraph as sg
        >>> x = sg.matrix("x")
        >>> sg.scan(lambda row, acc: acc + row, sequences=x, outputs_info=sg.constant(0.0))
        Traceback (most recent call last):
        ...
        symgraph.errors.ScanError: scan: the step returns a value of type float64[?] for recurrent output 0, ...
    """


class DisconnectedInputError(ValueError):
    """`sg.grad` was asked for the gradient of an input that no path links to the cost.

    Example:
        >>> import symgraph as sg
        >>> x, u = sg.vector("x"), sg.vector("u")
        >>> sg.grad(x.sum(), u)
        Traceback (most recent call last):
        ...
        symgraph.errors.DisconnectedInputError: sg.grad: input u is not connected to the cost ...
    """


class NotDifferentiableError(TypeError):
    """An operation on the path from the cost to a requested input has no gradient.

    Every operation of `symgraph` is differentiable; a user-defined Op without `pullback` is not.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> from symgraph.graph.op import Op
        >>> class Sort(Op):
        ...     name = "sort"
        ...     def output_types(self, t):
        ...         return [t]
        ...     def perform(self, a):
        ...         return np.sort(a)
        >>> x = sg.vector("x")
        >>> sg.grad(Sort()(x).sum(), x)
        Traceback (most recent call last):
        ...
        symgraph.errors.NotDifferentiableError: sg.grad: cannot differentiate through operation 'sort' ...
    """


class GradientError(AssertionError):
    """`sg.verify_grad` found analytic and finite-difference gradients that disagree.

    The worst entry is in `index` (point number, entry), with `analytic`, `numeric`, `abs_err`, `rel_err`.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> try:
        ...     sg.verify_grad(lambda a: sg.stop_gradient(a) * a, [np.ones(3)], rng=0)
        ... except sg.GradientError as error:
        ...     print(error.index, round(error.analytic, 3), round(error.numeric, 3))
        (0, (2,)) 0.64 1.281
    """

    def __init__(self, message, *, index=None, analytic=None, numeric=None, abs_err=None, rel_err=None):
        super().__init__(message)
        self.index = index
        self.analytic = analytic
        self.numeric = numeric
        self.abs_err = abs_err
        self.rel_err = rel_err
