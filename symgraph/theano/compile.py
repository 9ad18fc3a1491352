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
from ..graph.basic import Variable
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


class In:
    """An input of `theano.function` with Theano's options: `value` is its default (the function may be
    called without it), `name` the keyword that passes it. `mutable` and `borrow` are accepted (symgraph
    never writes into an argument, so it honours both), and so are `strict` and `autoname`;
    `update`, `implicit=True`, `shared=True` and `allow_downcast=True` raise a `ValueError` naming them.

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> x, y = T.dscalars("x", "y")
        >>> f = theano.function([x, theano.In(y, value=1.0, name="step")], x + y)
        >>> float(f(2.0)), float(f(2.0, step=3.0))
        (3.0, 5.0)
    """

    def __init__(self, variable, name=None, value=None, update=None, mutable=None, strict=False,
                 allow_downcast=None, autoname=True, implicit=None, borrow=None, shared=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"theano.In: variable must be a symbolic variable, got {variable!r}")
        refused = {"update": (update, update is not None, "give the function updates=[(shared, expression)]"),
                   "implicit": (implicit, bool(implicit), "every input is an argument of the function"),
                   "shared": (shared, bool(shared), "use theano.shared for a value kept between calls"),
                   "allow_downcast": (allow_downcast, bool(allow_downcast),
                                      "inputs are never cast with loss; convert the data first")}
        for argument, (given, is_refused, why) in refused.items():
            if is_refused:
                _unsupported("theano.In", argument, given, why)
        self.variable = variable
        self.name = name if name is not None else variable.name
        self.value = value
        self.mutable, self.borrow, self.strict = bool(mutable), bool(borrow), strict


class Out:
    """An output of `theano.function`; `borrow` is accepted (every call returns arrays the caller owns).

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> x = T.dvector("x")
        >>> theano.function([x], theano.Out(2 * x, borrow=True))([1.0])
        array([2.])
    """

    def __init__(self, variable, borrow=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"theano.Out: variable must be a symbolic variable, got {variable!r}")
        self.variable = variable
        self.borrow = bool(borrow)


class FunctionWithDefaults:
    """A compiled function whose `theano.In` inputs have defaults or keyword names of their own: fills
    them in, then calls the `sg.Function` (every other attribute is the `sg.Function`'s).

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> x = T.dscalar("x")
        >>> f = theano.function([theano.In(x, value=2.0)], x * 10)
        >>> type(f).__name__, float(f()), f.function.inputs == [x]
        ('FunctionWithDefaults', 20.0, True)
    """

    def __init__(self, compiled, ins):
        self.function = compiled
        self._names = [spec.name for spec in ins]
        self._defaults = [spec.value for spec in ins]

    def __call__(self, *args, **kwargs):
        if len(args) > len(self._names):
            raise TypeError(f"theano.function takes {len(self._names)} argument(s), got {len(args)}")
        values = list(args) + [_MISSING] * (len(self._names) - len(args))
        for key, value in kwargs.items():
            if key not in self._names:
                raise TypeError(f"theano.function got an unexpected keyword argument {key!r}")
            position = self._names.index(key)
            if values[position] is not _MISSING:
                raise TypeError(f"theano.function got multiple values for input {key!r}")
            values[position] = value
        for position, value in enumerate(values):
            if value is _MISSING:
                if self._defaults[position] is None:
                    raise TypeError(f"theano.function is missing a value for input {position} "
                                    f"({self._names[position]!r})")
                values[position] = self._defaults[position]
        return self.function(*values)

    def __getattr__(self, attribute):
        return getattr(self.function, attribute)


_MISSING = object()


def _unwrap_outputs(outputs):
    if isinstance(outputs, Out):
        return outputs.variable
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(_unwrap_outputs(output) for output in outputs)
    return outputs


def function(inputs, outputs=None, mode=None, updates=None, givens=None, no_default_updates=False,
             accept_inplace=False, name=None, rebuild_strict=True, allow_input_downcast=None, profile=None,
             on_unused_input=None):
    """Compile `inputs -> outputs` with `updates` and `givens`, like `theano.function` (an `sg.Function`).

    `mode` is "FAST_RUN" (default: `theano.config.mode`) or "FAST_COMPILE". Random draws of a
    `RandomStreams` advance their state at each call, as Theano's default updates do. Inputs may be
    `theano.In` (defaults, keyword names) and outputs `theano.Out`.

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
    ins = [spec if isinstance(spec, In) else In(spec) for spec in inputs]
    compiled = _sg_function([spec.variable for spec in ins], _unwrap_outputs(outputs), updates=updates,
                            givens=givens, mode=sg_mode(mode), on_unused_input=on_unused_input or "raise",
                            name=name)
    if all(spec.value is None and spec.name == spec.variable.name for spec in ins):
        return compiled
    return FunctionWithDefaults(compiled, ins)


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
