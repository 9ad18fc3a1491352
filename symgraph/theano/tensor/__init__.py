"""`theano.tensor` (`import symgraph.theano.tensor as T`): typed constructors and Theano's op names.

Typed constructors follow Theano's letters: `b` int8, `w` int16, `i` int32, `l` int64, `f` float32,
`d` float64, `c` complex64, `z` complex128, none for `theano.config.floatX`, on `scalar vector matrix row
col tensor3 tensor4 tensor5` (`T.ivector`, `T.lscalar`, `T.fmatrix`, `T.tensor4`, ...). `row` and `col` have a
static size 1 along their broadcastable axis; plurals (`T.dmatrices("a", "b")`) give one per name, and
`T.TensorType(dtype, broadcastable)` / `T.tensor(dtype, broadcastable)` any pattern. Most other names are symgraph's own functions (`T.dot`,
`T.tanh`, `T.switch`, `T.cast`, `T.grad`, ...), plus Theano's aliases (`sqr`, `int_div`, `true_div`, `mul`,
...), Theano's signatures for `sum`, `mean`, `prod`, `flatten`, `reshape`, `dimshuffle`, `constant`, and
Theano's `batched_dot`.

Example:
    >>> import symgraph.theano.tensor as T
    >>> x, y = T.ivector("x"), T.fmatrix("y")
    >>> x.dtype, y.dtype, T.row("r").type
    (dtype('int32'), dtype('float32'), TensorType(float64, (1, None)))
"""
import numpy as np

from ...autodiff import Lop, Rop, hessian, jacobian  # noqa: F401
from ...config import config as _sg_config
from ...graph.basic import Variable
from ...graph.basic import constant as _sg_constant
from ...graph.inputs import tensor as _sg_tensor
from ...ops import (  # noqa: F401
    abs, add, all, any, arange, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, argmax, argmin,
    argsort, bitwise_and, bitwise_or, bitwise_xor, cast, ceil, clip, concatenate, cos, cosh, cumprod, cumsum,
    diag, dot, einsum, eq, erf, erfc, exp, exp2, expm1, eye, floor, floor_divide, full, ge, gt, inc_subtensor, invert,
    isinf, isnan, le, log, log1p, log2, log10, logsumexp, lt, max, maximum, min, minimum, mod, multiply,
    negative, neq, ones, ones_like, outer, power, reciprocal, repeat, round, set_subtensor, sigmoid, sign,
    sin, sinh, softplus, sort, sqrt, square, stack, std, stop_gradient, subtract, switch, tan, tanh,
    tensordot, tile, transpose, true_divide, var, where, zeros, zeros_like,
)
from ...ops import flatten as _sg_flatten
from ...ops import mean as _sg_mean
from ...ops import prod as _sg_prod
from ...ops import reshape as _sg_reshape
from ...ops import sum as _sg_sum
from ...ops.shape import dimshuffle  # noqa: F401
from ..gradient import grad  # noqa: F401
from . import nnet, shared_randomstreams, signal  # noqa: F401

# ---------------------------------------------------------------- typed constructors

_LETTERS = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32", "d": "float64",
            "c": "complex64", "z": "complex128", "": None}
_KINDS = {"scalar": (), "vector": (None,), "matrix": (None, None), "row": (1, None), "col": (None, 1),
          "tensor3": (None,) * 3, "tensor4": (None,) * 4, "tensor5": (None,) * 5}


def _constructor(kind, letter):
    shape, fixed_dtype = _KINDS[kind], _LETTERS[letter]

    def construct(name=None, dtype=None):
        if fixed_dtype is not None and dtype is not None:
            raise TypeError(f"T.{letter}{kind}: the dtype is {fixed_dtype}; use T.{kind}(name, dtype) for another")
        return _sg_tensor(name, fixed_dtype or dtype, shape=shape)

    construct.__name__ = construct.__qualname__ = letter + kind
    construct.__doc__ = (f"A symbolic {kind} (static shape {shape}) of dtype "
                         f"{fixed_dtype or 'dtype, or theano.config.floatX when None'}.")
    return construct


_PLURALS = {kind: kind + "s" for kind in _KINDS} | {"matrix": "matrices"}


def _plural(kind, letter):
    single = _constructor(kind, letter)

    def construct(*names, dtype=None):
        if len(names) == 1 and isinstance(names[0], int):
            names = (None,) * names[0]
        return [single(name, dtype=dtype) for name in names]

    construct.__name__ = construct.__qualname__ = letter + _PLURALS[kind]
    construct.__doc__ = f"One `T.{letter}{kind}` per name (or `n` unnamed ones for an int), as a list."
    return construct


for _kind in _KINDS:
    for _letter in _LETTERS:
        globals()[_letter + _kind] = _constructor(_kind, _letter)
        globals()[_letter + _PLURALS[_kind]] = _plural(_kind, _letter)
del _kind, _letter


