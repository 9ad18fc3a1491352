"""Every gradient rule: each differentiable operation of API.md checked by finite differences (also with
sizes known only at run time), every element-wise partial checked against SymPy, and every op class
either differentiable or listed as not."""
import importlib
import pkgutil

import numpy as np
import pytest
import sympy

import symgraph as sg
from symgraph.graph.op import Op
from symgraph.ops.elemwise import SCALAR_OPS, Elemwise, cast_row

from op_testing import gradients_with_unknown_sizes

# Points are drawn from a domain where every case is smooth: ("real", "positive", "unit", "above_one").
DOMAINS = {
    "real": lambda rng, shape: rng.standard_normal(shape),
    "positive": lambda rng, shape: rng.uniform(0.5, 2.0, shape),
    "unit": lambda rng, shape: rng.uniform(-0.8, 0.8, shape),
    "above_one": lambda rng, shape: rng.uniform(1.2, 3.0, shape),
}

MASK = np.array([True, False, True, True])
ONE_HOT = np.eye(4)[[1, 3, 0]]


def case(name, build, shapes, domain="real", label=""):
    """One verify_grad case: the API function `name`, a builder of symbolic inputs, the input shapes."""
    return pytest.param(name, build, shapes, domain, id=f"{name}-{label}" if label else name)


ELEMENTWISE_UNARY = [
    ("negative", "real"), ("abs", "real"), ("sign", "real"), ("exp", "real"), ("exp2", "real"),
    ("log", "positive"), ("log2", "positive"), ("log10", "positive"), ("log1p", "positive"),
    ("expm1", "real"), ("sqrt", "positive"), ("square", "real"), ("reciprocal", "positive"),
    ("sin", "real"), ("cos", "real"), ("tan", "unit"), ("arcsin", "unit"), ("arccos", "unit"),
    ("arctan", "real"), ("sinh", "real"), ("cosh", "real"), ("tanh", "real"), ("arcsinh", "real"),
    ("arccosh", "above_one"), ("arctanh", "unit"), ("floor", "real"), ("ceil", "real"), ("round", "real"),
    ("erf", "real"), ("erfc", "real"), ("sigmoid", "real"), ("softplus", "real"), ("relu", "real"),
    ("sinc", "real"), ("deg2rad", "real"), ("rad2deg", "real"), ("gammaln", "positive"), ("digamma", "positive"),
    ("nan_to_num", "real"),
]

ELEMENTWISE_BINARY = [
    ("add", "real"), ("subtract", "real"), ("multiply", "real"), ("true_divide", "positive"),
    ("divide", "positive"), ("floor_divide", "positive"), ("mod", "positive"), ("power", "positive"),
    ("maximum", "real"), ("minimum", "real"), ("arctan2", "real"), ("hypot", "real"), ("logaddexp", "real"),
    ("logaddexp2", "real"), ("fmod", "positive"), ("copysign", "real"), ("heaviside", "real"),
]

BROADCASTS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((), (3,)), ((2, 1, 3), (4, 1))]

