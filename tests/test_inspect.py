"""Inspection: debugprint (tree and flat), pprint, compare, to_networkx, to_dot, render and f.profile."""
import io
import os
import stat
import sys
import time

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.op import Op
from symgraph.graph.type import TensorType, broadcast_static_shapes
from symgraph.inspect import compare
from symgraph.inspect import export


class Scale(Op):
    """A non-element-wise op with a parameter, to check how printers show parameters."""

    __props__ = ("factor",)

    def __init__(self, factor):
        self.factor = factor

    def output_types(self, x):
        return [x]

    def perform(self, x):
        return x * self.factor


class Halves(Op):
    """A two-output op."""

    nout = 2

    def output_types(self, x):
        half = TensorType(x.dtype, (None,))
        return [half, half]

    def perform(self, x):
        middle = len(x) // 2
        return x[:middle], x[middle:]


class FakeFused(Op):
    """Stands for the optimizer's fused kernel: printers may rely only on `name` and `inner_names`."""

    __props__ = ("inner_names",)
    name = "fused"

    def __init__(self, inner_names):
        self.inner_names = tuple(inner_names)

    def output_types(self, x, y):
        return [TensorType(np.result_type(x.dtype, y.dtype), broadcast_static_shapes(x.shape, y.shape))]

    def perform(self, x, y):
        return np.exp(x) * y + 1


class Sleep(Op):
    """Takes a known, long time: the profile must rank it first."""

    def output_types(self, x):
        return [x]

    def perform(self, x):
        time.sleep(0.004)
        return x.copy()


def shared_subgraph_example():
    x = sg.vector("x")
    w = sg.shared(np.zeros(3), name="w")
    h = sg.exp(x)
    h.name = "h"
    return x, w, (h * w + h) / 2


TREE = """\
true_divide float64[?]
├─ add float64[?]
│  ├─ multiply float64[?]
│  │  ├─ exp [id A] float64[?] 'h'
│  │  │  └─ x float64[?]
│  │  └─ w float64[?] shared
│  └─ exp [id A] float64[?] 'h' (see above)
└─ 2.0 float64[]"""

FLAT = """\
input x: float64[?]
shared w: float64[?]
%0: float64[?] = exp(x)  # 'h'
%1: float64[?] = multiply(%0, w)
%2: float64[?] = add(%1, %0)
%3: float64[?] = true_divide(%2, 2.0)
output %3"""


# ---------------------------------------------------------------- debugprint


def test_debugprint_tree_prints_a_shared_subgraph_once_and_refers_to_it_by_id():
    *_, y = shared_subgraph_example()
    assert sg.debugprint(y) == TREE


def test_debugprint_flat_lists_each_leaf_and_node_once():
    *_, y = shared_subgraph_example()
    assert sg.debugprint(y, style="flat") == FLAT


def test_debugprint_writes_to_file_and_returns_the_same_text():
    *_, y = shared_subgraph_example()
    buffer = io.StringIO()
    text = sg.debugprint(y, file=buffer)
    assert text == TREE
    assert buffer.getvalue() == TREE


def test_debugprint_list_shares_ids_across_outputs():
    x = sg.vector("x")
    h = sg.exp(x)
    text = sg.debugprint([h + 1, h * 2])
    assert text == """\
add float64[?]
├─ exp [id A] float64[?]
│  └─ x float64[?]
└─ 1.0 float64[]
multiply float64[?]
├─ exp [id A] float64[?] (see above)
└─ 2.0 float64[]"""
    assert sg.debugprint([h + 1, h * 2], style="flat") == """\
input x: float64[?]
%0: float64[?] = exp(x)
%1: float64[?] = add(%0, 1.0)
%2: float64[?] = multiply(%0, 2.0)
output %1
output %2"""


