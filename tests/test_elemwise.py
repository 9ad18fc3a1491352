"""Element-wise operations against NumPy: values, result dtypes, broadcasting, weak Python scalars,
the Variable operators, static shape inference and the errors users see."""
import inspect
import itertools
import math
import pickle
import re

import numpy as np
import pytest
import scipy.special

import symgraph as sg
from symgraph.ops.elemwise import SCALAR_OPS

DTYPES = ("float32", "float64", "int32", "int64", "bool")

API_ELEMENTWISE_NAMES = (
    "add subtract multiply true_divide divide floor_divide mod power negative abs sign exp exp2 log log2 "
    "log10 log1p expm1 sqrt square reciprocal sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh "
    "arcsinh arccosh arctanh floor ceil round erf erfc maximum minimum where clip isnan isinf logical_and "
    "logical_or logical_not eq neq lt le gt ge sigmoid softplus relu equal not_equal cast"
).split()

ALIASES = {"divide": "true_divide", "equal": "eq", "not_equal": "neq"}


def _sigmoid(x):
    x = np.asarray(x)
    if x.dtype.kind not in "fc":  # computed in the float type exp gives, as exp and tanh are
        x = x.astype(np.exp(np.zeros(1, x.dtype)).dtype)
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    # log1p(exp(x)) without overflow for large x
    return np.logaddexp(0, x)


def _relu(x):
    return np.maximum(x, 0)


REFERENCE = {
    "eq": np.equal,
    "neq": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "erf": scipy.special.erf,
    "erfc": scipy.special.erfc,
    "gammaln": scipy.special.gammaln,
    "digamma": scipy.special.digamma,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "relu": _relu,
}
"""Row name -> the NumPy/SciPy function it must agree with, where it is not `np.<name>`."""

FLOAT_FUNCTION_DTYPE = {"erf", "erfc", "gammaln", "digamma"}
"""Rows whose dtype follows NumPy's float functions (`np.sin`) rather than SciPy's loops, so that the
result does not depend on SciPy being installed (SciPy gives float64 for bool and int8)."""

DOMAINS = {
    "log": ((0.2, 4),),
    "log2": ((0.2, 4),),
    "log10": ((0.2, 4),),
    "log1p": ((-0.5, 3),),
    "sqrt": ((0.1, 4),),
    "reciprocal": ((0.5, 3),),
    "arcsin": ((-0.9, 0.9),),
    "arccos": ((-0.9, 0.9),),
    "arctanh": ((-0.9, 0.9),),
    "arccosh": ((1.1, 4),),
    "true_divide": ((-3, 3), (0.5, 3)),
    "floor_divide": ((-3, 3), (0.5, 3)),
    "mod": ((-3, 3), (0.5, 3)),
    "fmod": ((-3, 3), (0.5, 3)),
    "power": ((0.5, 2), (0, 3)),
}
"""Row name -> (low, high) per operand: where the function is defined (integers: the ints inside)."""

DEFAULT_DOMAIN = (-3, 3)

BINARY_SHAPES = [
    ((3, 1), (1, 4)),
    ((4,), (2, 3, 4)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((0, 3), (1, 3)),
    ((1,), (0,)),
    ((1, 1), (1,)),
]
UNARY_SHAPES = [(), (0,), (1,), (2, 3), (0, 2, 1)]
TERNARY_SHAPES = [((3, 1), (1, 4), ()), ((4,), (2, 3, 4), (3, 1)), ((0, 1), (1, 3), (1,))]
SHAPES_BY_ARITY = {1: [(s,) for s in UNARY_SHAPES], 2: BINARY_SHAPES, 3: TERNARY_SHAPES}


def reference(name):
    return REFERENCE.get(name) or getattr(np, name)


def domain(name, position):
    return DOMAINS.get(name, ())[position] if position < len(DOMAINS.get(name, ())) else DEFAULT_DOMAIN


def sample(rng, dtype, shape, bounds):
    """Random values of `dtype` inside `bounds`; integers are drawn from the ints inside them."""
    low, high = bounds
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind == "i":
        return rng.integers(math.ceil(low), math.floor(high) + 1, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def expected_result(name, *values):
    """NumPy's answer for row `name` on `values` (the exception NumPy raises, if it refuses)."""
    try:
        with np.errstate(all="ignore"):
            result = np.asarray(reference(name)(*values))
    except TypeError as exc:
        return exc
    if name in FLOAT_FUNCTION_DTYPE:
        result = result.astype(np.sin(np.asarray(values[0])).dtype)
    return result


def assert_same_values(actual, expected):
    assert actual.shape == expected.shape
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected)
    else:
        tolerance = {2: 2e-3, 4: 2e-5}.get(expected.dtype.itemsize, 1e-12)
        np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance, equal_nan=True)


