"""The graph IR: Variable, Constant, SharedVariable and Apply nodes.

Graphs are immutable once built and nodes are interned: applying the same op to the same inputs returns
the existing Apply node, so common subexpressions are one object from the start and equality is identity.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> (x + 1).owner is (x + 1).owner
    True
"""
import contextlib
import contextvars
import os
import sys
import threading
import weakref

import numpy as np

from .type import TensorType, as_dtype

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class CreationSite:
    """Where user code created a node: the first stack frame outside the symgraph package."""

    __slots__ = ("filename", "lineno", "function")

    def __init__(self, filename, lineno, function):
        self.filename = filename
        self.lineno = lineno
        self.function = function

    def __str__(self):
        return f"{self.filename}:{self.lineno} in {self.function}"

    def __repr__(self):
        return f"CreationSite({self.filename!r}, {self.lineno}, {self.function!r})"

    def __reduce__(self):
        return CreationSite, (self.filename, self.lineno, self.function)


_site_of_rebuilt_nodes = contextvars.ContextVar("site_of_rebuilt_nodes", default=None)


@contextlib.contextmanager
def sites_from(site):
    """Nodes created inside the block record `site` (when not None) instead of the caller's line: the nodes
    that rebuild one node of the user's (batching it, for example) point at the line that created it.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> with sites_from(CreationSite("model.py", 7, "layer")):
        ...     y = sg.exp(x)
        >>> str(y.owner.site)
        'model.py:7 in layer'
    """
    token = _site_of_rebuilt_nodes.set(site)
    try:
        yield
    finally:
        _site_of_rebuilt_nodes.reset(token)


