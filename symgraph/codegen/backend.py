"""Backends: a table of lowerings keyed by op type, plus the hooks of the entry point it emits.

A backend turns each scheduled node into source text. An expression lowering takes (node, input_names,
namespace) and returns the source of an expression computing the node's outputs (or None to decline); a
statement lowering takes (node, input_names, output_names, namespace) and returns lines assigning the
outputs; an in-place lowering also takes the positions of operands whose arrays it may overwrite (see
memory.py). A backend made with a `parent` looks up its parent's table for op types it does not lower
itself, so a backend that differs in a few ops (Numba's fused kernels) is a small table. An op found in
no table goes to `unlowered`: the NumPy backend calls the op's reference implementation (`op.perform`),
others may refuse it by name.

The entry point of a compiled function is written by linker.py; a backend adds its globals, the code
that checks (and converts) each argument, and the code that finishes the results (Dask computes them).
Options (`sg.backend("dask", chunks=...)`) are read by the lowerings through `namespace.backend.options`.

Example:
    >>> import symgraph as sg
    >>> backend = sg.backend("numpy")
    >>> backend.name
    'numpy'
    >>> x = sg.vector("x")
    >>> sg.function([x], sg.exp(x), backend="numpy")([0.0])
    array([1.])
"""
import importlib

import numpy as np

class BackendUnavailableError(ImportError):
    """A backend was asked for whose optional dependency is not installed.

    Example:
        >>> import symgraph as sg
        >>> error = sg.BackendUnavailableError("backend 'dask' needs dask", extra="dask")
        >>> isinstance(error, ImportError), error.extra
        (True, 'dask')
    """

    def __init__(self, message, extra):
        super().__init__(message)
        self.extra = extra


class Backend:
    """A named table of lowerings (see the module docstring) with options and entry-point hooks.

    `options` are the defaults of the options `configure` accepts; `writes_in_place` says whether nodes
    may write into dead intermediate arrays (memory.py), which needs arrays that support `out=`.
    """

    converts_arguments = False
    """Does `write_argument_checks` also convert the arguments to the backend's arrays (so it runs even with
    `trust_input`, which then only skips the checks)?"""
    owns_results = False
    """Are the names `write_results` returns arrays the caller may own (copied where needed), so the entry
    point passes them on as they are instead of checking them like NumPy results?"""

    def __init__(self, name, parent=None, options=None, writes_in_place=True):
        self.name = name
        self.parent = parent
        self.options = dict(options or {})
        self.writes_in_place = writes_in_place
        self._expressions = {}
        self._statements = {}
        self._in_place = {}

    def expression(self, *op_types):
        """Decorator registering an expression lowering of `op_types`."""
        return self._registrar(self._expressions, op_types)

    def statements(self, *op_types):
        """Decorator registering a lowering of `op_types` into several statements."""
        return self._registrar(self._statements, op_types)

    def in_place(self, *op_types):
        """Decorator registering a statement lowering that may write into the operands at given positions:
        `lowering(node, input_names, output_names, namespace, positions)`."""
        return self._registrar(self._in_place, op_types)

    def adopt(self, other, *op_types):
        """Lower `op_types` as the backend `other` does (each op type named explicitly: its lowering must be
        right for this backend's arrays too)."""
        for op_type in op_types:
            for table in ("_expressions", "_statements"):
                lowering = other._find(table, op_type)
                if lowering is not None:
                    getattr(self, table)[op_type] = lowering

    @staticmethod
    def _registrar(table, op_types):
        def decorate(function):
            for op_type in op_types:
                table[op_type] = function
            return function

        return decorate

    def _find(self, table_name, op_type):
        backend = self
        while backend is not None:
            lowering = getattr(backend, table_name).get(op_type)
            if lowering is not None:
                return lowering
            backend = backend.parent
        return None

    def _nearest_statements(self, op_type):
        """The statement lowering of `op_type` of the nearest backend in the parent chain that lowers it at
        all, or None when that backend lowers it as an expression (a child's expression overrides its
        parent's statements)."""
        backend = self
        while backend is not None:
            if op_type in backend._statements:
                return backend._statements[op_type]
            if op_type in backend._expressions:
                return None
            backend = backend.parent
        return None

    def lowers(self, op_type) -> bool:
        """Does this backend (or its parent) have a lowering of `op_type`?"""
        return any(self._find(table, op_type) is not None for table in ("_expressions", "_statements"))

    def can_write_in_place(self, op_type) -> bool:
        return self.writes_in_place and self._find("_in_place", op_type) is not None

    def lower_statements(self, node, input_names, output_names, namespace, reusable=()) -> list:
        """Source lines assigning `output_names` (unindented; nested blocks indented by four spaces).

        A line may be a (text, description) pair, where `description`'s str() says what the line computes
        when that is finer than the node (errors then name it). `reusable`: positions of operands whose
        arrays the node may write its result into.
        """
        op_type = type(node.op)
        if reusable:
            return self._find("_in_place", op_type)(node, input_names, output_names, namespace, reusable)
        lowering = self._nearest_statements(op_type)
        if lowering is not None:
            return lowering(node, input_names, output_names, namespace)
        target = ", ".join(output_names) + ("," if len(output_names) == 1 and node.op.nout > 1 else "")
        return [f"{target} = {self.lower_expression(node, input_names, namespace)}"]

    def lower_expression(self, node, input_names, namespace) -> str:
        """Source of an expression computing `node`'s output(s) from variables named `input_names`."""
        lowering = self._find("_expressions", type(node.op))
        if lowering is not None:
            expression = lowering(node, input_names, namespace)
            if expression is not None:
                return expression
        return self.unlowered(node, input_names, namespace)

    def unlowered(self, node, input_names, namespace) -> str:
        """An op no table lowers: call its reference implementation, bound by name."""
        function = namespace.bind(node.op.perform, node.op.name)
        return f"{function}({', '.join(input_names)})"

    def nan_guard_lines(self, name, error, namespace) -> list:
        """Source lines (unindented) that raise `error(value)` (a NonFiniteError) when the value named
        `name` holds NaN or inf."""
        error = namespace.bind(error, "nan_guard")
        return [f"if not np.isfinite({name}).all():", f"    raise {error}({name})"]

    def globals(self) -> dict:
        """Names every function generated by this backend can use."""
        return {"np": np}

    def write_argument_checks(self, source, inputs, params, spec, namespace):
        """Fast-path argument checks: an ndarray of the exact dtype, rank and static sizes passes untouched;
        anything else goes through `spec.check_input`, which converts it or raises the user-facing error."""
        for position, (param, var) in enumerate(zip(params, inputs)):
            dtype = namespace.bind(var.type.dtype, f"dtype_{var.type.dtype.name}")
            conditions = [f"{param}.__class__ is not ndarray", f"{param}.dtype is not {dtype}",
                          f"{param}.ndim != {var.type.ndim}"]
            conditions += [f"{param}.shape[{axis}] != {size}" for axis, size in enumerate(var.type.shape)
                           if size is not None]
            check = namespace.bind(_bound_check(spec.check_input, position), f"check_{param}")
            source.add(f"    if {' or '.join(conditions)}:")
            source.add(f"        {param} = {check}({param})")

    def read_shared(self, expression, var, namespace) -> str:
        """Source of the value of shared variable `var` given `expression`, the source reading it."""
        # A dask function with `lazy_updates=True` may have stored a pending dask array: compute it here.
        ndarray_name, asarray_name = namespace.bind(np.ndarray, "ndarray"), namespace.bind(np.asarray, "asarray")
        return f"{expression} if {expression}.__class__ is {ndarray_name} else {asarray_name}({expression})"

    def write_results(self, source, indent, results, outputs, namespace, n_updates=0) -> list:
        """Statements after the body that turn the results into what the caller gets; returns their names.
        The last `n_updates` outputs are the new values of shared variables."""
        return results

    def configure(self, **options) -> "Backend":
        """A copy of this backend (sharing its tables) with some options changed.

        Example:
            >>> import symgraph as sg
            >>> sg.backend("numpy").configure(colour=1)
            Traceback (most recent call last):
            ...
            TypeError: the numpy backend has no option 'colour' (it has none)
        """
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise TypeError(f"the {self.name} backend has no option {unknown[0]!r} (it has {known})")
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.options = {**self.options, **options}
        return copy

    def __repr__(self):
        return f"sg.backend({self.name!r}{''.join(f', {k}={v!r}' for k, v in self.options.items())})"

    def __reduce__(self):
        return _configured, (self.name, self.options)


