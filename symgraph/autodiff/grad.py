"""Reverse-mode differentiation: `sg.grad` builds the gradient graph from each op's `pullback`.

The walk is iterative (no recursion, so 10,000-deep chains work) and visits only the nodes that lie on
a path from a requested variable to the cost. Every contribution a pullback returns is fitted to its
input's shape and dtype in one place (`fit_gradient`), and a variable's gradient is the sum of the
contributions of all its consumers.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> g = sg.grad((x * x).sum(), x)
    >>> g.eval({x: [1.0, 2.0]})
    array([2., 4.])
"""
import warnings

import numpy as np

from ..config import config
from ..errors import DisconnectedInputError, NotDifferentiableError, ShapeError
from ..graph.basic import Variable, as_variable, constant
from ..graph.traversal import collection_paused, toposort
from ..ops.creation import zeros_like
from ..ops.elemwise import add, cast, is_differentiable_dtype, subtract
from ..ops.reduce import sum as sum_
from ..ops.shape import reshape
from ..ops.gradient_ops import fit_gradient

_DISCONNECTED_POLICIES = ("raise", "warn", "ignore")


def as_variable_list(value, role, caller):
    """(list of Variables, whether `value` was a single variable) for a variable or a list/tuple of them."""
    single = not isinstance(value, (list, tuple))
    items = [value] if single else list(value)
    for item in items:
        if not isinstance(item, Variable):
            raise TypeError(f"{caller}: every {role} must be a symbolic variable, got {item!r}")
    return items, single


def restore_structure(results, single, like):
    """`results` shaped like the caller's argument: one value, a list or a tuple."""
    if single:
        return results[0]
    return tuple(results) if isinstance(like, tuple) else list(results)


def reading(value, variables):
    """`value`, made to read each of `variables` that it does not read yet: minus the sum of none of its
    entries, which constant folding removes. A derivative that depends only on static shapes (the
    gradient of a * b with respect to a is b) then still takes its variable as an input of a compiled
    function, as `sg.function([a, b], sg.grad(a * b, a))` expects. A variable with a size unknown while
    building is read already, through its shape."""
    static = [var for var in variables if None not in var.type.shape]
    if not static:
        return value
    read = {id(value)} | {id(inp) for node in toposort([value]) for inp in node.inputs}
    for var in static:
        if id(var) not in read:
            value = subtract(value, cast(sum_(reshape(var, (-1,))[:0]), value.dtype))
    return value


def zeros_gradient(x):
    """Zeros shaped like `x`, of its dtype when float, else of floatX (the gradient of an unreachable input)."""
    return zeros_like(x, dtype=x.dtype if is_differentiable_dtype(x.dtype) else config.floatX)


def _check_cost(cost, caller):
    if not isinstance(cost, Variable):
        raise TypeError(f"{caller}: cost must be a symbolic variable, got {cost!r}")
    if cost.ndim != 0:
        raise TypeError(
            f"{caller}: cost must be a 0-d (scalar) variable, got {cost!r} of type {cost.type}; "
            "reduce it first (e.g. cost.sum()) or use sg.jacobian / sg.vjp"
        )


def _seed_gradients(cost, known_grads):
    """Initial error terms: 1 for the cost, plus each entry of `known_grads`, as {id: (variable, [terms])}."""
    seeds = {}
    if cost is not None:
        seeds[id(cost)] = (cost, [constant(np.ones((), dtype=cost.dtype))])
    for var, value in (known_grads or {}).items():
        if not isinstance(var, Variable):
            raise TypeError(f"sg.grad: the keys of known_grads must be symbolic variables, got {var!r}")
        if not is_differentiable_dtype(var.dtype):
            raise TypeError(f"sg.grad: known_grads gives a gradient for {var!r}, whose dtype {var.dtype} is not float")
        try:
            term = fit_gradient(as_variable(value, "a known gradient"), var)
        except ShapeError as exc:
            raise ShapeError(f"sg.grad: the known gradient for {var!r} does not fit its shape: {exc}") from None
        seeds.setdefault(id(var), (var, []))[1].append(term)
    return seeds


def _sum_terms(terms):
    total = terms[0]
    for term in terms[1:]:
        total = add(total, term)
    return total


def _creation_note(node):
    return f", created at {node.site}" if node.site is not None else ""


def differentiation_rule(node, rule, values, caller):
    """`node.op.pullback` or `.pushforward` (`rule`) applied to `values`; a NotDifferentiableError is
    raised again naming the op and where the node was created."""
    try:
        results = getattr(node.op, rule)(node.inputs, node.outputs, values)
    except NotDifferentiableError as exc:
        raise NotDifferentiableError(
            f"{caller}: cannot differentiate through operation '{node.op.name}' ({node.op}){_creation_note(node)}: {exc}"
        ) from exc
    expected = len(node.inputs) if rule == "pullback" else len(node.outputs)
    if len(results) != expected:
        raise TypeError(f"the {rule} of {node.op} returned {len(results)} values, expected {expected}")
    return results


def _fitted(grad, inp, node):
    try:
        return fit_gradient(grad, inp)
    except ShapeError as exc:
        raise ShapeError(
            f"the pullback of {node.op}{_creation_note(node)} returned a gradient of type {as_variable(grad).type} "
            f"for an input of type {inp.type}: {exc}"
        ) from None


def _nodes_between(roots, wrt, stop_at):
    """(nodes on a path from `wrt` to `roots` in topological order, ids of every variable the roots reach)."""
    nodes = toposort(roots, stop_at=stop_at)
    reached = {id(v) for v in roots}
    for node in nodes:
        reached.update(id(v) for v in node.inputs)
    depends = {id(v) for v in wrt}
    on_path = []
    for node in nodes:
        if any(id(v) in depends for v in node.inputs):
            on_path.append(node)
            depends.update(id(v) for v in node.outputs)
    return on_path, reached