class TensorType:
    """Theano's tensor type: a dtype and a broadcastable pattern (True for a size-1 axis); calling it makes
    a symbolic variable whose static size is 1 on the broadcastable axes.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.TensorType("float32", (False, True))("x").type
        TensorType(float32, (None, 1))
    """

    def __init__(self, dtype, broadcastable, shape=None):
        self.dtype = dtype
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        if shape is not None:
            raise ValueError("T.TensorType: argument shape cannot be honoured by symgraph.theano; "
                             "use sg.tensor(name, dtype, shape)")

    def __call__(self, name=None):
        return _sg_tensor(name, self.dtype, shape=tuple(1 if b else None for b in self.broadcastable))


def tensor(dtype=None, broadcastable=(), name=None):
    """A symbolic tensor of `dtype` (`theano.config.floatX` when None) and broadcastable pattern.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.tensor("int32", (True, False, False), name="t").type
        TensorType(int32, (1, None, None))
    """
    return TensorType(dtype or _sg_config.floatX, broadcastable)(name)


def addbroadcast(x, *axes):
    """`x` with a static size 1 on `axes` (checked when the function runs), as Theano's `addbroadcast`.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.addbroadcast(T.dmatrix("m"), 1).type
        TensorType(float64, (None, 1))
    """
    x = as_tensor_variable(x)
    pattern = [i for i in range(x.ndim) if i not in axes]
    kept = dimshuffle(x, *pattern)
    return dimshuffle(kept, *(pattern.index(i) if i in pattern else "x" for i in range(x.ndim)))


def patternbroadcast(x, broadcastable):
    """`x` with a static size 1 where `broadcastable` is True (`addbroadcast` on those axes); symgraph
    broadcasts any size-1 axis at run time, so the False entries change nothing.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.patternbroadcast(T.dmatrix("m"), (True, False)).type
        TensorType(float64, (1, None))
    """
    return addbroadcast(x, *(i for i, b in enumerate(broadcastable) if b))


def unbroadcast(x, *axes):
    """`x` itself: symgraph decides broadcasting at run time, so no axis needs to be marked.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> m = T.dmatrix("m")
        >>> T.unbroadcast(m, 0) is m
        True
    """
    return as_tensor_variable(x)


def shape_padleft(t, n_ones=1):
    """`t` with `n_ones` new leading axes of size 1.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.shape_padleft(T.dvector("v"), 2).type
        TensorType(float64, (1, 1, None))
    """
    t = as_tensor_variable(t)
    return dimshuffle(t, *(["x"] * n_ones + list(range(t.ndim))))


def shape_padright(t, n_ones=1):
    """`t` with `n_ones` new trailing axes of size 1.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.shape_padright(T.dvector("v")).type
        TensorType(float64, (None, 1))
    """
    t = as_tensor_variable(t)
    return dimshuffle(t, *(list(range(t.ndim)) + ["x"] * n_ones))


# ---------------------------------------------------------------- Theano's names and signatures

sqr, sgn, neg, mul, sub, pow, inv, abs_ = square, sign, negative, multiply, subtract, power, reciprocal, abs
and_, or_, xor = bitwise_and, bitwise_or, bitwise_xor
int_div = floor_divide
"""Theano's integer division: floor division (`//`), like NumPy's."""

_THEANO_FLOAT_OF_INT = {1: "float32", 2: "float32"}
"""Theano's `upgrade_to_float`: integers of 1 or 2 bytes divide into float32, wider ones into float64."""


def true_div(x, y):
    """Theano's true division: integer operands give a float, float32 for 8- and 16-bit ones (NumPy gives
    float64); otherwise `x / y`.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.true_div(T.bvector("a"), T.bvector("b")).dtype, T.true_div(T.ivector("a"), 2).dtype
        (dtype('float32'), dtype('float64'))
    """
    x, y = (v if isinstance(v, Variable) else _sg_constant(v) for v in (x, y))
    if x.dtype.kind in "iub" and y.dtype.kind in "iub":
        dtype = _THEANO_FLOAT_OF_INT.get(np.result_type(x.dtype, y.dtype).itemsize, "float64")
        x, y = cast(x, dtype), cast(y, dtype)
    return true_divide(x, y)


def constant(x, name=None, ndim=None, dtype=None):
    """A constant; a Python float becomes `theano.config.floatX` (Theano's autocasting).

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> theano.config.floatX = "float32"
        >>> T.constant(0.5).dtype, T.constant(2).dtype
        (dtype('float32'), dtype('int64'))
        >>> theano.config.floatX = "float64"
    """
    if dtype is None and type(x) is float:  # a NumPy float64 (a float subclass) keeps its dtype
        dtype = _sg_config.floatX
    value = _sg_constant(x if dtype is None else np.asarray(x, dtype=dtype), name=name)
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"T.constant: the value has rank {value.ndim}, not ndim={ndim}")
    return value


