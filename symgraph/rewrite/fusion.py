"""Fusion phase: connected element-wise nodes become one `Fused` kernel.

Clusters grow from a consumer towards its producers: an element-wise producer joins its consumer's
cluster when *every* use of its value is inside that cluster. A value also needed elsewhere (by a
non-element-wise node, by two kernels, or as a graph output) therefore ends a kernel: it is the output
of the kernel that computes it and an input of the kernels that use it, so kernels are single-output and
nothing is computed twice. Growing clusters only through producers whose uses are all inside keeps every
cluster convex (no path leaves it and comes back), so fusing never creates a cycle. One linear pass.

Then a sum, mean, max, min, logsumexp, softmax or log_softmax of a floating-point kernel (a `Fused` node
or a single element-wise node) whose value nothing else uses joins it as one `FusedReduce` node, which is
evaluated block by block without making the kernel's full-size result (see codegen/numpy_backend/blocked_reduce.py). A
logsumexp, softmax or log_softmax of any other floating-point value becomes a `FusedReduce` with no
kernel steps, so that it too is evaluated tile by tile.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> y = sg.optimize(sg.exp(x) * 2.0 + 1.0)
    >>> y.owner.op.name, y.owner.op.inner_names
    ('fused', ['exp', 'multiply', 'add'])
    >>> sg.optimize(sg.mean(sg.exp(x) * 2.0)).owner.op.inner_names
    ['exp', 'multiply', 'mean']
"""
from ..graph.basic import apply_op
from ..graph.traversal import toposort
from ..ops.elemwise import Elemwise
from ..ops.fused import STEP_SITES, Fused, FusedReduce, is_fusable_consumer
from .registry import register_pass_name

FUSION = "elemwise_fusion"
register_pass_name(FUSION, "fusion")
REDUCTION_FUSION = "reduction_fusion"
register_pass_name(REDUCTION_FUSION, "fusion")


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


def _rewire(nodes, outputs, replacements, removed):
    """`outputs` recomputed over the scheduled `nodes`: a node in `replacements` gives way to the variable
    `replacements[node](new)` builds (`new` maps a variable to its recomputed self), a node in `removed`
    disappears (a replacement computes it), and any other node is rebuilt when one of its inputs changed
    (keeping the creation sites of a kernel's steps)."""
    memo = {}

    def new(var):
        return memo.get(var, var)

    for node in nodes:
        if node in replacements:
            memo[node.outputs[0]] = replacements[node](new)
        elif node not in removed:
            new_inputs = tuple(new(v) for v in node.inputs)
            if any(a is not b for a, b in zip(new_inputs, node.inputs)):
                rebuilt = apply_op(node.op, new_inputs, node.site)
                if node in STEP_SITES:
                    STEP_SITES.setdefault(rebuilt, STEP_SITES[node])
                memo.update(zip(node.outputs, rebuilt.outputs))
    return [new(var) for var in outputs]


def fuse_elemwise(outputs, counts):
    """`outputs` recomputed with every cluster of element-wise nodes fused; `counts[FUSION]` += kernels made."""
    nodes = toposort(outputs)
    clusters = _clusters(nodes, outputs)
    if not clusters:
        return list(outputs)
    position = {node: index for index, node in enumerate(nodes)}

    def kernel_for(root):
        def build(new):
            op, inputs, sites = _kernel(clusters[root], position)
            kernel = apply_op(op, tuple(new(v) for v in inputs), root.site)
            STEP_SITES.setdefault(kernel, sites)
            return kernel.outputs[0]

        return build

    fused_member = {member for members in clusters.values() for member in members}
    rewired = _rewire(nodes, outputs, {root: kernel_for(root) for root in clusters}, fused_member)
    counts[FUSION] = counts.get(FUSION, 0) + len(clusters)
    return rewired


MULTI_PASS_CONSUMERS = ("logsumexp", "softmax", "log_softmax")
"""Consumers whose NumPy form passes over their operand several times: worth evaluating tile by tile even
with no kernel in front of them (a `FusedReduce` with no steps)."""


def _fusion_source(node, uses):
    """What `node` fuses with: the kernel node (Fused or Elemwise) whose floating-point value it consumes
    (see `is_fusable_consumer`) when nothing else uses that value; for a multi-pass consumer of any other
    floating-point value, the node itself (an empty kernel over its operand); else None."""
    if not is_fusable_consumer(node.op):
        return None
    (value,) = node.inputs
    if value.dtype.kind != "f":
        return None
    kernel = value.owner
    if kernel is not None and type(kernel.op) in (Fused, Elemwise) and uses.get(kernel) == 1:
        return kernel
    return node if node.op.name in MULTI_PASS_CONSUMERS else None


def _kernel_steps(kernel):
    """(nin, steps, creation site of each step) of a Fused or Elemwise node; for any other node, the empty
    kernel over its operand."""
    if type(kernel.op) is Fused:
        return kernel.op.nin, kernel.op.steps, STEP_SITES.get(kernel)
    if type(kernel.op) is not Elemwise:
        return 1, (), ()
    nin = len(kernel.inputs)
    return nin, ((kernel.op.scalar, tuple(range(nin))),), (kernel.site,)


def fuse_reductions(outputs, counts):
    """`outputs` recomputed with every reduction or softmax of a private kernel fused into a `FusedReduce`;
    `counts[REDUCTION_FUSION]` += fused reductions made."""
    nodes = toposort(outputs)
    uses = _use_counts(nodes, outputs)
    kernel_of = {}
    for node in nodes:
        kernel = _fusion_source(node, uses)
        if kernel is not None:
            kernel_of[node] = kernel
    if not kernel_of:
        return list(outputs)
    def reduction_for(node):
        def build(new):
            kernel = kernel_of[node]
            nin, steps, sites = _kernel_steps(kernel)
            op = FusedReduce(nin, steps, node.op)
            fused = apply_op(op, tuple(new(v) for v in kernel.inputs), node.site)
            if sites is not None:
                STEP_SITES.setdefault(fused, sites)
            return fused.outputs[0]

        return build

    fused_kernels = {kernel for node, kernel in kernel_of.items() if kernel is not node}
    rewired = _rewire(nodes, outputs, {node: reduction_for(node) for node in kernel_of}, fused_kernels)
    counts[REDUCTION_FUSION] = counts.get(REDUCTION_FUSION, 0) + len(kernel_of)
    return rewired
