"""The SymPy bridge: element-wise graphs to SymPy expressions and back, and LaTeX through SymPy.

`to_sympy` uses each element-wise row's `.sympy` function from the op table (`SCALAR_OPS`), so the
bridge and the derivative oracle of the tests share one definition. `from_sympy` maps SymPy's heads back:
Add, Mul and Pow to arithmetic, and every SymPy function class that a table row uses (exp, sin, Max, Eq,
...) to that row's public function. Both walk their expression with an explicit stack.

Example:
    >>> import symgraph as sg
    >>> x = sg.scalar("x")
    >>> to_sympy(sg.exp(x) * 2)
    2*exp(x)
"""
import numpy as np
import sympy

from ..graph.basic import Constant, Variable, constant
from ..ops import elemwise
from ..ops.elemwise import SCALAR_OPS, Elemwise
from ..ops.fused import Fused
from .common import leaf_names, view_of


def to_sympy(obj, return_symbols=False):
    """The SymPy expression of an element-wise graph (a list of them for a list or a compiled function).

    Each input becomes a `sympy.Symbol` named after the variable (real for float dtypes, integer for
    integer dtypes); unnamed inputs get stable generated names (`v0`, `v1`, ...) and repeated names a
    suffix (`x_1`). Constants become numbers: integer-valued floats become SymPy integers, so `x ** 2`
    prints as `x**2`. Fused kernels (of a compiled function or `optimize`) are expanded into their
    element-wise steps. Bool values are SymPy truth values, as NumPy treats them: a number taken as a
    condition is `Ne(x, 0)`, a truth value taken as a number is 1 or 0, and `&`, `|`, `^`, `~` of bools are
    And, Or, Xor, Not. A node that is not element-wise, or an element-wise operation without a SymPy
    form (isnan, isinf, isfinite, bitwise operations on integers), raises TypeError naming its op. With
    `return_symbols=True`, returns `(expression, {symbol: variable})`, ready for `from_sympy`.

    Example:
        >>> import symgraph as sg
        >>> x, y = sg.scalar("x"), sg.scalar("y")
        >>> to_sympy(sg.sin(x) ** 2 + y / 2)
        y/2 + sin(x)**2
    """
    view = view_of(obj, "to_sympy")
    names = leaf_names(view.leaves)
    symbols = {}
    values = {}
    for leaf in view.leaves:
        if isinstance(leaf, Constant):
            values[id(leaf)] = _constant_to_sympy(leaf)
        else:
            symbol = _symbol_for(names[id(leaf)], leaf.dtype)
            symbols[symbol] = leaf
            values[id(leaf)] = symbol
    for node in view.nodes:
        values[id(node.outputs[0])] = _node_to_sympy(node, [values[id(v)] for v in node.inputs])
    expressions = [values[id(v)] for v in view.outputs]
    result = expressions[0] if view.single else expressions
    return (result, symbols) if return_symbols else result


def _symbol_for(name, dtype):
    if dtype.kind == "f":
        return sympy.Symbol(name, real=True)
    if dtype.kind in "iu":
        return sympy.Symbol(name, integer=True)
    return sympy.Symbol(name)


def _constant_to_sympy(var):
    if var.data.size != 1:
        raise TypeError(f"to_sympy: the constant of type {var.type} is not a scalar; only scalar constants "
                        "have a SymPy counterpart")
    value = var.data.reshape(())[()]
    if isinstance(value, np.bool_):
        return sympy.true if value else sympy.false
    if isinstance(value, np.integer):
        return sympy.Integer(int(value))
    if isinstance(value, np.complexfloating):
        return _real_to_sympy(value.real) + sympy.I * _real_to_sympy(value.imag)
    return _real_to_sympy(value)


def _real_to_sympy(value):
    if np.isfinite(value) and float(value).is_integer():
        return sympy.Integer(int(value))
    if np.isnan(value):
        return sympy.nan
    if np.isinf(value):
        return sympy.oo if value > 0 else -sympy.oo
    return sympy.Float(str(value))


