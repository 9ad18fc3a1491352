"""Pickling of graphs as flat lists of nodes, so deep graphs never recurse.

A variable with an owner pickles as the topologically ordered records of its ancestors; unpickling
re-applies each op through the interning table, so sub-graphs pickled together become one again.
An object holding many variables (a compiled function) pickles them through `reduce_with_graph`, as one
set of records for all of them: each variable pickled on its own would repeat the ancestors it shares
with the others, which makes the pickle quadratic in the number of outputs.
Unpickling trusts its input, as Python's pickle does.

Example:
    >>> import pickle, symgraph as sg
    >>> x = sg.vector("x")
    >>> pickle.loads(pickle.dumps(sg.exp(x))).owner.op.name
    'exp'
"""
from .traversal import collection_paused, toposort


def reduce_variable(var):
    """`__reduce__` of a Variable: leaves pickle their own state, others their ancestry as flat records."""
    from .basic import Constant, SharedVariable

    if var.owner is None:
        if isinstance(var, SharedVariable):
            return _rebuild_shared, (var.type, var.container, var.name)
        if isinstance(var, Constant):
            return _rebuild_constant, (var.type, var.data, var.name)
        return _rebuild_input, (type(var), var.type, var.name)
    records, leaves, position = _flatten([var])
    return _rebuild_output, (records, leaves, position[id(var.owner)], var.index)


def reduce_apply(node):
    """`__reduce__` of an Apply node."""
    records, leaves, position = _flatten(node.outputs)
    return _rebuild_apply, (records, leaves, position[id(node)])


def reduce_with_graph(rebuild, arguments):
    """`__reduce__` value calling `rebuild(*arguments)` on unpickling, where the variables in `arguments`
    (also inside lists, tuples and dicts) pickle as one graph: each node once, however many of them
    share it.

    Example:
        >>> import pickle, symgraph as sg
        >>> x = sg.vector("x")
        >>> shared_part = sg.exp(x)
        >>> rebuild, arguments = reduce_with_graph(tuple, ([shared_part + 1, shared_part * 2],))
        >>> first, second = rebuild(*pickle.loads(pickle.dumps(arguments)))
        >>> first.owner.inputs[0] is second.owner.inputs[0]
        True
    """
    from .basic import Variable

    computed = []

    def placeholder(value):
        if isinstance(value, Variable) and value.owner is not None:
            computed.append(value)
            return _GraphOutput(len(computed) - 1)
        return value

    placed = _mapped(arguments, placeholder)
    records, leaves, position = _flatten(computed)
    outputs = tuple((position[id(var.owner)], var.index) for var in computed)
    return _rebuild_with_graph, (rebuild, records, leaves, outputs, placed)


class _GraphOutput:
    """Stands for the `number`-th computed variable of a graph pickled by `reduce_with_graph`."""

    __slots__ = ("number",)

    def __init__(self, number):
        self.number = number

    def __reduce__(self):
        return _GraphOutput, (self.number,)


def _mapped(value, change):
    """`value` with `change` applied to everything in it but lists, tuples and dicts (plain ones, whose
    items and keys are mapped in turn)."""
    if type(value) in (list, tuple):
        return type(value)(_mapped(item, change) for item in value)
    if type(value) is dict:
        return {_mapped(key, change): _mapped(item, change) for key, item in value.items()}
    return change(value)


def _rebuild_with_graph(rebuild, records, leaves, outputs, placed):
    with collection_paused():
        nodes = _rebuild_nodes(records, leaves)
    variables = [nodes[node_index].outputs[output_index] for node_index, output_index in outputs]
    restored = _mapped(placed, lambda value: variables[value.number] if isinstance(value, _GraphOutput) else value)
    return rebuild(*restored)


def _flatten(outputs):
    nodes = toposort(outputs)
    position = {id(n): i for i, n in enumerate(nodes)}
    leaves = []
    leaf_position = {}
    records = []
    for node in nodes:
        refs = []
        for inp in node.inputs:
            if inp.owner is None:
                if id(inp) not in leaf_position:
                    leaf_position[id(inp)] = len(leaves)
                    leaves.append(inp)
                refs.append((-1, leaf_position[id(inp)]))
            else:
                refs.append((position[id(inp.owner)], inp.index))
        records.append((node.op, tuple(refs), node.site, tuple(o.name for o in node.outputs)))
    return records, leaves, position


def _rebuild_nodes(records, leaves):
    from .basic import apply_op

    nodes = []
    for op, refs, site, names in records:
        inputs = tuple(leaves[i] if n == -1 else nodes[n].outputs[i] for n, i in refs)
        node = apply_op(op, inputs, site)
        for out, name in zip(node.outputs, names):
            if out.name is None:
                out.name = name
        nodes.append(node)
    return nodes


def _rebuild_output(records, leaves, node_index, output_index):
    return _rebuild_nodes(records, leaves)[node_index].outputs[output_index]


def _rebuild_apply(records, leaves, node_index):
    return _rebuild_nodes(records, leaves)[node_index]


def _rebuild_input(cls, type_, name):
    return cls(type_, None, 0, name)


def _rebuild_constant(type_, data, name):
    from .basic import constant

    # Through `constant` so the value is read-only again and equal constants are one node again.
    return constant(data, name=name, dtype=type_.dtype)


def _rebuild_shared(type_, container, name):
    from .basic import SharedVariable

    return SharedVariable(type_, container, name)
