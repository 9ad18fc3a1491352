"""Turn a scheduled graph into Python source over NumPy, and compile it.

The source has one statement per node (or a few for a fused kernel), is registered with `linecache` so
tracebacks show generated lines, and every line maps back to its node (and so to the user's line that
created it). Two shapes of function are generated from the same body:
- `link`: a plain function from leaf values to a tuple of results (used to profile and to test);
- `link_function`: the entry point of a compiled `sg.function`, with argument checks, shared-variable
  reads, updates and output packaging inlined, so a call costs one Python frame.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> program = link([x], [sg.exp(x) + 1])
    >>> program.callable(np.zeros(2))[0]
    array([2., 2.])
"""
import builtins
import itertools
import keyword
import linecache
import re
import unicodedata
import weakref

import numpy as np

from ..graph.basic import Constant
from ..graph.traversal import toposort
from ..ops.elemwise import Elemwise
from ..ops.linalg import MatMul
from .memory import reusable_operands
from .namespace import Namespace, comment_text, safe_identifier
from .numpy_backend import lower_statements

_counter = itertools.count()


class Program:
    """A compiled graph: the callable (or entry), its source, and the map from source lines to nodes."""

    __slots__ = ("callable", "source", "filename", "line_nodes", "line_descriptions", "nodes", "buffer_reuses",
                 "__weakref__")

    def __init__(self, function, source, filename, line_nodes, line_descriptions, nodes, buffer_reuses=0):
        self.callable = function
        self.source = source
        self.filename = filename
        self.line_nodes = line_nodes
        self.line_descriptions = line_descriptions
        self.nodes = nodes
        self.buffer_reuses = buffer_reuses

    def node_at_line(self, lineno):
        return self.line_nodes.get(lineno)

    def description_at_line(self, lineno):
        """What the line computes when finer than its node (a step of a fused kernel), else None."""
        return self.line_descriptions.get(lineno)


def _site_comment(node):
    site = node.site
    where = f" <- {comment_text(site.filename)}:{site.lineno}" if site is not None else ""
    return f"  # {comment_text(node.op)}{where}"


class _Source:
    """Lines of generated source with the node (and, for kernels, the step) each line computes."""

    def __init__(self):
        self.lines = []
        self.line_nodes = {}
        self.line_descriptions = {}

    def add(self, line, node=None, description=None):
        self.lines.append(line)
        if node is not None:
            self.line_nodes[len(self.lines)] = node
        if description is not None:
            self.line_descriptions[len(self.lines)] = description


def _write_body(source, indent, inputs, input_names, outputs, namespace, nan_guard=False, reuse_buffers=False,
                prefix="v", overwritable=None):
    """Append one statement (or a few) per scheduled node; return (result names, scheduled nodes, number
    of nodes that may write into an operand's array). Intermediate values are named `prefix` plus a counter
    (a loop's body, written inside its function, has a prefix of its own). `overwritable`: {node: input
    positions} the caller knows may be written into besides the memory plan's (a loop's own state arrays).

    With `nan_guard`, each floating-point output is checked right after its node and the first one
    holding NaN or inf raises FloatingPointError naming the node. With `reuse_buffers`, element-wise
    nodes write into dead intermediate arrays where memory.py allows it.
    """
    names = {id(var): name for var, name in zip(inputs, input_names)}

    def name_of(var):
        existing = names.get(id(var))
        if existing is None:
            if not isinstance(var, Constant):
                raise ValueError(f"variable {var!r} is needed but is not an input")
            existing = names[id(var)] = namespace.bind(var.data, "c")
        return existing

    nodes = toposort(outputs, stop_at=inputs)
    dead_after = _dead_after(nodes, outputs)
    reusable = reusable_operands(nodes, outputs) if reuse_buffers else {}
    if overwritable:
        reusable = {**reusable, **overwritable}
    counter = itertools.count()
    for node in nodes:
        in_names = [name_of(var) for var in node.inputs]
        out_names = []
        for out in node.outputs:
            out_name = f"{prefix}{next(counter)}"
            names[id(out)] = out_name
            out_names.append(out_name)
        statements = lower_statements(node, in_names, out_names, namespace, reusable.get(node, ()))
        for position, statement in enumerate(statements):
            text, description = statement if isinstance(statement, tuple) else (statement, None)
            comment = _site_comment(node) if position == len(statements) - 1 else ""
            source.add(f"{indent}{text}{comment}", node, description)
        if nan_guard:
            _write_nan_guard(source, indent, node, out_names, namespace)
        dead = [names[id(var)] for var in dead_after.get(node, ())]
        if dead:
            source.add(f"{indent}del {', '.join(dead)}")
    return [name_of(out) for out in outputs], nodes, len(reusable)


