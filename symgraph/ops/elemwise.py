"""Element-wise operations: one table of scalar functions, lifted to tensors by `Elemwise`.

Each row (`ScalarOp`) names a scalar function and gives its NumPy implementation, its SymPy
counterpart (the derivative oracle of the tests and the bridge of `sg.to_sympy`) and its partial
derivatives, written with symgraph ops so that gradients are themselves differentiable.
A partial is a function of (*inputs, output) returning a Variable, the number 1 or -1, or None
when it is zero (integer-valued functions such as `floor` or comparisons).

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> y = sg.exp(x) * 2 + 1
    >>> y.owner.op.name
    'add'
"""
import functools
import math
import operator

import numpy as np
import sympy

from ..graph.basic import Constant, Variable, constant
from ..graph.op import Op
from ..graph.type import TensorType, as_dtype, broadcast_static_shapes

try:  # scipy's erf is faster and exact to the last bit; the NumPy fallback is the reference otherwise
    from scipy import special as _scipy_special
except ImportError:  # pragma: no cover - exercised when scipy is absent
    _scipy_special = None

__all__ = [
    "add",
    "subtract",
    "multiply",
    "true_divide",
    "divide",
    "floor_divide",
    "mod",
    "power",
    "maximum",
    "minimum",
    "arctan2",
    "hypot",
    "logaddexp",
    "logaddexp2",
    "fmod",
    "copysign",
    "heaviside",
    "logical_and",
    "logical_or",
    "logical_xor",
    "eq",
    "neq",
    "equal",
    "not_equal",
    "lt",
    "le",
    "gt",
    "ge",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "negative",
    "abs",
    "absolute",
    "sign",
    "exp",
    "exp2",
    "log",
    "log2",
    "log10",
    "log1p",
    "expm1",
    "sqrt",
    "square",
    "reciprocal",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "floor",
    "ceil",
    "round",
    "erf",
    "erfc",
    "gammaln",
    "digamma",
    "isnan",
    "isinf",
    "isfinite",
    "signbit",
    "logical_not",
    "invert",
    "sigmoid",
    "softplus",
    "relu",
    "sinc",
    "deg2rad",
    "rad2deg",
    "where",
    "clip",
    "nan_to_num",
    "cast",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class ScalarOp:
    """One row of the element-wise table."""

    __slots__ = ("name", "nin", "impl", "sympy", "partials", "params", "_dtype_cache")

    def __init__(self, name, nin, impl, sympy_fn, partials, params=()):
        self.name = name
        self.nin = nin
        self.impl = impl
        self.sympy = sympy_fn
        self.partials = partials
        self.params = params
        self._dtype_cache = {}

    def __eq__(self, other):
        return type(other) is ScalarOp and self.name == other.name and self.params == other.params

    def __hash__(self):
        return hash((self.name, self.params))

    def __repr__(self):
        return self.name if not self.params else f"{self.name}{{{', '.join(map(str, self.params))}}}"

    def __reduce__(self):
        if self.name == "cast":
            return cast_row, self.params
        if self.name == "polygamma":
            return polygamma_row, self.params
        if self.name == "round" and self.params:
            return round_row, self.params
        return scalar_op, (self.name,)

    def output_dtype(self, dtypes):
        """The dtype NumPy gives this function on operands of `dtypes` (cached per combination)."""
        key = tuple(dtypes)
        cached = self._dtype_cache.get(key)
        if cached is None:
            samples = [np.ones((1,), dtype=d) for d in dtypes]
            with np.errstate(all="ignore"):
                cached = np.asarray(self.impl(*samples)).dtype
            self._dtype_cache[key] = cached
        return cached


def _sigmoid(x):
    # Split by sign so exp never overflows: both branches are exact to rounding.
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        # in the float type exp gives (bool, uint8 -> float16): -abs(x) wraps around in unsigned integers
        x = x.astype(np.result_type(x.dtype, np.float16))
    if x.dtype.kind == "c":
        return 1 / (1 + np.exp(-x))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x):
    return np.logaddexp(0, x)


def _relu(x):
    return np.maximum(x, 0)


def _float_dtype_of(x):
    return np.sin(np.ones((1,), dtype=np.asarray(x).dtype)).dtype


def _erf_numpy(x):
    x = np.asarray(x)
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(_float_dtype_of(x), copy=False)


def _erfc_numpy(x):
    x = np.asarray(x)
    return np.vectorize(math.erfc, otypes=[np.float64])(x).astype(_float_dtype_of(x), copy=False)


def _erf(x):
    return _scipy_special.erf(x).astype(_float_dtype_of(x), copy=False)


def _erfc(x):
    return _scipy_special.erfc(x).astype(_float_dtype_of(x), copy=False)


def _in_float_dtype(function):
    """`function` (a SciPy special function) with its result in NumPy's float dtype for the operand, as `np.sin`
    gives it (SciPy computes bools and small ints in float64)."""
    def impl(*args):
        return function(*args).astype(_float_dtype_of(args[-1]), copy=False)

    impl.__name__ = function.__name__
    return impl


def _lgamma(value):
    try:
        return math.lgamma(value)
    except ValueError:  # a pole: 0 or a negative integer
        return math.inf


def _gammaln_numpy(x):
    x = np.asarray(x)
    with np.errstate(invalid="ignore"):
        result = np.vectorize(_lgamma, otypes=[np.float64])(x)
    return np.where(np.isneginf(x), -np.inf, result).astype(_float_dtype_of(x), copy=False)


# Bernoulli numbers B_2k / (2k) for the asymptotic series of digamma: psi(y) ~ log(y) - 1/(2y) - sum B_2k/(2k y^2k).
_DIGAMMA_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)
# B_2k / (2k)! for the asymptotic series of polygamma.
_POLYGAMMA_SERIES = (1 / 12, -1 / 720, 1 / 30240, -1 / 1209600, 1 / 47900160, -691 / 1307674368000, 1 / 74724249600)
_ASYMPTOTIC_FROM = 10.0  # from here on the series above are exact to about 1e-15 relative