def _output_gradients(node, terms):
    """The summed error terms of `node`'s outputs (None where nothing flows back, zeros beside real ones)."""
    grads = [_sum_terms(terms[id(out)][1]) if id(out) in terms else None for out in node.outputs]
    if len(grads) > 1 and any(g is not None for g in grads):
        grads = [zeros_gradient(out) if g is None else g for g, out in zip(grads, node.outputs)]
    return grads


def backpropagate(roots_terms, wrt, consider_constant=()):
    """Error terms of the variables in `wrt` given the seeds `roots_terms` ({id: (var, [terms])}).

    Returns ({id: summed gradient} for the wrt variables that received one, ids of variables reached).
    """
    with collection_paused():  # the gradient graph is as large as the graph: see collection_paused
        return _backpropagate(roots_terms, wrt, consider_constant)


def _backpropagate(roots_terms, wrt, consider_constant):
    roots = [var for var, _ in roots_terms.values()]
    nodes, reached = _nodes_between(roots, wrt, consider_constant)
    needed = {id(v) for v in wrt}
    for node in nodes:
        needed.update(id(v) for v in node.outputs)
    terms = dict(roots_terms)
    for node in reversed(nodes):
        output_grads = _output_gradients(node, terms)
        if all(g is None for g in output_grads):
            continue
        wanted = [id(inp) in needed and is_differentiable_dtype(inp.dtype) for inp in node.inputs]
        if not any(wanted):
            continue
        for inp, grad, want in zip(node.inputs, differentiation_rule(node, "pullback", output_grads, "sg.grad"), wanted):
            if want and grad is not None:
                terms.setdefault(id(inp), (inp, []))[1].append(_fitted(grad, inp, node))
    totals = {id(v): _sum_terms(terms[id(v)][1]) for v in wrt if id(v) in terms}
    return totals, reached


def _disconnected(var, policy, caller, target):
    message = (f"{caller}: input {var.name or repr(var)} is not connected to {target} "
               "(pass disconnected_inputs='warn' or 'ignore' to get zeros instead)")
    if policy == "raise":
        raise DisconnectedInputError(message)
    if policy == "warn":
        warnings.warn(message, UserWarning, stacklevel=4)  # the user's call of sg.grad, jacobian or hessian
    return zeros_gradient(var)


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise", known_grads=None):
    """The symbolic gradient of the 0-d `cost` with respect to `wrt` (a variable, or a list/tuple of them).

    Returns the same structure as `wrt`; each gradient has its variable's shape and dtype (integer
    variables get zeros of floatX). `wrt` may be intermediate variables. `consider_constant` lists
    variables that gradients do not flow through. An input with no path to the cost is *disconnected*:
    `disconnected_inputs` is "raise" (DisconnectedInputError), "warn" (UserWarning, zeros) or "ignore"
    (zeros). A path through comparisons, `argmax`, `floor` or `stop_gradient` connects with zeros.
    `known_grads` ({variable: gradient}) seeds gradients of intermediate variables; `cost` may then be None.

    Example:
        >>> import symgraph as sg
        >>> x, w = sg.scalar("x"), sg.scalar("w")
        >>> gx, gw = sg.grad(w * x ** 2, [x, w])
        >>> float(gx.eval({x: 3.0, w: 2.0})), float(gw.eval({x: 3.0, w: 2.0}))
        (12.0, 9.0)
    """
    return gradients_for("sg.grad", "the cost", cost, wrt, consider_constant, disconnected_inputs, known_grads)


def gradients_for(caller, target, cost, wrt, consider_constant=None, disconnected_inputs="raise", known_grads=None):
    """`grad`, for the public function `caller` (`sg.jacobian` and `sg.hessian` are built on it): its errors
    name `caller`, and a disconnected input is "not connected to `target`".

    Example:
        >>> import symgraph as sg
        >>> x, u = sg.scalar("x"), sg.scalar("u")
        >>> gradients_for("sg.hessian", "the cost", x * 2, u)
        Traceback (most recent call last):
        symgraph.errors.DisconnectedInputError: sg.hessian: input u is not connected to the cost (pass disconnected_inputs='warn' or 'ignore' to get zeros instead)
    """
    if disconnected_inputs not in _DISCONNECTED_POLICIES:
        raise ValueError(f"{caller}: disconnected_inputs must be one of {_DISCONNECTED_POLICIES}, got {disconnected_inputs!r}")
    if cost is None:
        if not known_grads:
            raise TypeError(f"{caller}: cost may be None only when known_grads is given")
    else:
        _check_cost(cost, caller)
    wrt_list, single = as_variable_list(wrt, "variable in wrt", caller)
    stop_at = as_variable_list(consider_constant, "entry of consider_constant", caller)[0] if consider_constant else []
    if cost is not None and not is_differentiable_dtype(cost.dtype):
        # an integer or bool cost is piecewise constant: zeros wherever a path connects
        totals, reached = {}, _nodes_between([cost], wrt_list, stop_at)[1]
    else:
        totals, reached = backpropagate(_seed_gradients(cost, known_grads), wrt_list, stop_at)
    results = []
    for var in wrt_list:
        if id(var) not in reached:
            results.append(_disconnected(var, disconnected_inputs, caller, target))
        elif id(var) in totals and is_differentiable_dtype(var.dtype):
            results.append(totals[id(var)])
        else:
            results.append(zeros_gradient(var))
    return restore_structure([reading(g, [var]) for g, var in zip(results, wrt_list)], single, wrt)