class NonFiniteError:
    """Builds the FloatingPointError for a node output found holding NaN or inf."""

    __slots__ = ("node", "index")

    def __init__(self, node, index):
        self.node = node
        self.index = index

    def __call__(self, value):
        value = np.asarray(value)
        kinds = [label for label, found in (("NaN", np.isnan(value).any()), ("inf", np.isinf(value).any())) if found]
        site = f", created at {self.node.site}" if self.node.site is not None else ""
        operands = ", ".join(str(v.type) for v in self.node.inputs)
        return FloatingPointError(
            f"nan_guard: {' and '.join(kinds)} in the output of {self.node.op}({operands}){site}"
        )


def _write_nan_guard(source, indent, node, out_names, namespace):
    for index, (out, name) in enumerate(zip(node.outputs, out_names)):
        if out.dtype.kind in "fc":
            error = namespace.bind(NonFiniteError(node, index), "nan_guard")
            # unmapped lines: the error already names its node, so it is not located again
            source.add(f"{indent}if not np.isfinite({name}).all():")
            source.add(f"{indent}    raise {error}({name})")


def _dead_after(nodes, outputs):
    """For each node, the intermediate values whose last use it is: deleting them right away lets NumPy
    reuse their memory instead of faulting in fresh pages for every later temporary."""
    last_use = {}
    for node in nodes:
        for var in node.inputs:
            if var.owner is not None:
                last_use[id(var)] = (node, var)
    kept = {id(var) for var in outputs}
    dead_after = {}
    for var_id, (node, var) in last_use.items():
        if var_id not in kept:
            dead_after.setdefault(node, []).append(var)
    for node in nodes:
        for out in node.outputs:
            if id(out) not in last_use and id(out) not in kept:
                dead_after.setdefault(node, []).append(out)
    return dead_after


_DEAD_SOURCES = []
"""Files of generated functions that were garbage-collected, removed from `linecache` at the next compile.
Removing them in the collector itself could happen while `linecache.checkcache` walks the cache (it
lists the keys, then reads each), which then raised KeyError in tracebacks, pdb and doctest."""


def _compile(source_text, name, namespace):
    while _DEAD_SOURCES:
        linecache.cache.pop(_DEAD_SOURCES.pop(), None)
    filename = f"<symgraph:{name}#{next(_counter)}>"
    linecache.cache[filename] = (len(source_text), None, source_text.splitlines(True), filename)
    exec(compile(source_text, filename, "exec"), namespace.globals)
    function = namespace.globals[name]
    # The source stays readable in tracebacks for as long as the function exists.
    weakref.finalize(function, _DEAD_SOURCES.append, filename)
    return function, filename


def link(inputs, outputs, name="symgraph_fn"):
    """Compile the graph from `inputs` (leaf variables, in parameter order) to `outputs`.

    Returns a Program whose callable takes the input values positionally and returns a tuple with one
    value per output. Leaves that are outputs are copied so callers never get an input array back.
    """
    name = safe_identifier(name)
    namespace = Namespace({"np": np})
    params = [f"i{position}" for position in range(len(inputs))]
    source = _Source()
    source.add(f"def {name}({', '.join(params)}):")
    for param, var in zip(params, inputs):
        source.add(f"    # {param}: {_describe_leaf(var)}")
    results, nodes, _ = _write_body(source, "    ", inputs, params, outputs, namespace)
    results = [f"{r}.copy()" if out.owner is None else r for r, out in zip(results, outputs)]
    source.add(f"    return {_tuple_text(results)}")
    text = "\n".join(source.lines) + "\n"
    function, filename = _compile(text, name, namespace)
    return Program(function, text, filename, source.line_nodes, source.line_descriptions, nodes)


def _tuple_text(names):
    """Python for the tuple of `names`: `()`, `(a,)` or `(a, b)`."""
    return f"({', '.join(names)}{',' if len(names) == 1 else ''})"


def _describe_leaf(var):
    label = comment_text(var.name) if var.name is not None else "<unnamed>"
    return f"{label} {var.type}"