def _digamma_numpy(x):
    """psi(x) to about 1e-13 relative: reflection below 1/2, the recurrence psi(y) = psi(y + 1) - 1/y up to
    y >= 10, then the asymptotic series."""
    x = np.asarray(x)
    v = x.astype(np.float64)
    with np.errstate(all="ignore"):
        reflect = v < 0.5
        y = np.where(reflect, 1.0 - v, v)
        result = np.zeros_like(y)
        for _ in range(int(_ASYMPTOTIC_FROM)):
            small = y < _ASYMPTOTIC_FROM
            result -= np.where(small, 1.0 / y, 0.0)
            y = np.where(small, y + 1.0, y)
        inverse_square = 1.0 / (y * y)
        series = np.zeros_like(y)
        for coefficient in reversed(_DIGAMMA_SERIES):
            series = (series + coefficient) * inverse_square
        result += np.log(y) - 0.5 / y - series
        # tan has period pi: reduce first, as v - round(v) is exact and pi * v near a pole is not.
        result = np.where(reflect, result - np.pi / np.tan(np.pi * (v - np.round(v))), result)
        poles = (v <= 0) & (v == np.floor(v))
        result = np.where(poles, np.where(v == 0, np.copysign(np.inf, -v), np.nan), result)
    return result.astype(_float_dtype_of(x), copy=False)


def _polygamma_numpy(n, x):
    """The n-th derivative of psi, n >= 1, to about 1e-13 relative: the recurrence
    psi_n(y) = psi_n(y + 1) + (-1)^(n+1) n! / y^(n+1) up to y >= 10, then the asymptotic series."""
    x = np.asarray(x)
    n = int(n)
    y = x.astype(np.float64)
    sign = -1.0 if n % 2 == 0 else 1.0
    factorial = math.factorial(n)
    with np.errstate(all="ignore"):
        result = np.zeros_like(y)
        while True:
            small = np.isfinite(y) & (y < _ASYMPTOTIC_FROM)
            if not small.any():
                break
            result += np.where(small, sign * factorial / y ** (n + 1), 0.0)
            y = np.where(small, y + 1.0, y)
        series = math.factorial(n - 1) / y**n + factorial / (2 * y ** (n + 1))
        for k, coefficient in enumerate(_POLYGAMMA_SERIES, start=1):
            series += coefficient * math.factorial(2 * k + n - 1) / y ** (2 * k + n)
        result += sign * series
        poles = (x <= 0) & (x == np.floor(x))
        result = np.where(poles | np.isneginf(x), sign * np.inf, result)
        result = np.where(np.isnan(x), np.nan, result)
    return result.astype(_float_dtype_of(x), copy=False)


def _sinc_partial(x, z):
    # (cos(pi x) - sinc(x)) / x away from 0; at 0 a branch with the right value (0) and the right
    # derivative (-pi^2/3), so that second derivatives are right there too.
    nonzero = neq(x, 0)
    safe = where(nonzero, x, 1)
    return where(nonzero, (cos(x * math.pi) - z) / safe, x * (-math.pi**2 / 3))


def _hypot_partial(x, y, z):
    # x / hypot(x, y), with 0 where both are 0 (a kink, as abs has at 0).
    return x / where(eq(z, 0), 1, z)


def _round(x):
    return np.round(x)


def _sympy_round(a):
    """Rounding to the nearest integer, halves to even (as `np.round`): SymPy's `round` takes only numbers."""
    below = sympy.floor(a)
    fraction = a - below
    half = sympy.Rational(1, 2)
    return sympy.Piecewise((below, fraction < half), (below + 1, fraction > half), (below + sympy.Mod(below, 2), True))


def _sympy_sigmoid(x):
    return 1 / (1 + sympy.exp(-x))


def _zero(*_):
    return None


def _one(*_):
    return 1


def _minus_one(*_):
    return -1


def _indicator(condition, like):
    """A 0/1 tensor in `like`'s dtype marking where `condition` holds (is non-zero, for a non-bool one)."""
    if condition.dtype.kind != "b":
        condition = neq(condition, 0)
    return cast(condition, like.dtype)


_ROWS = {}


def _row(name, nin, impl, sympy_fn, *partials):
    if not partials:
        partials = (_zero,) * nin
    _ROWS[name] = ScalarOp(name, nin, impl, sympy_fn, partials)


_row("add", 2, np.add, lambda a, b: a + b, _one, _one)
_row("subtract", 2, np.subtract, lambda a, b: a - b, _one, _minus_one)
_row("multiply", 2, np.multiply, lambda a, b: a * b, lambda x, y, z: y, lambda x, y, z: x)
_row("true_divide", 2, np.true_divide, lambda a, b: a / b,
     # y may be an integer, whose reciprocal NumPy computes in integers: take it in the result's dtype.
     lambda x, y, z: reciprocal(cast(y, z.dtype)), lambda x, y, z: negative(z / y))
_row("floor_divide", 2, np.floor_divide, lambda a, b: sympy.floor(a / b))
_row("mod", 2, np.mod, lambda a, b: sympy.Mod(a, b), _one, lambda x, y, z: negative(floor_divide(x, y)))
def _power_base_partial(x, y, z):
    # y * x ** (y - 1), except for a constant exponent 0, whose 0 * x ** -1 would be NaN at x = 0
    if isinstance(y, Constant) and not np.any(y.data):
        return None
    return y * power(x, y - 1)


_row("power", 2, np.power, lambda a, b: a**b,
     _power_base_partial,
     lambda x, y, z: where(eq(x, 0), 0, z * log(x)))
_row("maximum", 2, np.maximum, sympy.Max,
     lambda x, y, z: _indicator(gt(x, y), z) + 0.5 * _indicator(eq(x, y), z),
     lambda x, y, z: _indicator(lt(x, y), z) + 0.5 * _indicator(eq(x, y), z))