CASES = (
    [case(name, getattr(sg, name), [(2, 3)], domain) for name, domain in ELEMENTWISE_UNARY]
    + [case(name, getattr(sg, name), list(shapes), domain, f"{shapes[0]}x{shapes[1]}")
       for name, domain in ELEMENTWISE_BINARY for shapes in BROADCASTS]
    + [
        case("power", lambda x: x ** 3, [(4,)], label="integer_exponent"),
        case("where", lambda x, y: sg.where(x > 0, x, y), [(3, 4), (4,)]),
        case("where", lambda c, x: sg.where(sg.cast(sg.floor(c * 3), "bool"), x, 2.0), [(3,), (2, 3)], label="scalar"),
        case("clip", lambda x: sg.clip(x * 3, -0.5, 0.5), [(3, 4)], "unit", "constant_bounds"),
        case("clip", lambda x, lo, hi: sg.clip(x * 3, lo - 1, hi + 1), [(3, 4), (4,), (3, 1)], "unit", "tensor_bounds"),
        case("cast", lambda x: sg.cast(x, "float32") * 1.5, [(3,)]),
        # Reductions.
        case("sum", lambda x: sg.sum(x), [(2, 3, 4)], label="all"),
        case("sum", lambda x: sg.sum(x, axis=(0, -1), keepdims=True), [(2, 3, 4)], label="axes_keepdims"),
        case("mean", lambda x: sg.mean(x, axis=1), [(2, 3, 4)]),
        case("prod", lambda x: sg.prod(x, axis=-1), [(3, 4)]),
        case("prod", lambda x: sg.prod(sg.concatenate([x, sg.zeros(1)]) + x[0] * 0), [(3,)], label="with_zero"),
        case("max", lambda x: sg.max(x, axis=0), [(3, 4)]),
        case("min", lambda x: sg.min(x, axis=(0, 1), keepdims=True), [(3, 4)]),
        case("var", lambda x: sg.var(x, axis=0, ddof=1), [(4, 3)]),
        case("std", lambda x: sg.std(x, axis=-1), [(3, 4)]),
        case("logsumexp", lambda x: sg.logsumexp(x, axis=1), [(3, 4)]),
        case("logsumexp", lambda x: sg.logsumexp(x * 300), [(2, 3)], label="large"),
        # Linear algebra.
        case("dot", sg.dot, [(3,), (3,)], label="vector_vector"),
        case("dot", sg.dot, [(2, 3), (3,)], label="matrix_vector"),
        case("dot", sg.dot, [(3,), (3, 2)], label="vector_matrix"),
        case("dot", sg.dot, [(2, 3, 4), (5, 4, 2)], label="nd"),
        case("dot", sg.dot, [(), (2, 3)], label="scalar"),
        case("matmul", sg.matmul, [(2, 3), (3, 4)], label="matrices"),
        case("matmul", sg.matmul, [(2, 2, 3), (1, 3, 4)], label="batched"),
        case("matmul", sg.matmul, [(3,), (2, 3, 4)], label="vector_batch"),
        case("matmul", lambda a, b: a @ b, [(2, 3, 4), (4,)], label="operator"),
        case("outer", sg.outer, [(3,), (2, 2)]),
        case("tensordot", lambda a, b: sg.tensordot(a, b, axes=1), [(2, 3), (3, 4)], label="axes1"),
        case("tensordot", lambda a, b: sg.tensordot(a, b, axes=([1, 0], [0, 2])), [(2, 3, 4), (3, 5, 2)], label="pairs"),
        case("einsum", lambda a, b: sg.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)], label="product"),
        case("einsum", lambda a: sg.einsum("ii->", a), [(3, 3)], label="trace"),
        case("einsum", lambda a: sg.einsum("ii->i", a), [(3, 3)], label="diagonal"),
        case("einsum", lambda a, b: sg.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 2)], label="batched"),
        case("einsum", lambda a, b: sg.einsum("...i,...i->...", a, b), [(2, 3), (3,)], label="ellipsis"),
        case("einsum", lambda a: sg.einsum("ij->", a), [(2, 3)], label="sum_all"),
        case("transpose", lambda x: sg.transpose(x, (2, 0, 1)), [(2, 3, 4)]),
        case("transpose", lambda x: x.T, [(2, 3)], label="T"),
        # Shape.
        case("reshape", lambda x: sg.reshape(x, (2, -1)), [(3, 4)]),
        case("reshape", lambda x: x.reshape(x.shape[1], x.shape[0]), [(3, 4)], label="symbolic"),
        case("expand_dims", lambda x: sg.expand_dims(x, (0, -1)), [(3,)]),
        case("squeeze", lambda x: sg.squeeze(x, axis=(0, 2)), [(1, 3, 1)]),
        case("broadcast_to", lambda x: sg.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
        case("concatenate", lambda a, b: sg.concatenate([a, b, a], axis=1), [(2, 3), (2, 1)]),
        case("stack", lambda a, b: sg.stack([a, b], axis=-1), [(2, 3), (2, 3)]),
        case("flatten", sg.flatten, [(2, 3)]),
        case("swapaxes", lambda x: sg.swapaxes(x, 0, 2), [(2, 3, 4)]),
        # Indexing reads and writes.
        case("getitem", lambda x: x[1], [(3, 4)], label="int"),
        case("getitem", lambda x: x[-1, 1:3], [(3, 4)], label="int_slice"),
        case("getitem", lambda x: x[::2, None], [(5, 2)], label="step_newaxis"),
        case("getitem", lambda x: x[..., 0], [(2, 3, 4)], label="ellipsis"),
        case("getitem", lambda x: x[[0, 2, 0]], [(3, 4)], label="repeated_array"),
        case("getitem", lambda x: x[:, [1, 0], 1], [(2, 3, 4)], label="mixed"),
        case("getitem", lambda x: x[MASK], [(4, 2)], label="mask"),
        case("getitem", lambda x: x[x > 0], [(3, 4)], label="symbolic_mask"),
        case("getitem", lambda x: x[sg.argmax(x)], [(5,)], label="symbolic_int"),
        case("set_subtensor", lambda x, v: sg.set_subtensor(x[1:], v), [(3, 4), (4,)]),
        case("set_subtensor", lambda x, v: sg.set_subtensor(x[[2, 0]], v), [(3, 4), (2, 1)], label="array"),
        case("inc_subtensor", lambda x, v: sg.inc_subtensor(x[:, 0], v), [(3, 4), (3,)]),
        case("inc_subtensor", lambda x, v: sg.inc_subtensor(x[[0, 0, 2]], v), [(3, 4), (4,)], label="repeated"),
        # Neural-net helpers.
        case("softmax", lambda x: sg.softmax(x), [(3, 4)]),
        case("softmax", lambda x: sg.softmax(x, axis=0), [(3, 4)], label="axis0"),
        case("log_softmax", lambda x: sg.log_softmax(x), [(3, 4)]),
        case("log_softmax", lambda x: sg.log_softmax(x * 500, axis=0), [(3, 2)], label="large"),
        case("cumsum", lambda x: sg.cumsum(x, axis=1), [(3, 4)]),
        case("cumsum", lambda x: sg.cumsum(x), [(3, 4)], label="flat"),
        case("cumprod", lambda x: sg.cumprod(x, axis=1), [(3, 4)]),
        case("cumprod", lambda x: sg.cumprod(sg.concatenate([x[:2], sg.zeros(1), x[2:]])), [(4,)], label="with_zero"),
        # Matrix helpers and the shape and creation compositions of issue 14.
        case("trace", lambda x: sg.trace(x, offset=1), [(3, 4)]),
        case("diag", lambda x: sg.diag(x, k=-1), [(3,)]),
        case("kron", sg.kron, [(2, 2), (3,)]),
        case("pad", lambda x: sg.pad(x, ((1, 2), (4, 0)), mode="reflect"), [(3, 2)]),
        case("linspace", lambda a, b: sg.linspace(a, b, 7), [(), (2,)]),
        case("categorical_crossentropy", lambda z: sg.categorical_crossentropy(sg.softmax(z), ONE_HOT), [(3, 4)]),
        case("categorical_crossentropy", lambda z: sg.categorical_crossentropy(sg.softmax(z), np.array([1, 3, 0])),
             [(3, 4)], label="labels"),
        case("binary_crossentropy", lambda z: sg.binary_crossentropy(sg.sigmoid(z), ONE_HOT), [(3, 4)]),
        case("binary_crossentropy", lambda z, t: sg.binary_crossentropy(z, t, from_logits=True), [(3, 4), (4,)],
             label="logits"),
        case("categorical_crossentropy", lambda z: sg.categorical_crossentropy(z, np.array([1, 3, 0]), from_logits=True),
             [(3, 4)], label="logits"),
        # Sorting and gathering.
        case("sort", lambda x: sg.sort(x, axis=0), [(3, 4)]),
        case("sort", lambda x: sg.sort(x, axis=None), [(3, 4)], label="flat"),
        case("partition", lambda x: sg.partition(x, 1), [(3, 4)]),
        case("take", lambda x: sg.take(x, np.array([[2, 0], [2, 2]]), axis=1), [(2, 3)]),
        case("take_along_axis", lambda x: sg.take_along_axis(x, np.array([[0, 0, 1]]), 0), [(2, 3)]),
        case("put_along_axis", lambda x, v: sg.put_along_axis(x, np.array([[1], [0]]), v, 1), [(2, 3), (2, 1)]),
        # Convolution and pooling.
        case("conv", lambda x, w: sg.conv(x, w, stride=2, padding="same"), [(2, 2, 5, 4), (3, 2, 3, 2)]),
        case("conv", lambda x, w: sg.conv(x, w, padding=1, dilation=2, groups=2), [(1, 4, 6), (2, 2, 2)], label="1d_groups"),
        case("conv2d", lambda x, w: sg.conv2d(x, w, border_mode=(1, 0), subsample=(1, 2), data_format="NHWC"), [(1, 4, 4, 2), (2, 2, 3, 3)]),
        case("max_pool", lambda x: sg.max_pool(x, 2, stride=1), [(2, 2, 3, 4)]),
        case("avg_pool", lambda x: sg.avg_pool(x, (2, 3), padding="same", count_include_pad=False), [(1, 2, 4, 5)]),
        case("one_hot", lambda x: sg.one_hot(np.array([2, 0]), 3) * x, [(2, 3)]),
        # Creation with a differentiable fill value, and constant-shaped helpers inside graphs.
        case("full", lambda v: sg.full((2, 3), v), [(3,)]),
        case("full_like", lambda x, v: sg.full_like(x, v) * x, [(2, 3), ()]),
        case("zeros_like", lambda x: sg.zeros_like(x) + x * 2, [(2, 3)]),
        case("ones_like", lambda x: sg.ones_like(x) * x, [(2, 3)]),
        case("zeros", lambda x: sg.concatenate([x, sg.zeros((2, x.shape[1]))]), [(2, 3)]),
        case("ones", lambda x: sg.ones((3, 2)) @ x, [(2, 3)]),
        case("arange", lambda x: x * sg.arange(3), [(2, 3)]),
        case("eye", lambda x: x @ sg.eye(3, k=1), [(2, 3)]),
    ]
)

