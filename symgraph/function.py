"""`sg.function`: compile a graph into a callable, check arguments, run it and apply updates.

Example:
    >>> import symgraph as sg
    >>> x, y = sg.vector("x"), sg.vector("y")
    >>> f = sg.function([x, y], x * y + 1)
    >>> f([1.0, 2.0], y=[3.0, 4.0])
    array([4., 9.])
"""
import collections
import time
import traceback
import warnings

import numpy as np

from .codegen.backend import backend as get_backend
from .codegen.linker import EntrySpec, link_function, node_description, with_location
from .codegen.memory import BUFFER_REUSE
from .function_args import check_shape, convert_argument
from .graph.basic import Constant, SharedVariable, Variable
from .graph.inputs import tensor
from .graph.replace import clone_replace
from .graph.serialize import reduce_with_graph
from .graph.traversal import collection_paused, graph_inputs
from .ops.random import random_state_updates
from .rewrite import optimize_graph
from .rewrite.mode import get_mode

_UNUSED_POLICIES = ("raise", "warn", "ignore")


def _as_output_list(outputs):
    if outputs is None:
        return [], "none"
    if isinstance(outputs, (list, tuple)):
        for out in outputs:
            _check_is_variable(out, "output")
        return list(outputs), "list"
    _check_is_variable(outputs, "output")
    return [outputs], "single"


def _check_is_variable(value, role):
    if not isinstance(value, Variable):
        raise TypeError(f"sg.function: every {role} must be a symbolic variable, got {value!r}")


def _as_pairs(mapping):
    """The items of a dict, or the pairs of any other iterable, as a new list (None stays None)."""
    if mapping is None:
        return None
    return list(mapping.items()) if isinstance(mapping, dict) else list(mapping)


def _normalize_updates(updates):
    if updates is None:
        return []
    result = []
    seen = set()
    for pair in updates:
        try:
            target, expression = pair
        except (TypeError, ValueError):
            raise TypeError(f"updates must be (shared_variable, expression) pairs, got {pair!r}") from None
        if not isinstance(target, SharedVariable):
            raise TypeError(f"the target of an update must be a shared variable, got {target!r}")
        if id(target) in seen:
            raise ValueError(f"shared variable {target.name or repr(target)} is updated twice")
        seen.add(id(target))
        if not isinstance(expression, Variable):
            from .graph.basic import constant

            expression = constant(expression)
        expression = _fit_update(target, expression)
        result.append((target, expression))
    return result


def _fit_update(target, expression):
    from .ops.elemwise import cast

    label = target.name or repr(target)
    if expression.ndim != target.ndim:
        raise TypeError(
            f"update of shared variable {label}: expression of type {expression.type} has rank "
            f"{expression.ndim}, the variable has rank {target.ndim}"
        )
    if expression.dtype != target.dtype:
        if not np.can_cast(expression.dtype, target.dtype, "safe"):
            raise TypeError(
                f"update of shared variable {label}: expression dtype {expression.dtype} does not "
                f"convert safely to the variable's dtype {target.dtype}; cast it explicitly with sg.cast"
            )
        expression = cast(expression, target.dtype)
    return expression


def _check_no_repeated_input(inputs):
    seen = set()
    for var in inputs:
        if id(var) in seen:
            raise ValueError(f"sg.function: input {var.name or repr(var)} is listed twice")
        seen.add(id(var))


def _collect_leaves(inputs, outputs):
    """Inputs needed by `outputs`: every leaf must be an input, a shared variable or a constant."""
    leaves = graph_inputs(outputs)
    input_ids = {id(v) for v in inputs}
    shared = []
    for leaf in leaves:
        if id(leaf) in input_ids or isinstance(leaf, Constant):
            continue
        if isinstance(leaf, SharedVariable):
            shared.append(leaf)
            continue
        raise ValueError(
            f"sg.function: the outputs need variable {leaf!r}, which is neither an input, a shared "
            f"variable nor a constant; add it to the inputs or give it a value with givens"
        )
    return shared