_row("minimum", 2, np.minimum, sympy.Min,
     lambda x, y, z: _indicator(lt(x, y), z) + 0.5 * _indicator(eq(x, y), z),
     lambda x, y, z: _indicator(gt(x, y), z) + 0.5 * _indicator(eq(x, y), z))
_row("arctan2", 2, np.arctan2, sympy.atan2,
     lambda y, x, z: x / (x * x + y * y), lambda y, x, z: negative(y / (x * x + y * y)))  # y may be a bool
_row("hypot", 2, np.hypot, lambda a, b: sympy.sqrt(a**2 + b**2),
     _hypot_partial, lambda x, y, z: _hypot_partial(y, x, z))
_row("logaddexp", 2, np.logaddexp, lambda a, b: sympy.log(sympy.exp(a) + sympy.exp(b)),
     lambda x, y, z: exp(x - z), lambda x, y, z: exp(y - z))
_row("logaddexp2", 2, np.logaddexp2, lambda a, b: sympy.log(2**a + 2**b, 2),
     lambda x, y, z: exp2(x - z), lambda x, y, z: exp2(y - z))
# fmod(x, y) = x - trunc(x / y) * y, so d/dy = -trunc(x / y) = (fmod(x, y) - x) / y.
_row("fmod", 2, np.fmod, lambda a, b: a - b * sympy.Piecewise((sympy.floor(a / b), a / b >= 0), (sympy.ceiling(a / b), True)),
     _one, lambda x, y, z: (z - x) / y)
# SymPy has no -0.0: the sign of b is its sign bit, so b = 0 gives +|a| (sign(b) would give 0).
_row("copysign", 2, np.copysign, lambda a, b: sympy.Piecewise((-sympy.Abs(a), b < 0), (sympy.Abs(a), True)),
     lambda x, y, z: sign(x) * sign(z), _zero)
_row("heaviside", 2, np.heaviside, lambda a, b: sympy.Piecewise((0, a < 0), (b, sympy.Eq(a, 0)), (1, True)),
     _zero, lambda x1, x2, z: _indicator(eq(x1, 0), z))
_row("logical_and", 2, np.logical_and, sympy.And)
_row("logical_or", 2, np.logical_or, sympy.Or)
_row("logical_xor", 2, np.logical_xor, sympy.Xor)
_row("eq", 2, np.equal, sympy.Eq)
_row("neq", 2, np.not_equal, sympy.Ne)
_row("lt", 2, np.less, sympy.Lt)
_row("le", 2, np.less_equal, sympy.Le)
_row("gt", 2, np.greater, sympy.Gt)
_row("ge", 2, np.greater_equal, sympy.Ge)
_row("bitwise_and", 2, np.bitwise_and, None)
_row("bitwise_or", 2, np.bitwise_or, None)
_row("bitwise_xor", 2, np.bitwise_xor, None)

_row("negative", 1, np.negative, lambda a: -a, _minus_one)
_row("abs", 1, np.abs, sympy.Abs, lambda x, z: sign(x))
_row("sign", 1, np.sign, sympy.sign)
_row("exp", 1, np.exp, sympy.exp, lambda x, z: z)
_row("exp2", 1, np.exp2, lambda a: 2**a, lambda x, z: z * _LN2)
_row("log", 1, np.log, sympy.log, lambda x, z: reciprocal(x))
_row("log2", 1, np.log2, lambda a: sympy.log(a, 2), lambda x, z: reciprocal(x * _LN2))
_row("log10", 1, np.log10, lambda a: sympy.log(a, 10), lambda x, z: reciprocal(x * _LN10))
_row("log1p", 1, np.log1p, lambda a: sympy.log(1 + a), lambda x, z: reciprocal(x + 1))
_row("expm1", 1, np.expm1, lambda a: sympy.exp(a) - 1, lambda x, z: z + 1)
_row("sqrt", 1, np.sqrt, sympy.sqrt, lambda x, z: 0.5 / z)
_row("square", 1, np.square, lambda a: a**2, lambda x, z: 2 * x)
_row("reciprocal", 1, np.reciprocal, lambda a: 1 / a, lambda x, z: negative(z * z))
_row("sin", 1, np.sin, sympy.sin, lambda x, z: cos(x))
_row("cos", 1, np.cos, sympy.cos, lambda x, z: negative(sin(x)))
_row("tan", 1, np.tan, sympy.tan, lambda x, z: 1 + z * z)
_row("arcsin", 1, np.arcsin, sympy.asin, lambda x, z: reciprocal(sqrt(1 - x * x)))
_row("arccos", 1, np.arccos, sympy.acos, lambda x, z: negative(reciprocal(sqrt(1 - x * x))))
_row("arctan", 1, np.arctan, sympy.atan, lambda x, z: reciprocal(1 + x * x))
_row("sinh", 1, np.sinh, sympy.sinh, lambda x, z: cosh(x))
_row("cosh", 1, np.cosh, sympy.cosh, lambda x, z: sinh(x))
_row("tanh", 1, np.tanh, sympy.tanh, lambda x, z: 1 - z * z)
_row("arcsinh", 1, np.arcsinh, sympy.asinh, lambda x, z: reciprocal(sqrt(x * x + 1)))
_row("arccosh", 1, np.arccosh, sympy.acosh, lambda x, z: reciprocal(sqrt(x * x - 1)))
_row("arctanh", 1, np.arctanh, sympy.atanh, lambda x, z: reciprocal(1 - x * x))
_row("floor", 1, np.floor, sympy.floor)
_row("ceil", 1, np.ceil, sympy.ceiling)
_row("round", 1, _round, _sympy_round)
_row("erf", 1, _erf if _scipy_special is not None else _erf_numpy, sympy.erf,
     lambda x, z: _TWO_OVER_SQRT_PI * exp(negative(x * x)))
_row("erfc", 1, _erfc if _scipy_special is not None else _erfc_numpy, sympy.erfc,
     lambda x, z: -_TWO_OVER_SQRT_PI * exp(negative(x * x)))
