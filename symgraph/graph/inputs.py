"""Constructors of symbolic inputs: `sg.scalar`, `sg.vector`, `sg.matrix`, `sg.tensor`.

Example:
    >>> import symgraph as sg
    >>> X = sg.matrix("X", dtype="float32")
    >>> X.type
    TensorType(float32, (None, None))
"""
from ..config import config
from .basic import Variable
from .type import TensorType


def tensor(name=None, dtype=None, shape=None):
    """A symbolic input of any rank; `shape` entries are ints (static sizes) or None (known at call time).

    Example:
        >>> import symgraph as sg
        >>> sg.tensor("t", shape=(None, 3)).type
        TensorType(float64, (None, 3))
    """
    if shape is None:
        raise TypeError("sg.tensor needs a shape, e.g. shape=(None, 3); use None for sizes known only at call time")
    try:
        type_ = TensorType(dtype or config.floatX, shape)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"sg.tensor({name!r}): {exc}") from None
    return Variable(type_, None, 0, name)


def _of_rank(rank, name, dtype, shape):
    variable = tensor(name, dtype, (None,) * rank if shape is None else shape)
    if variable.ndim != rank:
        raise ValueError(f"a rank-{rank} input needs a shape of length {rank}, got {variable.type.shape}")
    return variable


def scalar(name=None, dtype=None):
    """A symbolic 0-d input.

    Example:
        >>> import symgraph as sg
        >>> sg.scalar("a").ndim
        0
    """
    return tensor(name, dtype, ())


def vector(name=None, dtype=None, shape=None):
    """A symbolic 1-d input (optionally with a static size: `shape=(3,)`).

    Example:
        >>> import symgraph as sg
        >>> sg.vector("v").ndim
        1
    """
    return _of_rank(1, name, dtype, shape)


def matrix(name=None, dtype=None, shape=None):
    """A symbolic 2-d input (optionally with static sizes: `shape=(None, 3)`).

    Example:
        >>> import symgraph as sg
        >>> sg.matrix("W").ndim
        2
    """
    return _of_rank(2, name, dtype, shape)