class EntrySpec:
    """What the entry point of a compiled function needs besides the graph.

    `check_input(i, value)` converts and checks argument i (raising the user-facing error);
    `shared_containers` hold the shared values read at each call, in the order of the `shared` leaves;
    `update_containers` receive the new values, which are the last outputs, in the same order; `locked`
    is a context manager held while shared values are read and replaced; `output_kind` is "single",
    "list" or "none"; `owned(array, sources, others)` copies an array the caller may not own;
    `locate(exc)` returns the error naming the failing node; `nan_guard` checks every floating-point
    result for NaN/inf; `reuse_buffers` lets element-wise nodes write into dead intermediates (memory.py);
    `title` names the function in Python's own argument errors. Calls that the parameters cannot bind
    (keyword arguments without keyword parameters, surplus positional ones) go through the compiled
    function's `_call_general(args, kwargs)`, which binds them and calls again positionally.
    """

    def __init__(self, check_input, shared_containers, update_containers, locked, output_kind, owned, locate,
                 trust_input, nan_guard=False, reuse_buffers=False, title="compiled function"):
        self.check_input = check_input
        self.shared_containers = shared_containers
        self.update_containers = update_containers
        self.locked = locked
        self.output_kind = output_kind
        self.owned = owned
        self.locate = locate
        self.trust_input = trust_input
        self.nan_guard = nan_guard
        self.reuse_buffers = reuse_buffers
        self.title = title


def _fresh(var):
    """True when the value computed for `var` is always a new array no caller has seen."""
    return var.owner is not None and (type(var.owner.op) in (Elemwise, MatMul) or var.owner.op.name == "fused")


def link_function(inputs, shared, outputs, spec, name="symgraph_fn"):
    """Compile the entry point `__call__(self, *values)` of a compiled function (see EntrySpec).

    `outputs` are the user's outputs followed by the new values of `spec.update_containers`. When every
    input's name can be a parameter (`keyword_parameters`), the parameters are the input names, so
    Python binds keyword arguments itself; otherwise they are positional-only and keyword calls go through
    `self._call_general`.
    """
    name = safe_identifier(name)
    params = keyword_parameters(inputs, name)
    if params is not None:
        program, namespace = _link_entry(inputs, shared, outputs, spec, name, params, keywords=True)
        if not namespace.globals.keys() & set(params):
            return program
    positional = [f"i{position}" for position in range(len(inputs))]
    return _link_entry(inputs, shared, outputs, spec, name, positional, keywords=False)[0]


_GENERATED_LOCAL = re.compile(r"(?:i|s|v|out|new)\d+(?:_\w*)?")
_ENTRY_LOCALS = frozenset({"self", "extra", "exc"})


def keyword_parameters(inputs, function_name):
    """The input names as parameter names, or None when one cannot be: unnamed, not an identifier, a
    keyword or builtin, changed by Python's identifier normalization, repeated, or a name the generated
    code uses itself. (A name that the body binds as a global is found after generating it.)

    Example:
        >>> import symgraph as sg
        >>> keyword_parameters([sg.vector("x"), sg.vector("learning_rate")], "step")
        ['x', 'learning_rate']
        >>> keyword_parameters([sg.vector("x"), sg.vector("x")], "step") is None
        True
    """
    names = [var.name for var in inputs]
    for name in names:
        if (name is None or not name.isidentifier() or keyword.iskeyword(name) or hasattr(builtins, name)
                or unicodedata.normalize("NFKC", name) != name or _GENERATED_LOCAL.fullmatch(name)
                or name in _ENTRY_LOCALS or name == function_name):
            return None
    return names if len(set(names)) == len(names) else None