_row("gammaln", 1, _in_float_dtype(_scipy_special.gammaln) if _scipy_special is not None else _gammaln_numpy,
     sympy.loggamma, lambda x, z: digamma(x))
_row("digamma", 1, _in_float_dtype(_scipy_special.digamma) if _scipy_special is not None else _digamma_numpy,
     sympy.digamma, lambda x, z: Elemwise(polygamma_row(1))(x))
_row("isnan", 1, np.isnan, None)
_row("isinf", 1, np.isinf, None)
_row("isfinite", 1, np.isfinite, None)
_row("signbit", 1, np.signbit, lambda a: a < 0)  # SymPy has no -0.0
_row("logical_not", 1, np.logical_not, sympy.Not)
_row("invert", 1, np.invert, None)
_row("sigmoid", 1, _sigmoid, _sympy_sigmoid, lambda x, z: z * (1 - z))
_row("softplus", 1, _softplus, lambda a: sympy.log(1 + sympy.exp(a)), lambda x, z: sigmoid(x))
_row("sinc", 1, np.sinc, lambda a: sympy.sinc(sympy.pi * a), _sinc_partial)
_row("deg2rad", 1, np.deg2rad, lambda a: a * sympy.pi / 180, lambda x, z: math.pi / 180)
_row("rad2deg", 1, np.rad2deg, lambda a: a * 180 / sympy.pi, lambda x, z: 180 / math.pi)
_row("relu", 1, _relu, lambda a: sympy.Max(a, 0), lambda x, z: _indicator(gt(x, 0), z))

_row("where", 3, np.where, lambda c, a, b: sympy.Piecewise((a, c), (b, True)),
     _zero, lambda c, x, y, z: _indicator(c, z), lambda c, x, y, z: _indicator(logical_not(c), z))
# clip is min(max(x, lo), hi), as in NumPy: where lo > hi the result is hi, whatever x and lo.
_row("clip", 3, np.clip, lambda a, lo, hi: sympy.Min(sympy.Max(a, lo), hi),
     lambda x, lo, hi, z: _indicator(logical_and(ge(x, lo), le(x, hi)), z),
     lambda x, lo, hi, z: _indicator(logical_and(lt(x, lo), le(lo, hi)), z),
     lambda x, lo, hi, z: _indicator(logical_or(gt(x, hi), gt(lo, hi)), z))

SCALAR_OPS = _ROWS
"""The element-wise table: public name -> ScalarOp."""


def scalar_op(name) -> ScalarOp:
    """The row of the element-wise table called `name`."""
    if name == "cast":
        raise ValueError("the cast row is parametrized: use cast_row(dtype)")
    return _ROWS[name]


_cast_rows = {}


def cast_row(dtype) -> ScalarOp:
    """The element-wise row converting to `dtype` (one row per dtype)."""
    dtype = as_dtype(dtype, "cast")
    row = _cast_rows.get(dtype.name)
    if row is None:
        def impl(x, _dtype=dtype):
            return np.asarray(x).astype(_dtype)

        def partial(x, z):
            return cast(1, z.dtype) if is_differentiable_dtype(z.dtype) else None

        row = ScalarOp("cast", 1, impl, _sympy_cast(dtype), (partial,), params=(dtype.name,))
        _cast_rows[dtype.name] = row
    return row


def _sympy_cast(dtype):
    """The SymPy form of a conversion to `dtype`: to bool, whether the value is nonzero; to an integer type,
    truncation toward zero (as `astype`); to a float type, the value itself."""
    if dtype.kind == "b":
        return lambda a: sympy.Ne(a, 0)
    if dtype.kind in "iu":
        return lambda a: a if a.is_integer else sympy.Piecewise((sympy.floor(a), a >= 0), (sympy.ceiling(a), True))
    return lambda a: a


_polygamma_rows = {}


def polygamma_row(n) -> ScalarOp:
    """The element-wise row of the n-th derivative of digamma (n >= 1; trigamma is n = 1), which the
    derivatives of `digamma` are made of (one row per order)."""
    row = _polygamma_rows.get(n)
    if row is None:
        if _scipy_special is not None:
            def impl(x, _n=n):
                return _scipy_special.polygamma(_n, x).astype(_float_dtype_of(x), copy=False)
        else:
            def impl(x, _n=n):
                return _polygamma_numpy(_n, x)

        def partial(x, z, _n=n):
            return Elemwise(polygamma_row(_n + 1))(x)

        row = ScalarOp("polygamma", 1, impl, lambda a, _n=n: sympy.polygamma(_n, a), (partial,), params=(n,))
        _polygamma_rows[n] = row
    return row


_round_rows = {}


def round_row(decimals) -> ScalarOp:
    """The element-wise row of `np.round(x, decimals)` for decimals other than 0 (one row per count)."""
    row = _round_rows.get(decimals)
    if row is None:
        def impl(x, _decimals=decimals):
            return np.round(x, _decimals)

        def sympy_form(a, _scale=sympy.Integer(10) ** decimals):
            return _sympy_round(a * _scale) / _scale

        row = ScalarOp("round", 1, impl, sympy_form, (_zero,), params=(decimals,))
        _round_rows[decimals] = row
    return row


def is_differentiable_dtype(dtype) -> bool:
    """Float and complex values carry gradients; integers and bools do not."""
    return np.dtype(dtype).kind in "fc"


