"""User-defined ops: reusable sub-graphs (`OpFromGraph`), custom gradients (`custom_gradient`) and NumPy
functions wrapped as black-box ops (`as_op`).

- `OpFromGraph(inputs, outputs)` is one op standing for a sub-graph: it applies to new variables, prints
  as one node, runs its inner graph compiled once, and is differentiated through the inner graph unless
  `grad_override` gives the pullback. With `inline=True` the optimizer expands it into its inner graph.
- `@custom_gradient` marks a symbolic function whose reverse-mode derivative is given by the function
  registered with `f.defvjp(bwd)`, in JAX's `custom_vjp` spirit (see `custom_gradient`).
- `as_op(itypes, otypes)(fn)` wraps a NumPy function: not differentiable unless `grad=` is given.

Example:
    >>> import symgraph as sg
    >>> a, b = sg.vector("a"), sg.vector("b")
    >>> axpy = sg.OpFromGraph([a, b], [2 * a + b], name="axpy")
    >>> x = sg.vector("x")
    >>> axpy(x, x).eval({x: [1.0, 2.0]})
    array([3., 6.])
"""
import sys
import threading

import numpy as np

from ..errors import NotDifferentiableError, ShapeError
from ..graph.basic import Constant, SharedVariable, Variable, apply_op, as_variable
from ..graph.op import Op
from ..graph.replace import clone_replace
from ..graph.traversal import graph_inputs, toposort
from ..graph.type import TensorType
from .elemwise import is_differentiable_dtype
from .shape import ensure_shape
from .shape_of import shape_of, symbolic_sizes

__all__ = ["OpFromGraph", "custom_gradient", "as_op"]


def _variables(values, role, caller):
    values = [values] if isinstance(values, Variable) else list(values)
    for value in values:
        if not isinstance(value, Variable):
            raise TypeError(f"{caller}: every {role} must be a symbolic variable, got {value!r}")
    return values


def _outside_leaf(outputs, inputs):
    """The first variable (not a constant) that `outputs` read besides `inputs`, or None."""
    known = {id(v) for v in inputs}
    return next((leaf for leaf in graph_inputs(outputs) if id(leaf) not in known and not isinstance(leaf, Constant)),
                None)


def _arguments(values, types, op_name):
    """The arguments of a user-defined op as variables, each checked at run time to have the static sizes of
    its declared type that its own type lacks (the op's outputs, and code built on them, rely on them).
    An argument of an incompatible type is left for `output_types` to report."""
    arguments = []
    for position, value in enumerate(values):
        var = as_variable(value, f"an input of {op_name}")
        declared = types[position].shape if position < len(types) else ()
        lacking = any(want is not None and have is None for want, have in zip(declared, var.type.shape))
        if lacking and var.type.is_compatible(types[position]):
            sizes = tuple(want if want is not None else size for want, size in zip(declared, symbolic_sizes(var)))
            var = ensure_shape(var, sizes, f"{op_name}: input {position}")
        arguments.append(var)
    return tuple(arguments)


def _rule_gradients(grads, inputs, op_name, rule_text):
    """The gradients a user's rule returned (one symbolic variable, value or None per input), each checked
    to have its input's shape: while building where static shapes decide, else at run time. The autodiff
    engine then casts them to the inputs' dtypes, as it does every gradient."""
    if isinstance(grads, Variable) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"{op_name}: {rule_text} must return a list with one gradient (or None) per input, "
                        f"got {grads!r}")
    if len(grads) != len(inputs):
        raise TypeError(f"{op_name}: {rule_text} returned {len(grads)} gradient(s) for {len(inputs)} input(s)")
    checked = []
    for position, (g, var) in enumerate(zip(grads, inputs)):
        if g is not None:
            what = f"{op_name}: the gradient {rule_text} returned for input {position}"
            g = ensure_shape(as_variable(g, what), shape_of(var), what)
        checked.append(g)
    return checked


def _rule_text(role, rule):
    return f"the {role} {getattr(rule, '__name__', None) or rule!r}"