def _node_to_sympy(node, arguments):
    op = node.op
    if isinstance(op, Elemwise):
        return _row_to_sympy(op.scalar, arguments, [v.dtype for v in node.inputs], node.outputs[0].dtype)
    if isinstance(op, Fused):
        return _kernel_to_sympy(op, arguments, [v.type for v in node.inputs])
    raise TypeError(f"to_sympy: operation '{op.name}' ({op}) is not element-wise; only graphs of "
                    "element-wise operations have a SymPy expression")


def _kernel_to_sympy(kernel, arguments, input_types):
    """A fused kernel's expression: its steps converted one by one, as the nodes it replaced would be."""
    dtypes = [t.dtype for t in kernel.value_types(*input_types)]
    values = list(arguments)
    for index, (row, refs) in enumerate(kernel.steps):
        values.append(_row_to_sympy(row, [values[r] for r in refs], [dtypes[r] for r in refs],
                                    dtypes[kernel.nin + index]))
    return values[-1]


def _row_to_sympy(row, arguments, input_dtypes, output_dtype):
    """The SymPy form of the table row `row` applied to `arguments`, the expressions of operands of
    `input_dtypes`: bool operands are SymPy truth values, every other one a number."""
    if row.name in _LOGICAL_ON_BOOLS and all(d.kind == "b" for d in input_dtypes):
        row = SCALAR_OPS[_LOGICAL_ON_BOOLS[row.name]]
    if row.sympy is None:
        reason = _NO_COUNTERPART.get(row.name)
        raise TypeError(f"to_sympy: the element-wise operation '{row.name}' has no SymPy counterpart"
                        + (f" ({reason})" if reason else ""))
    converted = []
    for position, (argument, dtype) in enumerate(zip(arguments, input_dtypes)):
        takes_truth = row.name in _TRUTH_OPERATIONS or (row.name == "where" and position == 0)
        if takes_truth and dtype.kind != "b":
            argument = sympy.Ne(argument, 0)  # NumPy's truth value of a number: non-zero
        elif not takes_truth and dtype.kind == "b":
            argument = _as_number(argument)
        converted.append(argument)
    result = row.sympy(*converted)
    if output_dtype.kind == "b" and not _is_truth_value(result):
        # arithmetic on bools (`a + b`, `maximum`, `where` of bools) is True where its value is non-zero
        return sympy.Ne(result, 0)
    return result


_TRUTH_OPERATIONS = frozenset({"logical_and", "logical_or", "logical_xor", "logical_not"})
"""Operations that take their operands as truth values; every other one (but `where`'s condition) takes
numbers, bools as 0 and 1."""

_LOGICAL_ON_BOOLS = {"bitwise_and": "logical_and", "bitwise_or": "logical_or", "bitwise_xor": "logical_xor",
                     "invert": "logical_not"}
"""Bitwise operations, which on bool operands are the logical ones (`(x > 0) & (y > 0)`)."""

_NOT_REAL = "SymPy's real numbers are never NaN or infinite"
_NOT_BITWISE = "SymPy has no bitwise operations on integers; on bools it is the logical operation"
_NO_COUNTERPART = {"isnan": _NOT_REAL, "isinf": _NOT_REAL, "isfinite": _NOT_REAL, "bitwise_and": _NOT_BITWISE,
                   "bitwise_or": _NOT_BITWISE, "bitwise_xor": _NOT_BITWISE, "invert": _NOT_BITWISE}
"""Why a table row has no SymPy form, for the error."""


def _is_truth_value(expr):
    """Is `expr` a SymPy truth value? Relations and logical functions are; numbers are not; a symbol here
    is the symbol of a bool input, as a number operand would have been a number expression."""
    return not isinstance(expr, sympy.Expr) or expr.is_Symbol


def _as_number(truth):
    """A truth value used as a number: 1 where it holds and 0 elsewhere."""
    return sympy.Piecewise((1, truth), (0, True))


def _heads_from_table():
    """{SymPy function class: public symgraph function}, for every table row whose SymPy form is a class."""
    heads = {}
    for name, row in SCALAR_OPS.items():
        if isinstance(row.sympy, type):
            heads.setdefault(row.sympy, getattr(elemwise, name))
    heads[sympy.Mod] = elemwise.mod
    heads[sympy.sinc] = elemwise.sinc  # its operand is divided by pi first (`_operands`): the row is sinc(pi x)
    heads[sympy.polygamma] = _polygamma
    return heads