class Function:
    """A compiled graph, made by `sg.function`. Call it with input values (positionally or by input name).

    Attributes: `source` (the generated Python), `graph` (the optimized graph), `report` (what the
    compiler did), `profile(*args)` (time per node), `inputs`, `mode`. It pickles with the state of its
    shared variables.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> f = sg.function([x], sg.exp(x) + 1, name="shifted_exp")
        >>> f(x=[0.0])
        array([2.])
        >>> f.report.nodes_before, "np_exp" in f.source
        (2, True)
    """

    def __init__(self, inputs, outputs, updates=None, givens=None, mode=None, on_unused_input="raise",
                 name=None, trust_input=False, backend=None):
        start = time.perf_counter()
        if on_unused_input not in _UNUSED_POLICIES:
            raise ValueError(f"on_unused_input must be one of {_UNUSED_POLICIES}, got {on_unused_input!r}")
        if isinstance(inputs, Variable):
            inputs = [inputs]
        inputs = list(inputs)
        for var in inputs:
            _check_is_variable(var, "input")
            if isinstance(var, (Constant, SharedVariable)):
                kind = "a constant" if isinstance(var, Constant) else "a shared variable (shared values are implicit inputs)"
                raise TypeError(f"sg.function: input {var!r} is {kind} and cannot be an explicit input")
        _check_no_repeated_input(inputs)
        # Own copies, so that unpickling rebuilds this function even when the caller passed iterators
        # (`zip(params, steps)`) or changes its containers after compiling.
        outputs = list(outputs) if isinstance(outputs, list) else outputs
        updates = _as_pairs(updates)
        givens = _as_pairs(givens)
        self._spec = (inputs, outputs, updates, givens, mode, on_unused_input, name, trust_input, backend)
        output_list, self._output_kind = _as_output_list(outputs)
        update_pairs = _normalize_updates(updates)
        all_outputs = output_list + [expr for _, expr in update_pairs]
        inputs, replacements = _cut_at_computed_inputs(inputs)
        if givens:
            for old, new in givens:
                _check_is_variable(old, "givens key")
                replacements[old] = new if isinstance(new, Variable) else _constant_like(new, old)
        if replacements:
            all_outputs = clone_replace(all_outputs, replacements)
        # Draws from shared generator states advance them at every call unless an update is given.
        state_updates = random_state_updates(all_outputs, [target for target, _ in update_pairs])
        update_pairs += state_updates
        all_outputs += [next_state for _, next_state in state_updates]
        self._check_unused(inputs, all_outputs, on_unused_input)
        _collect_leaves(inputs, all_outputs)  # a missing input is an error even where rewrites remove its use
        self.mode = get_mode(mode)
        self.backend = get_backend(backend if backend is not None else self.mode.backend)
        with collection_paused():
            optimized, self.report = optimize_graph(all_outputs, self.mode)
        shared = _collect_leaves(inputs, optimized)
        self.inputs = inputs
        self.name = name
        self.trust_input = trust_input
        self._shared = shared
        self._n_outputs = len(output_list)
        self._update_targets = [target for target, _ in update_pairs]
        self._graph_outputs = optimized
        name_counts = collections.Counter(v.name for v in inputs if v.name is not None)
        # A name two inputs share cannot pick one of them: such inputs are passed by position only.
        self._input_index = {v.name: i for i, v in enumerate(inputs) if name_counts.get(v.name) == 1}
        self._shared_names = {name for name, count in name_counts.items() if count > 1}
        self._labels = [f"input {i} ({v.name!r})" if v.name else f"input {i}" for i, v in enumerate(inputs)]
        with collection_paused():
            self._program = self._link(inputs, shared, optimized, name)
        # Each compiled function gets its own class whose __call__ is the generated entry point, so a call
        # costs one Python frame.
        self.__class__ = type("Function", (Function,), {"__slots__": (), "__call__": self._program.callable})
        self.report.timings["total"] = time.perf_counter() - start

    def _link(self, inputs, shared, optimized, name):
        locator = _Locator()
        spec = EntrySpec(
            check_input=self._check_input,
            shared_containers=[s.container for s in shared],
            update_containers=[t.container for t in self._update_targets],
            locked=_all_held(_container_locks(self._update_targets)),
            output_kind=self._output_kind,
            owned=_owned,
            locate=locator,
            trust_input=self.trust_input,
            nan_guard=self.mode.nan_guard,
            reuse_buffers=self.mode.enabled(BUFFER_REUSE, ("inplace",)),
            title=self._title(),
            backend=self.backend,
        )
        program = link_function(inputs, shared, optimized, spec, name=name)
        if program.buffer_reuses:
            self.report.rewrites[BUFFER_REUSE] = program.buffer_reuses
        locator.program = program
        return program

    def _check_unused(self, inputs, outputs, policy):
        used = {id(v) for v in graph_inputs(outputs)}
        for var in inputs:
            if id(var) not in used:
                message = (f"sg.function: input {var.name or repr(var)} is not used to compute any output "
                           "(pass on_unused_input='warn' or 'ignore' to allow this)")
                if policy == "raise":
                    raise ValueError(message)
                if policy == "warn":
                    warnings.warn(message, UserWarning, stacklevel=4)

    @property
    def source(self) -> str:
        """The generated Python source of this function."""
        return self._program.source

    @property
    def graph(self):
        """The optimized graph: a FunctionGraph with `inputs`, `outputs` and `nodes` (topological)."""
        from .graph.fgraph import FunctionGraph

        return FunctionGraph(self.inputs + self._shared, self._graph_outputs, self._program.nodes)

    def _bind_arguments(self, args, kwargs):
        n_inputs = len(self.inputs)
        if len(args) > n_inputs:
            raise TypeError(f"{self._title()} takes {n_inputs} argument(s), got {len(args)}")
        values = list(args) + [_MISSING] * (n_inputs - len(args))
        for key, value in kwargs.items():
            position = self._input_index.get(key)
            if position is None:
                if key in self._shared_names:
                    raise TypeError(f"{self._title()} has several inputs named {key!r}: pass them by position")
                raise TypeError(f"{self._title()} got an unexpected keyword argument {key!r}")
            if values[position] is not _MISSING:
                raise TypeError(f"{self._title()} got multiple values for input {key!r}")
            values[position] = value
        missing = [self._labels[i] for i, v in enumerate(values) if v is _MISSING]
        if missing:
            raise TypeError(f"{self._title()} is missing a value for {', '.join(missing)}")
        return values

    def _check(self, values):
        return [self._check_input(position, value) for position, value in enumerate(values)]

    def _check_input(self, position, value):
        """`value` converted for input `position`, or the TypeError/ValueError naming that input."""
        var = self.inputs[position]
        if type(value) is np.ndarray and value.dtype == var.type.dtype:
            check_shape(value, var.type, self._labels[position])
            return value
        return convert_argument(value, var.type, self._labels[position])

    def _title(self):
        return f"compiled function {self.name!r}" if self.name else "compiled function"

    def _call_general(self, args, kwargs):
        """A call with keyword arguments or a wrong number of positional ones: bind, then call positionally."""
        return self(*self._bind_arguments(args, kwargs))

    def profile(self, *args, repeat=10, **kwargs):
        """Seconds spent per node over `repeat` calls: an object with `.rows` and a table as `str()`."""
        from .inspect.profile import profile_function

        return profile_function(self, args, kwargs, repeat)

    def __reduce__(self):
        with collection_paused():
            return reduce_with_graph(_rebuild_function, self._spec)

    def __repr__(self):
        return f"<symgraph Function {self.name or ''} {len(self.inputs)} inputs -> {self._n_outputs} outputs>"


