"""Float64 exp, expm1, log, log1p, tanh, sin, cos, logaddexp and softplus written so that LLVM vectorizes the loops that call them.

The Numba here links no vector math library (no SVML), so a loop calling `np.exp` makes one libm call per
element (5-18 ns), where NumPy's own loops are SIMD (about 1 ns). These functions are straight-line
arithmetic on the float's bits (range reduction, a polynomial, scaling by a power of two built from integer
bits) with special cases chosen by selects, not branches: Numba inlines them into a kernel's loop and LLVM
turns the loop into vector instructions.

Accuracy, measured against long-double references (tests/test_vector_math.py): within 1 ulp for exp,
log and log1p, 2 ulp for expm1, tanh, sin and cos; NaN, infinities, signed zeros, subnormal inputs and
results, overflow to inf and underflow to 0 are NumPy's. Polynomials are Taylor series of enough terms for
the reduced ranges (the last term below 2**-60 of the first).

sin and cos reduce by multiples of pi/2 held in three parts, exact for |x| <= `TRIG_LIMIT`; beyond it
(and for inf and NaN) `trig_in_range` is false, and a kernel recomputes such a block with libm's sin and
cos (kernels.py), so results there are libm's.

Example:
    >>> import numpy as np, numba
    >>> @numba.njit
    ... def exps(x):
    ...     out = np.empty_like(x)
    ...     for i in range(x.size):
    ...         out[i] = exp(x[i])
    ...     return out
    >>> x = np.array([-1000.0, -1.5, 0.0, 0.5, 700.0, np.inf, np.nan])
    >>> bool(np.allclose(exps(x), np.exp(x), rtol=1e-15, equal_nan=True))
    True
"""
import math

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def float_bits(typingctx, x):
    """The IEEE bits of float64 `x` as an int64 (a bitcast, which vectorizes)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def bits_float(typingctx, bits):
    """The float64 whose IEEE bits are int64 `bits`."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


_inline = numba.njit(inline="always", error_model="numpy")

ROUNDER = 6755399441055744.0
"""1.5 * 2**52: adding it rounds a float of magnitude below 2**51 to an integer, which the low bits of
the sum then hold (no float-to-int conversion, which AVX2 lacks for int64)."""
ROUNDER_BITS = 0x4338000000000000
SIGN = -0x8000000000000000
MANTISSA = 0x000FFFFFFFFFFFFF
ONE_BITS = 0x3FF0000000000000

LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453
LN2_HI = 6.93147180369123816490e-01
"""ln 2 rounded to 32 significant bits, so that k * LN2_HI is exact for |k| < 2**21."""
LN2_LO = 1.90821492927058770002e-10
"""ln 2 - LN2_HI."""

TWO_OVER_PI = 0.6366197723675814
PIO2_1 = 1.57079632673412561417e+00
"""pi/2 to 33 bits; PIO2_2 the next 33, PIO2_3 the rest: n * PIO2_1 and n * PIO2_2 are exact for |n| < 2**20."""
PIO2_2 = 6.07710050630396597660e-11
PIO2_3 = 2.02226624879595063154e-21
TRIG_LIMIT = 2.0 ** 19
"""sin and cos of larger magnitudes go to libm (see the module docstring)."""

SMALLEST_NORMAL = 2.2250738585072014e-308
SQRT2 = 1.4142135623730951


@_inline
def _scale(p, k):
    """p * 2**k for integer-valued int64 k in [-1100, 1100], in two factors so that results near the
    overflow threshold and subnormal results come out right."""
    half = k >> 1
    return p * bits_float((half + 1023) << 52) * bits_float((k - half + 1023) << 52)


@_inline
def _round_to_integer(y):
    """(y rounded to the nearest integer as a float, the same as an int64), for |y| < 2**51."""
    shifted = y + ROUNDER
    return shifted - ROUNDER, float_bits(shifted) - ROUNDER_BITS


