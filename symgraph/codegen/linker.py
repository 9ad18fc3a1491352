"""Turn a scheduled graph into Python source, with the lowerings of a backend (codegen/backend.py), and
compile it.

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
import threading
import types
import unicodedata
import weakref

import numpy as np

from ..graph.basic import Constant
from ..graph.traversal import toposort
from ..ops.elemwise import Elemwise
from ..ops.linalg import MatMul
from .memory import reusable_operands
from .namespace import Namespace, comment_text, safe_identifier
from .backend import backend as get_backend

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
    """Lines of generated source with the node (and, for kernels, the step) each line computes.

    Lines added with `add_part` belong to helper functions placed after everything added with `add`;
    `text()` joins both and maps each line to its node.
    """

    def __init__(self):
        self.lines = []
        self.line_nodes = {}
        self.line_descriptions = {}
        self._parts = []

    def add(self, line, node=None, description=None):
        self._place(line, node, description)

    def add_part(self, line, node=None, description=None):
        self._parts.append((line, node, description))

    def text(self):
        for line, node, description in self._parts:
            self._place(line, node, description)
        self._parts = []
        return "\n".join(self.lines) + "\n"

    def _place(self, line, node, description):
        self.lines.append(line)
        if node is not None:
            self.line_nodes[len(self.lines)] = node
        if description is not None:
            self.line_descriptions[len(self.lines)] = description


CHUNK_LINES = 250
"""Most lines in one generated function: CPython's compiler takes time superlinear in the size of one
function, so a longer body is split into functions of about this many lines that the entry point calls
in turn, each taking the values it reads and returning the values later ones need."""


class _NodeCode:
    """The lines computing one scheduled node: (text, node, description) triples without indentation,
    the names it reads and binds, and the names whose last use it is."""

    __slots__ = ("lines", "reads", "binds", "dead")

    def __init__(self, lines, reads, binds, dead):
        self.lines = lines
        self.reads = reads
        self.binds = binds
        self.dead = dead

    def size(self):
        """Lines written for the node, its `del` included."""
        return len(self.lines) + bool(self.dead)


def _write_body(source, indent, inputs, input_names, outputs, namespace, nan_guard=False, reuse_buffers=False,
                prefix="v", overwritable=None, function_name=None):
    """Append one statement (or a few) per scheduled node; return (result names, scheduled nodes, number
    of nodes that may write into an operand's array). Intermediate values are named `prefix` plus a counter
    (a loop's body, written inside its function, has a prefix of its own). `overwritable`: {node: input
    positions} the caller knows may be written into besides the memory plan's (a loop's own state arrays).

    With `nan_guard`, each floating-point output is checked right after its node and the first one
    holding NaN or inf raises FloatingPointError naming the node. With `reuse_buffers`, element-wise
    nodes write into dead intermediate arrays where memory.py allows it. With `function_name` (the body is
    a whole function's), a body of more than CHUNK_LINES lines goes into helper functions
    `<function_name>_part<k>` (see CHUNK_LINES); without it (a block nested in other code) it stays inline.
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
    codes = []
    for node in nodes:
        in_names = [name_of(var) for var in node.inputs]
        out_names = []
        for out in node.outputs:
            out_name = f"{prefix}{next(counter)}"
            names[id(out)] = out_name
            out_names.append(out_name)
        lines = []
        statements = namespace.backend.lower_statements(node, in_names, out_names, namespace, reusable.get(node, ()))
        for position, statement in enumerate(statements):
            text, description = statement if isinstance(statement, tuple) else (statement, None)
            comment = _site_comment(node) if position == len(statements) - 1 else ""
            lines.append((f"{text}{comment}", node, description))
        if nan_guard:
            _nan_guard_lines(lines, node, out_names, namespace)
        dead = [names[id(var)] for var in dead_after.get(node, ())]
        # constants are globals of the generated module, so no chunk takes them as parameters
        reads = [name for var, name in zip(node.inputs, in_names) if not isinstance(var, Constant)]
        codes.append(_NodeCode(lines, reads, out_names, dead))
    results = [name_of(out) for out in outputs]
    if function_name is None or sum(code.size() for code in codes) <= CHUNK_LINES:
        _write_inline(source, indent, codes)
    else:
        _write_chunks(source, indent, _chunks(codes), function_name)
    return results, nodes, len(reusable)


def _write_inline(source, indent, codes):
    for code in codes:
        for text, node, description in code.lines:
            source.add(f"{indent}{text}", node, description)
        if code.dead:
            source.add(f"{indent}del {', '.join(code.dead)}")


def _chunks(codes):
    """The node codes in consecutive runs of about CHUNK_LINES lines (a node's lines are never split)."""
    chunks, current, size = [], [], 0
    for code in codes:
        if current and size + code.size() > CHUNK_LINES:
            chunks.append(current)
            current, size = [], 0
        current.append(code)
        size += code.size()
    chunks.append(current)
    return chunks


def _write_chunks(source, indent, chunks, function_name):
    """One helper function per chunk, called in turn from the body. A chunk takes the values it reads that
    earlier chunks (or the parameters) made, deletes its own values at their last use and returns the
    rest; the body deletes a value passed in once no later chunk needs it."""
    for index, chunk in enumerate(chunks):
        bound = {name for code in chunk for name in code.binds}
        params = list(dict.fromkeys(name for code in chunk for name in code.reads if name not in bound))
        dead = {name for code in chunk for name in code.dead}
        returned = [name for code in chunk for name in code.binds if name not in dead]
        part = f"{function_name}_part{index}"
        source.add_part("")
        source.add_part(f"def {part}({', '.join(params)}):")
        for code in chunk:
            for text, node, description in code.lines:
                source.add_part(f"    {text}", node, description)
            own_dead = [name for name in code.dead if name in bound]
            if own_dead:
                source.add_part(f"    del {', '.join(own_dead)}")
        source.add_part(f"    return {_tuple_text(returned)}")
        call = f"{part}({', '.join(params)})"
        source.add(f"{indent}{', '.join(returned)}{',' if len(returned) == 1 else ''} = {call}" if returned
                   else f"{indent}{call}")
        passed_dead = [name for name in params if name in dead]
        if passed_dead:
            source.add(f"{indent}del {', '.join(passed_dead)}")


def node_description(node) -> str:
    """How errors name a node: its op, operand types and, when known, the user line that created it.

    Example:
        >>> import symgraph as sg
        >>> node_description(sg.exp(sg.vector("x")).owner)
        'exp(float64[?]), created at ...'
    """
    site = f", created at {node.site}" if node.site is not None else ""
    return f"{node.op}({', '.join(str(v.type) for v in node.inputs)}){site}"


def with_location(exc, where):
    """A copy of `exc` whose message ends with `[where]` (what failed), RuntimeError if its type cannot be
    made from a message.

    Example:
        >>> with_location(ValueError("bad shape"), "while computing node exp")
        ValueError('bad shape [while computing node exp]')
    """
    message = f"{exc} [{where}]"
    try:
        return type(exc)(message)
    except Exception:
        return RuntimeError(message)


class NonFiniteError:
    """Builds the FloatingPointError for a node output found holding NaN or inf. It keeps the node's
    description, not the node, so it pickles small (the Dask backend sends it to workers)."""

    __slots__ = ("where", "index")

    def __init__(self, node, index):
        self.where = node_description(node)
        self.index = index

    def __call__(self, value):
        value = np.asarray(value)
        kinds = [label for label, found in (("NaN", np.isnan(value).any()), ("inf", np.isinf(value).any())) if found]
        return FloatingPointError(f"nan_guard: {' and '.join(kinds)} in the output of {self.where}")


def _nan_guard_lines(lines, node, out_names, namespace):
    for index, (out, name) in enumerate(zip(node.outputs, out_names)):
        if out.dtype.kind in "fc":
            guard = namespace.backend.nan_guard_lines(name, NonFiniteError(node, index), namespace)
            # unmapped lines: the error already names its node, so it is not located again
            lines.extend((text, None, None) for text in guard)


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


class _CodeCache:
    """Code objects of recently compiled sources, by source text: compiling the same graph again (a script
    that rebuilds its functions, a notebook cell run twice) skips CPython's compiler, which is a fifth of
    a small function's compile time. A hit is renamed to its new file name, so tracebacks show its lines.
    Only sources up to `max_chars` are kept, `size` of them, least recently used dropped first."""

    def __init__(self, size=256, max_chars=200_000):
        self.size = size
        self.max_chars = max_chars
        self._codes = {}
        self._lock = threading.Lock()

    def code(self, source_text, filename):
        if len(source_text) > self.max_chars:
            return compile(source_text, filename, "exec")
        with self._lock:
            cached = self._codes.pop(source_text, None)
        if cached is None:
            cached = compile(source_text, filename, "exec")
        with self._lock:
            self._codes[source_text] = cached
            while len(self._codes) > self.size:
                del self._codes[next(iter(self._codes))]
        return _renamed(cached, filename)


def _renamed(code, filename):
    """`code` (and the functions it defines) with `filename` as the file its lines are in."""
    if code.co_filename == filename:
        return code
    consts = tuple(_renamed(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


_CODE_CACHE = _CodeCache()


def _compile(source_text, name, namespace):
    while _DEAD_SOURCES:
        linecache.cache.pop(_DEAD_SOURCES.pop(), None)
    filename = f"<symgraph:{name}#{next(_counter)}>"
    linecache.cache[filename] = (len(source_text), None, source_text.splitlines(True), filename)
    exec(_CODE_CACHE.code(source_text, filename), namespace.globals)
    function = namespace.globals[name]
    # The source stays readable in tracebacks for as long as the function exists.
    weakref.finalize(function, _DEAD_SOURCES.append, filename)
    return function, filename


def link(inputs, outputs, name="symgraph_fn", backend="numpy"):
    """Compile the graph from `inputs` (leaf variables, in parameter order) to `outputs`.

    Returns a Program whose callable takes the input values positionally and returns a tuple with one
    value per output. Leaves that are outputs are copied so callers never get an input array back.
    """
    name = safe_identifier(name)
    backend = get_backend(backend)
    namespace = Namespace(backend.globals(), backend)
    params = [f"i{position}" for position in range(len(inputs))]
    source = _Source()
    source.add(f"def {name}({', '.join(params)}):")
    for param, var in zip(params, inputs):
        source.add(f"    # {param}: {_describe_leaf(var)}")
    results, nodes, _ = _write_body(source, "    ", inputs, params, outputs, namespace, function_name=name)
    results = [f"{r}.copy()" if out.owner is None else r for r, out in zip(results, outputs)]
    source.add(f"    return {_tuple_text(results)}")
    text = source.text()
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
    `title` names the function in Python's own argument errors; `backend` (a name or sg.backend(...))
    lowers the nodes and writes the argument checks and the results. Calls that the parameters cannot bind
    (keyword arguments without keyword parameters, surplus positional ones) go through the compiled
    function's `_call_general(args, kwargs)`, which binds them and calls again positionally.
    """

    def __init__(self, check_input, shared_containers, update_containers, locked, output_kind, owned, locate,
                 trust_input, nan_guard=False, reuse_buffers=False, title="compiled function", backend="numpy"):
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
        self.backend = get_backend(backend)


def _fresh(var):
    """True when the value computed for `var` is always a new array no caller has seen."""
    return var.owner is not None and (type(var.owner.op) in (Elemwise, MatMul) or var.owner.op.name == "fused")


def link_function(inputs, shared, outputs, spec, name=None):
    """Compile the entry point `__call__(self, *values)` of a compiled function (see EntrySpec).

    `outputs` are the user's outputs followed by the new values of `spec.update_containers`. When every
    input's name can be a parameter (`keyword_parameters`), the parameters are the input names, so
    Python binds keyword arguments itself; otherwise they are positional-only and keyword calls go through
    `self._call_general`. The entry point is `symgraph_fn`, or `symgraph_<name>` for a function the user
    named: a bare user name could be a keyword or shadow a global the code reads (`np`, `len`).
    """
    name = "symgraph_fn" if name is None else f"symgraph_{safe_identifier(name)}"
    params = keyword_parameters(inputs, name)
    if params is not None:
        program, namespace = _link_entry(inputs, shared, outputs, spec, name, params, keywords=True)
        if not namespace.globals.keys() & set(params):
            return program
    positional = [f"i{position}" for position in range(len(inputs))]
    return _link_entry(inputs, shared, outputs, spec, name, positional, keywords=False)[0]


_GENERATED_LOCAL = re.compile(r"(?:i|s|v|out|new)\d+(?:_\w*)?")
_ENTRY_LOCALS = frozenset({"self", "extra", "exc", "earlier"})


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
    backend = spec.backend
    namespace = Namespace({**backend.globals(), "MISSING": _MISSING, "asarray": np.asarray, "ndarray": np.ndarray,
                           "owned": spec.owned, "locate": spec.locate}, backend)
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
    if not spec.trust_input or backend.converts_arguments:
        backend.write_argument_checks(source, inputs, params, spec, namespace)
    indent = "    "
    update_count = len(spec.update_containers)
    if update_count:
        source.add(f"    with {namespace.bind(spec.locked, 'shared_locks')}:")
        indent = "        "
    for shared_name, container, var in zip(shared_names, spec.shared_containers, shared):
        value = backend.read_shared(f"{namespace.bind(container, 'container')}.value", var, namespace)
        source.add(f"{indent}{shared_name} = {value}")
    try_line = len(source.lines)
    source.add(f"{indent}try:")
    results, nodes, buffer_reuses = _write_body(source, indent + "    ", inputs + shared, params + shared_names,
                                                outputs, namespace, spec.nan_guard,
                                                spec.reuse_buffers and backend.writes_in_place, function_name=name)
    if nodes:
        source.add(f"{indent}except Exception as exc:")
        source.add(f"{indent}    raise locate(exc) from exc")
    else:
        source.lines.pop(try_line)
    results = backend.write_results(source, indent, results, outputs, namespace, n_updates=update_count)
    sources = _tuple_text(params + shared_names)
    n_outputs = len(outputs) - update_count
    if backend.owns_results:
        packaged = results
    else:
        packager = _Packager(sources)
        for position, (result, out) in enumerate(zip(results, outputs)):
            label = f"out{position}" if position < n_outputs else f"new{position - n_outputs}"
            for statement in packager.add(result, out, label):
                source.add(f"{indent}{statement}")
        packaged = packager.packaged
    for container, value in zip(spec.update_containers, packaged[n_outputs:]):
        source.add(f"{indent}{namespace.bind(container, 'container')}.value = {value}")
    user_outputs = packaged[:n_outputs]
    if spec.output_kind == "none":
        source.add(f"{indent}return None")
    elif spec.output_kind == "single":
        source.add(f"{indent}return {user_outputs[0]}")
    else:
        source.add(f"{indent}return [{', '.join(user_outputs)}]")
    text = source.text()
    function, filename = _compile(text, name, namespace)
    # Python's own errors for keyword calls (a missing, unexpected or repeated argument) name the function
    # by its qualified name.
    function.__qualname__ = spec.title
    program = Program(function, text, filename, source.line_nodes, source.line_descriptions, nodes, buffer_reuses)
    return program, namespace


_GENERAL_CALL = "_call_general"
_MISSING = type("Missing", (), {"__repr__": lambda self: "<missing>", "__slots__": ()})()


_LISTED_EARLIER = 16
"""Past this many earlier outputs, `owned` gets them as the list `earlier`, kept up to date, rather than
as a tuple spelled out in every call, which would make the source quadratic in the number of outputs."""


class _Packager:
    """The names of the outputs as the caller gets them, output by output: fresh results pass, others are
    checked or copied (each step costs the same however many outputs came before)."""

    def __init__(self, sources):
        self.sources = sources
        self.packaged = []
        self._seen = set()
        self._all_fresh = True  # every earlier output is a leaf (so copied) or fresh
        self._listed = False  # is `earlier` bound (holding every packaged name so far)?

    def add(self, result, out, label):
        """Record output `out` computed as `result`; return the statements binding `label` to the array
        the caller owns (none when `result` already is one)."""
        statements = []
        expression = self._expression(result, out, statements)
        self._seen.add(id(out))
        self._all_fresh = self._all_fresh and (out.owner is None or _fresh(out))
        name = result if expression == result else label
        if name == label:
            statements.append(f"{label} = {expression}")
        if self._listed:
            statements.append(f"earlier.append({name})")
        self.packaged.append(name)
        return statements

    def _expression(self, result, out, statements):
        if out.owner is None or id(out) in self._seen:
            return f"asarray({result}).copy()"
        # A fresh array is the caller's unless an earlier output may be a view of it.
        if _fresh(out) and self._all_fresh:
            return f"asarray({result})" if out.ndim == 0 else result
        if not self._listed and len(self.packaged) > _LISTED_EARLIER:
            statements.append(f"earlier = [{', '.join(self.packaged)}]")
            self._listed = True
        others = "earlier" if self._listed else _tuple_text(self.packaged)
        return f"owned(asarray({result}), {self.sources}, {others})"