def as_tensor_variable(x, name=None, ndim=None):
    """`x` itself if it is symbolic, else `T.constant(x)`.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.as_tensor_variable([1, 2]).dtype
        dtype('int64')
    """
    if isinstance(x, Variable):
        if ndim is not None and x.ndim != ndim:
            raise ValueError(f"T.as_tensor_variable: {x.type} has rank {x.ndim}, not ndim={ndim}")
        return x
    return constant(x, name=name, ndim=ndim)


def alloc(value, *shape):
    """A tensor of `shape` (symbolic sizes allowed) filled with `value` (Theano's `alloc`: `sg.full`); a
    Python float is `theano.config.floatX`.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> n = T.lscalar("n")
        >>> T.alloc(0.0, n, 2).eval({n: 1})
        array([[0., 0.]])
    """
    return full(shape, as_tensor_variable(value))


def sum(input, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """`sg.sum` with Theano's argument order; `acc_dtype` is accepted (NumPy chooses the accumulator).

    Example:
        >>> import symgraph.theano.tensor as T
        >>> m = T.dmatrix("m")
        >>> T.sum(m, axis=1).eval({m: [[1.0, 2.0], [3.0, 4.0]]})
        array([3., 7.])
    """
    return _sg_sum(input, axis=axis, keepdims=keepdims, dtype=dtype)


def mean(input, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """`sg.mean` with Theano's argument order; the mean of integers is float64, as in Theano.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> v = T.ivector("v")
        >>> T.mean(v).eval({v: [1, 2]}).dtype
        dtype('float64')
    """
    return _sg_mean(input, axis=axis, keepdims=keepdims, dtype=dtype)


def prod(input, axis=None, dtype=None, keepdims=False, acc_dtype=None, no_zeros_in_input=False):
    """`sg.prod` with Theano's argument order; `acc_dtype` and `no_zeros_in_input` are accepted.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> v = T.dvector("v")
        >>> float(T.prod(v).eval({v: [2.0, 3.0]}))
        6.0
    """
    return _sg_prod(input, axis=axis, keepdims=keepdims, dtype=dtype)


def flatten(x, ndim=1, outdim=None):
    """`x` with its trailing axes merged so that `ndim` axes remain (Theano's `flatten`; `outdim` is
    Theano's old name for `ndim`).

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.flatten(T.tensor4("x"), 2).ndim
        2
    """
    ndim = outdim if outdim is not None else ndim
    x = as_tensor_variable(x)
    if not 1 <= ndim <= x.ndim:
        raise ValueError(f"T.flatten: ndim={ndim} must be between 1 and the rank of {x.type}")
    if ndim == 1:
        return _sg_flatten(x)
    # The merged size is the product of the trailing sizes, not -1, so that empty tensors reshape too.
    return _sg_reshape(x, [x.shape[i] for i in range(ndim - 1)] + [_sg_prod(x.shape[ndim - 1:])])


def reshape(x, newshape, ndim=None):
    """`sg.reshape`; Theano's `ndim` (the length of a symbolic `newshape`) is checked when given.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> T.reshape(T.dvector("v"), (2, -1), ndim=2).ndim
        2
    """
    result = _sg_reshape(x, newshape)
    if ndim is not None and result.ndim != ndim:
        raise ValueError(f"T.reshape: newshape {newshape!r} gives rank {result.ndim}, not ndim={ndim}")
    return result


def batched_dot(a, b):
    """Theano's `batched_dot`: for each entry i of the leading (batch) axis, `dot(a[i], b[i])`.

    Matrices and vectors per entry multiply as `dot` does: (B, n, m) with (B, m, p) gives (B, n, p),
    (B, n, m) with (B, m) gives (B, n), (B, m) with (B, m) gives (B,); higher ranks contract the last
    axis of `a` with axis 1 of `b` after the batch axis (Theano's `batched_tensordot`), and a vector of
    one entry per batch element scales the other operand.

    Example:
        >>> import numpy as np
        >>> import symgraph.theano.tensor as T
        >>> a, b = T.tensor3("a"), T.dmatrix("b")
        >>> T.batched_dot(a, b).eval({a: np.ones((2, 3, 4)), b: np.ones((2, 4))})
        array([[4., 4., 4.],
               [4., 4., 4.]])
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"T.batched_dot: both operands need a batch axis, got {a.type} and {b.type}")
    if a.ndim == 1 or b.ndim == 1:
        vector, other = (a, b) if a.ndim == 1 else (b, a)
        return multiply(shape_padright(vector, other.ndim - 1), other)
    letters = "abcdefghijklmnopqrstuvwxyz"
    a_axes = "z" + letters[:a.ndim - 1]
    contracted = 1 if b.ndim < 4 else b.ndim - 2
    b_axes = "z" + letters[a.ndim - 1:a.ndim + b.ndim - 3]
    b_axes = b_axes[:contracted] + a_axes[-1] + b_axes[contracted:]
    result_axes = a_axes[:-1] + b_axes[1:contracted] + b_axes[contracted + 1:]
    return einsum(f"{a_axes},{b_axes}->{result_axes}", a, b)
