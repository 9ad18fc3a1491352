"""The reliability promises, where tests/test_graph.py, test_function.py and test_rewrite_rules.py leave off:
rewrite groups keep NaN/inf results, deep graphs scale linearly through every phase, pickles work across
processes, user strings never reach generated code unescaped, and run-time errors point at the user's line."""
import gc
import io
import os
import pickle
import re
import subprocess
import sys
import time
import tokenize

import numpy as np
import pytest

import symgraph as sg
from symgraph.codegen import linker
from fuzz.op_draws import REWRITE_PATTERNS
from symgraph.rewrite.mode import GROUPS
from symgraph.rewrite.registry import REWRITES

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -1.5, 3.0])


# ------------------------------------------------------------------ rewrite groups on NaN and infinities


def special_values():
    """x[i, j] = SPECIAL[(i + j) % 8] and y[0, j] = SPECIAL[j]: x op y meets every pair of special values."""
    size = len(SPECIAL)
    x = SPECIAL[(np.arange(size)[:, None] + np.arange(size)) % size]
    return x, SPECIAL[None, :].copy()


def every_pattern(x, y):
    """Every expression of the fuzzer's table of rewrite patterns, on x (a matrix) and y (one row)."""
    namespace = {"sg": sg, "np": np, "x": x, "y": y}
    return [eval(spelling.format("x", "y"), namespace) for spelling, _, _ in REWRITE_PATTERNS]


def assert_same_nan_and_inf(actual, expected, label):
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, label
    if expected.dtype.kind != "f":
        np.testing.assert_array_equal(actual, expected, err_msg=label)
        return
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=f"{label}: NaN positions")
    infinite = np.isinf(expected)
    np.testing.assert_array_equal(np.isinf(actual), infinite, err_msg=f"{label}: inf positions")
    np.testing.assert_array_equal(actual[infinite], expected[infinite], err_msg=f"{label}: inf signs")
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-12, atol=1e-15, err_msg=label)


SAFE_GROUPS = [g for g in GROUPS if g not in ("unsafe", "sympy")]


@pytest.mark.parametrize("group", SAFE_GROUPS)
def test_each_rewrite_group_keeps_nan_and_inf_results(group):
    x, y = sg.matrix("x"), sg.matrix("y")
    outputs = every_pattern(x, y)
    values = special_values()
    with np.errstate(all="ignore"):
        expected = sg.function([x, y], outputs, mode="fast_compile")(*values)
        only_group = sg.function([x, y], outputs, mode=sg.Mode("fast_compile", include=[group]))
        all_but_group = sg.function([x, y], outputs, mode=sg.Mode(exclude=[group]))
        results = [only_group(*values), all_but_group(*values), sg.function([x, y], outputs)(*values)]
    fired = {name for name in only_group.report.rewrites if name in REWRITES and group in REWRITES[name].groups}
    assert fired or not any(group in rewrite.groups for rewrite in REWRITES.values()), (
        f"no {group} rewrite fired on the patterns: the test would check nothing")
    for mode, result in zip(["only " + group, "all but " + group, "fast_run"], results):
        for pattern, got, want in zip(REWRITE_PATTERNS, result, expected):
            assert_same_nan_and_inf(got, want, f"{pattern[0]} with {mode}")