def test_debugprint_leaves_constants_params_and_unnamed_inputs():
    unnamed, b, c = sg.vector(), sg.vector("x"), sg.vector("x")
    big = sg.constant(np.arange(10.0))
    y = Scale(3)(unnamed + sg.constant([1.0, 2.0])) + b * c
    assert sg.debugprint([y, c * big]) == """\
add float64[2]
├─ scale{factor=3} float64[2]
│  └─ add float64[2]
│     ├─ v0 float64[?]
│     └─ [1.0, 2.0] float64[2]
└─ multiply float64[?]
   ├─ x float64[?]
   └─ x_1 float64[?]
multiply float64[10]
├─ x_1 float64[?]
└─ <float64[10] constant> float64[10]"""
    assert sg.debugprint([y, c * big], style="flat") == """\
input v0: float64[?]
constant %c0: float64[2] = [1.0, 2.0]
input x: float64[?]
input x_1: float64[?]
constant %c1: float64[10] = <float64[10] constant>
%0: float64[2] = add(v0, %c0)
%1: float64[2] = scale{factor=3}(%0)
%2: float64[?] = multiply(x, x_1)
%3: float64[2] = add(%1, %2)
%4: float64[10] = multiply(x_1, %c1)
output %3
output %4"""


def test_debugprint_multi_output_and_fused_nodes():
    x = sg.vector("x")
    first, second = Halves()(x)
    out = FakeFused(["exp", "multiply", "add"])(first, second)
    assert sg.debugprint([out, second]) == """\
fused float64[?]
│  · exp
│  · multiply
│  · add
├─ halves (out 0) [id A] float64[?]
│  └─ x float64[?]
└─ halves (out 1) [id A] float64[?] (see above)
halves (out 1) [id A] float64[?] (see above)"""
    assert sg.debugprint(out, style="flat") == """\
input x: float64[?]
%0: float64[?], %1: float64[?] = halves(x)
%2: float64[?] = fused[exp, multiply, add](%0, %1)
output %2"""


def test_debugprint_compiled_function_shows_updates():
    x = sg.vector("x")
    acc = sg.shared(np.zeros(2), name="acc")
    f = sg.function([x], sg.exp(x), updates=[(acc, acc + x)], mode="fast_compile")
    assert sg.debugprint(f) == """\
exp float64[?]
└─ x float64[?]
add float64[?]  (update of acc)
├─ acc float64[?] shared
└─ x float64[?]"""
    assert sg.debugprint(f, style="flat") == """\
input x: float64[?]
shared acc: float64[?]
%0: float64[?] = exp(x)
%1: float64[?] = add(acc, x)
output %0
update acc <- %1"""


def test_debugprint_of_an_optimized_function_lists_each_fused_kernel_inner_operations():
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], sg.exp(x) * y + 1)
    fused = [node for node in f.graph.nodes if node.op.name == "fused"]
    assert fused, "the default mode fuses element-wise chains"
    tree = sg.debugprint(f)
    flat = sg.debugprint(f, style="flat")
    for node in fused:
        inner = list(node.op.inner_names)
        assert "\n".join(f"│  · {name}" for name in inner) in tree
        assert f"fused[{', '.join(inner)}](" in flat
    assert sg.debugprint(f.graph, style="flat") == flat


def test_debugprint_print_site_names_the_user_line():
    x = sg.vector("x")
    line = sys._getframe().f_lineno + 1
    y = sg.exp(x)
    expected_site = f"{__file__}:{line} in test_debugprint_print_site_names_the_user_line"
    assert sg.debugprint(y, print_site=True).splitlines()[0] == f"exp float64[?]  # {expected_site}"
    assert sg.debugprint(y, print_site=True, style="flat").splitlines()[1].endswith(f"  # {expected_site}")


def test_debugprint_escapes_names_so_each_node_stays_on_one_line():
    x = sg.vector("evil\nname")
    y = sg.exp(x)
    y.name = "two\nlines"
    for style in ("tree", "flat"):
        text = sg.debugprint(y, style=style)
        assert "\\n" in text
        assert len(text.splitlines()) == (2 if style == "tree" else 3)


def test_debugprint_scales_to_deep_and_reused_graphs():
    x = sg.scalar("x")
    y = x
    for _ in range(10_000):
        y = sg.sin(y)
    flat = sg.debugprint(y, style="flat")
    assert flat.count("\n") == 10_001
    assert flat.splitlines()[-2] == "%9999: float64[] = sin(%9998)"
    z = x
    for _ in range(2_000):  # deeper than Python's recursion limit
        z = sg.cos(z)
    # every node once in full; sub-trees deeper than the deepest indentation are referenced, then printed below
    assert sum(not line.endswith("(see below)") for line in sg.debugprint(z).splitlines()) == 2_001
    doubled = x
    for _ in range(60):  # 2**60 paths: each node must be printed once
        doubled = doubled * doubled
    lines = sg.debugprint(doubled).splitlines()
    assert sum(not line.endswith(("(see above)", "(see below)")) for line in lines) == 60 + 2  # x twice
    assert len(lines) == 122


