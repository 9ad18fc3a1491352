"""Pickling of graphs as flat lists of nodes, so deep graphs never recurse.

A variable with an owner pickles as the topologically ordered records of its ancestors; unpickling
re-applies each op through the interning table, so sub-graphs pickled together become one again.
Unpickling trusts its input, as Python's pickle does.

Example:
    >>> import pickle, symgraph as sg
    >>> x = sg.vector("x")
    >>> pickle.loads(pickle.dumps(sg.exp(x))).owner.op.name
    'exp'
"""
from .traversal import toposort


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