def _container_locks(targets):
    """The locks of the targets' containers in one global order (by id), so that functions updating
    overlapping shared variables from several threads neither lose updates nor deadlock."""
    containers = {id(t.container): t.container for t in targets}
    return [containers[key].lock for key in sorted(containers)]


class _all_held:
    """Context manager holding every lock of a list, acquired in list order."""

    __slots__ = ("locks",)

    def __init__(self, locks):
        self.locks = locks

    def __enter__(self):
        for lock in self.locks:
            lock.acquire()

    def __exit__(self, *exc_info):
        for lock in reversed(self.locks):
            lock.release()


def _owned(array, sources, others):
    """`array`, copied unless the caller may own it outright.

    The user may write into every array a call returns, and into shared values through
    `get_value(borrow=True)`, so none of them may be read-only, share memory with the call's arguments
    or shared values (`sources`: an output `x.T` is a view of the input `x`), or with an array already
    returned or stored by this call (`others`). An array that is not a view (`base` unset) shares memory
    only with its own views, so it is checked by identity (an op may hand its operand on: `stop_gradient`,
    `ifelse`) and against the views among the sources.
    """
    if not array.flags.writeable:
        return array.copy()
    for other in others:
        if other is array or ((array.base is not None or other.base is not None) and np.may_share_memory(array, other)):
            return array.copy()
    for source in sources:
        if source is array or ((array.base is not None or source.base is not None)
                               and np.may_share_memory(array, source)):
            return array.copy()
    return array