def _polygamma(n, x):
    """digamma for n = 0 (SymPy writes digamma as polygamma(0, x)), else the n-th derivative's row."""
    if n == 0:
        return elemwise.digamma(x)
    return elemwise.Elemwise(elemwise.polygamma_row(int(n)))(x)


_HEADS = _heads_from_table()
_VARIADIC = (sympy.Max, sympy.Min, sympy.And, sympy.Or, sympy.Xor)


def from_sympy(expr, symbols):
    """Build the symgraph graph of a SymPy expression; `symbols` maps each Symbol (or its name) to a Variable.

    Sums, products, quotients and powers become `add`/`subtract`/`multiply`/`true_divide`/`power` (`sqrt`
    for a power of 1/2), SymPy functions the element-wise table knows (exp, log, sin, Abs, Max, Eq, And,
    Piecewise, ...) their symgraph counterparts, and numbers Python scalars, which adopt the dtype of the
    tensors they meet (`oo` and `nan` are floats). An unknown head or a symbol missing from `symbols` raises an error naming it.

    Example:
        >>> import sympy, symgraph as sg
        >>> x = sg.vector("x")
        >>> t = sympy.Symbol("t")
        >>> sg.pprint(from_sympy(sympy.exp(-t) / 2, {t: x}))
        'exp(-x) / 2.0'
    """
    lookup = {}
    for key, variable in dict(symbols).items():
        if not isinstance(variable, Variable):
            raise TypeError(f"from_sympy: symbols must map to symbolic variables, got {variable!r} for {key!r}")
        lookup[key if isinstance(key, str) else str(key)] = variable
    expr = sympy.sympify(expr)
    values = {}
    stack = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in values:
            continue
        children = _operands(node)
        if expanded or not children:
            values[node] = _build(node, [values[c] for c in children], lookup)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if c not in values)
    result = values[expr]
    return result if isinstance(result, Variable) else constant(result)


def _operands(expr):
    """The sub-expressions `_build` needs for `expr`, in the order it takes them."""
    if isinstance(expr, sympy.Mul):
        numerator, denominator = _split_fraction(expr)
        return numerator + denominator
    if isinstance(expr, sympy.Add):
        return [_magnitude(term) for term in expr.args]
    if isinstance(expr, sympy.Piecewise):
        return [part for pair in expr.args for part in pair]
    if isinstance(expr, sympy.sinc):
        return [expr.args[0] / sympy.pi]
    if isinstance(expr, sympy.Symbol) or expr.is_number or expr in (sympy.true, sympy.false):
        return []
    return list(expr.args)


def _is_subtracted(term):
    """A term written with a minus sign (`-x`, `-2*x`); negative numbers stay numbers."""
    return not term.is_number and term.could_extract_minus_sign()


def _magnitude(term):
    return -term if _is_subtracted(term) else term


def _split_fraction(expr):
    """A product's factors above and below the fraction bar (as positive powers), coefficient excluded."""
    numerator, denominator = [], []
    for factor in expr.args:
        if factor.is_Number:
            continue
        if factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative:
            denominator.append(factor.base ** -factor.exp)
        else:
            numerator.append(factor)
    return numerator, denominator


def _build(expr, operands, lookup):
    if isinstance(expr, sympy.Symbol):
        variable = lookup.get(expr.name)
        if variable is None:
            raise ValueError(f"from_sympy: no variable given for the symbol {expr.name!r}; "
                             f"pass it in the symbols mapping (known: {sorted(lookup)})")
        return variable
    if expr in (sympy.true, sympy.false):
        return bool(expr)
    if expr.is_number:
        return _python_number(expr)
    if isinstance(expr, sympy.Add):
        return _build_sum(expr, operands)
    if isinstance(expr, sympy.Mul):
        return _build_product(expr, operands)
    if isinstance(expr, sympy.Pow):
        return _build_power(expr, *operands)
    if isinstance(expr, sympy.Piecewise):
        return _build_piecewise(expr, operands)
    function = _HEADS.get(type(expr))
    if function is None:
        raise TypeError(f"from_sympy: no symgraph operation for the SymPy head {type(expr).__name__} "
                        f"(in {expr})")
    if type(expr) in _VARIADIC:
        return _fold(function, operands)
    return function(*operands)


