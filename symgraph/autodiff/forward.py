"""Jacobian-vector and vector-Jacobian products: `sg.jvp` (forward mode, alias `Rop`) and `sg.vjp` (`Lop`).

`jvp` walks the graph forward once, calling each op's `pushforward`; `vjp` is reverse mode seeded with
the given cotangents. Variables that the outputs do not depend on get zero products.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> sg.jvp(sg.sin(x), x, sg.constant([1.0, 1.0])).eval({x: [0.0, 0.0]})
    array([1., 1.])
"""
from ..errors import ShapeError
from ..graph.basic import as_variable
from ..graph.traversal import toposort
from ..ops.elemwise import is_differentiable_dtype
from ..ops.gradient_ops import fit_gradient
from .grad import as_variable_list, backpropagate, differentiation_rule, reading, restore_structure, zeros_gradient


def _paired(values, variables, role, caller):
    """`values` (one per variable, same structure) as a list of Variables fitted to their variables."""
    items = [values] if not isinstance(values, (list, tuple)) else list(values)
    if len(items) != len(variables):
        raise ValueError(f"{caller}: got {len(items)} {role}s for {len(variables)} variables")
    fitted = []
    for value, var in zip(items, variables):
        value = as_variable(value, f"a {role}")
        if value.ndim != var.ndim:
            raise ValueError(f"{caller}: the {role} for {var!r} has type {value.type}, expected rank {var.ndim}")
        try:
            fitted.append(fit_gradient(value, var))
        except ShapeError as exc:
            raise ShapeError(f"{caller}: the {role} of type {value.type} does not fit {var!r}: {exc}") from None
    return fitted


def jvp(outputs, wrt, tangents):
    """The Jacobian of `outputs` at `wrt` applied to `tangents` (forward mode), one result per output.

    `wrt` and `tangents` are a variable and a tensor of its shape, or lists of them; `outputs` a
    variable or a list (the result has the same structure). Outputs that do not depend on `wrt` get zeros.

    Example:
        >>> import symgraph as sg
        >>> x, v = sg.vector("x"), sg.vector("v")
        >>> (sg.jvp(x * x, x, v)).eval({x: [1.0, 2.0], v: [1.0, 0.5]})
        array([2., 2.])
    """
    output_list, single = as_variable_list(outputs, "output", "sg.jvp")
    wrt_list, _ = as_variable_list(wrt, "variable in wrt", "sg.jvp")
    known = {id(var): tangent for var, tangent in zip(wrt_list, _paired(tangents, wrt_list, "tangent", "sg.jvp"))
             if is_differentiable_dtype(var.dtype)}
    for node in toposort(output_list, stop_at=wrt_list):
        input_tangents = [known.get(id(v)) for v in node.inputs]
        if all(t is None for t in input_tangents):
            continue
        for out, tangent in zip(node.outputs, differentiation_rule(node, "pushforward", input_tangents, "sg.jvp")):
            if tangent is not None and is_differentiable_dtype(out.dtype):
                known[id(out)] = fit_gradient(tangent, out)
    results = [reading(known[id(out)] if id(out) in known else zeros_gradient(out), wrt_list) for out in output_list]
    return restore_structure(results, single, outputs)


def vjp(outputs, wrt, cotangents):
    """The cotangents (one per output, of its shape) pulled back through the Jacobian to `wrt` (reverse mode).

    The result has `wrt`'s structure; a variable that the outputs do not depend on gets zeros.

    Example:
        >>> import symgraph as sg
        >>> x, u = sg.vector("x"), sg.vector("u")
        >>> sg.vjp(x * x, x, u).eval({x: [1.0, 2.0], u: [1.0, 0.5]})
        array([2., 2.])
    """
    output_list, _ = as_variable_list(outputs, "output", "sg.vjp")
    wrt_list, single = as_variable_list(wrt, "variable in wrt", "sg.vjp")
    seeds = {}
    for out, cotangent in zip(output_list, _paired(cotangents, output_list, "cotangent", "sg.vjp")):
        if is_differentiable_dtype(out.dtype):
            seeds.setdefault(id(out), (out, []))[1].append(cotangent)
    totals, _ = backpropagate(seeds, wrt_list)
    results = [reading(totals[id(v)] if id(v) in totals and is_differentiable_dtype(v.dtype) else zeros_gradient(v), [v])
               for v in wrt_list]
    return restore_structure(results, single, wrt)


Rop = jvp
Lop = vjp
