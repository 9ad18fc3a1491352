"""Functional graph rebuilding: the user's graph is never changed, new nodes are interned.

Example:
    >>> import symgraph as sg
    >>> x, y = sg.vector("x"), sg.vector("y")
    >>> [z] = clone_replace([sg.exp(x)], {x: y})
    >>> z.owner.inputs[0] is y
    True
"""
from .basic import apply_op
from .traversal import toposort


def clone_replace(outputs, replacements):
    """Rebuild `outputs` with each variable in `replacements` (a dict) swapped for its value.

    Replacements must have a compatible type (same dtype and rank, no contradicting static size).
    Returns a list of new output variables; unchanged sub-graphs are shared, not copied.
    """
    memo = {}
    for old, new in replacements.items():
        if not new.type.is_compatible(old.type):
            raise TypeError(f"cannot replace {old!r} (type {old.type}) by {new!r} (type {new.type}): incompatible types")
        memo[id(old)] = new
    for node in toposort(outputs, stop_at=list(replacements)):
        new_inputs = tuple(memo.get(id(v), v) for v in node.inputs)
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            continue
        new_node = apply_op(node.op, new_inputs, node.site)
        for old_out, new_out in zip(node.outputs, new_node.outputs):
            memo[id(old_out)] = new_out
    return [memo.get(id(v), v) for v in outputs]