NOT_DIFFERENTIABLE = {
    # Their outputs are integers or booleans: a gradient through them is zero (tested in test_grad.py).
    "argmax", "argmin", "all", "any", "isnan", "isinf", "logical_and", "logical_or", "logical_not",
    "eq", "neq", "lt", "le", "gt", "ge",
    # Its gradient is zero by definition, which finite differences cannot see (tested in test_grad.py).
    "stop_gradient",
    # Integer results (indices): no gradient (tested in test_ops_sorting.py); unique refuses to build.
    "argsort", "argpartition", "searchsorted", "unique",
}

API_OPERATIONS = """
add subtract multiply true_divide divide floor_divide mod power negative abs sign exp exp2 log log2 log10
log1p expm1 sqrt square reciprocal sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh
arctanh floor ceil round erf erfc maximum minimum where clip isnan isinf logical_and logical_or logical_not
eq neq lt le gt ge sigmoid softplus relu
sum mean prod max min argmax argmin var std logsumexp all any
dot matmul outer tensordot einsum transpose
reshape expand_dims squeeze broadcast_to concatenate stack flatten swapaxes
zeros ones full zeros_like ones_like full_like arange eye
set_subtensor inc_subtensor getitem
softmax log_softmax cumsum categorical_crossentropy
cast stop_gradient
""".split()


