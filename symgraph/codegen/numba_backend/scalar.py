"""The scalar body of a Numba kernel: one expression per element-wise row, and the allow-list of rows (with
their operand dtypes) whose NumPy semantics a Numba scalar reproduces.

Each step computes in the dtype NumPy's ufunc loop uses (the step's result dtype, or for comparisons the
operands' common dtype), with every operand converted to it first and the result converted to the step's
dtype, so integer wrap-around, int-to-float promotion and float32 rounding are NumPy's. Rows are allowed
only where Numba's scalar gives NumPy's value exactly, or to the last unit in the last place for float64
transcendental functions (both call a C math library), or to 2.5 units for the ones vector_math.py
computes so that loops vectorize (exp, expm1, log, log1p, tanh, sin, cos, softplus, logaddexp, and
sigmoid through exp):

- arithmetic (+, -, *, negative, square) on signed integers and floats; true division, sqrt, abs, floor,
  ceil and reciprocal on floats (correctly rounded, so float32 agrees bit for bit);
- exp, log, trigonometric and hyperbolic functions, power, arctan2, hypot, sigmoid, softplus and
  logaddexp on float64 only (NumPy's float32 versions are its own SIMD approximations);
- maximum, minimum and relu propagating NaN as NumPy does; comparisons on numbers; where on a bool
  condition; isnan, isinf, isfinite; logical and/or/not on bools; casts that are exact in C (to float, to
  bool, between signed integers).

Everything else keeps the NumPy lowering for its kernel: integer division, mod and power (their signs and
zero divisors), float mod and fmod, round (half to even), clip (NaN bounds), casts from float to integer
(NaN and overflow are undefined in C), unsigned integers (Numba mixes them into float64), erf, gamma
functions, sinc and bool arithmetic.

Example:
    >>> import numpy as np
    >>> from symgraph.ops.elemwise import scalar_op
    >>> f64 = np.dtype("float64")
    >>> step_expression(scalar_op("add"), ["x0", "x1"], [f64, np.dtype("int32")], f64)
    'np.float64(x0 + np.float64(x1))'
    >>> step_expression(scalar_op("mod"), ["x0", "x1"], [f64, f64], f64) is None
    True
"""
import numpy as np

_ARITHMETIC = {"add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}", "negative": "-{0}",
               "square": "{0} * {0}",
               "maximum": "({0} if {0} > {1} or {0} != {0} else {1})",
               "minimum": "({0} if {0} < {1} or {0} != {0} else {1})"}
"""Rows exact on signed integers and floats, computed in the result dtype."""

_FLOAT = {"true_divide": "{0} / {1}", "sqrt": "np.sqrt({0})", "abs": "abs({0})", "floor": "np.floor({0})",
          "ceil": "np.ceil({0})", "reciprocal": "{one} / {0}"}
"""Correctly rounded float rows (any float dtype)."""