def _rebuild_function(*spec):
    return Function(*spec)


class _Missing:
    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


def _constant_like(value, like):
    from .graph.basic import constant

    return constant(convert_argument(value, like.type, f"givens value for {like.name or repr(like)}"))


class _Locator:
    """`locate(exc)` for one compiled program: the error re-raised with the failing node named."""

    __slots__ = ("program",)

    def __call__(self, exc):
        return _located_error(exc, self.program)


def _located_error(exc, program):
    """A copy of `exc` whose message names the failing node (or kernel step) and the user line that
    created it."""
    node = description = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == program.filename:
            node = program.node_at_line(lineno)
            description = program.description_at_line(lineno)
    if node is None:
        return exc
    return with_location(exc, f"in {description}" if description is not None
                         else f"while computing node {node_description(node)}")


def function(inputs, outputs=None, updates=None, givens=None, mode=None, on_unused_input="raise", name=None,
             trust_input=False, backend=None):
    """Compile `outputs` as a function of `inputs` (see docs/reference.md, "Compiling and running").

    Example:
        >>> import symgraph as sg
        >>> x = sg.scalar("x")
        >>> acc = sg.shared(0.0, name="acc")
        >>> step = sg.function([x], acc + x, updates=[(acc, acc + x)])
        >>> float(step(2.0)), float(acc.get_value())
        (2.0, 2.0)
    """
    return Function(inputs, outputs, updates, givens, mode, on_unused_input, name, trust_input, backend)


def _cut_at_computed_inputs(inputs):
    """(inputs with each computed variable among them replaced by a new input of its type and name, the
    replacements): as in PyTensor, a function may take an intermediate variable as an input, and the part
    of the graph that computes it is then not run."""
    replacements = {}
    leaves = []
    for var in inputs:
        if var.owner is not None:
            replacements[var] = tensor(var.name, dtype=var.dtype, shape=var.type.shape)
        leaves.append(replacements.get(var, var))
    return leaves, replacements


def eval_variable(var, givens_dict=None):
    """Compute `var`, giving values to its inputs with `givens_dict`; compiled once per set of inputs.

    The compiled functions live on the variable itself: a cache outside it would keep every
    evaluated graph alive, since a compiled function refers to its graph.
    """
    givens_dict = dict(givens_dict or {})
    for key in givens_dict:
        _check_is_variable(key, "key of the eval dictionary")
    keys = sorted(givens_dict, key=id)
    signature = tuple(id(k) for k in keys)
    if var.eval_functions is None:
        var.eval_functions = {}
    per_var = var.eval_functions
    entry = per_var.get(signature)
    if entry is None or any(a is not b for a, b in zip(entry[0], keys)):
        compiled = Function(keys, var, on_unused_input="ignore")
        entry = (keys, compiled)
        per_var[signature] = entry
    return entry[1](*[givens_dict[k] for k in keys])