def _points(rng, shapes, domain):
    return [np.asarray(DOMAINS[domain](rng, shape), dtype="float64") for shape in shapes]


@pytest.mark.parametrize("name, build, shapes, domain", CASES)
def test_gradient_matches_finite_differences(name, build, shapes, domain, rng):
    sg.verify_grad(build, _points(rng, shapes, domain), rng=rng)


@pytest.mark.parametrize("name, build, shapes, domain", CASES)
def test_gradient_with_sizes_known_only_at_run_time(name, build, shapes, domain, rng):
    static, unknown = gradients_with_unknown_sizes(build, _points(rng, shapes, domain), rng)
    for a, b in zip(static, unknown):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_cases_cover_every_operation_of_the_api():
    covered = {param.values[0] for param in CASES} | NOT_DIFFERENTIABLE
    assert set(API_OPERATIONS) - covered == set()
    assert all(hasattr(sg, name) for name in API_OPERATIONS)


# ---------------------------------------------------------------- element-wise partials against SymPy

_SYMBOLS = sympy.symbols("a b c", real=True)

# Points where each row is smooth: a sampler per row, returning one value per argument.
_ROW_POINTS = {
    "true_divide": lambda rng: [rng.normal(), rng.uniform(0.5, 2)],
    "floor_divide": lambda rng: [rng.uniform(0.1, 5), rng.uniform(0.5, 2)],
    "mod": lambda rng: [rng.uniform(0.1, 5), rng.uniform(0.5, 2)],
    "fmod": lambda rng: [rng.uniform(-5, 5), rng.uniform(0.5, 2)],
    "gammaln": lambda rng: [rng.uniform(0.1, 5)],
    "digamma": lambda rng: [rng.uniform(0.1, 5)],
    "power": lambda rng: [rng.uniform(0.5, 2), rng.normal()],
    "log": lambda rng: [rng.uniform(0.5, 2)],
    "log2": lambda rng: [rng.uniform(0.5, 2)],
    "log10": lambda rng: [rng.uniform(0.5, 2)],
    "log1p": lambda rng: [rng.uniform(-0.5, 2)],
    "sqrt": lambda rng: [rng.uniform(0.5, 2)],
    "arcsin": lambda rng: [rng.uniform(-0.8, 0.8)],
    "arccos": lambda rng: [rng.uniform(-0.8, 0.8)],
    "arctanh": lambda rng: [rng.uniform(-0.8, 0.8)],
    "arccosh": lambda rng: [rng.uniform(1.2, 3)],
    "tan": lambda rng: [rng.uniform(-1, 1)],
    "where": lambda rng: [bool(rng.integers(2)), rng.normal(), rng.normal()],
    "clip": lambda rng: [rng.normal() * 2, rng.uniform(-1, -0.1), rng.uniform(0.1, 1)],
}


