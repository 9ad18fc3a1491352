"""The SymPy bridge: to_sympy, from_sympy and latex."""
import numpy as np
import pytest
import sympy

import symgraph as sg
from symgraph.ops.elemwise import SCALAR_OPS, apply_elemwise

X, Y = sympy.Symbol("x", real=True), sympy.Symbol("y", real=True)

_BOOL_ROWS = {"logical_and", "logical_or", "logical_xor", "logical_not"}
_POSITIVE_DOMAIN = (0.1, 0.9)  # inside the domain of log, sqrt, arcsin, arctanh, ...
_DOMAINS = {"arccosh": (1.1, 3.0)}


def _row_inputs(name, rng, size=7):
    """Symbolic inputs and random values inside the mathematical domain of table row `name`."""
    row = SCALAR_OPS[name]
    names = ["a", "b", "c"][: row.nin]
    if name in _BOOL_ROWS:
        return [sg.vector(n, dtype="bool") for n in names], [rng.random(size) > 0.5 for _ in names]
    if name == "where":
        return ([sg.vector("c", dtype="bool"), sg.vector("a"), sg.vector("b")],
                [rng.random(size) > 0.5, rng.normal(size=size), rng.normal(size=size)])
    if name == "clip":
        return ([sg.vector("a"), sg.vector("lo"), sg.vector("hi")],
                [rng.random(size), rng.uniform(0.0, 0.3, size), rng.uniform(0.6, 0.9, size)])
    low, high = _DOMAINS.get(name, _POSITIVE_DOMAIN)
    return [sg.vector(n) for n in names], [rng.uniform(low, high, size) for _ in names]


ROWS_WITH_SYMPY = sorted(name for name, row in SCALAR_OPS.items() if row.sympy is not None)


@pytest.mark.parametrize("name", ROWS_WITH_SYMPY)
def test_every_table_row_round_trips_through_sympy(name, rng):
    inputs, values = _row_inputs(name, rng)
    original = apply_elemwise(name, *inputs)
    expression, symbols = sg.to_sympy(original, return_symbols=True)
    rebuilt = sg.from_sympy(expression, symbols)
    assert rebuilt.dtype == original.dtype
    f = sg.function(inputs, [original, rebuilt], on_unused_input="ignore")
    expected, actual = f(*values)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_compound_expression_round_trips_in_float32(rng):
    x, y = sg.vector("x", dtype="float32"), sg.vector("y", dtype="float32")
    original = (sg.sigmoid(x) * y - sg.log1p(x ** 2) / 3 + sg.where(x > y, x, sg.sqrt(sg.abs(y)))
                + sg.cast(x > 0.5, "float32") * sg.maximum(x, y) - 0.25)
    expression, symbols = sg.to_sympy(original, return_symbols=True)
    rebuilt = sg.from_sympy(expression, symbols)
    assert rebuilt.dtype == np.float32
    values = [rng.normal(size=50).astype("float32") for _ in range(2)]
    expected, actual = sg.function([x, y], [original, rebuilt])(*values)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda x, y: sg.exp(x) * 2 + x, 2 * sympy.exp(X) + X),
        (lambda x, y: sg.sin(x) ** 2 + y / 2, sympy.sin(X) ** 2 + Y / 2),
        (lambda x, y: x * 0.1, sympy.Float("0.1") * X),
        (lambda x, y: sg.sigmoid(x - y), 1 / (1 + sympy.exp(Y - X))),
        (lambda x, y: sg.where(x > y, x, y), sympy.Piecewise((X, X > Y), (Y, True))),
        (lambda x, y: sg.cast(x > 0, "float64") * y, sympy.Piecewise((1, X > 0), (0, True)) * Y),
        (lambda x, y: sg.clip(x, 0, 1), sympy.Min(sympy.Max(X, 0), 1)),
        (lambda x, y: x + sg.constant(np.inf), X + sympy.oo),
    ],
)
def test_to_sympy_builds_the_expected_expression(build, expected):
    assert sg.to_sympy(build(sg.vector("x"), sg.vector("y"))) == expected