def test_debugprint_rejects_bad_arguments():
    with pytest.raises(ValueError, match="style must be one of"):
        sg.debugprint(sg.vector("x"), style="wide")
    with pytest.raises(TypeError, match="debugprint expects a symbolic variable.*got int"):
        sg.debugprint(3)


def test_compare_shows_before_and_after_side_by_side():
    x = sg.vector("x")
    text = compare(sg.exp(x) * 2)
    lines = text.splitlines()
    assert lines[0].split() == ["before", "|", "after"]
    assert lines[1].split() == ["input", "x:", "float64[?]", "|", "input", "x:", "float64[?]"]
    assert "exp(x)" in text
    assert compare([sg.exp(x), x + 1], mode="fast_compile", style="tree") == """\
before            | after
exp float64[?]    | exp float64[?]
└─ x float64[?]   | └─ x float64[?]
add float64[?]    | add float64[?]
├─ x float64[?]   | ├─ x float64[?]
└─ 1.0 float64[]  | └─ 1.0 float64[]"""


# ---------------------------------------------------------------- pprint


def _named_inputs():
    return sg.matrix("x"), sg.matrix("W"), sg.vector("b")


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda x, W, b: sg.tanh(x * W + b), "tanh((x * W) + b)"),
        (lambda x, W, b: (x + 1) * 2, "(x + 1.0) * 2.0"),
        (lambda x, W, b: x - (b - 1), "x - (b - 1.0)"),
        (lambda x, W, b: x - b - 1, "(x - b) - 1.0"),
        (lambda x, W, b: x / (b * 2), "x / (b * 2.0)"),
        (lambda x, W, b: x * b / 2, "(x * b) / 2.0"),
        (lambda x, W, b: x ** b ** 2, "x ** (b ** 2.0)"),
        (lambda x, W, b: (x ** b) ** 2, "(x ** b) ** 2.0"),
        (lambda x, W, b: -(x ** 2), "-(x ** 2.0)"),
        (lambda x, W, b: (-x) ** 2, "(-x) ** 2.0"),
        (lambda x, W, b: -(-x), "-(-x)"),
        (lambda x, W, b: 2 ** -x, "2.0 ** -x"),
        (lambda x, W, b: x * -2.0, "x * -2.0"),
        (lambda x, W, b: sg.constant(-2.0) ** x, "(-2.0) ** x"),
        (lambda x, W, b: sg.eq(x < b, b >= W), "(x < b) == (b >= W)"),
        (lambda x, W, b: sg.logical_and(x < 1, b > 0), "logical_and(x < 1.0, b > 0.0)"),
        (lambda x, W, b: sg.cast(x, "float32") + 1, "cast(x, float32) + 1.0"),
        (lambda x, W, b: Scale(2)(x + b) * 3, "scale(x + b, factor=2) * 3.0"),
        (lambda x, W, b: x + sg.constant([1.0, 2.0]), "x + [1.0, 2.0]"),
        (lambda x, W, b: b + sg.constant(np.ones(7)), "b + <float64[7] constant>"),
        (lambda x, W, b: sg.where(x > 0, x, sg.sqrt(b)), "where(x > 0.0, x, sqrt(b))"),
        (lambda x, W, b: Halves()(b)[1] * 2, "halves(b)[1] * 2.0"),
        (lambda x, W, b: FakeFused(["exp", "add"])(x, b), "fused[exp, add](x, b)"),
    ],
)
def test_pprint_parenthesizes_each_operator_expression_inside_another(build, expected):
    assert sg.pprint(build(*_named_inputs())) == expected


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda i, j: i // 2 % j, "(i // 2) % j"),
        (lambda i, j: i & j | ~i ^ j, "(i & j) | (~i ^ j)"),
        (lambda i, j: (i | j) & i, "(i | j) & i"),
        (lambda i, j: i.shape, "shape(i)"),
    ],
)
def test_pprint_integer_operators(build, expected):
    assert sg.pprint(build(sg.vector("i", dtype="int64"), sg.vector("j", dtype="int64"))) == expected


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda x, m, i, k: x[1:3] + x[:0:-1], "x[1:3] + x[:0:-1]"),
        (lambda x, m, i, k: m[:, None, 0], "m[:, None, 0]"),
        (lambda x, m, i, k: m[1:, i] * 2, "m[1:, i] * 2.0"),
        (lambda x, m, i, k: m[x > 0], "m[x > 0.0]"),
        (lambda x, m, i, k: x[k + 1:], "x[k + 1:]"),
        (lambda x, m, i, k: (x + 1)[k], "(x + 1.0)[k]"),
        (lambda x, m, i, k: m[..., -1], "m[..., -1]"),
    ],
)
def test_pprint_prints_indexing_as_subscripts_that_evaluate_to_the_same_values(build, expected):
    x, m = sg.vector("x"), sg.matrix("m")
    i, k = sg.vector("i", dtype="int64"), sg.scalar("k", dtype="int64")
    expression = build(x, m, i, k)
    assert sg.pprint(expression) == expected
    values = {"x": np.array([-1.0, 2.0, 3.0]), "m": np.arange(9.0).reshape(3, 3), "i": np.array([2, 0]), "k": np.array(1)}
    got = sg.function([x, m, i, k], expression, on_unused_input="ignore")(*values.values())
    np.testing.assert_array_equal(got, eval(expected, {}, values))


