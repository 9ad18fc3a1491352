"""`theano.config`: the Theano settings that Theano programs read or set, mapped onto symgraph's.

`floatX` is `sg.config.floatX` itself (setting one sets the other). `mode` ("FAST_RUN" or
"FAST_COMPILE") is the default mode of `theano.function`. `device` accepts only "cpu": symgraph runs on
NumPy. `exception_verbosity` and `warn_float64` are accepted and change nothing (symgraph's run-time
errors always name the node and the user's line). `compute_test_value` accepts only "off".

Example:
    >>> import symgraph.theano as theano
    >>> theano.config.floatX
    'float64'
    >>> theano.config.device = "cuda"
    Traceback (most recent call last):
        ...
    ValueError: theano.config.device: symgraph runs on the CPU (NumPy) only, got 'cuda'
"""
from ..config import config as _sg_config

MODES = {"FAST_RUN": "fast_run", "FAST_COMPILE": "fast_compile"}
"""Theano mode names that symgraph honours, and symgraph's name for each."""

_ONLY = {"device": ("cpu",), "compute_test_value": ("off",)}
_ACCEPTED = {"exception_verbosity": "low", "warn_float64": "ignore"}
_REASONS = {"device": "symgraph runs on the CPU (NumPy) only",
            "compute_test_value": "symgraph checks shapes and types when the graph is built"}


class TheanoConfig:
    """The `theano.config` object: `floatX`, `mode`, `device`, and a few no-op Theano flags.

    Example:
        >>> import symgraph.theano as theano
        >>> theano.config.mode = "FAST_COMPILE"
        >>> theano.config.mode
        'FAST_COMPILE'
        >>> theano.config.mode = "FAST_RUN"
    """

    def __init__(self):
        object.__setattr__(self, "_values", {"mode": "FAST_RUN", "device": "cpu", "compute_test_value": "off",
                                             **_ACCEPTED})

    @property
    def floatX(self) -> str:
        """The default float dtype: `sg.config.floatX`."""
        return _sg_config.floatX

    @floatX.setter
    def floatX(self, value):
        _sg_config.floatX = value

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"theano.config has no setting {name!r} in symgraph.theano") from None

    def __setattr__(self, name, value):
        if name == "floatX":
            object.__setattr__(self, name, value)
            return
        if name == "mode" and value not in MODES:
            raise ValueError(f"theano.config.mode: symgraph has the modes {sorted(MODES)}, got {value!r}")
        if name in _ONLY and value not in _ONLY[name]:
            raise ValueError(f"theano.config.{name}: {_REASONS[name]}, got {value!r}")
        if name not in self._values:
            raise AttributeError(f"theano.config has no setting {name!r} in symgraph.theano")
        self._values[name] = value


config = TheanoConfig()