def _taylor(first, last, step=1, alternating=False):
    """Coefficients 1/n! for n = first, first + step, ..., last; times (-1)**(n // 2) when `alternating`
    (the signs of the sine's and cosine's series)."""
    return tuple((-1) ** (n // 2 * alternating) / math.factorial(n) for n in range(first, last + 1, step))


EXPM1_SERIES = _taylor(2, 18)
"""(exp(r) - 1 - r) / r**2 for |r| <= ln(2); exp(r) uses it for |r| <= ln(2)/2."""
SIN_SERIES = _taylor(3, 17, 2, alternating=True)
"""(sin(r) - r) / r**3 in z = r**2, for |r| <= pi/4."""
COS_SERIES = _taylor(4, 18, 2, alternating=True)
"""(cos(r) - 1 + r**2/2) / r**4 in z = r**2."""
ATANH_SERIES = tuple(2 / n for n in range(3, 24, 2))
"""(2 atanh(s) - 2s) / s**3 in z = s**2, for |s| <= 0.172 (m in [sqrt(1/2), sqrt(2)))."""


def _horner(name, coefficients):
    """An inlined function of x computing c0 + c1 x + c2 x**2 + ... by Horner's rule, written out: a loop
    over the coefficients would keep LLVM from vectorizing the loops that call it."""
    expression = repr(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        expression = f"({expression}) * x + {c!r}"
    namespace = {}
    exec(f"def {name}(x):\n    return {expression}\n", namespace)
    return _inline(namespace[name])


_expm1_series = _horner("_expm1_series", EXPM1_SERIES)
_sin_series = _horner("_sin_series", SIN_SERIES)
_cos_series = _horner("_cos_series", COS_SERIES)
_atanh_series = _horner("_atanh_series", ATANH_SERIES)


@_inline
def _expm1_reduced(r):
    """exp(r) - 1 for |r| <= ln(2), summed as r + r**2 * (...) so that the rounding of the small second
    term hardly counts."""
    return r + r * r * _expm1_series(r)


@_inline
def exp(x):
    """e**x, as np.exp on float64."""
    clamped = min(max(x, -746.0), 710.0)  # beyond these the result is 0 or inf; the clamp keeps k an integer
    k, bits = _round_to_integer(clamped * LOG2E)
    r = (clamped - k * LN2_HI) - k * LN2_LO
    result = _scale(1.0 + _expm1_reduced(r), bits)
    return result if x == x else x


@_inline
def expm1(x):
    """e**x - 1, as np.expm1 on float64."""
    clamped = min(max(x, -60.0), 709.79)  # below -60 the result rounds to -1; above 709.79 it overflows
    k, bits = _round_to_integer(clamped * LOG2E)
    small = abs(clamped) < LN2_HI  # no reduction there: 2**k * e - (1 - 2**k) would cancel digits
    k = 0.0 if small else min(k, 1023.0)  # 2**1024 is not a float: the top of the range takes r up to 0.71
    bits = 0 if small else min(bits, 1023)
    r = (clamped - k * LN2_HI) - k * LN2_LO
    power = bits_float((bits + 1023) << 52)
    result = power * _expm1_reduced(r) + (power - 1.0)
    result = result if x < 709.79 else math.inf
    return result if x != 0.0 and x == x else x  # keeps the sign of zero, and NaN


@_inline
def _log_positive(x):
    """log(x) for finite x > 0, subnormals included: x = m * 2**e with m in [sqrt(1/2), sqrt(2)), and
    log(m) = log(1 + f) from s = f / (2 + f) by log(1+f) = 2 atanh(s), keeping f exact."""
    subnormal = x < SMALLEST_NORMAL
    x = x * 18014398509481984.0 if subnormal else x  # 2**54 makes a subnormal normal
    bits = float_bits(x)
    exponent = (bits >> 52) - (1023 + 54 if subnormal else 1023)
    m = bits_float((bits & MANTISSA) | ONE_BITS)
    large = m > SQRT2
    m = m * 0.5 if large else m
    e = bits_float((exponent + 1 if large else exponent) + ROUNDER_BITS) - ROUNDER  # int to float, vectorizable
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    tail = z * _atanh_series(z)
    half_square = 0.5 * f * f
    return e * LN2_HI + (f - (half_square - (s * (half_square + tail) + e * LN2_LO)))


@_inline
def log(x):
    """The natural logarithm, as np.log on float64."""
    finite = x if x < math.inf else 1.0
    result = _log_positive(finite if finite > 0.0 else 1.0)
    result = result if x < math.inf else x
    result = result if x != 0.0 else -math.inf
    return result if x >= 0.0 else math.nan


@_inline
def log1p(x):
    """log(1 + x), as np.log1p on float64: log(u) for u = 1 + x, corrected by the rounding of u."""
    u = 1.0 + x
    finite = u if u < math.inf else 2.0
    positive = finite if finite > 0.0 else 2.0
    result = _log_positive(positive) + (x - (positive - 1.0)) / positive
    result = result if u != 1.0 else x
    result = result if x < math.inf else x
    result = result if x != -1.0 else -math.inf
    return result if x >= -1.0 else math.nan


@_inline
def tanh(x):
    """The hyperbolic tangent, as np.tanh on float64: e / (e + 2) for e = expm1(2|x|), with x's sign."""
    a = min(abs(x), 22.0)  # tanh of larger magnitudes rounds to 1
    e = expm1(2.0 * a)
    magnitude = e / (e + 2.0)
    result = bits_float(float_bits(magnitude) | (float_bits(x) & SIGN))
    return result if x == x else x


@_inline
def _quarter_turns(x):
    """(r, n) with x = n * pi/2 + r, |r| <= pi/4 (up to rounding), for |x| <= TRIG_LIMIT."""
    clamped = min(max(x, -TRIG_LIMIT), TRIG_LIMIT)  # out-of-range values are recomputed by libm anyway
    n, bits = _round_to_integer(clamped * TWO_OVER_PI)
    r = ((clamped - n * PIO2_1) - n * PIO2_2) - n * PIO2_3
    return r, bits


@_inline
def _sin_reduced(r):
    """sin(r) for |r| <= pi/4."""
    z = r * r
    return r + r * z * _sin_series(z)


@_inline
def _cos_reduced(r):
    """cos(r) for |r| <= pi/4, with 1 - r**2/2 summed so that no bits are lost."""
    z = r * r
    half = 0.5 * z
    w = 1.0 - half
    return w + (((1.0 - w) - half) + z * z * _cos_series(z))


@_inline
def trig_in_range(x):
    """Do `sin` and `cos` give the right value for x? (False beyond TRIG_LIMIT, and for inf and NaN.)"""
    return abs(x) <= TRIG_LIMIT


@_inline
def _turned_sine(r, quarters):
    """sin(r + quarters * pi/2) from the sine and cosine of r, by quarters mod 4: the odd ones swap to
    the cosine, the third and fourth change the sign (selects and a sign-bit flip, so it vectorizes)."""
    value = _cos_reduced(r) if quarters & 1 else _sin_reduced(r)
    return bits_float(float_bits(value) ^ ((quarters & 2) << 62))


@_inline
def sin(x):
    """The sine, as np.sin on float64 where trig_in_range(x)."""
    r, quarters = _quarter_turns(x)
    value = _turned_sine(r, quarters)
    return value if x != 0.0 else x  # sin(-0.0) is -0.0


@_inline
def cos(x):
    """The cosine, as np.cos on float64 where trig_in_range(x): cos(x) = sin(x + pi/2)."""
    r, quarters = _quarter_turns(x)
    return _turned_sine(r, quarters + 1)


@_inline
def logaddexp(a, b):
    """log(exp(a) + exp(b)), as np.logaddexp on float64: the larger plus log1p(exp(-|a - b|)); equal
    arguments (infinities included) give a + log(2)."""
    larger = a if a > b else b
    result = larger + log1p(exp(-abs(a - b)))  # NaN when either is NaN
    return result if a != b else a + LN2


@_inline
def softplus(x):
    """log(1 + exp(x)), as symgraph's softplus (np.logaddexp(0, x)) on float64."""
    return logaddexp(0.0, x)