def test_pprint_list_function_and_unnamed_inputs():
    x, unnamed = sg.vector("x"), sg.vector()
    assert sg.pprint([x + unnamed, sg.exp(unnamed)]) == "x + v0\nexp(v0)"
    f = sg.function([x], [sg.exp(x), x * 2], mode="fast_compile")
    assert sg.pprint(f) == "exp(x)\nx * 2.0"


def test_pprint_is_bounded_on_deep_and_reused_graphs():
    x = sg.scalar("x")
    y = x
    for _ in range(10_000):
        y = sg.exp(y)
    text = sg.pprint(y, max_length=200)
    assert len(text) == 201 and text.endswith("…") and text.startswith("exp(exp(")
    doubled = x
    for _ in range(60):
        doubled = doubled * doubled
    assert len(sg.pprint(doubled)) == 2001
    assert sg.pprint(sg.exp(y), max_length=10) == "exp(exp(ex…"


# ---------------------------------------------------------------- to_networkx


def _by_key(graph, **attributes):
    return [key for key, data in graph.nodes(data=True) if all(data.get(k) == v for k, v in attributes.items())]


def test_to_networkx_attributes_and_data_flow():
    x = sg.tensor("x", dtype="float32", shape=(None, 3))
    w = sg.shared(np.ones(3, dtype="float32"), name="w")
    y = sg.exp(x) * w + x
    graph = sg.to_networkx(y)
    ops = [graph.nodes[key]["op"] for key in _by_key(graph, kind="apply")]
    assert ops == ["exp", "multiply", "add"]
    (x_key,) = _by_key(graph, kind="variable", name="x")
    assert graph.nodes[x_key] == {"kind": "variable", "name": "x", "dtype": "float32", "shape": (None, 3),
                                  "role": "input", "output": False}
    (w_key,) = _by_key(graph, name="w")
    assert graph.nodes[w_key]["role"] == "shared" and graph.nodes[w_key]["shape"] == (None,)
    (out_key,) = graph.graph["outputs"]
    assert graph.nodes[out_key]["output"] and graph.nodes[out_key]["shape"] == (None, 3)
    assert graph.nodes[out_key]["dtype"] == "float32"
    (exp_key,) = _by_key(graph, op="exp")
    assert list(graph.predecessors(exp_key)) == [x_key]
    assert sorted(graph.nodes[k]["op"] for k in graph.successors(x_key)) == ["add", "exp"]
    assert all(graph.nodes[k]["kind"] == "variable" for k in graph.successors(exp_key))
    import networkx as nx

    assert nx.is_directed_acyclic_graph(graph)
    assert nx.is_bipartite(graph)