def _is_float_valued(row):
    dtypes = ["bool" if name == "where" and i == 0 else "float64" for i, name in enumerate([row.name] * row.nin)]
    try:
        return row.output_dtype(dtypes).kind == "f"
    except TypeError:
        return False  # integer-only rows (bitwise operations)


def _sympy_partial(row, position):
    """d row / d argument `position` by SymPy; floor and ceiling are flat wherever they are differentiable."""
    expression = row.sympy(*_SYMBOLS[: row.nin])
    expression = expression.replace(lambda e: isinstance(e, sympy.Mod), lambda e: e.args[0] - e.args[1] * sympy.floor(e.args[0] / e.args[1]))
    derivative = sympy.diff(expression, _SYMBOLS[position])
    flat = (sympy.floor, sympy.ceiling)
    return derivative.replace(lambda e: isinstance(e, sympy.Derivative) and e.expr.func in flat, lambda e: sympy.Integer(0)).doit()


def _symgraph_partial(row, position, values):
    inputs = [sg.scalar(f"a{i}", dtype="bool" if isinstance(v, bool) else "float64") for i, v in enumerate(values)]
    output = Elemwise(row)(*inputs)
    partial = Elemwise(row).partial(position, inputs, output)
    if partial is None:
        return 0.0
    if isinstance(partial, (int, float)):
        return float(partial)
    return float(sg.function(inputs, partial, on_unused_input="ignore")(*values))


