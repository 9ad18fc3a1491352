"""Turn a scheduled graph into the source of one Python function over NumPy, and compile it.

The source has one statement per node, is registered with `linecache` so tracebacks show generated
lines, and every line maps back to its node (and so to the user's line that created it).

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> program = link([x], [sg.exp(x) + 1])
    >>> program.callable(np.zeros(2))[0]
    array([2., 2.])
"""
import itertools
import linecache
import weakref

import numpy as np

from ..graph.basic import Constant
from ..graph.traversal import toposort
from .namespace import Namespace, comment_text, safe_identifier
from .numpy_backend import lower_expression

_counter = itertools.count()


class Program:
    """A compiled graph: the callable, its source, and the map from source lines to nodes."""

    __slots__ = ("callable", "source", "filename", "line_nodes", "nodes")

    def __init__(self, function, source, filename, line_nodes, nodes):
        self.callable = function
        self.source = source
        self.filename = filename
        self.line_nodes = line_nodes
        self.nodes = nodes

    def node_at_line(self, lineno):
        return self.line_nodes.get(lineno)


def _site_comment(node):
    site = node.site
    where = f" <- {comment_text(site.filename)}:{site.lineno}" if site is not None else ""
    return f"  # {comment_text(node.op)}{where}"


def link(inputs, outputs, name="symgraph_fn"):
    """Compile the graph from `inputs` (leaf variables, in parameter order) to `outputs`.

    Returns a Program whose callable takes the input values positionally and returns a tuple with one
    value per output. Leaves that are outputs are copied so callers never get an input array back.
    """
    name = safe_identifier(name)
    namespace = Namespace({"np": np})
    names = {}
    params = []
    for position, var in enumerate(inputs):
        names[id(var)] = f"i{position}"
        params.append(f"i{position}")
    nodes = toposort(outputs, stop_at=inputs)
    lines = [f"def {name}({', '.join(params)}):"]
    for position, var in enumerate(inputs):
        label = comment_text(var.name) if var.name is not None else "<unnamed>"
        lines.append(f"    # i{position}: {label} {var.type}")
    line_nodes = {}
    counter = itertools.count()
    for node in nodes:
        in_names = []
        for var in node.inputs:
            if id(var) not in names:
                if not isinstance(var, Constant):
                    raise ValueError(f"variable {var!r} is needed but is not an input")
                names[id(var)] = namespace.bind(var.data, "c")
            in_names.append(names[id(var)])
        out_names = []
        for out in node.outputs:
            out_name = f"v{next(counter)}"
            names[id(out)] = out_name
            out_names.append(out_name)
        target = ", ".join(out_names) + ("," if len(out_names) == 1 and node.op.nout > 1 else "")
        lines.append(f"    {target} = {lower_expression(node, in_names, namespace)}{_site_comment(node)}")
        line_nodes[len(lines)] = node
    results = []
    for out in outputs:
        if id(out) not in names:
            if not isinstance(out, Constant):
                raise ValueError(f"variable {out!r} is needed but is not an input")
            names[id(out)] = namespace.bind(out.data, "c")
        result = names[id(out)]
        results.append(f"{result}.copy()" if out.owner is None else result)
    lines.append(f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})")
    source = "\n".join(lines) + "\n"
    filename = f"<symgraph:{name}#{next(_counter)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace.globals)
    function = namespace.globals[name]
    # The source stays readable in tracebacks for as long as the function exists, and no longer.
    weakref.finalize(function, linecache.cache.pop, filename, None)
    return Program(function, source, filename, line_nodes, nodes)