def test_every_safe_rewrite_fires_on_some_fuzzer_pattern():
    x, y = sg.matrix("x"), sg.matrix("y")
    fired = set(sg.function([x, y], every_pattern(x, y)).report.rewrites)
    safe = {name for name, rewrite in REWRITES.items() if not {"unsafe", "sympy"} & set(rewrite.groups)}
    # Rewrites of gradient and Jacobian graphs (fits, softmax pullbacks, structured diagonals: see
    # tests/test_jacobian.py) and of static shapes are exercised elsewhere;
    elsewhere = {"useless_fit_shape", "fit_shape_of_variable", "softmax_gradient_of_log",
                 "softmax_cross_entropy_gradient", "log_sigmoid_gradient", "log_one_minus_sigmoid_gradient",
                 "distribute_sigmoid_gradient",
                 "logsumexp_gradient", "softplus_gradient", "shape_of_static", "diagonal_scaled", "diagonal_product",
                 # the passes over loops and branches in tests/test_loops.py, and the inlining of
                 # user-defined ops in tests/test_custom_ops.py.
                 "scan_optimize_inner", "scan_save_memory", "scan_prune", "scan_merge", "lazy_ifelse",
                 "inline_op_from_graph", "useless_ensure_shape"}
    # the linalg rewrites need matrices that can be factored, which NaN and inf entries are not: their
    # firing and their agreement are tested in test_ops_linalg_decomp.py.
    elsewhere |= {"inv_matmul_to_solve", "log_det_to_slogdet", "log_abs_det_to_slogdet", "det_of_cholesky",
                  "logdet_of_cholesky", "solve_to_lu_solve"}
    assert safe - elsewhere - fired == set()


# ------------------------------------------------------------------ deep graphs


def deep_chain(x, depth):
    """`depth` nodes of four kinds in turn (element-wise, scaled, shifted, saturating)."""
    y = x
    for i in range(depth):
        y = (sg.sin(y), y * 1.5, y + 0.25, sg.tanh(y))[i % 4]
    return y


def _grad_and_compile(x, y):
    f = sg.function([x], sg.grad(sg.sum(y), x))
    return f(np.array([0.1, -0.2]))


def _pickle_gradient_graph(x, y):
    return pickle.loads(pickle.dumps([x, sg.grad(sg.sum(y), x)]))


def _compile_run_and_pickle(x, y):
    f = sg.function([x], y)
    f_again = pickle.loads(pickle.dumps(f))
    x_again, y_again = pickle.loads(pickle.dumps([x, y]))
    g = sg.function([x_again], y_again)
    values = np.array([0.1, -0.2])
    return [f(values), f_again(values), g(values)]


DEEP_PHASES = {
    "compile, run and pickle": _compile_run_and_pickle,
    "grad and compile": _grad_and_compile,
    "jvp": lambda x, y: sg.jvp(y, x, sg.vector("t")),
    "optimize": lambda x, y: sg.optimize(y),
    "debugprint flat": lambda x, y: sg.debugprint(y, style="flat"),
    "pprint": lambda x, y: sg.pprint(y),
    "to_networkx": lambda x, y: sg.to_networkx(y),
    "pickle the gradient graph": _pickle_gradient_graph,
}


@pytest.fixture(scope="module")
def chains():
    """depth -> (x, a chain of that depth on x), built once for every phase."""
    result = {}
    for depth in (1250, 10_000):
        x = sg.vector("x")
        result[depth] = (x, deep_chain(x, depth))
    return result