def run(inputs, output, *values):
    with np.errstate(all="ignore"):
        return sg.function(inputs, output)(*values)


def check_against_numpy(name, operands, values):
    """Build `name` on symbolic `operands`, compile, run on `values` and compare with NumPy."""
    expected = expected_result(name, *values)
    if isinstance(expected, TypeError):
        with pytest.raises(TypeError, match=re.escape(name)):
            getattr(sg, name)(*operands)
        return
    output = getattr(sg, name)(*operands)
    assert output.dtype == expected.dtype, "build-time dtype"
    result = run([v for v in operands if isinstance(v, sg.Variable)], output, *values)
    assert type(result) is np.ndarray
    assert result.dtype == expected.dtype, "run-time dtype"
    assert_same_values(result, expected)


def dtype_cases():
    for name, row in SCALAR_OPS.items():
        for dtypes in itertools.product(DTYPES, repeat=row.nin):
            yield pytest.param(name, dtypes, id=f"{name}-{'-'.join(dtypes)}")


def natural_dtype(name):
    """A dtype the row is defined on, for tests about shapes rather than dtypes."""
    return "int64" if name.startswith("bitwise") or name == "invert" else "float64"


def shape_cases():
    for name, row in SCALAR_OPS.items():
        for shapes in SHAPES_BY_ARITY[row.nin]:
            yield pytest.param(name, shapes, id=f"{name}-{shapes}")


@pytest.mark.parametrize("name", API_ELEMENTWISE_NAMES)
def test_every_documented_name_is_public(name):
    assert callable(getattr(sg, name))


@pytest.mark.parametrize("alias, name", ALIASES.items())
def test_aliases_are_the_same_function(alias, name):
    assert getattr(sg, alias) is getattr(sg, name)


@pytest.mark.parametrize("name", SCALAR_OPS)
def test_every_table_row_has_a_public_function(name):
    x = sg.vector("x", natural_dtype(name))
    output = getattr(sg, name)(*[x] * SCALAR_OPS[name].nin)
    assert output.owner.op.name == name


@pytest.mark.parametrize("name, dtypes", list(dtype_cases()))
def test_matches_numpy_for_every_dtype_combination(rng, name, dtypes):
    values = [sample(rng, d, (2, 3), domain(name, i)) for i, d in enumerate(dtypes)]
    operands = [sg.matrix(f"a{i}", d) for i, d in enumerate(dtypes)]
    check_against_numpy(name, operands, values)


@pytest.mark.parametrize("static", [True, False], ids=["static", "unknown"])
@pytest.mark.parametrize("name, shapes", list(shape_cases()))
def test_broadcasting_matches_numpy(rng, name, shapes, static):
    dtype = natural_dtype(name)
    values = [sample(rng, dtype, s, domain(name, i)) for i, s in enumerate(shapes)]
    operands = [sg.tensor(f"a{i}", dtype, s if static else (None,) * len(s)) for i, s in enumerate(shapes)]
    output = getattr(sg, name)(*operands)
    broadcast = np.broadcast_shapes(*shapes)
    assert output.ndim == len(broadcast)
    if static:
        assert output.type.shape == broadcast
    check_against_numpy(name, operands, values)


