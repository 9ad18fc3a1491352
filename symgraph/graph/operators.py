"""The NumPy operator set and methods of symbolic variables, delegating to the op library.

`==` and `!=` keep Python identity semantics (graphs are hashed); element-wise equality is `sg.eq`.

Example:
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> (x.T @ x).sum(axis=0).ndim
    1
"""
import sys


def _ops():
    # The op library imports the graph package, so it is looked up at call time.
    return sys.modules.get("symgraph.ops") or __import__("symgraph.ops", fromlist=["_"])


class TensorOperators:
    """Mixin giving Variable the NumPy operator set; every method builds graph nodes.

    `+ - * / // % ** @`, unary `-` and `abs()` call `sg.add`, `sg.subtract`, ... `sg.matmul`,
    `sg.negative` and `sg.abs`; `< <= > >=` the comparisons; `& | ^ ~` the bitwise (on bool: logical)
    functions; `x[index]` calls `sg.getitem`. Python scalars adopt the other operand's dtype (NumPy 2).

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x", dtype="float32")
        >>> y = (2 * x + 1) ** 2 / x[::-1]
        >>> y.dtype
        dtype('float32')
        >>> y.eval({x: [1.0, 2.0]})
        array([ 4.5, 25. ], dtype=float32)
    """

    __slots__ = ()
    __array_ufunc__ = None  # so that `ndarray + variable` calls Variable.__radd__

    def __bool__(self):
        raise TypeError(
            f"the truth value of symbolic variable {self!r} is unknown until it is computed; "
            "use sg.where / sg.all / sg.any to branch on values"
        )

    def __iter__(self):
        length = self.type.shape[0] if self.type.ndim else None
        if length is None:
            raise TypeError(f"cannot iterate over {self!r}: its first dimension has no static size")
        return (self[i] for i in range(length))

    def __len__(self):
        length = self.type.shape[0] if self.type.ndim else None
        if length is None:
            raise TypeError(f"len() of {self!r} is unknown: its first dimension has no static size")
        return length

    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().subtract(self, other)

    def __rsub__(self, other):
        return _ops().subtract(other, self)

    def __mul__(self, other):
        return _ops().multiply(self, other)

    def __rmul__(self, other):
        return _ops().multiply(other, self)

    def __truediv__(self, other):
        return _ops().true_divide(self, other)

    def __rtruediv__(self, other):
        return _ops().true_divide(other, self)

    def __floordiv__(self, other):
        return _ops().floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops().floor_divide(other, self)

    def __mod__(self, other):
        return _ops().mod(self, other)

    def __rmod__(self, other):
        return _ops().mod(other, self)

    def __pow__(self, other):
        if type(other) is int and other == 2 and self.dtype.kind == "b":
            return _ops().square(self)  # NumPy's ** takes a Python 2 as np.square, which gives bools int8
        return _ops().power(self, other)

    def __rpow__(self, other):
        return _ops().power(other, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __neg__(self):
        return _ops().negative(self)

    def __pos__(self):
        if self.type.dtype.kind == "b":  # NumPy has no `positive` for bool either
            raise TypeError(f"unary +: not defined for operands of type {self.type}")
        return self

    def __abs__(self):
        return _ops().abs(self)

    def __lt__(self, other):
        return _ops().lt(self, other)

    def __le__(self, other):
        return _ops().le(self, other)

    def __gt__(self, other):
        return _ops().gt(self, other)

    def __ge__(self, other):
        return _ops().ge(self, other)

    def __and__(self, other):
        return _ops().bitwise_and(self, other)

    def __rand__(self, other):
        return _ops().bitwise_and(other, self)

    def __or__(self, other):
        return _ops().bitwise_or(self, other)

    def __ror__(self, other):
        return _ops().bitwise_or(other, self)

    def __xor__(self, other):
        return _ops().bitwise_xor(self, other)

    def __rxor__(self, other):
        return _ops().bitwise_xor(other, self)

    def __invert__(self):
        return _ops().invert(self)

    def __getitem__(self, index):
        return _ops().getitem(self, index)

    @property
    def shape(self):
        """The symbolic shape: an int64 vector; `x.shape[0]` is a symbolic int64 scalar.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.shape[0].eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array(2)
        """
        return _ops().shape_of(self)

    @property
    def size(self):
        """The symbolic number of elements (int64 scalar).

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.size.eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array(6)
        """
        return _ops().prod(_ops().shape_of(self))

    @property
    def T(self):
        """The axes reversed, like `ndarray.T` (see `sg.transpose`).

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.T.eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([[1., 4.],
                   [2., 5.],
                   [3., 6.]])
        """
        return _ops().transpose(self)

    def eval(self, givens_dict=None):
        """Compile (cached per graph and set of inputs) and compute this variable.

        Example:
            >>> import symgraph as sg
            >>> x = sg.scalar("x")
            >>> float((x * 2).eval({x: 3.0}))
            6.0
        """
        from ..function import eval_variable

        return eval_variable(self, givens_dict)

    def sum(self, axis=None, keepdims=False, dtype=None):
        """Sum over `axis`; see `sg.sum`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.sum(axis=0).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([5., 7., 9.])
        """
        return _ops().sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def mean(self, axis=None, keepdims=False, dtype=None):
        """Arithmetic mean over `axis`; see `sg.mean`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.mean(axis=1, keepdims=True).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([[2.],
                   [5.]])
        """
        return _ops().mean(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def prod(self, axis=None, keepdims=False, dtype=None):
        """Product over `axis`; see `sg.prod`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.prod().eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array(720.)
        """
        return _ops().prod(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def max(self, axis=None, keepdims=False):
        """Maximum over `axis`; see `sg.max`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.max(axis=-1).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([3., 6.])
        """
        return _ops().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        """Minimum over `axis`; see `sg.min`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.min().eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array(1.)
        """
        return _ops().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        """Index of the maximum along `axis`; see `sg.argmax`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.argmax(axis=1).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([2, 2])
        """
        return _ops().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        """Index of the minimum along `axis`; see `sg.argmin`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.argmin().eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array(0)
        """
        return _ops().argmin(self, axis=axis, keepdims=keepdims)

    def std(self, axis=None, keepdims=False, ddof=0):
        """Standard deviation over `axis`; see `sg.std`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.std(axis=1).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([0.81649658, 0.81649658])
        """
        return _ops().std(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def var(self, axis=None, keepdims=False, ddof=0):
        """Variance over `axis` with `ddof`; see `sg.var`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.var(axis=0, ddof=1).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([4.5, 4.5, 4.5])
        """
        return _ops().var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def all(self, axis=None, keepdims=False):
        """Whether every element over `axis` is true; see `sg.all`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> (m > 2).all(axis=1).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([False,  True])
        """
        return _ops().all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        """Whether any element over `axis` is true; see `sg.any`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> (m > 5).any().eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array(True)
        """
        return _ops().any(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        """The same elements in a new shape, given as separate sizes or one tuple; see `sg.reshape`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.reshape(3, 2).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([[1., 2.],
                   [3., 4.],
                   [5., 6.]])
        """
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return _ops().reshape(self, shape)

    def transpose(self, *axes):
        """The axes permuted (reversed when none are given), as separate ints or one tuple; see `sg.transpose`.

        Example:
            >>> import symgraph as sg
            >>> sg.tensor("t", shape=(2, 3, 4)).transpose(2, 0, 1).type
            TensorType(float64, (4, 2, 3))
        """
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
            axes = axes[0]
        return _ops().transpose(self, axes or None)

    def dimshuffle(self, *pattern):
        """Theano's axis pattern: axes reordered, "x" for a new axis of size 1, size-1 axes left out dropped.

        Example:
            >>> import symgraph as sg
            >>> sg.vector("b", shape=(4,)).dimshuffle("x", 0, "x", "x").type
            TensorType(float64, (1, 4, 1, 1))
        """
        return _ops().shape.dimshuffle(self, *pattern)

    def dot(self, other):
        """NumPy's `dot` of this tensor and `other`; see `sg.dot`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.dot([1.0, 0.0, 1.0]).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([ 4., 10.])
        """
        return _ops().dot(self, other)

    def astype(self, dtype):
        """This tensor converted to `dtype` (lossy conversions allowed); see `sg.cast`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.astype("int32").dtype
            dtype('int32')
        """
        return _ops().cast(self, dtype)

    def flatten(self):
        """A 1-d tensor of the elements in C order; see `sg.flatten`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.flatten().eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([1., 2., 3., 4., 5., 6.])
        """
        return _ops().flatten(self)

    def ravel(self):
        """The same as `flatten`: a 1-d tensor of the elements in C order.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.ravel().eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([1., 2., 3., 4., 5., 6.])
        """
        return _ops().flatten(self)

    def squeeze(self, axis=None):
        """Axes of size 1 removed; see `sg.squeeze`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m[:, None].squeeze(1).type
            TensorType(float64, (None, None))
        """
        return _ops().squeeze(self, axis=axis)

    def round(self, decimals=0):
        """Values rounded to `decimals` decimal places, halves to even; see `sg.round` (Python's
        `round(v, n)` calls it too).

        Example:
            >>> import symgraph as sg
            >>> v = sg.vector("v")
            >>> v.round(1).eval({v: [1.25, 2.675]})
            array([1.2, 2.7])
        """
        return _ops().round(self, decimals)

    def __round__(self, ndigits=None):
        return _ops().round(self, 0 if ndigits is None else ndigits)

    def clip(self, min=None, max=None, **bounds):
        """Values limited to [min, max]; see `sg.clip`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.clip(2.0, 4.0).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([[2., 2., 3.],
                   [4., 4., 4.]])
        """
        return _ops().clip(self, min, max, **bounds)

    def swapaxes(self, axis1, axis2):
        """Two axes interchanged; see `sg.swapaxes`.

        Example:
            >>> import symgraph as sg
            >>> sg.tensor("t", shape=(2, 3, 4)).swapaxes(0, 2).type
            TensorType(float64, (4, 3, 2))
        """
        return _ops().swapaxes(self, axis1, axis2)

    def cumsum(self, axis=None, dtype=None):
        """Cumulative sum along `axis` (over the flattened tensor when None), in `dtype` when given; see
        `sg.cumsum`.

        Example:
            >>> import symgraph as sg
            >>> m = sg.matrix("m")
            >>> m.cumsum(axis=1).eval({m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
            array([[ 1.,  3.,  6.],
                   [ 4.,  9., 15.]])
        """
        return _ops().cumsum(self, axis=axis, dtype=dtype)
