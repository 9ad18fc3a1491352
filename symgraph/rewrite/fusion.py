"""Fusion phase: connected element-wise nodes become one `Fused` kernel.

Clusters grow from a consumer towards its producers: an element-wise producer joins its consumer's
cluster when *every* use of its value is inside that cluster. A value also needed elsewhere (by a
non-element-wise node, by two kernels, or as a graph output) therefore ends a kernel: it is the output
of the kernel that computes it and an input of the kernels that use it, so kernels are single-output and
nothing is computed twice. Growing clusters only through producers whose uses are all inside keeps every
cluster convex (no path leaves it and comes back), so fusing never creates a cycle. One linear pass.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> y = sg.optimize(sg.exp(x) * 2.0 + 1.0)
    >>> y.owner.op.name, y.owner.op.inner_names
    ('fused', ['exp', 'multiply', 'add'])
"""
from ..graph.basic import apply_op
from ..graph.traversal import toposort
from ..ops.elemwise import Elemwise
from ..ops.fused import STEP_SITES, Fused
from .registry import register_pass_name

FUSION = "elemwise_fusion"
register_pass_name(FUSION, "fusion")


def _use_counts(nodes, outputs):
    """Number of uses of each node's output: one per consuming input slot, one per graph output."""
    uses = {}
    for node in nodes:
        for var in node.inputs:
            if var.owner is not None:
                uses[var.owner] = uses.get(var.owner, 0) + 1
    for var in outputs:
        if var.owner is not None:
            uses[var.owner] = uses.get(var.owner, 0) + 1
    return uses


def _clusters(nodes, outputs):
    """{root node: members} for every cluster of two or more element-wise nodes."""
    uses = _use_counts(nodes, outputs)
    cluster_of = {}
    uses_inside = {}
    clusters = {}
    for root in reversed(nodes):
        if type(root.op) is not Elemwise or root in cluster_of:
            continue
        cluster_of[root] = root
        members = [root]
        frontier = [root]
        while frontier:
            member = frontier.pop()
            for var in member.inputs:
                producer = var.owner
                if producer is None or type(producer.op) is not Elemwise or producer in cluster_of:
                    continue
                seen_root, count = uses_inside.get(producer, (None, 0))
                count = count + 1 if seen_root is root else 1
                uses_inside[producer] = (root, count)
                if count == uses[producer]:
                    cluster_of[producer] = root
                    members.append(producer)
                    frontier.append(producer)
        if len(members) > 1:
            clusters[root] = members
    return clusters


def _kernel(members, position):
    """(Fused op, external input variables, creation site of each step) computing the cluster `members`
    (its root computed last)."""
    ordered = sorted(members, key=position.__getitem__)
    inside = {node.outputs[0] for node in ordered}
    inputs = []
    input_ref = {}
    for node in ordered:
        for var in node.inputs:
            if var not in inside and var not in input_ref:
                input_ref[var] = len(inputs)
                inputs.append(var)
    ref = dict(input_ref)
    steps = []
    for index, node in enumerate(ordered):
        steps.append((node.op.scalar, tuple(ref[var] for var in node.inputs)))
        ref[node.outputs[0]] = len(inputs) + index
    return Fused(len(inputs), steps), inputs, tuple(node.site for node in ordered)


def fuse_elemwise(outputs, counts):
    """`outputs` recomputed with every cluster of element-wise nodes fused; `counts[FUSION]` += kernels made."""
    nodes = toposort(outputs)
    clusters = _clusters(nodes, outputs)
    if not clusters:
        return list(outputs)
    position = {node: index for index, node in enumerate(nodes)}
    fused_member = {member for members in clusters.values() for member in members}
    memo = {}

    def new(var):
        return memo.get(var, var)

    for node in nodes:
        if node in clusters:
            op, inputs, sites = _kernel(clusters[node], position)
            kernel = apply_op(op, tuple(new(v) for v in inputs), node.site)
            STEP_SITES.setdefault(kernel, sites)
            memo[node.outputs[0]] = kernel.outputs[0]
        elif node not in fused_member:
            new_inputs = tuple(new(v) for v in node.inputs)
            if any(a is not b for a, b in zip(new_inputs, node.inputs)):
                rebuilt = apply_op(node.op, new_inputs, node.site)
                memo.update(zip(node.outputs, rebuilt.outputs))
    counts[FUSION] = counts.get(FUSION, 0) + len(clusters)
    return [new(var) for var in outputs]