def test_to_networkx_edges_record_positions_and_output_index():
    x = sg.vector("x")
    first, second = Halves()(x)
    y = second * second
    graph = sg.to_networkx(y)
    (multiply_key,) = _by_key(graph, op="multiply")
    ((source, _, data),) = graph.in_edges(multiply_key, data=True)
    assert data == {"positions": (0, 1)}
    (halves_key,) = _by_key(graph, op="halves")
    assert graph.edges[halves_key, source] == {"index": 1}
    assert graph.nodes[halves_key]["label"] == "halves"


def test_to_networkx_fused_constant_list_and_function():
    x, y = sg.vector("x"), sg.vector("y")
    fused = FakeFused(["exp", "multiply", "add"])(x, y)
    graph = sg.to_networkx([fused, x + 2])
    (fused_key,) = _by_key(graph, op="fused")
    assert graph.nodes[fused_key]["inner"] == ["exp", "multiply", "add"]
    (constant_key,) = _by_key(graph, role="constant")
    assert graph.nodes[constant_key]["value"] == "2.0" and graph.nodes[constant_key]["shape"] == ()
    assert len(graph.graph["outputs"]) == 2
    f = sg.function([x, y], [fused, x + 2], mode="fast_compile")
    from_function = sg.to_networkx(f)
    assert sorted(d["op"] for _, d in from_function.nodes(data=True) if d["kind"] == "apply") == ["add", "fused"]
    assert from_function.number_of_nodes() == graph.number_of_nodes()


def test_to_networkx_rejects_other_objects():
    with pytest.raises(TypeError, match="to_networkx expects"):
        sg.to_networkx("x + 1")


# ---------------------------------------------------------------- to_dot / render

HOSTILE_NAMES = ['say "hi"', "back\\slash\\", "two\nlines", "<b>html</b>", "a:b", "}; x -> y; {", "tab\there"]


