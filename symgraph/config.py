"""Global settings: the default float dtype and a few switches.

Example:
    >>> import symgraph as sg
    >>> sg.config.floatX
    'float64'
"""
import numpy as np


class Config:
    """Process-wide settings read when variables are created or functions compiled (`sg.config`).

    Example:
        >>> import symgraph as sg
        >>> sg.config.floatX = "float32"
        >>> sg.vector("x").dtype
        dtype('float32')
        >>> sg.config.floatX = "float64"
    """

    __slots__ = ("_floatX",)

    def __init__(self):
        self._floatX = "float64"

    @property
    def floatX(self) -> str:
        """Default dtype of `sg.scalar`/`vector`/`matrix`/`tensor` when no dtype is given."""
        return self._floatX

    @floatX.setter
    def floatX(self, value):
        dtype = np.dtype(value)
        if dtype.kind != "f":
            raise ValueError(f"config.floatX must be a float dtype, got {value!r}")
        self._floatX = dtype.name


config = Config()