def _seconds(phase, chain):
    """Seconds `phase` takes on `chain`, with the garbage collector paused: its full collections scan every
    object the test session holds, which would time the session rather than the phase."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        phase(*chain)
        return time.perf_counter() - start
    finally:
        gc.enable()


@pytest.mark.parametrize("name", sorted(DEEP_PHASES))
def test_a_10000_node_chain_goes_through_each_phase_in_time_proportional_to_its_depth(name, chains):
    phase = DEEP_PHASES[name]
    small = _seconds(phase, chains[1250])
    large = _seconds(phase, chains[10_000])
    # 8 times deeper: linear is 8x; allow 3x more for noise (quadratic would be 64x).
    assert large < 24 * small + 0.5, f"{name}: {small:.3f} s at depth 1,250 but {large:.3f} s at 10,000"


def test_a_10000_node_chain_compiles_runs_and_pickles_to_the_same_values(chains):
    x, y = chains[10_000]
    values = np.array([0.1, -0.2])
    expected = values
    for i in range(10_000):
        expected = (np.sin(expected), expected * 1.5, expected + 0.25, np.tanh(expected))[i % 4]
    results = _compile_run_and_pickle(x, y)
    np.testing.assert_allclose(results[0], expected, rtol=1e-12)
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


def test_tree_debugprint_of_a_10000_node_chain_has_no_recursion_error(chains):
    lines = sg.debugprint(chains[10_000][1]).splitlines()
    # x, the operations, their 5,000 constants, and a reference line for each sub-tree deferred past the
    # deepest indentation
    references = sum(line.endswith("(see below)") for line in lines)
    assert len(lines) == 1 + 10_000 + 5_000 + references
    assert 10_000 // 40 < references < 10_000 // 20


# ------------------------------------------------------------------ wide graphs


def wide_dag(lib, inputs, n_ops, seed=0):
    """The outputs of `n_ops` seeded random steps (element-wise operations and mean-centerings of earlier
    values, mostly recent ones, so values are shared) on `inputs`, every sixth step an output; `lib` is
    symgraph or NumPy, so the same recipe gives the graph and its reference values."""
    rng = np.random.default_rng(seed)
    steps = [lib.tanh, lib.sin, lib.cos, lib.abs, lambda x, y: x * y, lambda x, y: (x + y) * 0.5,
             lambda x: (x - lib.mean(x)) * 0.5]
    values = list(inputs)
    outputs = []
    for index in range(n_ops):
        first, second = (max(0, len(values) - 1 - int(rng.exponential(8))) for _ in range(2))
        if index < len(inputs):
            first = index
        step = steps[rng.integers(len(steps))]
        operands = [values[first], values[second]][:step.__code__.co_argcount if hasattr(step, "__code__") else 1]
        values.append(step(*operands))
        if index % 6 == 5:
            outputs.append(values[-1])
    return outputs


WIDE_ARGUMENTS = [np.linspace(-1.0, 1.0, 5) * (k + 1) / 4 for k in range(4)]


def _compile_and_call_wide(n_ops):
    inputs = [sg.vector(name) for name in "abcd"]
    f = sg.function(inputs, wide_dag(sg, inputs, n_ops), on_unused_input="ignore")
    return f(*WIDE_ARGUMENTS)


def test_a_wide_random_dag_builds_compiles_and_runs_in_time_proportional_to_its_size():
    _compile_and_call_wide(100)  # warm caches (lowering tables, kernels) before timing
    small = _seconds(_compile_and_call_wide, (600,))
    large = _seconds(_compile_and_call_wide, (4800,))
    # 8 times larger: linear is 8x; allow 3x more for noise (quadratic would be 64x).
    assert large < 24 * small + 0.5, f"{small:.3f} s at 600 operations but {large:.3f} s at 4,800"


def _compile_many_outputs(count):
    x = sg.vector("x")
    return sg.function([x], [x * float(i + 2) for i in range(count)])


def test_compile_time_is_proportional_to_the_number_of_outputs():
    _compile_many_outputs(10)
    small = _seconds(_compile_many_outputs, (250,))
    large = _seconds(_compile_many_outputs, (4000,))
    # 16 times more outputs: linear is 16x; allow 2.5x more for noise (each output once scanning the earlier
    # ones measured 61x)
    assert large < 40 * small + 0.1, f"{small:.3f} s for 250 outputs but {large:.3f} s for 4,000"


@pytest.mark.parametrize("mode", ["fast_run", "fast_compile"])
def test_a_long_body_is_split_into_short_functions_that_compute_the_same_values(mode):
    inputs = [sg.vector(name) for name in "abcd"]
    f = sg.function(inputs, wide_dag(sg, inputs, 2000), on_unused_input="ignore", mode=mode)
    functions = re.split(r"^def ", f.source, flags=re.M)[1:]
    assert len(functions) > 3 and all(text.startswith(f"symgraph_fn_part{k}(") for k, text in enumerate(functions[1:]))
    # a part's body, plus its def and return lines
    assert max(len(text.strip().splitlines()) for text in functions[1:]) <= linker.CHUNK_LINES + 2
    expected = wide_dag(np, WIDE_ARGUMENTS, 2000)
    for got, want in zip(f(*WIDE_ARGUMENTS), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_an_error_in_a_later_function_of_a_long_body_names_the_node_and_the_users_line():
    inputs = [sg.vector(name) for name in "abcd"]
    outputs = wide_dag(sg, inputs, 2000)
    failing = outputs[-1].reshape((2, 3))
    line = sys._getframe().f_lineno - 1
    f = sg.function(inputs, outputs + [failing])
    before_reshape = f.source[:f.source.index("# reshape{")]
    assert before_reshape.rsplit("\ndef ", 1)[1].startswith("symgraph_fn_part")
    with pytest.raises(ValueError, match=rf"reshape.*created at {re.escape(__file__)}:{line}"):
        f(*WIDE_ARGUMENTS)


@pytest.mark.parametrize("count", [3, 200])
def test_many_outputs_that_are_views_of_each_other_are_each_the_callers_own(count):
    x = sg.matrix("x")
    doubled = x * 2.0
    f = sg.function([x], [doubled] + [doubled[i] for i in range(count)] + [x.T])
    values = np.arange(3.0 * count).reshape(count, 3)
    results = f(values)
    for position, result in enumerate(results):
        assert result.flags.writeable and not np.shares_memory(result, values)
        assert not any(np.shares_memory(result, other) for other in results[position + 1:])
    np.testing.assert_array_equal(np.stack(results[1:-1]), 2 * values)
    np.testing.assert_array_equal(results[-1], values.T)
    # the earlier outputs each check compares with are listed once, not spelled out in every check
    assert len(f.source) < 400 * count + 2000


def test_nan_guard_in_a_later_function_of_a_long_body_names_the_node():
    x = sg.vector("x")
    f = sg.function([x], sg.log(deep_chain(x, 1000) - 10.0), mode=sg.Mode(nan_guard=True))
    assert "symgraph_fn_part3(" in f.source
    with pytest.raises(FloatingPointError, match=r"nan_guard: NaN in the output of log"):
        with np.errstate(all="ignore"):
            f(np.array([0.1, -0.2]))


# ------------------------------------------------------------------ pickles across processes


def test_graphs_shared_variables_and_functions_pickled_give_the_same_results_in_a_fresh_process(tmp_path):
    x = sg.matrix("x")
    w = sg.shared(np.array([[1.0, -2.0], [0.5, 3.0]]), name="w")
    hidden = sg.tanh(x @ w) * 2.0 + 1.0  # a fused kernel after the matmul
    cost = sg.sum(sg.log_softmax(hidden, axis=1))
    gradient = sg.grad(cost, w)
    step = sg.function([x], cost, updates=[(w, w - 0.1 * gradient)], name="step")
    values = np.array([[0.5, -1.0], [2.0, 0.25], [0.0, 1.0]])
    bundle_path, result_path = tmp_path / "bundle.pkl", tmp_path / "results.pkl"
    bundle_path.write_bytes(pickle.dumps({"x": x, "w": w, "cost": cost, "gradient": gradient, "step": step}))
    script = (
        "import pickle, sys\n"
        "import symgraph as sg\n"
        "b = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "values = pickle.loads(bytes.fromhex(sys.argv[3]))\n"
        "graph = sg.function([b['x']], [b['cost'], b['gradient']])(values)\n"
        "steps = [b['step'](values) for _ in range(3)]\n"
        "open(sys.argv[2], 'wb').write(pickle.dumps((graph, steps, b['w'].get_value())))\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", script, str(bundle_path), str(result_path), pickle.dumps(values).hex()],
                   check=True, env=env, capture_output=True, timeout=120)
    graph, steps, w_after = pickle.loads(result_path.read_bytes())
    expected_graph = sg.function([x], [cost, gradient])(values)
    expected_steps = [step(values) for _ in range(3)]
    for got, want in zip(graph + steps + [w_after], expected_graph + expected_steps + [w.get_value()]):
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------ user strings in generated source

HOSTILE = ['"x); import os #', "a\nimport os", "'''", "\\", "\r\nimport os", "\u2028import os", "\x00", "#"]


def code_tokens(source):
    return [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE)]


@pytest.mark.parametrize("mode", ["fast_run", "fast_compile"])
@pytest.mark.parametrize("name", HOSTILE)
def test_shared_constant_and_intermediate_names_never_reach_the_source_unescaped(mode, name):
    x = sg.vector("x")
    w = sg.shared(np.array([1.0, 2.0]), name=name)
    c = sg.constant(np.array([3.0, 4.0]), name=name)
    inner = sg.exp(x * w)
    inner.name = name  # a named node inside a fused kernel
    y = sg.tanh(inner + c)
    y.name = name
    f = sg.function([x], [y, x @ w], updates=[(w, w + 1.0)], mode=mode, name=name)
    compile(f.source, "<check>", "exec")
    tokens = code_tokens(f.source)
    assert "os" not in {t.string for t in tokens if t.type == tokenize.NAME}
    assert not any(name in t.string for t in tokens if t.type == tokenize.STRING), "names may appear in comments only"
    first, second = f(np.array([0.5, -0.5]))
    np.testing.assert_allclose(first, np.tanh(np.exp(np.array([0.5, -1.0])) + [3.0, 4.0]))
    np.testing.assert_allclose(second, -0.5)
    np.testing.assert_array_equal(w.get_value(), [2.0, 3.0])


# ------------------------------------------------------------------ run-time errors point at the user's line


# (label, the failing output built from x, m and i, which of them are inputs, arguments, error, failing op):
# each builder is on one line, so that line is where its nodes were created.
RUNTIME_FAILURES = [
    ("reshape", lambda x, m, i: x.reshape((2, 3)), "x", [np.zeros(5)], ValueError, "reshape"),
    ("index", lambda x, m, i: x[i] * 2.0, "x i", [np.zeros(3), 7], IndexError, "getitem"),
    ("matmul", lambda x, m, i: m @ x, "m x", [np.zeros((2, 3)), np.zeros(4)], ValueError, "matmul"),
    ("fused", lambda x, m, i: sg.tanh(sg.exp(x) * 2.0 + x[:2]), "x", [np.zeros(3)], ValueError, "add"),
    ("integer power", lambda x, m, i: sg.cast(x, "int64") ** sg.constant(-1) + 1, "x", [np.ones(3)], ValueError, "power"),
    ("concatenate", lambda x, m, i: sg.concatenate([m, x[None, :]]), "m x", [np.zeros((2, 3)), np.zeros(4)],
     ValueError, "concatenate"),
    ("gradient", lambda x, m, i: sg.grad(sg.sum(x.reshape((2, -1))), x), "x", [np.zeros(5)], ValueError, "reshape"),
]


@pytest.mark.parametrize("mode", ["fast_run", "fast_compile"])
@pytest.mark.parametrize("label, build, names, arguments, error, op_name", RUNTIME_FAILURES,
                         ids=[case[0] for case in RUNTIME_FAILURES])
def test_run_time_errors_name_the_node_and_the_users_line(mode, label, build, names, arguments, error, op_name):
    variables = {"x": sg.vector("x"), "m": sg.matrix("m"), "i": sg.scalar("i", "int64")}
    f = sg.function([variables[n] for n in names.split()], build(**variables), mode=mode)
    line = build.__code__.co_firstlineno
    with pytest.raises(error, match=rf"{op_name}.*created at {re.escape(__file__)}:{line}"):
        with np.errstate(all="ignore"):
            f(*arguments)