def _dot_unquote(text):
    assert text[0] == '"' and text[-1] == '"'
    out, i = [], 1
    while i < len(text) - 1:
        if text[i] == "\\":
            out.append("\n" if text[i + 1] == "n" else text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def test_to_dot_parses_back_with_the_same_nodes_edges_and_labels():
    pydot = pytest.importorskip("pydot")
    import networkx as nx

    inputs = [sg.vector(name) for name in HOSTILE_NAMES]
    y = sg.exp(inputs[0])
    for v in inputs[1:]:
        y = y + v
    y.name = 'out "quoted"'
    text = sg.to_dot(y)
    (parsed,) = pydot.graph_from_dot_data(text)
    expected = sg.to_networkx(y)
    nodes = {_dot_unquote(n.get_name()): n for n in parsed.get_nodes() if n.get_name() not in ("node", "edge")}
    assert set(nodes) == set(expected.nodes)
    assert {(_dot_unquote(e.get_source()), _dot_unquote(e.get_destination())) for e in parsed.get_edges()} == set(
        expected.edges
    )
    labels = {_dot_unquote(n.get("label")).split("\nfloat64")[0] for n in nodes.values()}
    # control characters other than line breaks are spelled out rather than passed to Graphviz
    assert {name.replace("\t", "\\u0009") for name in HOSTILE_NAMES} | {'out "quoted"'} <= labels
    round_trip = nx.nx_pydot.from_pydot(parsed)
    assert round_trip.number_of_nodes() == expected.number_of_nodes()
    assert round_trip.number_of_edges() == expected.number_of_edges()


def test_to_dot_styles_roles_and_works_on_a_function():
    x = sg.vector("x")
    w = sg.shared(np.ones(2), name="w")
    f = sg.function([x], FakeFused(["exp", "add"])(x, w), mode="fast_compile")
    text = sg.to_dot(f)
    assert text.startswith('digraph "symgraph" {\n') and text.endswith("}\n")
    assert '"v0" [shape="ellipse", style="filled", fillcolor="lightblue", label="x\\nfloat64[?]"];' in text
    assert 'fillcolor="khaki", label="w\\nfloat64[?]"' in text
    assert '[shape="box", style="rounded", label="fused\\nexp, add"]' in text
    assert 'peripheries="2"' in text
    assert sg.to_dot([x * 2]).count("->") == 3


def test_render_without_graphviz_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(export.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"Graphviz.*apt-get install graphviz.*conda install graphviz"):
        sg.render(sg.exp(sg.vector("x")), tmp_path / "graph.svg")


def test_render_rejects_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        sg.render(sg.exp(sg.vector("x")), tmp_path / "graph.txt")


def _fake_dot(directory, body):
    program = directory / "dot"
    program.write_text("#!/bin/sh\n" + body)
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    return directory


@pytest.mark.skipif(sys.platform == "win32", reason="the fake dot program is a shell script")
def test_render_feeds_the_dot_text_to_graphviz(monkeypatch, tmp_path):
    # A stand-in for Graphviz's dot that records its arguments and copies the DOT text to the output file.
    bin_dir = _fake_dot(tmp_path, 'echo "$@" > "$(dirname "$0")/args"\ncat > "$3"\n')
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    x = sg.vector("x")
    target = tmp_path / "graph.PNG"
    assert sg.render([sg.exp(x), x], target) == str(target)
    assert target.read_text() == sg.to_dot([sg.exp(x), x])
    assert (tmp_path / "args").read_text().split() == ["-Tpng", "-o", str(target)]
    f = sg.function([x], x + 1, mode="fast_compile")
    sg.render(f, tmp_path / "graph.out", format="pdf")
    assert (tmp_path / "args").read_text().split()[0] == "-Tpdf"
    assert (tmp_path / "graph.out").read_text() == sg.to_dot(f)


@pytest.mark.skipif(sys.platform == "win32", reason="the fake dot program is a shell script")
def test_render_reports_graphviz_failures(monkeypatch, tmp_path):
    bin_dir = _fake_dot(tmp_path, 'echo "syntax error in line 3" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    with pytest.raises(RuntimeError, match="dot failed.*syntax error in line 3"):
        sg.render(sg.exp(sg.vector("x")), tmp_path / "graph.svg")


@pytest.mark.skipif(export.shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_with_graphviz_writes_an_svg(tmp_path):
    target = tmp_path / "graph.svg"
    sg.render(sg.exp(sg.vector('x "quoted"')) + 1, target)
    assert "<svg" in target.read_text()


# ---------------------------------------------------------------- profile


def test_profile_ranks_nodes_by_time_and_applies_no_update():
    x = sg.vector("x")
    acc = sg.shared(np.zeros(3), name="acc")
    f = sg.function([x], sg.exp(Sleep()(x)) + 1, updates=[(acc, acc + x)], mode="fast_compile")
    profile = f.profile(x=np.ones(3), repeat=3)
    labels = [label for label, _, _ in profile.rows]
    assert len(labels) == len(f.graph.nodes) == 4
    assert labels[0].startswith("#0 sleep (test_inspect.py:")
    seconds = [s for _, s, _ in profile.rows]
    assert seconds == sorted(seconds, reverse=True) and seconds[0] >= 0.004
    assert profile.rows[0][2] > 0.9
    assert sum(share for _, _, share in profile.rows) == pytest.approx(1.0)
    assert profile.call_seconds >= 0.004 and profile.repeat == 3
    np.testing.assert_array_equal(acc.get_value(), np.zeros(3))
    table = str(profile)
    assert table.splitlines()[0].split() == ["share", "time/call", "node"]
    assert all(label in table for label in labels)


def test_profile_checks_its_arguments():
    x = sg.vector("x")
    f = sg.function([x], sg.exp(x))
    with pytest.raises(ValueError, match="repeat must be a positive int"):
        f.profile([1.0], repeat=0)
    with pytest.raises(TypeError, match="missing a value"):
        f.profile()


def test_profile_error_names_the_node_and_the_user_line_as_a_call_does():
    m = sg.matrix("m")
    f = sg.function([m], (m @ m).sum())
    with pytest.raises(ValueError, match=r"while computing node matmul.*created at .*test_inspect.py"):
        f.profile(np.ones((2, 3)))


def test_to_networkx_lists_the_fused_operations_inside_a_compiled_loop():
    x = sg.vector("x")
    steps, _ = sg.scan(lambda a, acc: sg.tanh(acc * 2 + a), sequences=[x], outputs_info=[sg.constant(0.0)])
    graph = sg.to_networkx(sg.function([x], steps))
    [loop] = [d for _, d in graph.nodes(data=True) if d["kind"] == "apply" and d["op"] == "scan"]
    assert "fused" not in loop["inner"]
    assert {"multiply", "add", "tanh"} <= set(loop["inner"])
