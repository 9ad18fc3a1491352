"""Export to networkx (`to_networkx`), DOT text (`to_dot`) and pictures through Graphviz (`render`).

The DOT text is written here rather than through networkx's pydot bridge because every identifier and
label must be quoted and escaped: user names are untrusted text, and the bridge passes some strings
through unquoted (`<...>` becomes an HTML label, `a:b` a port). So no extra runtime dependency is needed.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> g = to_networkx(sg.exp(x))
    >>> sorted(data["kind"] for _, data in g.nodes(data=True))
    ['apply', 'variable', 'variable']
"""
import os
import shutil
import subprocess

from ..graph.traversal import toposort
from .common import format_constant, inner_graphs, inner_names, leaf_kind, one_line, op_label, view_of

RENDER_FORMATS = ("svg", "png", "pdf")

_INSTALL_HINT = (
    "install Graphviz so that its `dot` program is on PATH, e.g. `apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install graphviz`"
)


def to_networkx(obj):
    """A `networkx.DiGraph` of `obj` (a Variable, a list of them, or a compiled function's optimized graph).

    Nodes are the operations and the variables, keyed by stable strings in topological order (`"v0"`, `"a0"`,
    ...); edges follow the data flow (variable -> operation -> variable). An operation node has `kind="apply"`,
    `op` (the public function name, e.g. "exp", "matmul", "sum"; "fused" for a fused kernel, whose inner op
    names are in `inner`, as are those of a loop's or branch's inner graphs, fused kernels expanded), `label` (the op with its parameters) and `site` (where user code created it, or
    None). A variable node has `kind="variable"`, `name` (str or None), `dtype` (str, e.g. "float64"),
    `shape` (tuple of int or None), `role` ("input", "shared", "constant" or "result"), `output` (bool) and,
    for constants, `value` (short text). An edge into an operation has `positions`, the input slots it feeds;
    an edge out of one has `index`, the output position. `graph.graph["outputs"]` lists the output node keys.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> g = to_networkx(sg.exp(x) + x)
        >>> [d["op"] for _, d in g.nodes(data=True) if d["kind"] == "apply"]
        ['exp', 'add']
        >>> g.nodes["v0"]["name"], g.nodes["v0"]["shape"]
        ('x', (None,))
    """
    import networkx as nx

    view = view_of(obj, "to_networkx")
    graph = nx.DiGraph()
    keys = {}
    output_ids = {id(v) for v in view.outputs}

    def add_variable(var):
        key = f"v{len(keys)}"
        keys[id(var)] = key
        graph.add_node(key, **_variable_attributes(var, id(var) in output_ids))
        return key

    for leaf in view.leaves:
        add_variable(leaf)
    for position, node in enumerate(view.nodes):
        apply_key = f"a{position}"
        graph.add_node(apply_key, **_apply_attributes(node))
        slots = {}
        for slot, var in enumerate(node.inputs):
            slots.setdefault(keys[id(var)], []).append(slot)
        for var_key, positions in slots.items():
            graph.add_edge(var_key, apply_key, positions=tuple(positions))
        for out in node.outputs:
            graph.add_edge(apply_key, add_variable(out), index=out.index)
    graph.graph["outputs"] = [keys[id(v)] for v in view.outputs]
    return graph


def _variable_attributes(var, is_output):
    attributes = {
        "kind": "variable",
        "name": var.name,
        "dtype": var.dtype.name,
        "shape": var.type.shape,
        "role": leaf_kind(var),
        "output": is_output,
    }
    if attributes["role"] == "constant":
        attributes["value"] = format_constant(var.data)
    return attributes


def _apply_attributes(node):
    attributes = {"kind": "apply", "op": node.op.name, "label": op_label(node.op),
                  "site": None if node.site is None else str(node.site)}
    inner = inner_names(node.op)
    if inner is not None:
        attributes["inner"] = inner
    graphs = inner_graphs(node.op)
    if graphs:  # a loop or branch: the operations of its inner graphs, in order
        attributes["inner"] = [name for _, outputs in graphs for n in toposort(list(outputs))
                               for name in _operation_names(n.op)]
    return attributes