def _link_entry(inputs, shared, outputs, spec, name, params, keywords):
    """The entry point with parameters `params` (with `keywords`, the input names; else positional-only)
    and the namespace of its globals."""
    namespace = Namespace({"np": np, "MISSING": _MISSING, "asarray": np.asarray, "ndarray": np.ndarray,
                           "owned": spec.owned, "locate": spec.locate})
    shared_names = [f"s{position}" for position in range(len(shared))]
    source = _Source()
    if keywords:
        signature = ", ".join(["self"] + params + ["*extra"])
        guard = "extra"
        given = f"{_tuple_text(params)} + extra, {{}}"
    else:
        signature = ", ".join(["self"] + [f"{p}=MISSING" for p in params] + (["/"] if params else []) + ["*extra", "**kwargs"])
        guard = " or ".join(["kwargs", "extra"] + ([f"{params[-1]} is MISSING"] if params else []))
        present = f"tuple(a for a in {_tuple_text(params)} if a is not MISSING)" if params else "()"
        given = f"{present} + extra, kwargs"
    source.add(f"def {name}({signature}):")
    for param, var in zip(params, inputs):
        source.add(f"    # {param}: input {_describe_leaf(var)}")
    for shared_name, var in zip(shared_names, shared):
        source.add(f"    # {shared_name}: shared {_describe_leaf(var)}")
    source.add(f"    if {guard}:")
    source.add(f"        return self.{_GENERAL_CALL}({given})")
    if not spec.trust_input:
        _write_checks(source, inputs, params, spec, namespace)
    indent = "    "
    update_count = len(spec.update_containers)
    if update_count:
        source.add(f"    with {namespace.bind(spec.locked, 'shared_locks')}:")
        indent = "        "
    for shared_name, container in zip(shared_names, spec.shared_containers):
        source.add(f"{indent}{shared_name} = {namespace.bind(container, 'container')}.value")
    try_line = len(source.lines)
    source.add(f"{indent}try:")
    results, nodes, buffer_reuses = _write_body(source, indent + "    ", inputs + shared, params + shared_names,
                                                outputs, namespace, spec.nan_guard, spec.reuse_buffers)
    if nodes:
        source.add(f"{indent}except Exception as exc:")
        source.add(f"{indent}    raise locate(exc) from exc")
    else:
        source.lines.pop(try_line)
    sources = _tuple_text(params + shared_names)
    n_outputs = len(outputs) - update_count
    packaged = []
    for position, (result, out) in enumerate(zip(results, outputs)):
        expression = _package(result, out, sources, packaged, outputs[:position])
        if expression != result:
            label = f"out{position}" if position < n_outputs else f"new{position - n_outputs}"
            source.add(f"{indent}{label} = {expression}")
            expression = label
        packaged.append(expression)
    for container, value in zip(spec.update_containers, packaged[n_outputs:]):
        source.add(f"{indent}{namespace.bind(container, 'container')}.value = {value}")
    user_outputs = packaged[:n_outputs]
    if spec.output_kind == "none":
        source.add(f"{indent}return None")
    elif spec.output_kind == "single":
        source.add(f"{indent}return {user_outputs[0]}")
    else:
        source.add(f"{indent}return [{', '.join(user_outputs)}]")
    text = "\n".join(source.lines) + "\n"
    function, filename = _compile(text, name, namespace)
    # Python's own errors for keyword calls (a missing, unexpected or repeated argument) name the function
    # by its qualified name.
    function.__qualname__ = spec.title
    program = Program(function, text, filename, source.line_nodes, source.line_descriptions, nodes, buffer_reuses)
    return program, namespace


_GENERAL_CALL = "_call_general"
_MISSING = type("Missing", (), {"__repr__": lambda self: "<missing>", "__slots__": ()})()


def _write_checks(source, inputs, params, spec, namespace):
    """Fast-path argument checks: an ndarray of the exact dtype, rank and static sizes passes untouched;
    anything else goes through `spec.check_input`, which converts it or raises the user-facing error."""
    for position, (param, var) in enumerate(zip(params, inputs)):
        dtype = namespace.bind(var.type.dtype, f"dtype_{var.type.dtype.name}")
        conditions = [f"{param}.__class__ is not ndarray", f"{param}.dtype is not {dtype}",
                      f"{param}.ndim != {var.type.ndim}"]
        conditions += [f"{param}.shape[{axis}] != {size}" for axis, size in enumerate(var.type.shape) if size is not None]
        check = namespace.bind(_bound_check(spec.check_input, position), f"check_{param}")
        source.add(f"    if {' or '.join(conditions)}:")
        source.add(f"        {param} = {check}({param})")


def _bound_check(check_input, position):
    def check(value):
        return check_input(position, value)

    return check


def _package(result, out, sources, earlier_packaged, earlier_outputs):
    """Expression giving the caller an array it owns: fresh results pass, others are checked or copied."""
    repeated = any(previous is out for previous in earlier_outputs)
    if out.owner is None or repeated:
        return f"asarray({result}).copy()"
    # A fresh array is the caller's unless an earlier output may be a view of it.
    if _fresh(out) and all(previous.owner is None or _fresh(previous) for previous in earlier_outputs):
        return f"asarray({result})" if out.ndim == 0 else result
    others = _tuple_text(earlier_packaged)
    return f"owned(asarray({result}), {sources}, {others})"
