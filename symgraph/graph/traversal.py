"""Iterative graph walks, so that graphs 10,000 nodes deep never hit Python's recursion limit.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> [n.op.name for n in toposort([sg.exp(x) + x])]
    ['exp', 'add']
"""
import contextlib
import gc


@contextlib.contextmanager
def collection_paused():
    """Pause the cyclic garbage collector while a phase of compiling (or pickling) runs. A phase allocates
    objects in proportion to the graph, and each full collection that this triggers scans every object the
    process holds, which made compile time grow faster than the graph; what the phase discards is collected
    later."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def toposort(outputs, stop_at=()):
    """Apply nodes needed to compute `outputs`, each after the nodes that produce its inputs.

    Variables in `stop_at` are treated as leaves: nothing above them is visited.
    """
    stop = set(map(id, stop_at))
    order = []
    visited = set()
    for root in outputs:
        if root.owner is None or id(root) in stop or id(root.owner) in visited:
            continue
        stack = [(root.owner, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for inp in reversed(node.inputs):
                owner = inp.owner
                if owner is not None and id(owner) not in visited and id(inp) not in stop:
                    stack.append((owner, False))
    return order


def graph_inputs(outputs, stop_at=()):
    """The leaf variables (no owner, or listed in `stop_at`) that `outputs` depend on, in first-seen order."""
    stop = set(map(id, stop_at))
    seen = set()
    leaves = []

    def note(var):
        if id(var) not in seen:
            seen.add(id(var))
            leaves.append(var)

    for out in outputs:
        if out.owner is None or id(out) in stop:
            note(out)
    for node in toposort(outputs, stop_at):
        for inp in node.inputs:
            if inp.owner is None or id(inp) in stop:
                note(inp)
    return leaves


def clients_map(nodes):
    """For each variable id, the list of (node, input_position) that consume it."""
    clients = {}
    for node in nodes:
        for position, inp in enumerate(node.inputs):
            clients.setdefault(id(inp), []).append((node, position))
    return clients
