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
from .common import leaf_names, view_of


def to_sympy(obj, return_symbols=False):
    """The SymPy expression of an element-wise graph (a list of them for a list or a compiled function).

    Each input becomes a `sympy.Symbol` named after the variable (real for float dtypes, integer for
    integer dtypes); unnamed inputs get stable generated names (`v0`, `v1`, ...) and repeated names a
    suffix (`x_1`). Constants become numbers: integer-valued floats become SymPy integers, so `x ** 2`
    prints as `x**2`. A node that is not element-wise raises TypeError naming its op. With
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
    if not isinstance(op, Elemwise):
        raise TypeError(f"to_sympy: operation '{op.name}' ({op}) is not element-wise; only graphs of "
                        "element-wise operations have a SymPy expression")
    if op.scalar.sympy is None:
        raise TypeError(f"to_sympy: the element-wise operation '{op.name}' has no SymPy counterpart")
    takes_truth = op.name in _TRUTH_OPERATIONS or (op.name == "cast" and node.outputs[0].dtype.kind == "b")
    arguments = [argument if takes_truth or (op.name == "where" and position == 0) or var.dtype.kind != "b"
                 else _as_number(argument)
                 for position, (argument, var) in enumerate(zip(arguments, node.inputs))]
    return op.scalar.sympy(*arguments)


_TRUTH_OPERATIONS = frozenset({"logical_and", "logical_or", "logical_xor", "logical_not"})
"""Operations that take bool operands as truth values; every other one takes them as the numbers 0 and 1."""


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
    tensors they meet. An unknown head or a symbol missing from `symbols` raises an error naming it.

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
    """A Python int, float or complex for a SymPy number or constant expression (`log(2)`, `pi/2`, `I`)."""
    if expr.is_Integer:
        return int(expr)
    if expr is sympy.nan:
        return float("nan")
    if expr.is_real:
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