def binary_scalar_cases():
    for name, row in SCALAR_OPS.items():
        if row.nin == 2:
            for dtype, scalar, side in itertools.product(DTYPES, (2, 1.5, True), ("left", "right")):
                yield pytest.param(name, dtype, scalar, side, id=f"{name}-{dtype}-{scalar!r}-{side}")


@pytest.mark.parametrize("name, dtype, scalar, side", list(binary_scalar_cases()))
def test_python_scalars_are_weak_like_numpy(rng, name, dtype, scalar, side):
    tensor_position = 1 if side == "left" else 0
    value = sample(rng, dtype, (3,), domain(name, tensor_position))
    x = sg.vector("x", dtype)
    operands = (scalar, x) if side == "left" else (x, scalar)
    values = (scalar, value) if side == "left" else (value, scalar)
    expected = expected_result(name, *values)
    if isinstance(expected, TypeError):
        with pytest.raises(TypeError, match=re.escape(name)):
            getattr(sg, name)(*operands)
        return
    output = getattr(sg, name)(*operands)
    assert output.dtype == expected.dtype
    result = run([x], output, value)
    assert result.dtype == expected.dtype
    assert_same_values(result, expected)


@pytest.mark.parametrize(
    "build, dtype, expected",
    [
        (lambda x: x + 1.5, "float32", "float32"),
        (lambda x: x + 3, "int32", "int32"),
        (lambda x: 3 * x, "int32", "int32"),
        (lambda x: x + 1.5, "int32", "float64"),
        (lambda x: x + 1, "bool", "int64"),
        (lambda x: x + sg.constant(1.5), "float32", "float64"),
        (lambda x: x + np.float64(1.5), "float32", "float64"),
        (lambda x: x + np.array(1.5), "float32", "float64"),
        (lambda x: x + sg.constant(3), "int32", "int64"),
        (lambda x: sg.where(x > 0, x, 0), "float32", "float32"),
        (lambda x: sg.clip(x, 0, 1.5), "float32", "float32"),
        (lambda x: sg.clip(x, 0, 1.5), "int32", "float64"),
    ],
)
def test_promotion_examples_from_the_api(build, dtype, expected):
    x = sg.vector("x", dtype)
    output = build(x)
    assert output.dtype == expected
    assert run([x], output, np.ones(2, dtype)).dtype == expected


@pytest.mark.parametrize("value, dtype", [(3, "int64"), (3.0, "float64"), (True, "bool"), (np.float32(1), "float32")])
def test_constant_dtype_follows_numpy(value, dtype):
    assert sg.constant(value).dtype == dtype


def test_python_int_out_of_range_for_the_tensor_dtype_is_an_overflow_error_as_in_numpy():
    with pytest.raises(OverflowError):
        np.ones(2, "int32") + 2**40
    with pytest.raises(OverflowError, match="int32"):
        sg.vector("x", "int32") + 2**40


@pytest.mark.parametrize("dtype, value", [(dtype, value) for dtype in ("int32", "int64")
                                          for value in (2**40, -(2**40), 2**63, -(2**70), -(2**63) - 1)]
                         + [("uint64", 2**64), ("uint64", -1), ("uint8", 256)])
@pytest.mark.parametrize("name", ["eq", "neq", "lt", "le", "gt", "ge"])
def test_comparison_with_an_out_of_range_python_int_is_exact_as_in_numpy(name, value, dtype):
    info = np.iinfo(dtype)
    values = np.array([info.min, 0, 7, info.max], dtype)  # the extremes: a float of value would equal them
    x = sg.vector("x", dtype)
    for operands, numpy_operands in [((x, value), (values, value)), ((value, x), (value, values))]:
        np.testing.assert_array_equal(run([x], getattr(sg, name)(*operands), values), reference(name)(*numpy_operands))


@pytest.mark.parametrize("dtype, value", [("uint8", -3), ("uint8", 1000), ("int8", 300), ("int64", 2**70)])
@pytest.mark.parametrize("name", ["true_divide", "arctan2", "logaddexp"])
def test_python_int_out_of_range_joins_the_float_type_a_function_computes_in_as_in_numpy(name, value, dtype):
    values = np.array([1, 2, 7], dtype)
    x = sg.vector("x", dtype)
    for operands, numpy_operands in [((x, value), (values, value)), ((value, x), (value, values))]:
        expected = reference(name)(*numpy_operands)
        result = run([x], getattr(sg, name)(*operands), values)
        assert result.dtype == expected.dtype
        np.testing.assert_allclose(result, expected)