class Elemwise(Op):
    """A row of the element-wise table applied to tensors with NumPy broadcasting and promotion."""

    __props__ = ("scalar",)

    def __init__(self, scalar):
        self.scalar = scalar

    @property
    def name(self):
        return self.scalar.name

    @property
    def nin(self):
        return self.scalar.nin

    def __str__(self):
        return repr(self.scalar)

    __repr__ = __str__

    def output_types(self, *types):
        if len(types) != self.scalar.nin:
            raise TypeError(f"{self.name} takes {self.scalar.nin} operand(s), got {len(types)}")
        return [_elemwise_output_type(self.scalar, types)]

    def perform(self, *values):
        return self.scalar.impl(*values)

    def partial(self, index, inputs, output):
        """d output / d inputs[index] as a Variable, a number (1 or -1), or None when it is zero."""
        return self.scalar.partials[index](*inputs, output)

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        grads = []
        for i, x in enumerate(inputs):
            if gz is None or not is_differentiable_dtype(x.dtype):
                grads.append(None)
            else:
                grads.append(_times(gz, self.partial(i, inputs, outputs[0])))
        return grads

    def pushforward(self, inputs, outputs, tangents):
        total = None
        for i, tangent in enumerate(tangents):
            if tangent is None or not is_differentiable_dtype(inputs[i].dtype):
                continue
            term = _times(tangent, self.partial(i, inputs, outputs[0]))
            if term is not None:
                total = term if total is None else add(total, term)
        return [total]


def _times(value, partial):
    if partial is None:
        return None
    if isinstance(partial, (int, float)) and not isinstance(partial, bool):
        if partial == 1:
            return value
        if partial == -1:
            return negative(value)
    return multiply(value, partial)


def _is_python_scalar(value):
    return isinstance(value, (bool, int, float, complex)) and not isinstance(value, np.generic)


def lift_operands(operands, row=None):
    """Turn operands into Variables; Python scalars become constants of NumPy 2's "weak" dtype.

    NumPy 2 lets a Python scalar adopt the dtype of the arrays it meets (`float32_array + 1.5` stays
    float32), so a Python scalar here becomes a constant of `np.result_type(*tensor_dtypes, scalar)`.
    An operand that cannot be a tensor is a TypeError naming `row`. A Python int outside that dtype's range
    is an OverflowError, as in NumPy, except where the scalar
    row `row` does not compute in that dtype: comparisons, which NumPy 2 evaluates exactly
    (`int32_array < 2**40` is all True), logical functions, which only ask whether it is 0, and
    functions that compute integers in a float type, where the int joins that float type
    (`uint8_array / -3`, `arctan2(uint8_array, -1)`).
    """
    tensors = [v for v in operands if isinstance(v, Variable)]
    result = []
    for value in operands:
        if isinstance(value, Variable):
            result.append(value)
        elif _is_python_scalar(value):
            dtype = np.result_type(*(t.dtype for t in tensors), value) if tensors else None
            try:
                result.append(constant(value, dtype=dtype))
            except OverflowError as exc:
                result.append(_out_of_range_scalar(value, dtype, row, exc))
        else:
            try:
                result.append(constant(value))
            except (TypeError, ValueError) as exc:
                prefix = "" if row is None else f"{row.name}: "
                raise TypeError(f"{prefix}cannot use {value!r} as a symbolic operand: {exc}") from None
    return result


def _out_of_range_scalar(value, dtype, row, overflow):
    """The constant for a Python int outside the integer `dtype` it would take, as `row` sees it."""
    if row is not None and row.name in _COMPARISONS:
        return _wide_int_constant(value)
    if row is not None and row.name in _LOGICAL:
        return constant(bool(value))
    computed_in = row.output_dtype([dtype] * row.nin) if row is not None else dtype
    if computed_in.kind in "fc":
        return constant(value, dtype=computed_in)
    raise OverflowError(f"Python scalar {value!r} does not fit the operand dtype {dtype}: {overflow}") from None


def _wide_int_constant(value):
    """A constant that compares with every integer tensor as the Python int `value` would: `value` lies
    outside the tensor's range, so it is above or below all of its entries, as +inf or -inf is (a float of
    `value` would not do: float(2**64) equals float(2**64 - 1))."""
    return constant(math.inf if value > 0 else -math.inf)


_COMPARISONS = frozenset({"eq", "neq", "lt", "le", "gt", "ge"})
_LOGICAL = frozenset({"logical_and", "logical_or", "logical_xor"})


@functools.lru_cache(maxsize=1024)
def elemwise_op(row):
    """The Elemwise op of the scalar row `row`, made once per row: building a graph applies the same few
    ops over and over, and each one made anew would compute its hash anew at every node lookup."""
    return Elemwise(row)


def apply_elemwise(name, *operands):
    """Apply the element-wise row `name` to operands (Variables, arrays or Python scalars)."""
    row = _ROWS[name]
    return elemwise_op(row)(*lift_operands(operands, row))


def _make_public(name, meaning, example, result):
    row = _ROWS[name]
    op = elemwise_op(row)
    if row.nin == 1:
        def function(x):
            return op(*lift_operands((x,), row))
    elif row.nin == 2:
        def function(x, y):
            return op(*lift_operands((x, y), row))
    else:  # where: as in NumPy, the condition's dtype takes no part in the values' promotion
        def function(a, b, c):
            return op(*lift_operands((a,), row), *lift_operands((b, c), row))
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (
        f"{meaning}\n\nElement-wise, with NumPy broadcasting and dtype promotion.\n\n"
        f"Example:\n    >>> import symgraph as sg\n    >>> {example}\n    {result}\n"
    )
    return function


add = _make_public("add", "x + y.", "sg.add([1, 2], 0.5).eval()", "array([1.5, 2.5])")
subtract = _make_public("subtract", "x - y.", "sg.subtract([1, 2], 0.5).eval()", "array([0.5, 1.5])")
multiply = _make_public("multiply", "x * y.",
    "sg.multiply([1, 2], [[1], [10]]).eval()", "array([[ 1,  2],\n           [10, 20]])")
true_divide = _make_public("true_divide", "x / y; integer operands give float64 (also `sg.divide`).",
    "sg.true_divide([1, 2], 2).eval()", "array([0.5, 1. ])")
floor_divide = _make_public("floor_divide", "x // y, rounded towards minus infinity.",
    "sg.floor_divide([-3, 3], 2).eval()", "array([-2,  1])")
mod = _make_public("mod", "x % y, with the sign of y (Python's and NumPy's remainder).",
    "sg.mod([-3, 3], 2).eval()", "array([1, 1])")