def _configured(name, options):
    return backend(name, **options)


def _bound_check(check_input, position):
    def check(value):
        return check_input(position, value)

    return check


_MODULES = {"numpy": "numpy_backend", "numba": "numba_backend", "dask": "dask_backend"}
"""Backend name -> module of codegen/ defining it as `BACKEND` (imported when first asked for)."""
_EXTRAS = {"numba": "numba", "dask": "dask"}
"""Backend name -> the extra of pyproject.toml (and the top-level module) it needs."""


def backend(name="numpy", **options) -> Backend:
    """The backend called `name` (see docs/reference.md, "Backends"), with `options` changed from its defaults.

    Accepted wherever a backend is: `sg.function(..., backend=...)` and `sg.Mode(backend=...)`. A backend
    whose optional dependency is missing raises BackendUnavailableError saying which extra to install.

    Example:
        >>> import symgraph as sg
        >>> sg.backend("numpy")
        sg.backend('numpy')
        >>> sg.backend("cuda")
        Traceback (most recent call last):
        ...
        ValueError: unknown backend 'cuda': expected one of 'numpy'...
    """
    if isinstance(name, Backend):
        return name.configure(**options) if options else name
    if name not in _MODULES:
        known = ", ".join(repr(n) for n in _MODULES)
        raise ValueError(f"unknown backend {name!r}: expected one of {known}")
    try:
        module = importlib.import_module(f".{_MODULES[name]}", __package__)
    except ImportError as exc:
        if name not in _EXTRAS or exc.name is None or exc.name.split(".")[0] != _EXTRAS[name]:
            raise
        raise BackendUnavailableError(
            f"backend {name!r} needs the optional dependency {exc.name!r}: pip install 'symgraph[{_EXTRAS[name]}]'",
            _EXTRAS[name]) from exc
    found = module.BACKEND
    return found.configure(**options) if options else found