class OpFromGraph(Op):
    """An op whose computation is the graph from `inputs` to `outputs` (PyTensor's `OpFromGraph`).

    `inputs` are leaf variables (not constants or shared variables); `outputs` a variable or a list that
    may use them and constants only. Calling the op on new variables (of compatible types) builds one
    node and returns its output (a list when there are several); its value is the inner graph's,
    compiled once. Static sizes of the inner inputs that an argument's type lacks are checked at run time. Gradients and forward-mode derivatives go through the inner graph,
    unless `grad_override(inputs, outputs, output_grads)` is given: it returns a list with one symbolic
    gradient (or None) per input, of exactly that input's shape (checked, never summed to fit). `inline=True` lets the optimizer replace the node by its inner
    graph (then fused and simplified with the rest); the override still gives the gradient, which is
    taken before compiling. `debugprint` shows the inner graph below the graph using it.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> softplus = sg.OpFromGraph([x], [sg.log1p(sg.exp(x))], name="my_softplus")
        >>> y = sg.vector("y")
        >>> g = sg.grad(softplus(y).sum(), y)
        >>> g.eval({y: [0.0]})
        array([0.5])
        >>> softplus(y).owner.op.name
        'my_softplus'
    """

    def __init__(self, inputs, outputs, name=None, grad_override=None, inline=False):
        inputs = _variables(inputs, "input", "OpFromGraph")
        outputs = _variables(outputs, "output", "OpFromGraph")
        for var in inputs:
            if var.owner is not None or isinstance(var, (Constant, SharedVariable)):
                raise TypeError(f"OpFromGraph: input {var!r} must be a leaf variable (not computed, constant "
                                "or shared)")
        if len({id(v) for v in inputs}) != len(inputs):
            raise ValueError("OpFromGraph: an input is listed twice")
        leaf = _outside_leaf(outputs, inputs)
        if leaf is not None:
            raise ValueError(f"OpFromGraph: the outputs need {leaf!r}, which is not one of the inputs; "
                             "list it as an input")
        if grad_override is not None and not callable(grad_override):
            raise TypeError(f"OpFromGraph: grad_override must be callable, got {grad_override!r}")
        self.inner_inputs = inputs
        self.inner_outputs = outputs
        self._name = name or "op_from_graph"
        self.grad_override = grad_override
        self.inline = bool(inline)
        # A sub-graph holding a draw must run at every call, as the draw would.
        self.pure = all(node.op.pure for node in toposort(outputs))
        self._compiled = None
        self._lock = threading.Lock()

    nout = property(lambda self: len(self.inner_outputs))
    rule_role = "grad_override"
    """What errors call `grad_override` (a custom_gradient's op says "defvjp rule")."""

    @property
    def name(self):
        return self._name

    # One op per construction: two OpFromGraph built alike are distinct ops (as PyTensor's are).
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __str__(self):
        return f"{self._name}{{{len(self.inner_inputs)} -> {len(self.inner_outputs)}}}"

    __repr__ = __str__

    def __reduce__(self):
        return _rebuild_op_from_graph, (self.inner_inputs, self.inner_outputs, self._name, self.grad_override,
                                        self.inline, self.rule_role)

    def __call__(self, *inputs):
        node = self.make_node(*inputs)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    def make_node(self, *inputs):
        return apply_op(self, _arguments(inputs, [v.type for v in self.inner_inputs], self._name))

    def output_types(self, *input_types):
        if len(input_types) != len(self.inner_inputs):
            raise TypeError(f"{self._name}: expected {len(self.inner_inputs)} input(s), got {len(input_types)}")
        for position, (want, got) in enumerate(zip(self.inner_inputs, input_types)):
            if not got.is_compatible(want.type):
                raise TypeError(f"{self._name}: input {position} must be of type {want.type}, got {got}")
        return [out.type for out in self.inner_outputs]

    def _function(self):
        with self._lock:
            if self._compiled is None:
                from ..function import function

                self._compiled = function(self.inner_inputs, list(self.inner_outputs), on_unused_input="ignore",
                                          name=self._name, trust_input=True)
        return self._compiled

    def perform(self, *values):
        results = self._function()(*values)
        return results[0] if len(results) == 1 else tuple(results)

    def expand(self, inputs):
        """The inner graph's outputs rebuilt on `inputs` (what inlining puts in place of the node)."""
        return clone_replace(self.inner_outputs, dict(zip(self.inner_inputs, inputs)))

    def pullback(self, inputs, outputs, output_grads):
        if self.grad_override is not None:
            grads = self.grad_override(list(inputs), list(outputs), list(output_grads))
            return _rule_gradients(grads, inputs, self._name, _rule_text(self.rule_role, self.grad_override))
        from ..autodiff.grad import grad

        # Differentiate the inner graph with respect to its own (distinct) inputs, with placeholders for
        # the cotangents, then substitute: an outer variable passed twice gets one gradient per position.
        cotangents = {out: Variable(g.type) for out, g in zip(self.inner_outputs, output_grads)
                      if g is not None and is_differentiable_dtype(out.dtype)}
        wanted = [i for i, v in enumerate(self.inner_inputs) if is_differentiable_dtype(v.dtype)]
        if not cotangents or not wanted:
            return [None] * len(inputs)
        grads = grad(None, [self.inner_inputs[i] for i in wanted], known_grads=cotangents,
                     disconnected_inputs="ignore")
        given = [g for g in output_grads if g is not None]
        substituted = self._substitute(grads, inputs, list(cotangents.values()), given)
        result = [None] * len(inputs)
        for position, g in zip(wanted, substituted):
            result[position] = g
        return result

    def _substitute(self, variables, inputs, placeholders, values):
        """`variables` (built on the inner inputs and `placeholders`) rebuilt on `inputs` and `values`."""
        replacements = dict(zip(self.inner_inputs, inputs))
        replacements.update(zip(placeholders, values))
        return clone_replace(list(variables), replacements)

    def pushforward(self, inputs, outputs, tangents):
        from ..autodiff.forward import jvp

        positions = [i for i, (v, t) in enumerate(zip(self.inner_inputs, tangents))
                     if t is not None and is_differentiable_dtype(v.dtype)]
        differentiable = [i for i, out in enumerate(self.inner_outputs) if is_differentiable_dtype(out.dtype)]
        results = [None] * len(self.inner_outputs)
        if not positions or not differentiable:
            return results
        placeholders = [Variable(tangents[i].type) for i in positions]
        inner_tangents = jvp([self.inner_outputs[i] for i in differentiable], [self.inner_inputs[i] for i in positions],
                             placeholders)
        substituted = self._substitute(inner_tangents, inputs, placeholders, [tangents[i] for i in positions])
        for position, t in zip(differentiable, substituted):
            results[position] = t
        return results