@pytest.mark.parametrize("value", [-1, 300])
@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_function_of_an_out_of_range_python_int_asks_only_whether_it_is_zero(name, value):
    values = np.array([0, 7], "uint8")
    x = sg.vector("x", "uint8")
    np.testing.assert_array_equal(run([x], getattr(sg, name)(x, value), values), getattr(np, name)(values, value))


def test_python_int_out_of_range_of_a_function_computing_in_integers_stays_an_overflow_error():
    with pytest.raises(OverflowError, match="uint8"):
        sg.vector("x", "uint8") * -1


LEFT_ARRAY = np.array([0.5, 1.5, 2.5])

OPERATORS = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / b": lambda a, b: a / b,
    "a // b": lambda a, b: a // b,
    "a % b": lambda a, b: a % b,
    "a ** b": lambda a, b: a**b,
    "-a": lambda a, b: -a,
    "+a": lambda a, b: +a,
    "abs(a)": lambda a, b: abs(a),
    "a < b": lambda a, b: a < b,
    "a <= b": lambda a, b: a <= b,
    "a > b": lambda a, b: a > b,
    "a >= b": lambda a, b: a >= b,
    "a & b": lambda a, b: a & b,
    "a | b": lambda a, b: a | b,
    "a ^ b": lambda a, b: a ^ b,
    "~a": lambda a, b: ~a,
    "2 + a": lambda a, b: 2 + a,
    "2 - a": lambda a, b: 2 - a,
    "2 * a": lambda a, b: 2 * a,
    "1.5 / b": lambda a, b: 1.5 / b,
    "7 // b": lambda a, b: 7 // b,
    "7 % b": lambda a, b: 7 % b,
    "2 ** b": lambda a, b: 2**b,
    "1 < a": lambda a, b: 1 < a,
    "True & a": lambda a, b: True & a,
    "3 | a": lambda a, b: 3 | a,
    "1 ^ a": lambda a, b: 1 ^ a,
    "array + a": lambda a, b: LEFT_ARRAY + a,
    "array - a": lambda a, b: LEFT_ARRAY - a,
    "array * a": lambda a, b: LEFT_ARRAY * a,
    "array / b": lambda a, b: LEFT_ARRAY / b,
    "array // b": lambda a, b: LEFT_ARRAY // b,
    "array % b": lambda a, b: LEFT_ARRAY % b,
    "array ** b": lambda a, b: LEFT_ARRAY**b,
    "array < a": lambda a, b: LEFT_ARRAY < a,
}
"""The same expression runs on NumPy arrays (the reference) and on symbolic variables."""


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("expression", OPERATORS)
def test_operators_match_numpy(rng, expression, dtype):
    build = OPERATORS[expression]
    a_value = sample(rng, dtype, (2, 3), DEFAULT_DOMAIN)
    b_value = sample(rng, dtype, (2, 3), (1, 3))
    a, b = sg.matrix("a", dtype), sg.matrix("b", dtype)
    try:
        with np.errstate(all="ignore"):
            expected = np.asarray(build(a_value, b_value))
    except TypeError:
        with pytest.raises(TypeError):
            build(a, b)
        return
    output = build(a, b)
    assert isinstance(output, sg.Variable)
    assert output.dtype == expected.dtype
    with np.errstate(all="ignore"):
        result = sg.function([a, b], output, on_unused_input="ignore")(a_value, b_value)
    assert result.dtype == expected.dtype
    assert_same_values(result, expected)


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda x, i: ~x, "invert"),
        (lambda x, i: x & i, "bitwise_and"),
        (lambda x, i: i | x, "bitwise_or"),
        (lambda x, i: x ^ True, "bitwise_xor"),
        (lambda x, i: sg.bitwise_and(x, x), "bitwise_and"),
    ],
)
def test_impossible_dtype_combination_is_a_type_error_naming_the_op(build, name):
    x, i = sg.vector("x", "float32"), sg.vector("i", "int64")
    with pytest.raises(TypeError, match=rf"{name}.*float32\[\?\]"):
        build(x, i)