FLOAT_ROWS = [name for name, row in SCALAR_OPS.items() if row.sympy is not None and _is_float_valued(row)]


@pytest.mark.parametrize("name", FLOAT_ROWS)
def test_elementwise_partials_match_sympy(name, rng):
    row = SCALAR_OPS[name]
    sample = _ROW_POINTS.get(name, lambda r: list(r.normal(size=row.nin)))
    for _ in range(3):
        values = sample(rng)
        substitution = dict(zip(_SYMBOLS, values))
        for position in range(row.nin):
            if isinstance(values[position], bool):
                continue
            expected = complex(_sympy_partial(row, position).subs(substitution).evalf())
            assert expected.imag == 0
            assert _symgraph_partial(row, position, values) == pytest.approx(expected.real, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", [name for name in SCALAR_OPS if name not in FLOAT_ROWS])
def test_rows_without_float_results_or_sympy_have_zero_partials(name):
    row = SCALAR_OPS[name]
    if row.sympy is not None:
        assert not _is_float_valued(row)  # booleans or integers carry no gradient
    inputs = [sg.scalar(f"a{i}") for i in range(row.nin)]
    assert all(partial(*inputs, inputs[0]) is None for partial in row.partials)


@pytest.mark.parametrize("dtype, expected", [("float32", 1.0), ("float64", 1.0), ("int32", None), ("bool", None)])
def test_cast_partial(dtype, expected):
    x = sg.scalar("x")
    out = Elemwise(cast_row(dtype))(x)
    partial = Elemwise(cast_row(dtype)).partial(0, [x], out)
    assert (partial is None) if expected is None else float(partial.eval()) == expected


# ---------------------------------------------------------------- every op class has a rule


def _all_op_classes():
    import symgraph

    for module in pkgutil.walk_packages(symgraph.__path__, "symgraph."):
        importlib.import_module(module.name)
    pending, found = [Op], set()
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass.__module__.startswith("symgraph") and subclass not in found:
                found.add(subclass)
                pending.append(subclass)
    return found


NON_DIFFERENTIABLE_OPS = {
    "Fused": "fusion runs after differentiation, on compiled graphs only",
    "PerSliceLoop": "the batching fallback of sg.jacobian for ops without a batching rule",
    "LazyIfElse": "the compiled form of IfElse, made after differentiation by the lazy_ifelse pass",
    "LuFactor": "built by the specialize rewrite solve_to_lu_solve, after differentiation",
    "LuSolve": "built by the specialize rewrite solve_to_lu_solve, after differentiation",
}


def test_every_op_class_has_gradient_rules_or_is_listed_as_not_differentiable():
    missing = []
    for cls in _all_op_classes():
        if cls.__name__ in NON_DIFFERENTIABLE_OPS or cls.perform is Op.perform:
            continue  # listed, or an abstract base that cannot run
        if cls.pullback is Op.pullback or cls.pushforward is Op.pushforward:
            missing.append(cls.__name__)
    assert missing == []
    assert set(NON_DIFFERENTIABLE_OPS) <= {cls.__name__ for cls in _all_op_classes()}


@pytest.mark.parametrize("bounds", [(None, 1.0), (0.0, None), (0.0, 1.0), (-np.inf, 1.0)])
def test_clip_passes_the_gradient_at_its_bounds_with_either_bound_missing(bounds):
    x = sg.vector("x")
    values = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    low = -np.inf if bounds[0] is None else bounds[0]
    high = np.inf if bounds[1] is None else bounds[1]
    got = sg.grad(sg.clip(x, *bounds).sum(), x).eval({x: values})
    np.testing.assert_array_equal(got, ((low <= values) & (values <= high)).astype(float))
    np.testing.assert_array_equal(sg.clip(x, *bounds).eval({x: values}), np.clip(values, *bounds))
