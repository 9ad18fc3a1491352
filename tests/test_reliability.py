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
    # Rewrites of gradient graphs (fits, softmax pullbacks) and of static shapes are exercised elsewhere;
    elsewhere = {"useless_fit_shape", "fit_shape_of_variable", "softmax_gradient_of_log",
                 "softmax_cross_entropy_gradient", "log_sigmoid_gradient", "log_one_minus_sigmoid_gradient",
                 "logsumexp_gradient", "softplus_gradient", "shape_of_static",
                 # the passes over loops and branches in tests/test_loops.py, and the inlining of
                 # user-defined ops in tests/test_custom_ops.py.
                 "scan_optimize_inner", "scan_save_memory", "scan_prune", "lazy_ifelse", "inline_op_from_graph"}
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
    text = sg.debugprint(chains[10_000][1])
    assert len(text.splitlines()) == 1 + 10_000 + 5_000  # x, the operations, and their 5,000 constants


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