def _operation_names(op):
    """The names `op` stands for in an `inner` list: a fused kernel's inner operations, else its own name."""
    inner = inner_names(op)
    return [one_line(op.name)] if inner is None else inner


def dot_quote(text) -> str:
    """`text` as a double-quoted DOT string: backslashes, quotes and line breaks escaped, control chars spelled out.

    Example:
        >>> print(dot_quote('say "hi"'))
        "say \\"hi\\""
    """
    escaped = []
    for char in str(text):
        if char in '\\"':
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif not char.isprintable():
            escaped.append(f"\\\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


_ROLE_STYLE = {
    "input": {"shape": "ellipse", "style": "filled", "fillcolor": "lightblue"},
    "shared": {"shape": "ellipse", "style": "filled", "fillcolor": "khaki"},
    "constant": {"shape": "plaintext"},
    "result": {"shape": "ellipse"},
}


def _dot_label(data):
    if data["kind"] == "apply":
        inner = data.get("inner")
        return data["label"] if inner is None else f"{data['label']}\n{', '.join(inner)}"
    type_text = f"{data['dtype']}[{','.join('?' if s is None else str(s) for s in data['shape'])}]"
    title = data["value"] if data["role"] == "constant" else data["name"]
    return type_text if title is None else f"{title}\n{type_text}"


def _dot_attributes(data):
    if data["kind"] == "apply":
        style = {"shape": "box", "style": "rounded"}
    else:
        style = dict(_ROLE_STYLE[data["role"]])
        if data["output"]:
            style["peripheries"] = "2"
    style["label"] = _dot_label(data)
    return ", ".join(f"{key}={dot_quote(value)}" for key, value in style.items())


def to_dot(obj, name="symgraph") -> str:
    """DOT text (Graphviz) of `obj`: operations as boxes, variables as ellipses, data flowing top to bottom.

    Inputs are blue, shared variables yellow, outputs drawn with a double border. Every identifier and label
    is quoted and escaped, so the text parses back (e.g. with pydot) whatever names the user chose.

    Example:
        >>> import symgraph as sg
        >>> print(to_dot(sg.exp(sg.vector("x"))), end="")
        digraph "symgraph" {
          "v0" [shape="ellipse", style="filled", fillcolor="lightblue", label="x\\nfloat64[?]"];
          "a0" [shape="box", style="rounded", label="exp"];
          "v1" [shape="ellipse", peripheries="2", label="float64[?]"];
          "v0" -> "a0";
          "a0" -> "v1";
        }
    """
    graph = to_networkx(obj)
    lines = [f"digraph {dot_quote(name)} {{"]
    for key, data in graph.nodes(data=True):
        lines.append(f"  {dot_quote(key)} [{_dot_attributes(data)}];")
    for source, target in graph.edges():
        lines.append(f"  {dot_quote(source)} -> {dot_quote(target)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(obj, path, format=None):
    """Draw `obj` into `path` (.svg, .png or .pdf) with Graphviz's `dot` program; returns `path`.

    The format comes from the file suffix unless `format` is given. Raises RuntimeError explaining how to
    install Graphviz when `dot` is not on PATH, and when `dot` fails.

    Example:
        >>> import symgraph as sg
        >>> sg.render(sg.exp(sg.vector("x")), "graph.svg")  # doctest: +SKIP
        'graph.svg'
    """
    path = os.fspath(path)
    fmt = (format or os.path.splitext(path)[1].lstrip(".")).lower()
    if fmt not in RENDER_FORMATS:
        raise ValueError(f"render: cannot write {path!r}; the file must end in one of "
                         f"{', '.join('.' + f for f in RENDER_FORMATS)} (or pass format=)")
    text = to_dot(obj)
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(f"render: Graphviz's `dot` program was not found; {_INSTALL_HINT}. "
                           "sg.to_dot(obj) gives the DOT text without Graphviz.")
    finished = subprocess.run([program, f"-T{fmt}", "-o", path], input=text.encode("utf-8"),
                              capture_output=True, check=False)
    if finished.returncode != 0:
        message = finished.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"render: Graphviz's dot failed writing {path!r} (exit {finished.returncode}): {message}")
    return path