def _rebuild_op_from_graph(inputs, outputs, name, grad_override, inline, rule_role=OpFromGraph.rule_role):
    op = OpFromGraph(inputs, outputs, name, grad_override, inline)
    op.rule_role = rule_role
    return op


class custom_gradient:
    """Decorator: a symbolic function whose reverse-mode gradient is given by a rule you write.

    Design (one way only): decorate the function `f(*variables) -> variable or list`, then register the
    rule with `@f.defvjp`, a function `bwd(inputs, outputs, output_grads)` returning one gradient (a
    symbolic variable of the input's shape, or None for none) per input, where `output_grads` holds one cotangent per output
    (zeros where an output does not reach the cost). Each call of `f` builds one OpFromGraph node (one op
    per set of input types, reused), so the gradient of anything built on it uses `bwd`; the compiler
    inlines the node, so the forward computation is optimized like the rest. Forward mode (`sg.jvp`)
    differentiates the function's own graph. Without `defvjp`, the gradient is the function's own.
    The function may use its arguments and constants only: a shared variable (weights) or a random draw
    it needs is passed as an argument (ValueError otherwise), so that the rule gives its gradient.

    Example:
        >>> import symgraph as sg
        >>> @sg.custom_gradient
        ... def log1pexp(x):
        ...     return sg.log(1 + sg.exp(x))
        >>> @log1pexp.defvjp
        ... def log1pexp_vjp(inputs, outputs, output_grads):
        ...     return [output_grads[0] * sg.sigmoid(inputs[0])]
        >>> x = sg.vector("x")
        >>> sg.grad(log1pexp(x).sum(), x).eval({x: [0.0, 1000.0]})
        array([0.5, 1. ])
    """

    def __init__(self, function):
        if not callable(function):
            raise TypeError(f"custom_gradient: expected a function, got {function!r}")
        self.function = function
        self.vjp = None
        self._ops = {}
        self._lock = threading.Lock()
        self.__name__ = getattr(function, "__name__", "custom_gradient")
        self.__doc__ = function.__doc__
        self.__wrapped__ = function

    def defvjp(self, bwd):
        """Register `bwd(inputs, outputs, output_grads) -> [gradient per input]`; returns `bwd`."""
        if not callable(bwd):
            raise TypeError(f"{self.__name__}.defvjp: expected a function, got {bwd!r}")
        with self._lock:
            self.vjp = bwd
            self._ops.clear()
        return bwd

    def _op(self, types):
        with self._lock:
            op = self._ops.get(types)
            if op is None:
                inner = [Variable(t, name=f"{self.__name__}_input{i}") for i, t in enumerate(types)]
                outputs = self.function(*inner)
                leaf = _outside_leaf(_variables(outputs, "output", self.__name__), inner)
                if leaf is not None:
                    # the rule gives gradients for the arguments only: anything else would get none
                    raise ValueError(f"custom_gradient {self.__name__}: the function uses {leaf!r}, which is not "
                                     f"one of its arguments (a shared variable, a variable from outside or a "
                                     f"random draw's state); pass it (or the draw) as an argument of "
                                     f"{self.__name__}, and give its gradient in the defvjp rule")
                op = OpFromGraph(inner, outputs, name=self.__name__, grad_override=self.vjp, inline=True)
                op.rule_role = "defvjp rule"
                self._ops[types] = op
        return op

    def __call__(self, *args):
        variables = [as_variable(a, f"an argument of {self.__name__}") for a in args]
        return self._op(tuple(v.type for v in variables))(*variables)

    def __repr__(self):
        return f"<custom_gradient {self.__name__}>"