power = _make_public("power", "x ** y.", "sg.power([1.0, 2.0], 3).eval()", "array([1., 8.])")
maximum = _make_public("maximum", "The larger of x and y (NaN if either is); where x == y each gets half the gradient.",
    "sg.maximum([1.0, 5.0], 2.0).eval()", "array([2., 5.])")
minimum = _make_public(
    "minimum", "The smaller of x and y (NaN if either is); where x == y each gets half the gradient.",
    "sg.minimum([1.0, 5.0], 2.0).eval()", "array([1., 2.])")
arctan2 = _make_public("arctan2", "arctan(x / y) in the quadrant of the point (y, x), in radians, like `np.arctan2`.",
    "sg.arctan2([1.0, -1.0], -1.0).eval()", "array([ 2.35619449, -2.35619449])")
hypot = _make_public("hypot", "sqrt(x**2 + y**2), without overflow or underflow in the squares; its gradient "
    "at (0, 0) is 0.", "sg.hypot([3.0, 1e300], [4.0, 1e300]).eval()", "array([5.00000000e+000, 1.41421356e+300])")
logaddexp = _make_public("logaddexp", "log(exp(x) + exp(y)), without overflow.",
    "sg.logaddexp([0.0, 1000.0], [0.0, 1000.0]).eval()", "array([6.93147181e-01, 1.00069315e+03])")
logaddexp2 = _make_public("logaddexp2", "log2(2**x + 2**y), without overflow.",
    "sg.logaddexp2([1.0, 1000.0], [1.0, 1000.0]).eval()", "array([   2., 1001.])")
fmod = _make_public("fmod", "The remainder of x / y with the sign of x (C's fmod), unlike `mod`.",
    "sg.fmod([-3, 3], 2).eval()", "array([-1,  1])")
copysign = _make_public("copysign", "|x| with the sign of y (the sign bit, so -0.0 counts as negative).",
    "sg.copysign([1.0, 2.0], [-1.0, 0.0]).eval()", "array([-1.,  2.])")
heaviside = _make_public("heaviside", "The step function: 0 where x1 < 0, 1 where x1 > 0, and x2 where x1 == 0; "
    "its gradient with respect to x1 is 0.", "sg.heaviside([-1.5, 0.0, 2.0], 0.5).eval()", "array([0. , 0.5, 1. ])")
logical_and = _make_public("logical_and", "x and y, with non-zero meaning true; bool.",
    "sg.logical_and([True, False], True).eval()", "array([ True, False])")
logical_or = _make_public("logical_or", "x or y, with non-zero meaning true; bool.",
    "sg.logical_or([True, False], False).eval()", "array([ True, False])")
logical_xor = _make_public("logical_xor", "Exactly one of x and y is true (non-zero); bool.",
    "sg.logical_xor([True, False], True).eval()", "array([False,  True])")
eq = _make_public("eq", "x == y; bool (also `sg.equal`; the `==` operator keeps Python identity).",
    "sg.eq([1.0, 2.0], 2.0).eval()", "array([False,  True])")
neq = _make_public("neq", "x != y; bool (also `sg.not_equal`; the `!=` operator keeps Python identity).",
    "sg.neq([1.0, 2.0], 2.0).eval()", "array([ True, False])")
lt = _make_public("lt", "x < y; bool (also `sg.less`).", "sg.lt([1.0, 2.0], 2.0).eval()", "array([ True, False])")
le = _make_public("le", "x <= y; bool (also `sg.less_equal`).",
    "sg.le([1.0, 2.0], 2.0).eval()", "array([ True,  True])")
gt = _make_public("gt", "x > y; bool (also `sg.greater`).", "sg.gt([1.0, 2.0], 1.0).eval()", "array([False,  True])")
ge = _make_public("ge", "x >= y; bool (also `sg.greater_equal`).",
    "sg.ge([1.0, 2.0], 2.0).eval()", "array([False,  True])")
bitwise_and = _make_public("bitwise_and", "x & y on integers and bools.",
    "sg.bitwise_and([6, 5], 3).eval()", "array([2, 1])")
bitwise_or = _make_public("bitwise_or", "x | y on integers and bools.",
    "sg.bitwise_or([6, 5], 3).eval()", "array([7, 7])")
bitwise_xor = _make_public("bitwise_xor", "x ^ y on integers and bools.",
    "sg.bitwise_xor([6, 5], 3).eval()", "array([5, 6])")
negative = _make_public("negative", "-x.", "sg.negative([1.0, -2.0]).eval()", "array([-1.,  2.])")
abs = _make_public("abs", "|x| (also `sg.absolute`); its gradient at 0 is 0.",
    "sg.abs([-1.5, 2]).eval()", "array([1.5, 2. ])")
sign = _make_public("sign", "-1, 0 or 1 by the sign of x.",
    "sg.sign([-3.0, 0.0, 2.0]).eval()", "array([-1.,  0.,  1.])")
exp = _make_public("exp", "e ** x.", "sg.exp([0.0, 1.0]).eval()", "array([1.        , 2.71828183])")
exp2 = _make_public("exp2", "2 ** x.", "sg.exp2([0.0, 3.0]).eval()", "array([1., 8.])")
log = _make_public("log", "The natural logarithm.", "sg.log([1.0, 1e3]).eval()", "array([0.        , 6.90775528])")
log2 = _make_public("log2", "The base-2 logarithm.", "sg.log2([1.0, 8.0]).eval()", "array([0., 3.])")
log10 = _make_public("log10", "The base-10 logarithm.", "sg.log10([1.0, 100.0]).eval()", "array([0., 2.])")
log1p = _make_public("log1p", "log(1 + x), accurate also where x is tiny.",
    "sg.log1p([0.0, 1e-20]).eval()", "array([0.e+00, 1.e-20])")
expm1 = _make_public("expm1", "exp(x) - 1, accurate also where x is tiny.",
    "sg.expm1([0.0, 1e-20]).eval()", "array([0.e+00, 1.e-20])")