def test_to_sympy_symbols_follow_names_and_dtypes():
    a, b, unnamed = sg.vector("x"), sg.vector("x", dtype="int64"), sg.scalar()
    expression, symbols = sg.to_sympy(a + b * unnamed, return_symbols=True)
    by_name = {s.name: s for s in symbols}
    assert sorted(by_name) == ["v0", "x", "x_1"]
    # names are given in the order the leaves are first used: b * unnamed is computed before the sum
    assert symbols[by_name["x"]] is b and symbols[by_name["x_1"]] is a and symbols[by_name["v0"]] is unnamed
    assert by_name["x"].is_integer and by_name["x_1"].is_real
    assert expression == by_name["x_1"] + by_name["x"] * by_name["v0"]


def test_to_sympy_constants_become_numbers():
    i = sg.vector("i", dtype="int64")
    assert sg.to_sympy(i * 3) == 3 * sympy.Symbol("i", integer=True)
    f32 = sg.vector("f", dtype="float32")
    assert sg.to_sympy(f32 + np.float32(0.1)) == sympy.Symbol("f", real=True) + sympy.Float("0.1")
    b = sg.vector("b", dtype="bool")
    assert sg.to_sympy(sg.logical_and(b, True)) == sympy.Symbol("b")


def test_to_sympy_accepts_lists_and_compiled_functions():
    x, y = sg.vector("x"), sg.vector("y")
    assert sg.to_sympy([sg.exp(x), x + y]) == [sympy.exp(X), X + Y]
    f = sg.function([x, y], [sg.exp(x), x * y], mode="fast_compile")
    assert sg.to_sympy(f) == [sympy.exp(X), X * Y]


def test_to_sympy_rejects_what_has_no_sympy_form():
    x = sg.vector("x")
    with pytest.raises(TypeError, match="operation 'shape'.*not element-wise"):
        sg.to_sympy(sg.exp(x.shape))
    with pytest.raises(TypeError, match="'isnan' has no SymPy counterpart .*never NaN or infinite"):
        sg.to_sympy(sg.isnan(x))
    with pytest.raises(TypeError, match="'bitwise_and' has no SymPy counterpart .*no bitwise operations on integers"):
        sg.to_sympy(sg.vector("i", dtype="int64") & 3)
    with pytest.raises(TypeError, match="operation 'fused' .*not element-wise"):
        sg.to_sympy(sg.function([x], sg.exp(x).sum()))
    with pytest.raises(TypeError, match="not a scalar"):
        sg.to_sympy(x + sg.constant([1.0, 2.0]))
    with pytest.raises(TypeError, match="to_sympy expects"):
        sg.to_sympy(X)


@pytest.mark.parametrize(
    "expression, expected",
    [
        (X + 1, "x + 1.0"),
        (1 - X, "1.0 - x"),
        (-2 * X - 3, "-3.0 - (2.0 * x)"),
        (-X, "-x"),
        (X * Y / 4, "(x * y) / 4.0"),
        (sympy.Rational(3, 4) * X, "(3.0 * x) / 4.0"),
        (X / (Y * 2), "x / (2.0 * y)"),
        (sympy.sqrt(X), "sqrt(x)"),
        (X ** -2, "1.0 / (x ** 2.0)"),
        (1 / X, "1.0 / x"),
        (X ** Y, "x ** y"),
        (sympy.exp(-X) / 2, "exp(-x) / 2.0"),
        (sympy.Max(X, Y, 0), "maximum(maximum(0.0, x), y)"),
        (sympy.atan2(Y, X), "arctan2(y, x)"),
        (sympy.Piecewise((X, X > 0), (Y, X < -1), (0, True)), "where(x > 0.0, x, where(x < -1.0, y, 0.0))"),
        (sympy.And(X > 0, Y < 1), "logical_and(x > 0.0, y < 1.0)"),
        (sympy.Mod(X, Y), "x % y"),
        (X + sympy.pi, "x + 3.141592653589793"),
    ],
)
def test_from_sympy_maps_heads_to_symgraph_functions(expression, expected):
    assert sg.pprint(sg.from_sympy(expression, {X: sg.vector("x"), Y: sg.vector("y")})) == expected


def test_from_sympy_accepts_names_and_numbers():
    x = sg.vector("x")
    t = sympy.Symbol("t")
    assert sg.pprint(sg.from_sympy(sympy.cos(t), {"t": x})) == "cos(x)"
    number = sg.from_sympy(sympy.Rational(1, 4), {})
    assert isinstance(number, sg.Constant) and float(number.data) == 0.25