def user_creation_site():
    """The CreationSite of the innermost caller outside symgraph (None if there is none), or the site
    `sites_from` gives."""
    given = _site_of_rebuilt_nodes.get()
    if given is not None:
        return given
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    return CreationSite(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


from .operators import TensorOperators  # noqa: E402  (operators need CreationSite-free basics only)


class Variable(TensorOperators):
    """A symbolic tensor: a graph input (owner None) or the output `index` of an Apply node.

    `name` (str or None), `type` (a TensorType), `dtype`, `ndim`, `static_shape`; `owner` is the Apply
    node that computes the variable. `eval_functions` caches the functions `eval()` compiled, so they
    live exactly as long as the variable.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x", dtype="float32")
        >>> x.name, x.type, x.owner
        ('x', TensorType(float32, (None,)), None)
        >>> y = sg.exp(x)
        >>> isinstance(y, sg.Variable), y.owner.op.name, y.owner.inputs[0] is x
        (True, 'exp', True)
    """

    __slots__ = ("type", "owner", "index", "name", "eval_functions", "__weakref__")

    def __init__(self, type, owner=None, index=0, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"a variable's name must be a str or None, got {name!r}")
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.eval_functions = None

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the values.

        Example:
            >>> import symgraph as sg
            >>> sg.matrix("m", dtype="int32").dtype
            dtype('int32')
        """
        return self.type.dtype

    @property
    def ndim(self) -> int:
        """The rank (number of axes), known while building.

        Example:
            >>> import symgraph as sg
            >>> sg.tensor("t", shape=(2, None, 3)).ndim
            3
        """
        return len(self.type.shape)

    @property
    def static_shape(self) -> tuple:
        """The static shape: a tuple of int (known) or None (known only at run time).

        Example:
            >>> import symgraph as sg
            >>> sg.tensor("t", shape=(2, None)).static_shape
            (2, None)
        """
        return self.type.shape

    def __repr__(self):
        if self.name is not None:
            return f"{self.name}:{self.type}"
        if self.owner is not None:
            return f"{self.owner.op}(...)[{self.index}]:{self.type}" if len(self.owner.outputs) > 1 else f"{self.owner.op}(...):{self.type}"
        return f"<{type(self).__name__} {self.type}>"

    def __reduce__(self):
        from .serialize import reduce_variable

        return reduce_variable(self)


class Constant(Variable):
    """A variable with a fixed value; the value is stored read-only. Build one with `sg.constant`.

    Example:
        >>> import symgraph as sg
        >>> c = sg.constant([1, 2], name="c")
        >>> isinstance(c, sg.Constant), c.data, c.data.flags.writeable
        (True, array([1, 2]), False)
    """

    __slots__ = ("data",)

    def __init__(self, type, data, name=None):
        super().__init__(type, None, 0, name)
        self.data = data

    def __repr__(self):
        if self.name is not None:
            return f"{self.name}:{self.type}"
        if self.data.size <= 6:
            return f"Constant({np.array2string(self.data, separator=', ')}:{self.type})"
        return f"Constant(<{self.type}>)"


class SharedVariable(Variable):
    """A variable whose value persists between calls of compiled functions and can be updated by them.

    Build one with `sg.shared`; read and write its value with `get_value` and `set_value`.

    Example:
        >>> import symgraph as sg
        >>> count = sg.shared(0, name="count")
        >>> tick = sg.function([], count, updates=[(count, count + 1)])
        >>> int(tick()), int(tick()), int(count.get_value())
        (0, 1, 2)
    """

    __slots__ = ("container",)

    def __init__(self, type, container, name=None):
        super().__init__(type, None, 0, name)
        self.container = container

    def get_value(self, borrow=False):
        """The current value (a copy unless `borrow=True`).

        Example:
            >>> import symgraph as sg
            >>> sg.shared([1.0, 2.0]).get_value()
            array([1., 2.])
        """
        value = self.container.value
        return value if borrow else value.copy()

    def set_value(self, value, borrow=False):
        """Replace the value; it must convert losslessly to this variable's dtype and rank.

        Example:
            >>> import symgraph as sg
            >>> w = sg.shared(0.0, name="w"); w.set_value(2.5); float(w.get_value())
            2.5
        """
        from ..function_args import convert_argument

        converted = convert_argument(value, self.type, f"shared variable {self.name or '<unnamed>'}")
        if not borrow and np.may_share_memory(converted, np.asarray(value)):
            converted = np.array(converted, copy=True)
        self.container.value = converted


class Container:
    """Holds a shared variable's value; compiled functions read and replace it."""

    __slots__ = ("value", "lock")

    def __init__(self, value):
        self.value = value
        self.lock = threading.Lock()

    def __reduce__(self):
        return Container, (self.value,)


class Apply:
    """One application of an op to input variables, producing output variables.

    `site` records where user code created the node, for error messages and printing.
    """

    __slots__ = ("op", "inputs", "outputs", "site", "__weakref__")

    def __init__(self, op, inputs, output_types, site):
        self.op = op
        self.inputs = inputs
        self.outputs = tuple(Variable(t, self, i) for i, t in enumerate(output_types))
        self.site = site

    @property
    def out(self):
        """The single output of a one-output node."""
        (output,) = self.outputs
        return output

    def __repr__(self):
        return f"Apply({self.op}, {len(self.inputs)} inputs)"

    def __reduce__(self):
        from .serialize import reduce_apply

        return reduce_apply(self)


_interned_nodes: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()
_intern_lock = threading.Lock()


def apply_op(op, inputs, site=None):
    """Apply `op` to `inputs` (Variables), returning the interned Apply node.

    Output types come from `op.output_types(*input_types)`, which raises on bad input. A new node
    records `site`, or else the user's frame that is building it; an existing node keeps its own.
    """
    key = (op, inputs)
    node = _interned_nodes.get(key)
    if node is not None:
        return node
    output_types = op.output_types(*[v.type for v in inputs])
    candidate = Apply(op, inputs, output_types, site or user_creation_site())
    with _intern_lock:
        return _interned_nodes.setdefault(key, candidate)


_interned_constants: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()
_CONSTANT_INTERN_LIMIT = 1024


def constant(value, name=None, dtype=None):
    """A constant node from a NumPy array, Python scalar or nested list (values are copied, read-only).

    Example:
        >>> import symgraph as sg
        >>> sg.constant(3).dtype
        dtype('int64')
    """
    if isinstance(value, Variable):
        raise TypeError(f"sg.constant expects a value, got the symbolic variable {value!r}")
    data = np.array(value, dtype=None if dtype is None else as_dtype(dtype), copy=True)
    if data.dtype.kind not in "biufc":
        raise TypeError(f"sg.constant: cannot make a constant of dtype {data.dtype} from {value!r}")
    data.setflags(write=False)
    key = None
    if data.size <= _CONSTANT_INTERN_LIMIT:
        key = (data.dtype, data.shape, data.tobytes(), name)
        existing = _interned_constants.get(key)
        if existing is not None:
            return existing
    result = Constant(TensorType(data.dtype, data.shape), data, name)
    if key is not None:
        with _intern_lock:
            return _interned_constants.setdefault(key, result)
    return result


def shared(value, name=None, dtype=None):
    """A shared variable holding `value` between calls; the target of `updates` in `sg.function`.

    Its static shape is unknown in every dimension so `set_value` may change sizes (not rank).

    Example:
        >>> import symgraph as sg
        >>> w = sg.shared(np.zeros(3), name="w")
        >>> w.get_value().shape
        (3,)
    """
    if isinstance(value, Variable):
        raise TypeError(f"sg.shared expects a value, got the symbolic variable {value!r}")
    data = np.array(value, dtype=None if dtype is None else as_dtype(dtype), copy=True)
    try:
        as_dtype(data.dtype)
    except TypeError as exc:
        raise TypeError(f"sg.shared: cannot hold {value!r}: {exc}") from None
    return SharedVariable(TensorType(data.dtype, (None,) * data.ndim), Container(data), name)


def as_variable(value, name_hint=None):
    """Return `value` if it is a Variable, else a Constant built from it."""
    if isinstance(value, Variable):
        return value
    if isinstance(value, Apply):
        raise TypeError(f"expected a variable, got the node {value!r}; use node.outputs")
    try:
        return constant(value)
    except (TypeError, ValueError) as exc:
        where = f" for {name_hint}" if name_hint else ""
        raise TypeError(f"cannot turn {value!r} into a symbolic tensor{where}: {exc}") from exc