class AsOp(Op):
    """A NumPy function as a black-box op (made by `sg.as_op`): inputs and outputs of fixed types.

    `perform` calls the function and casts each result to its output dtype where NumPy's 'same_kind'
    rule allows it (else TypeError naming the op); a result of the wrong shape raises ShapeError. Not differentiable unless `grad(inputs, outputs,
    output_grads)` is given, returning one symbolic gradient (or None) per input.
    """

    def __init__(self, function, itypes, otypes, grad=None, name=None):
        self.function = function
        self.itypes = tuple(itypes)
        self.otypes = tuple(otypes)
        self.grad = grad
        self._name = name or getattr(function, "__name__", "as_op")
        self.__doc__ = function.__doc__ or AsOp.__doc__
        self.__module__ = getattr(function, "__module__", __name__)

    nout = property(lambda self: len(self.otypes))

    @property
    def name(self):
        return self._name

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __str__(self):
        return f"as_op{{{self._name}}}"

    __repr__ = __str__

    def __reduce__(self):
        # The decorated name at module level is this op, not the function: pickle by that name then.
        module = sys.modules.get(getattr(self.function, "__module__", None))
        qualname = getattr(self.function, "__qualname__", None)
        if module is not None and qualname is not None and getattr(module, qualname, None) is self:
            return qualname
        return AsOp, (self.function, self.itypes, self.otypes, self.grad, self._name)

    def __call__(self, *inputs):
        node = self.make_node(*inputs)
        return node.outputs[0] if len(self.otypes) == 1 else list(node.outputs)

    def make_node(self, *inputs):
        return apply_op(self, _arguments(inputs, self.itypes, self._name))

    def output_types(self, *input_types):
        if len(input_types) != len(self.itypes):
            raise TypeError(f"{self._name}: expected {len(self.itypes)} input(s), got {len(input_types)}")
        for position, (want, got) in enumerate(zip(self.itypes, input_types)):
            if not got.is_compatible(want):
                raise TypeError(f"{self._name}: input {position} must be of type {want}, got {got}")
        return list(self.otypes)

    def perform(self, *values):
        results = self.function(*values)
        results = [results] if len(self.otypes) == 1 else list(results)
        if len(results) != len(self.otypes):
            raise TypeError(f"{self._name}: the function returned {len(results)} values, expected {len(self.otypes)}")
        converted = [self._output(position, value, want)
                     for position, (value, want) in enumerate(zip(results, self.otypes))]
        return converted[0] if len(converted) == 1 else tuple(converted)

    def _output(self, position, value, want):
        """Result `position` as an array of type `want`: cast only as NumPy's assignment would
        ('same_kind': float64 to float32, not float to int or complex to float)."""
        try:
            array = np.asarray(value)
        except ValueError as exc:
            raise TypeError(f"{self._name}: output {position} does not convert to an array ({exc})") from None
        if not np.can_cast(array.dtype, want.dtype, "same_kind"):
            raise TypeError(f"{self._name}: output {position} has dtype {array.dtype}, which does not cast to the "
                            f"declared {want.dtype} under NumPy's 'same_kind' rule; convert it in the function")
        if array.ndim != want.ndim or any(s is not None and s != n for s, n in zip(want.shape, array.shape)):
            raise ShapeError(f"{self._name}: output {position} has shape {array.shape}, expected type {want}")
        return array.astype(want.dtype, copy=False)

    def pullback(self, inputs, outputs, output_grads):
        if self.grad is None:
            raise NotDifferentiableError(f"the black-box op '{self._name}' made by sg.as_op has no gradient; "
                                         "give one with sg.as_op(itypes, otypes, grad=...)")
        grads = self.grad(list(inputs), list(outputs), list(output_grads))
        return _rule_gradients(grads, inputs, self._name, _rule_text("grad rule", self.grad))

    def pushforward(self, inputs, outputs, tangents):
        raise NotDifferentiableError(f"the black-box op '{self._name}' made by sg.as_op has no forward-mode "
                                     "derivative")