@pytest.mark.parametrize(
    "shapes, expected",
    [
        (((None, 1), (3,)), (None, 3)),
        (((None,), (3,)), (3,)),
        (((1,), (None,)), (None,)),
        (((None,), (None,)), (None,)),
        (((None, 1), (1, None)), (None, None)),
        (((0,), (1,)), (0,)),
        (((None,), (0,)), (0,)),
        (((2, 1, 4), (3, 1)), (2, 3, 4)),
        (((), (None, 2)), (None, 2)),
    ],
)
def test_static_shape_inference(shapes, expected):
    a, b = (sg.tensor(f"s{i}", shape=s) for i, s in enumerate(shapes))
    assert (a + b).type.shape == expected
    assert sg.where(a > 0, a, b).type.shape == expected


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda a, b, c: a + b, r"add.*float64\[2\].*float64\[3\]"),
        (lambda a, b, c: sg.arctan2(b, a), r"arctan2.*float64\[3\].*float64\[2\]"),
        (lambda a, b, c: sg.where(c > 0, a, b), r"where.*float64\[2\].*float64\[3\]"),
        (lambda a, b, c: sg.clip(c, a, b), r"clip.*float64\[2\].*float64\[3\]"),
        (lambda a, b, c: c * sg.tensor("e", shape=(0,)) + a, r"add.*float64\[0\].*float64\[2\]"),
    ],
)
def test_certain_broadcast_contradiction_is_a_shape_error_at_build_time(build, message):
    a, b, c = sg.tensor("a", shape=(2,)), sg.tensor("b", shape=(3,)), sg.vector("c")
    with pytest.raises(sg.ShapeError, match=message):
        build(a, b, c)


def test_run_time_broadcast_failure_names_the_node_and_the_user_line():
    x, y = sg.vector("x"), sg.vector("y")
    line = inspect.currentframe().f_lineno + 1
    total = sg.exp(x) + y
    f = sg.function([x, y], total)
    with pytest.raises(ValueError, match=rf"add\(float64\[\?\], float64\[\?\]\).*{re.escape(__file__)}:{line}"):
        f(np.ones(2), np.ones(3))


@pytest.mark.parametrize("source, target", list(itertools.product(DTYPES, DTYPES)))
def test_cast_matches_astype(rng, source, target):
    value = sample(rng, source, (2, 3), (-3, 3))
    x = sg.matrix("x", source)
    output = sg.cast(x, target)
    assert output.dtype == target
    if source == target:
        assert output is x
        return
    result = run([x], output, value)
    assert result.dtype == target
    np.testing.assert_array_equal(result, value.astype(target))
    assert x.astype(target) is output


def test_cast_to_an_unsupported_dtype_is_a_type_error():
    with pytest.raises(TypeError, match="object"):
        sg.cast(sg.vector("x"), "object")


@pytest.mark.parametrize(
    "low, high",
    [(0.0, 1.0), (None, 1.0), (0.0, None), (np.array([0.0, 0.5, -1.0]), 1.0)],
)
def test_clip_bounds_match_numpy(rng, low, high):
    value = rng.uniform(-2, 2, (4, 3))
    x = sg.matrix("x")
    np.testing.assert_array_equal(run([x], sg.clip(x, low, high), value), np.clip(value, low, high))
    np.testing.assert_array_equal(run([x], x.clip(low, high), value), np.clip(value, low, high))


def test_stable_functions_stay_finite_for_large_inputs():
    x = sg.vector("x")
    values = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        sigmoid, softplus = sg.function([x], [sg.sigmoid(x), sg.softplus(x)])(values)
    np.testing.assert_allclose(sigmoid, scipy.special.expit(values), rtol=1e-15)
    np.testing.assert_allclose(softplus, np.logaddexp(0, values), rtol=1e-15)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "int64", "uint8"])