def _python_number(expr):
    """A Python int, float or complex for a SymPy number or constant expression (`log(2)`, `pi/2`, `I`).

    `oo` and `-oo` are float infinities and `nan` a float NaN, as in NumPy; `zoo` (SymPy's unsigned
    infinity, as in `1/0`) is NumPy's complex `1/0j`, `inf + nan j`.
    """
    if expr.is_Integer:
        return int(expr)
    if expr is sympy.nan:
        return float("nan")
    if expr is sympy.zoo:
        return complex(float("inf"), float("nan"))
    if expr.is_extended_real:  # `is_real` is False for the infinities
        return float(expr)
    return complex(expr)


def _build_sum(expr, operands):
    negated = [_is_subtracted(term) for term in expr.args]
    # A positive term first if there is one, and numbers after symbols: `x + 1`, `1 - x`.
    order = sorted(range(len(operands)), key=lambda i: (negated[i], expr.args[i].is_number))
    result = None
    for i in order:
        term = operands[i]
        if result is None:
            result = elemwise.negative(term) if negated[i] else term
        else:
            result = elemwise.subtract(result, term) if negated[i] else elemwise.add(result, term)
    return result


def _build_product(expr, operands):
    coefficient, _ = expr.as_coeff_Mul()
    numerator_count = len(_split_fraction(expr)[0])
    numerator, denominator = operands[:numerator_count], operands[numerator_count:]
    negate = coefficient.is_negative
    magnitude = -coefficient if negate else coefficient
    if magnitude.is_Rational:
        top, bottom = int(magnitude.p), int(magnitude.q)
    else:
        top, bottom = _python_number(magnitude), 1
    if top != 1:
        numerator = [top] + numerator
    if bottom != 1:
        denominator = [bottom] + denominator
    result = _fold(elemwise.multiply, numerator) if numerator else 1
    if denominator:
        result = elemwise.true_divide(result, _fold(elemwise.multiply, denominator))
    return elemwise.negative(result) if negate else result


def _fold(function, operands):
    result = operands[0]
    for operand in operands[1:]:
        result = function(result, operand)
    return result


def _build_power(expr, base, exponent):
    if expr.exp == sympy.Rational(1, 2):
        return elemwise.sqrt(base)
    if expr.exp.is_Number and expr.exp.is_negative:
        magnitude = -expr.exp
        return elemwise.true_divide(1, base if magnitude == 1 else elemwise.power(base, _python_number(magnitude)))
    return elemwise.power(base, exponent)


def _build_piecewise(expr, operands):
    pairs = list(zip(operands[0::2], operands[1::2]))
    if expr.args[-1].cond is not sympy.true:
        raise TypeError(f"from_sympy: the Piecewise {expr} has no otherwise-branch (condition True), so it is "
                        "undefined somewhere")
    if len(pairs) == 2 and pairs[0][0] == 1 and pairs[1][0] == 0 and isinstance(pairs[0][1], Variable):
        # A truth value used as a number: NumPy promotes bool like a weak 0/1, so `c * x` keeps x's dtype.
        return pairs[0][1]
    result = pairs[-1][0]
    for value, condition in reversed(pairs[:-1]):
        result = elemwise.where(condition, value, result)
    return result


def latex(obj):
    """LaTeX of an element-wise graph, through `sympy.latex(to_sympy(obj))`.

    Example:
        >>> import symgraph as sg
        >>> latex(sg.sqrt(sg.scalar("x")) / 2)
        '\\\\frac{\\\\sqrt{x}}{2}'
    """
    expression = to_sympy(obj)
    if isinstance(expression, list):
        return [sympy.latex(e) for e in expression]
    return sympy.latex(expression)