sqrt = _make_public("sqrt", "The non-negative square root.", "sg.sqrt([4.0, 9.0]).eval()", "array([2., 3.])")
square = _make_public("square", "x * x.", "sg.square([-3, 2]).eval()", "array([9, 4])")
reciprocal = _make_public("reciprocal", "1 / x.", "sg.reciprocal([2.0, 4.0]).eval()", "array([0.5 , 0.25])")
sin = _make_public("sin", "The sine (radians).", "sg.sin([0.0, 1.0]).eval()", "array([0.        , 0.84147098])")
cos = _make_public("cos", "The cosine (radians).", "sg.cos([0.0, 1.0]).eval()", "array([1.        , 0.54030231])")
tan = _make_public("tan", "The tangent (radians).", "sg.tan([0.0, 1.0]).eval()", "array([0.        , 1.55740772])")
arcsin = _make_public("arcsin", "The inverse sine, in [-pi/2, pi/2].",
    "sg.arcsin([0.0, 1.0]).eval()", "array([0.        , 1.57079633])")
arccos = _make_public("arccos", "The inverse cosine, in [0, pi].",
    "sg.arccos([1.0, 0.0]).eval()", "array([0.        , 1.57079633])")
arctan = _make_public("arctan", "The inverse tangent, in (-pi/2, pi/2).",
    "sg.arctan([0.0, 1.0]).eval()", "array([0.        , 0.78539816])")
sinh = _make_public("sinh", "The hyperbolic sine.", "sg.sinh([0.0, 1.0]).eval()", "array([0.        , 1.17520119])")
cosh = _make_public("cosh", "The hyperbolic cosine.", "sg.cosh([0.0, 1.0]).eval()", "array([1.        , 1.54308063])")
tanh = _make_public("tanh", "The hyperbolic tangent.", "sg.tanh([0.0, 1.0]).eval()", "array([0.        , 0.76159416])")
arcsinh = _make_public("arcsinh", "The inverse hyperbolic sine.",
    "sg.arcsinh([0.0, 1.0]).eval()", "array([0.        , 0.88137359])")
arccosh = _make_public("arccosh", "The inverse hyperbolic cosine (x >= 1).",
    "sg.arccosh([1.0, 2.0]).eval()", "array([0.       , 1.3169579])")
arctanh = _make_public("arctanh", "The inverse hyperbolic tangent (|x| < 1).",
    "sg.arctanh([0.0, 0.5]).eval()", "array([0.        , 0.54930614])")
floor = _make_public("floor", "The largest integer <= x, in x's float dtype; its gradient is 0.",
    "sg.floor([-1.5, 1.5]).eval()", "array([-2.,  1.])")
ceil = _make_public("ceil", "The smallest integer >= x, in x's float dtype; its gradient is 0.",
    "sg.ceil([-1.5, 1.5]).eval()", "array([-1.,  2.])")
_round_to_integer = _make_public("round", "x rounded to the nearest integer, halves to even.",
    "sg.round([0.5, 1.5, 2.5]).eval()", "array([0., 2., 2.])")


def round(x, decimals=0):
    """x rounded to `decimals` decimal places, halves to even, like `np.round` (negative `decimals` round
    to tens, hundreds, ...; integers stay integers); its gradient is 0.

    Example:
        >>> import symgraph as sg
        >>> sg.round([0.5, 1.5, 2.5]).eval()
        array([0., 2., 2.])
        >>> sg.round([1.25, 2.675, 15.0], 1).eval()
        array([ 1.2,  2.7, 15. ])
        >>> sg.round([15, 25, 37], -1).eval()
        array([20, 20, 40])
    """
    try:
        decimals = operator.index(decimals)
    except TypeError:
        raise TypeError(f"round: decimals must be an integer, got {decimals!r}") from None
    if decimals == 0:
        return _round_to_integer(x)
    (x,) = lift_operands((x,))
    if x.dtype.kind == "b":
        raise TypeError(f"round: cannot round a bool tensor to {decimals} decimals (NumPy cannot either), got {x!r}")
    return elemwise_op(round_row(decimals))(x)

erf = _make_public("erf", "The error function 2/sqrt(pi) * integral of exp(-t**2) from 0 to x.",
    "sg.erf([0.0, 1.0]).eval()", "array([0.        , 0.84270079])")
erfc = _make_public("erfc", "1 - erf(x), accurate also where erf(x) is close to 1.",
    "sg.erfc([0.0, 1.0]).eval()", "array([1.        , 0.15729921])")
gammaln = _make_public("gammaln", "log |Gamma(x)|, the logarithm of the absolute value of the gamma function "
    "(SciPy's when installed, else a NumPy implementation).", "sg.gammaln([1.0, 5.0]).eval()", "array([0.        , 3.17805383])")
digamma = _make_public("digamma", "psi(x), the derivative of gammaln (SciPy's when installed, else a NumPy "
    "implementation exact to about 1e-13 relative).", "sg.digamma([1.0, 2.0]).eval()", "array([-0.57721566,  0.42278434])")
isnan = _make_public("isnan", "Whether x is NaN; bool.",
    "sg.isnan([1.0, float('nan')]).eval()", "array([False,  True])")
isinf = _make_public("isinf", "Whether x is +inf or -inf; bool.",
    "sg.isinf([1.0, float('-inf')]).eval()", "array([False,  True])")
isfinite = _make_public("isfinite", "Whether x is neither NaN nor infinite; bool.",
    "sg.isfinite([1.0, float('nan'), float('inf')]).eval()", "array([ True, False, False])")
signbit = _make_public("signbit", "Whether the sign bit of x is set (true for -0.0 and negative values); bool.",
    "sg.signbit([-0.0, 0.0, -2.0]).eval()", "array([ True, False,  True])")
logical_not = _make_public("logical_not", "not x, with non-zero meaning true; bool.",
    "sg.logical_not([True, False]).eval()", "array([False,  True])")