def _as_types(types, role):
    types = [types] if isinstance(types, TensorType) else list(types)
    for t in types:
        if not isinstance(t, TensorType):
            raise TypeError(f"sg.as_op: every entry of {role} must be a sg.TensorType, got {t!r}")
    return types


def as_op(itypes, otypes, grad=None):
    """Decorator wrapping a NumPy function as an op with inputs of types `itypes` and outputs of types
    `otypes` (lists of `sg.TensorType`). The op is a black box: the optimizer leaves it alone, and it is
    not differentiable (`sg.NotDifferentiableError` naming it) unless `grad(inputs, outputs,
    output_grads)` returns one symbolic gradient (or None) per input.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> @sg.as_op([sg.TensorType("float64", (None,))], [sg.TensorType("float64", (None,))])
        ... def sort(values):
        ...     return np.sort(values)
        >>> x = sg.vector("x")
        >>> sort(x * 2).eval({x: [3.0, 1.0, 2.0]})
        array([2., 4., 6.])
    """
    itypes, otypes = _as_types(itypes, "itypes"), _as_types(otypes, "otypes")
    if grad is not None and not callable(grad):
        raise TypeError(f"sg.as_op: grad must be callable, got {grad!r}")

    def decorate(function):
        if not callable(function):
            raise TypeError(f"sg.as_op: expected a function, got {function!r}")
        return AsOp(function, itypes, otypes, grad)

    return decorate