_LIBM = {name: f"np.{name}({{0}})" for name in
         ["exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "tanh", "sinh", "cosh",
          "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "exp2"]}
_LIBM.update({"power": "{0} ** {1}", "arctan2": "np.arctan2({0}, {1})", "hypot": "np.hypot({0}, {1})",
              # NumPy's sigmoid (ops/elemwise.py): split by sign so exp never overflows
              "sigmoid": "(1.0 / (1.0 + np.exp(-abs({0}))) if {0} >= 0 else "
                         "np.exp(-abs({0})) / (1.0 + np.exp(-abs({0}))))"})
"""Float64 rows as calls of the C math library, within an ulp of NumPy's: the exact forms of the rows."""

_VECTOR = {name: f"vm.{name}({{0}})" for name in ["exp", "expm1", "log", "log1p", "tanh", "sin", "cos"]}
_VECTOR.update({"sigmoid": _LIBM["sigmoid"].replace("np.exp", "vm.exp"), "softplus": "vm.softplus({0})",
                "logaddexp": "vm.logaddexp({0}, {1})"})
"""Float64 rows computed by vector_math.py, which LLVM vectorizes (within 2.5 ulp of NumPy's)."""

_GUARDS = {"sin": "vm.trig_in_range({0})", "cos": "vm.trig_in_range({0})"}
"""Rows whose vector form holds only where the guard is true: elsewhere the kernel uses the exact form."""

NANOSECONDS = {"exp": 1.2, "expm1": 1.3, "log": 1.3, "log1p": 1.5, "tanh": 1.5, "sin": 0.9, "cos": 0.9,
               "sigmoid": 2.0, "softplus": 3.0, "logaddexp": 3.0, "log2": 2.6, "log10": 5.4, "sinh": 10.1, "cosh": 4.8, "tan": 12.9, "arctan": 11.1,
               "arcsinh": 15.8, "exp2": 1.7, "arcsin": 8.3, "arccos": 8.5, "arccosh": 11.4, "arctanh": 15.6,
               "power": 20.0, "arctan2": 20.0, "hypot": 5.0}
"""Single-thread time per float64 element of each transcendental row in a Numba loop (measured on 1e5
elements; vector_math.py's rows against 5-18 ns for their libm calls); the other allowed rows take about
0.1 ns."""
DEFAULT_NANOSECONDS = 0.1


def step_nanoseconds(row):
    """Estimated time per element of `row` in a Numba loop.

    Example:
        >>> from symgraph.ops.elemwise import scalar_op
        >>> step_nanoseconds(scalar_op("exp")), step_nanoseconds(scalar_op("add"))
        (1.2, 0.1)
    """
    return NANOSECONDS.get(row.name, DEFAULT_NANOSECONDS)


_COMPARISONS = {"eq": "{0} == {1}", "neq": "{0} != {1}", "lt": "{0} < {1}", "le": "{0} <= {1}", "gt": "{0} > {1}",
                "ge": "{0} >= {1}"}
_FLOAT_TESTS = {"isnan": "np.isnan({0})", "isinf": "np.isinf({0})", "isfinite": "np.isfinite({0})"}
_LOGICAL = {"logical_and": "({0} and {1})", "logical_or": "({0} or {1})", "logical_not": "(not {0})"}


def _signed_or_float(dtype):
    return dtype.kind in "if"


def _numeric(dtype):
    """Signed integers, floats and bools: what Numba converts exactly as C does (no unsigned mixing; no
    float16, which Numba's scalars do not have)."""
    return dtype.kind in "ifb" and dtype != np.float16


def _convert(expression, source, target):
    """`expression` (of dtype `source`) in dtype `target`."""
    if source == target:
        return expression
    if target.kind == "b":
        return f"({expression} != 0)"
    return f"np.{target.name}({expression})"


def _template(row, dtypes, out, exact):
    """(scalar template, the dtype its operands are computed in), or None when the row is not allowed;
    `exact` takes libm's form of a vectorized row."""
    name = row.name
    if not all(_numeric(d) for d in dtypes) or not _numeric(out):
        return None
    if name in _ARITHMETIC and _signed_or_float(out):
        return _ARITHMETIC[name], out
    if name == "relu" and _signed_or_float(out):
        return _ARITHMETIC["maximum"].format("{0}", "0"), out
    if name in _FLOAT and out.kind == "f":
        return _FLOAT[name], out
    if name in _VECTOR and out == np.float64 and not (exact and name in _LIBM):  # softplus has no libm form
        return _VECTOR[name], out
    if name in _LIBM and out == np.float64:
        return _LIBM[name], out
    if name in _COMPARISONS and all(d.kind in "if" for d in dtypes):
        return _COMPARISONS[name], np.result_type(*dtypes)
    if name in _FLOAT_TESTS and dtypes[0].kind == "f":
        return _FLOAT_TESTS[name], dtypes[0]
    if name in _LOGICAL and all(d.kind == "b" for d in dtypes):
        return _LOGICAL[name], dtypes[0]
    if name == "where" and dtypes[0].kind == "b" and out.kind in "ifb":
        return "({1} if {0} else {2})", None
    if name == "cast" and (out.kind in "fb" or (out.kind == "i" and dtypes[0].kind in "ib")):
        return "{0}", out
    return None


def step_expression(row, operands, dtypes, out, exact=False):
    """The Numba scalar expression of element-wise `row` on the scalar expressions `operands` (of `dtypes`),
    giving a value of dtype `out`; None when the row is not on the allow-list for these dtypes. `exact`
    takes libm's form of a row vector_math.py computes (for where its guard fails)."""
    found = _template(row, dtypes, out, exact)
    if found is None:
        return None
    template, compute = found
    if compute is None:  # where: the condition stays bool, the branches take the result dtype
        converted = [operands[0]] + [_convert(o, d, out) for o, d in zip(operands[1:], dtypes[1:])]
    else:
        converted = [_convert(o, d, compute) for o, d in zip(operands, dtypes)]
    expression = template.format(*converted, one=f"np.{out.name}(1)")
    if out.kind == "b":  # comparisons, tests and logical rows give a bool; a cast converted its operand
        return expression
    return f"np.{out.name}({expression})"


def step_guard(row, operands, dtypes, out):
    """The condition (on the operand expressions) under which the vector form of `row` is right, or None
    when it always is.

    Example:
        >>> from symgraph.ops.elemwise import scalar_op
        >>> f64 = np.dtype("float64")
        >>> step_guard(scalar_op("sin"), ["x0"], [f64], f64), step_guard(scalar_op("exp"), ["x0"], [f64], f64)
        ('vm.trig_in_range(x0)', None)
    """
    if row.name not in _GUARDS or out != np.float64:
        return None
    return _GUARDS[row.name].format(*operands)