invert = _make_public("invert", "~x: bitwise not of integers, logical not of bools.",
    "sg.invert([True, False]).eval()", "array([False,  True])")
sigmoid = _make_public("sigmoid", "1 / (1 + exp(-x)), computed without overflow.",
    "sg.sigmoid([0.0, -1000.0]).eval()", "array([0.5, 0. ])")
softplus = _make_public("softplus", "log(1 + exp(x)), computed without overflow.",
    "sg.softplus([-1000.0, 1000.0]).eval()", "array([   0., 1000.])")
relu = _make_public("relu", "max(x, 0); its gradient at 0 is 0.", "sg.relu([-1.0, 2.0]).eval()", "array([0., 2.])")
sinc = _make_public("sinc", "The normalized sinc function sin(pi x) / (pi x), 1 at 0 (`np.sinc`); its gradient "
    "is exact at 0 too.", "sg.sinc([0.0, 0.5, 1.0]).eval()", "array([1.00000000e+00, 6.36619772e-01, 3.89817183e-17])")
deg2rad = _make_public("deg2rad", "Degrees converted to radians.", "sg.deg2rad([180.0, 90.0]).eval()",
    "array([3.14159265, 1.57079633])")
rad2deg = _make_public("rad2deg", "Radians converted to degrees.", "sg.rad2deg([0.5, 1.0]).eval()",
    "array([28.64788976, 57.29577951])")
where = _make_public("where", "b where the condition a is true (non-zero), else c, like `np.where(a, b, c)`.",
    "sg.where([True, False], [1, 2], [10, 20]).eval()", "array([ 1, 20])")

divide = true_divide
equal = eq
not_equal = neq
less = lt
less_equal = le
greater = gt
greater_equal = ge
absolute = abs


def clip(x, min=None, max=None, *, a_min=None, a_max=None):
    """Limit values to [min, max] like `np.clip`; either bound may be None (both: x unchanged), and NumPy's
    names `a_min` and `a_max` are accepted too. The gradient goes to x where min <= x <= max, bounds
    included.

    Example:
        >>> import symgraph as sg
        >>> sg.clip([-1.0, 0.5, 2.0], 0.0, 1.0).eval()
        array([0. , 0.5, 1. ])
        >>> sg.clip([-1.0, 0.5, 2.0], None, 1.0).eval()
        array([-1. ,  0.5,  1. ])
        >>> sg.clip([-1.0, 0.5, 2.0], a_min=0.0, a_max=1.0).eval()
        array([0. , 0.5, 1. ])
    """
    if (a_min is not None or a_max is not None) and (min is not None or max is not None):
        raise TypeError("clip: give the bounds either as min and max or as a_min and a_max, not both")
    if a_min is not None or a_max is not None:
        min, max = a_min, a_max
    if min is None and max is None:
        (x,) = lift_operands((x,))
        return x
    if min is None or max is None:
        value, bound = lift_operands((x, max if min is None else min))
        if np.result_type(value.dtype, bound.dtype).kind != "f":
            # no infinity stands in for the missing bound (and integers have no gradient to keep)
            return minimum(value, bound) if min is None else maximum(value, bound)
        # an infinite missing bound keeps clip's gradient, which minimum and maximum halve at ties
        min, max = (-np.inf, bound) if min is None else (bound, np.inf)
        x = value
    return elemwise_op(_ROWS["clip"])(*lift_operands((x, min, max)))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """`x` with NaN replaced by `nan`, +inf by `posinf` and -inf by `neginf`, like `np.nan_to_num`.

    `posinf` and `neginf` default to the largest and the most negative finite value of x's dtype; the
    replacements are converted to that dtype. Integer and bool tensors have nothing to replace and are
    returned as they are. `copy` is accepted for NumPy's signature: a symbolic result is always a new
    value. The gradient is 1 where x is finite and 0 elsewhere.

    Example:
        >>> import symgraph as sg
        >>> sg.nan_to_num([float("nan"), float("inf"), -float("inf"), 1.5], neginf=-9.0).eval()
        array([ 0.00000000e+000,  1.79769313e+308, -9.00000000e+000,  1.50000000e+000])
    """
    (x,) = lift_operands((x,))
    if x.dtype.kind in "biu":
        return x
    if x.dtype.kind != "f":
        raise TypeError(f"nan_to_num: operand of type {x.type} is not supported (only real tensors)")
    info = np.finfo(x.dtype)
    replacements = [info.max if posinf is None else posinf, info.min if neginf is None else neginf, nan]
    with np.errstate(over="ignore"):  # NumPy converts an out-of-range replacement to inf as well
        big, small, nan = (constant(np.asarray(value).astype(x.dtype)) for value in replacements)
    infinity = where(gt(x, 0), big, small)
    return where(isfinite(x), x, where(isnan(x), nan, infinity))


def cast(x, dtype):
    """Convert `x` to `dtype` (explicit, so lossy conversions are allowed, as with `astype`).

    Example:
        >>> import symgraph as sg
        >>> sg.cast(sg.vector("x"), "int32").dtype
        dtype('int32')
    """
    (x,) = lift_operands((x,))
    if x.dtype == as_dtype(dtype, "cast"):
        return x
    return elemwise_op(cast_row(dtype))(x)


@functools.lru_cache(maxsize=4096)
def _elemwise_output_type(scalar, types):
    """The output type of `scalar` applied element-wise to operands of `types`, cached: a graph applies
    the same few functions to the same few types over and over, and every rewrite rebuilds nodes."""
    try:
        dtype = scalar.output_dtype([t.dtype for t in types])
    except TypeError as exc:  # NumPy's promotion and loop-lookup errors are TypeErrors
        described = ", ".join(str(t) for t in types)
        raise TypeError(f"{scalar.name}: not defined for operands of types {described} ({exc})") from None
    shape = broadcast_static_shapes(*(t.shape for t in types), op_name=scalar.name, types=types)
    return TensorType(dtype, shape)
