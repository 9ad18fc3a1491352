"""`theano.function` and `theano.shared`: Theano's signatures over `sg.function` and `sg.shared`.

Arguments that change nothing in symgraph are accepted (`accept_inplace`, `rebuild_strict=True`,
`allow_input_downcast=False`, `profile=False`, `borrow`, `strict`, `allow_downcast`, a `broadcastable` pattern
of the value's rank); ones that cannot be honoured raise a `ValueError` naming them.

Example:
    >>> import numpy as np
    >>> import symgraph.theano as theano
    >>> import symgraph.theano.tensor as T
    >>> w = theano.shared(np.zeros(2), name="w")
    >>> x = T.dvector("x")
    >>> step = theano.function([x], T.sum(w * x), updates=[(w, w + x)])
    >>> float(step([1.0, 2.0])), w.get_value()
    (0.0, array([1., 2.]))
"""
from ..function import function as _sg_function
from ..graph.basic import shared as _sg_shared
from ..rewrite.mode import Mode
from .config import MODES, config


def _unsupported(op_name, argument, value, why):
    raise ValueError(f"{op_name}: argument {argument}={value!r} cannot be honoured by symgraph: {why}")


def sg_mode(mode):
    """symgraph's mode for a Theano mode name (or a symgraph mode, passed through)."""
    if mode is None:
        mode = config.mode
    if isinstance(mode, Mode) or mode in MODES.values():
        return mode
    if mode not in MODES:
        _unsupported("theano.function", "mode", mode, f"the modes are {sorted(MODES)} or an sg.Mode")
    return MODES[mode]


def function(inputs, outputs=None, mode=None, updates=None, givens=None, no_default_updates=False,
             accept_inplace=False, name=None, rebuild_strict=True, allow_input_downcast=None, profile=None,
             on_unused_input=None):
    """Compile `inputs -> outputs` with `updates` and `givens`, like `theano.function` (an `sg.Function`).

    `mode` is "FAST_RUN" (default: `theano.config.mode`) or "FAST_COMPILE". Random draws of a
    `RandomStreams` advance their state at each call, as Theano's default updates do.

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> x = T.dscalar("x")
        >>> f = theano.function([x], x ** 2, mode="FAST_COMPILE")
        >>> float(f(3.0))
        9.0
        >>> theano.function([x], x, no_default_updates=True)
        Traceback (most recent call last):
            ...
        ValueError: theano.function: argument no_default_updates=True cannot be honoured by symgraph: ...
    """
    if no_default_updates:
        _unsupported("theano.function", "no_default_updates", no_default_updates,
                     "random states always advance; pass the draw's state as an input instead")
    if not rebuild_strict:
        _unsupported("theano.function", "rebuild_strict", rebuild_strict, "givens must keep each variable's type")
    if allow_input_downcast:
        _unsupported("theano.function", "allow_input_downcast", allow_input_downcast,
                     "inputs are never cast with loss; convert the data with .astype(theano.config.floatX)")
    if profile:
        _unsupported("theano.function", "profile", profile, "call f.profile(*args) on the compiled function")
    return _sg_function(inputs, outputs, updates=updates, givens=givens, mode=sg_mode(mode),
                        on_unused_input=on_unused_input or "raise", name=name)


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None):
    """A shared variable holding a copy of `value`, like `theano.shared` (an `sg.SharedVariable`).

    Its dtype is the value's (so `np.asarray(v, dtype=theano.config.floatX)` is the usual idiom).

    Example:
        >>> import numpy as np
        >>> import symgraph.theano as theano
        >>> theano.shared(np.ones((2, 3)), name="W", borrow=True).get_value().shape
        (2, 3)
    """
    variable = _sg_shared(value, name=name)
    if broadcastable is not None and len(broadcastable) != variable.ndim:
        _unsupported("theano.shared", "broadcastable", broadcastable,
                     f"the value has rank {variable.ndim}")
    return variable