def test_from_sympy_reports_unknown_heads_and_symbols():
    t, u = sympy.symbols("t u")
    with pytest.raises(TypeError, match="no symgraph operation for the SymPy head gamma"):
        sg.from_sympy(sympy.gamma(t), {t: sg.vector("x")})
    with pytest.raises(ValueError, match="no variable given for the symbol 'u'"):
        sg.from_sympy(t + u, {t: sg.vector("x")})
    with pytest.raises(TypeError, match="must map to symbolic variables"):
        sg.from_sympy(t, {t: 1.0})
    with pytest.raises(TypeError, match="no otherwise-branch"):
        sg.from_sympy(sympy.Piecewise((t, t > 0)), {t: sg.vector("x")})


def test_latex_renders_through_sympy():
    x, y = sg.vector("x"), sg.vector("y")
    assert sg.latex(sg.sqrt(x) / 2) == r"\frac{\sqrt{x}}{2}"
    assert sg.latex(sg.sigmoid(x)) == r"\frac{1}{1 + e^{- x}}"
    assert sg.latex([x ** 2, sg.exp(-y)]) == ["x^{2}", "e^{- y}"]
    assert sg.latex(sg.function([x], x ** 2, mode="fast_compile")) == ["x^{2}"]


def test_cast_of_a_plain_input_is_the_input_itself():
    x = sg.vector("x")
    assert sg.to_sympy(sg.cast(x, "float32")) == sympy.Symbol("x", real=True)
    assert "cases" not in sg.latex(x.astype("float32"))


@pytest.mark.parametrize("build", [lambda x, y: (x > 0) * y, lambda x, y: (x > 0) + 1,
                                   lambda x, y: sg.sigmoid(x) * (x > 0)])
def test_truth_values_used_as_numbers_are_one_and_zero(build):
    x, y = sg.vector("x"), sg.vector("y")
    expression, symbols = sg.to_sympy(build(x, y), return_symbols=True)
    assert expression.has(sympy.Piecewise)
    values = (np.array([1.0, -1.0]), np.array([2.0, 3.0]))
    back = sg.function([x, y], sg.from_sympy(expression, symbols), on_unused_input="ignore")
    np.testing.assert_allclose(back(*values), sg.function([x, y], build(x, y), on_unused_input="ignore")(*values))


@pytest.mark.parametrize("dtype", ["int64", "int8", "uint8", "bool", "float32"])
def test_to_sympy_of_a_cast_converts_as_astype(dtype):
    x = sg.vector("x")
    values = np.array([-2.7, -0.3, 0.0, 0.4, 3.9])
    if dtype == "uint8":
        values = np.abs(values)
    expression = sg.cast(x, dtype) * 2 + 1
    symbolic = sg.to_sympy(expression)
    [symbol] = symbolic.free_symbols
    evaluate = sympy.lambdify(symbol, symbolic)
    np.testing.assert_allclose([float(evaluate(v)) for v in values], expression.eval({x: values}), rtol=1e-6)


def _agrees_with_numpy(expression, inputs, values):
    """`to_sympy(expression)` evaluated by SymPy at each point of `values` equals the graph's value there."""
    symbolic, symbols = sg.to_sympy(expression, return_symbols=True)
    by_variable = {variable: symbol for symbol, variable in symbols.items()}
    expected = sg.function(inputs, expression, on_unused_input="ignore")(*values)
    for point, value in zip(zip(*values), np.ravel(expected)):
        substitution = {by_variable[v]: sympy.sympify(float(p)) for v, p in zip(inputs, point) if v in by_variable}
        actual = symbolic.subs(substitution)
        if value.dtype == bool:
            assert actual is sympy.sympify(bool(value)), point
        else:
            assert float(actual) == pytest.approx(value), point


def test_to_sympy_expands_the_fused_kernels_of_compiled_functions_and_optimized_graphs():
    x, y = sg.scalar("x"), sg.scalar("y")
    f = sg.function([x, y], sg.tanh(x * 2 + y))
    assert [n.op.name for n in f.graph.nodes] == ["fused"]
    assert sg.to_sympy(f) == [sympy.tanh(2 * X + Y)]
    assert sg.latex(f) == [sympy.latex(sympy.tanh(2 * X + Y))]
    assert sg.to_sympy(sg.optimize(sg.exp(x) * y + 1)) == Y * sympy.exp(X) + 1