@pytest.mark.parametrize("decimals", [-2, -1, 0, 1, 2, 12])
def test_round_to_decimals_matches_numpy_exactly(dtype, decimals):
    values = (np.array([1.25, 2.675, 15.0, -0.5, -25.0, 127.0, 0.0]) if dtype[0] == "f"
              else np.array([15, 25, 0, 5, 127, 100])).astype(dtype)
    x = sg.vector("x", dtype)
    for compiled in (sg.function([x], sg.round(x, decimals)), sg.function([x], round(x, decimals)),
                     sg.function([x], x.round(decimals), mode="fast_compile")):
        result = compiled(values)
        expected = np.round(values, decimals)
        assert result.dtype == expected.dtype
        np.testing.assert_array_equal(result, expected)


def test_round_to_decimals_has_zero_gradient_and_pickles():
    x = sg.vector("x")
    np.testing.assert_array_equal(sg.grad(sg.round(x, 1).sum(), x).eval({x: [0.26, 1.0]}), [0.0, 0.0])
    f = pickle.loads(pickle.dumps(sg.function([x], sg.round(x * 2, 1))))
    np.testing.assert_array_equal(f(np.array([0.26, 1.0])), [0.5, 2.0])


def test_round_refuses_bool_decimals_and_non_integer_decimals():
    with pytest.raises(TypeError, match="round: cannot round a bool"):
        sg.round(sg.vector("b", "bool"), 1)
    with pytest.raises(TypeError):
        sg.round(sg.vector("x"), 1.5)


def test_clip_without_bounds_is_the_identity_and_takes_numpy_bound_names():
    x = sg.vector("x")
    values = np.array([-1.0, 0.5, 5.0])
    np.testing.assert_array_equal(sg.clip(x, None, None).eval({x: values}), np.clip(values, None, None))
    np.testing.assert_array_equal(sg.clip(x, a_min=0, a_max=2).eval({x: values}), np.clip(values, a_min=0, a_max=2))
    np.testing.assert_array_equal(x.clip(a_max=2).eval({x: values}), np.clip(values, None, 2))
    with pytest.raises(TypeError, match="not both"):
        sg.clip(x, 0, a_max=2)


def test_bool_tensor_squared_by_the_operator_is_int8_as_in_numpy():
    b = sg.vector("b", "bool")
    values = np.array([True, False])
    assert (b ** 2).dtype == (values ** 2).dtype == np.int8
    assert sg.power(b, 2).dtype == np.power(values, 2).dtype == np.int64


def test_sigmoid_of_complex_values_is_the_complex_logistic_function():
    z = sg.vector("z", dtype="complex128")
    values = np.array([1 + 1j, -2 + 0.5j, 0j])
    for mode in ("fast_run", "fast_compile"):
        f = sg.function([z], [sg.sigmoid(z), 2 * sg.sigmoid(z) + 1], mode=mode)
        plain, fused = f(values)
        np.testing.assert_allclose(plain, 1 / (1 + np.exp(-values)), rtol=1e-14)
        np.testing.assert_allclose(fused, 2 / (1 + np.exp(-values)) + 1, rtol=1e-14)
        assert plain.dtype == np.complex128


@pytest.mark.parametrize("build, message", [
    (lambda x: sg.cast(x, "nope"), "cast: 'nope' is not a NumPy dtype"),
    (lambda x: x.astype("nope"), "cast: 'nope' is not a NumPy dtype"),
    (lambda x: sg.round(x, 1.5), r"round: decimals must be an integer, got 1\.5"),
    (lambda x: x + "a", "add: cannot use 'a' as a symbolic operand"),
    (lambda x: sg.exp("a"), "exp: cannot use 'a' as a symbolic operand"),
    (lambda x: sg.where(x > 0, "a", x), "where: cannot use 'a' as a symbolic operand"),
])
def test_bad_arguments_name_the_operation(build, message):
    with pytest.raises(TypeError, match=message):
        build(sg.vector("x"))
