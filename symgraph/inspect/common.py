"""What every printer and exporter shares: which graph an object means, and how its parts are named.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> view = view_of(sg.exp(x), "debugprint")
    >>> [n.op.name for n in view.nodes], [leaf.name for leaf in view.leaves]
    (['exp'], ['x'])
"""
import re

import numpy as np

from ..codegen.namespace import comment_text
from ..graph.basic import Constant, SharedVariable, Variable
from ..graph.fgraph import FunctionGraph
from ..graph.traversal import graph_inputs, toposort

_SMALL_CONSTANT = 6
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


class GraphView:
    """The graph an inspection function works on: `outputs`, topological `nodes` and `leaves`.

    `leaves` lists the declared inputs first (a compiled function's inputs and shared variables), then every
    other leaf in first-use order. `single` is True when the user passed one Variable rather than a list.
    `updates` maps an output position to the shared variable that output updates.
    """

    __slots__ = ("outputs", "nodes", "leaves", "single", "updates")

    def __init__(self, outputs, nodes, declared_inputs=(), single=False, updates=None):
        self.outputs = list(outputs)
        self.nodes = list(nodes)
        seen = set()
        self.leaves = []
        for leaf in list(declared_inputs) + graph_inputs(self.outputs):
            if id(leaf) not in seen:
                seen.add(id(leaf))
                self.leaves.append(leaf)
        self.single = single
        self.updates = dict(updates or {})


def view_of(obj, caller) -> GraphView:
    """The GraphView of a Variable, a list/tuple of Variables, a FunctionGraph, or a compiled function.

    Raises TypeError naming `caller` for anything else.
    """
    if isinstance(obj, FunctionGraph):
        return GraphView(obj.outputs, obj.nodes, obj.inputs)
    graph = getattr(obj, "graph", None)
    if isinstance(graph, FunctionGraph):  # a compiled function
        n_results = getattr(obj, "_n_outputs", len(graph.outputs))
        targets = getattr(obj, "_update_targets", ())
        updates = {n_results + i: target for i, target in enumerate(targets)}
        return GraphView(graph.outputs, graph.nodes, graph.inputs, updates=updates)
    if isinstance(obj, Variable):
        return GraphView([obj], toposort([obj]), single=True)
    if isinstance(obj, (list, tuple)) and all(isinstance(v, Variable) for v in obj):
        return GraphView(obj, toposort(list(obj)))
    raise TypeError(
        f"{caller} expects a symbolic variable, a list of them or a compiled function, got {type(obj).__name__}: "
        f"{_short_repr(obj)}"
    )


def _short_repr(obj, limit=80):
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def inner_names(op):
    """The inner element-wise op names of a fused kernel, or None for any other op."""
    names = getattr(op, "inner_names", None)
    return None if names is None else [str(n) for n in names]


def inner_graphs(op):
    """The (title, outputs) of each inner graph an op holds (a loop's step, a branch), for the printers."""
    return getattr(op, "inner_graphs", ())


def op_label(op) -> str:
    """The op with its parameters, on one line: `sum{axis=(0,), keepdims=False}`, `exp`, `fused`.

    Fused kernels show only their name: their inner operations are listed separately by each printer.
    """
    if inner_names(op) is not None:
        return one_line(op.name)
    return one_line(str(op))


def kernel_label(op) -> str:
    """`op_label`, with a fused kernel's inner operations in brackets: `fused[exp, multiply]`."""
    inner = inner_names(op)
    return op_label(op) if inner is None else f"{one_line(op.name)}[{', '.join(map(one_line, inner))}]"


def one_line(text) -> str:
    """`text` with line breaks and other control characters escaped, so that it fits on one line."""
    text = str(text)
    if text.isprintable():
        return text
    return comment_text(text)


def display_name(name) -> str:
    """A leaf name as printed: plain names as they are, anything else quoted, so listings stay unambiguous."""
    return name if _PLAIN_NAME.match(name) else repr(name)


def format_constant(data) -> str:
    """A short text for a constant's value: `2.0`, `[1, 2, 3]`, or `<float64[100] constant>` when large.

    Example:
        >>> format_constant(np.array(2.0))
        '2.0'
    """
    data = np.asarray(data)
    if data.ndim == 0:
        return _format_scalar(data[()])
    if data.size <= _SMALL_CONSTANT:
        return "[" + ", ".join(format_constant(row) for row in data) + "]"
    shape = ",".join(map(str, data.shape))
    return f"<{data.dtype.name}[{shape}] constant>"


def _format_scalar(value) -> str:
    if isinstance(value, np.bool_):
        return str(bool(value))
    if isinstance(value, np.complexfloating):
        return str(complex(value))
    return str(value)


def is_compact_constant(var) -> bool:
    """A 0-d constant, printed inline as its value."""
    return isinstance(var, Constant) and var.data.ndim == 0


def leaf_kind(var) -> str:
    """'constant', 'shared', 'input' for leaves; 'result' for variables computed by a node."""
    if var.owner is not None:
        return "result"
    if isinstance(var, Constant):
        return "constant"
    if isinstance(var, SharedVariable):
        return "shared"
    return "input"


def leaf_names(leaves, prefix="v") -> dict:
    """Unique names for the non-constant `leaves`: {id(var): name}.

    A leaf keeps its own name; a repeated name gets a suffix (`x`, `x_1`); an unnamed leaf gets the next
    free generated name (`v0`, `v1`, ...), in the order given, so the names are stable for a given graph.

    Example:
        >>> import symgraph as sg
        >>> a, b, c = sg.vector("x"), sg.vector("x"), sg.vector()
        >>> sorted(leaf_names([a, b, c]).values())
        ['v0', 'x', 'x_1']
    """
    taken = {v.name for v in leaves if v.name is not None and not isinstance(v, Constant)}
    used = set()
    names = {}
    counter = 0
    for var in leaves:
        if isinstance(var, Constant) or id(var) in names:
            continue
        if var.name is not None and var.name not in used:
            name = var.name
        elif var.name is not None:
            suffix = 1
            while f"{var.name}_{suffix}" in taken or f"{var.name}_{suffix}" in used:
                suffix += 1
            name = f"{var.name}_{suffix}"
        else:
            while f"{prefix}{counter}" in taken or f"{prefix}{counter}" in used:
                counter += 1
            name = f"{prefix}{counter}"
        used.add(name)
        names[id(var)] = name
    return names


def output_suffix(var) -> str:
    """'' for the only output of a node, else the output's position, like ` (out 1)`."""
    if var.owner is None or len(var.owner.outputs) == 1:
        return ""
    return f" (out {var.index})"