def test_to_sympy_of_a_fused_kernel_with_truth_values_inside():
    x, y = sg.vector("x"), sg.vector("y")
    expression = sg.where((x > y) & (x > 0), x, y) * 2 + (x > 1)
    [symbolic] = sg.to_sympy(sg.function([x, y], expression))
    assert symbolic == sg.to_sympy(expression)
    _agrees_with_numpy(expression, [x, y], [np.array([0.5, 2.0, -1.0]), np.array([0.0, 3.0, -2.0])])


@pytest.mark.parametrize("build, expected", [
    (lambda a, b: a & b, sympy.And(X > 0, Y > 0)),
    (lambda a, b: a | b, sympy.Or(X > 0, Y > 0)),
    (lambda a, b: a ^ b, sympy.Xor(X > 0, Y > 0)),
    (lambda a, b: ~a, X <= 0),
    (lambda a, b: sg.where(a & b, 1.0, 2.0), sympy.Piecewise((1, sympy.And(X > 0, Y > 0)), (2, True))),
])
def test_bitwise_operators_on_bools_are_the_logical_operations(build, expected):
    x, y = sg.vector("x"), sg.vector("y")
    assert sg.to_sympy(build(x > 0, y > 0)) == expected


@pytest.mark.parametrize("build", [
    lambda x, y: sg.logical_and(x, y), lambda x, y: sg.logical_not(x), lambda x, y: sg.where(x, 1.0, 2.0),
    lambda x, y: (x > 0) + (y > 0), lambda x, y: (x > 0) * (y > 0), lambda x, y: sg.maximum(x > 0, y > 0),
])
def test_truth_values_of_numbers_and_arithmetic_on_bools_follow_numpy(build):
    x, y = sg.vector("x"), sg.vector("y")
    _agrees_with_numpy(build(x, y), [x, y], [np.array([1.5, 0.0, -2.0, 0.0]), np.array([2.0, 1.0, 0.0, 0.0])])


def test_round_has_a_sympy_form_with_halves_to_even():
    x = sg.vector("x")
    values = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6, 3.0])
    _agrees_with_numpy(sg.round(x), [x], [values])
    _agrees_with_numpy(sg.round(x, 1), [x], [np.array([1.25, -0.35, 2.5, 7.0])])
    _agrees_with_numpy(sg.round(x, -1), [x], [np.array([15.0, 25.0, -35.0, 4.0])])


def test_signbit_and_copysign_follow_the_sign_of_zero_as_plus():
    x, y = sg.vector("x"), sg.vector("y")
    values = [np.array([1.5, -2.0, 3.0, -1.0]), np.array([-1.0, 0.0, 2.0, -0.5])]
    _agrees_with_numpy(sg.copysign(x, y), [x, y], values)
    _agrees_with_numpy(sg.signbit(y), [y], values[1:])


@pytest.mark.parametrize("number, expected", [(sympy.oo, np.inf), (-sympy.oo, -np.inf), (sympy.nan, np.nan)])
def test_from_sympy_infinities_and_nan_are_floats(number, expected):
    value = sg.from_sympy(number, {})
    assert value.dtype == np.float64
    np.testing.assert_equal(value.eval(), expected)
    x = sg.vector("x")
    t = sympy.Symbol("t")
    assert sg.from_sympy(sympy.Piecewise((number, t > 0), (t, True)), {t: x}).dtype == np.float64


def test_from_sympy_round_trips_an_infinite_constant():
    x = sg.vector("x")
    original = sg.where(x > 0, x, np.inf)
    expression, symbols = sg.to_sympy(original, return_symbols=True)
    rebuilt = sg.from_sympy(expression, symbols)
    assert rebuilt.dtype == np.float64
    values = np.array([-1.0, 2.0])
    np.testing.assert_equal(rebuilt.eval({x: values}), original.eval({x: values}))


def test_from_sympy_complex_infinity_is_numpys_one_over_zero_j():
    with np.errstate(all="ignore"):
        expected = np.complex128(1) / np.complex128(0)
    value = sg.from_sympy(sympy.zoo, {}).eval()
    assert (value.real, np.isnan(value.imag)) == (expected.real, True)
