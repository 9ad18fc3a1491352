"""NumPy lowering of `Fused` kernels (and of `FusedReduce`, a kernel reduced over all its axes): inline
NumPy calls for small arrays, cache-blocked threads for large.

A fused node becomes a few lines of the compiled function itself:

    if i0.size < 192308 or (v0 := blocked_kernel_3(i0, c_1)) is None:
        v0_t0 = np_exp(i0)
        v0 = np_multiply(v0_t0, c_1)

Small arrays take the direct chain (one NumPy call per step, no extra Python frame); large ones run in
`BlockedKernel` (see blocked.py; "large" is a size from which the kernel's estimated work pays for
blocks, here 192308 elements for exp and multiply at about 1.3 ns per element), which returns None when the operands' layout does not suit it, and the
direct chain runs instead. Each step's line knows the operation it computes, so an error names the
failing operation, its operand types and the user line that created it.

A fused reduction's direct path ends with the NumPy reduction of the kernel's result; its blocked path
(`BlockedReduction`) reduces each block as it is computed, so no full-size array is ever made:

    if i0.size < 192308 or (v0 := blocked_reduction_3(i0, i1)) is None:
        v0_t0 = np_exp(i0)
        v0_t0 = np_multiply(v0_t0, i1)
        v0 = np.sum(v0_t0)
        del v0_t0

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], sg.exp(x) * 2.0)
    >>> "np_exp(i0)" in f.source and "blocked_kernel" in f.source
    True
    >>> g = sg.function([x], sg.sum(sg.exp(x) * 2.0))
    >>> "np.sum(v0_t" in g.source and "blocked_reduction" in g.source
    True
"""
import numpy as np

from ..ops.fused import STEP_SITES, Fused, FusedReduce
from .blocked import BlockedKernel, BlockedReduction, blocked_min_elements
from .numpy_backend import elementwise_callee, register_statement_lowering

class StepDescription:
    """Describes step `step` of a fused node for error messages: operation, operand types, user line."""

    __slots__ = ("node", "step")

    def __init__(self, node, step):
        self.node = node
        self.step = step

    def __str__(self):
        op = self.node.op
        row, refs = op.steps[self.step]
        value_types = op.value_types(*[v.type for v in self.node.inputs])
        operands = ", ".join(str(value_types[r]) for r in refs)
        sites = STEP_SITES.get(self.node)
        site = sites[self.step] if sites is not None else None
        where = f", created at {site}" if site is not None else ""
        return f"{row.name}({operands}){where}, step {self.step + 1} of {op}"


def _temporary_names(op, out):
    """A name per step; a name is reused once its value is dead, which frees the array it held. The last
    step's name is its own, not `out`: callers name the node's result."""
    last_use = {}
    for step, (_, refs) in enumerate(op.steps):
        for r in refs:
            last_use[r] = step
    free = []
    names = []
    for step, (_, refs) in enumerate(op.steps):
        for r in set(refs):
            if r >= op.nin and last_use[r] == step:
                free.append(names[r - op.nin])
        names.append(free.pop() if free else f"{out}_t{len(names)}")
    return names


def _probe_input(node):
    """Index of the operand whose size decides between the direct and the blocked path (largest rank)."""
    ranks = [v.ndim for v in node.inputs]
    return max(range(len(ranks)), key=lambda i: (ranks[i], -i))


def _may_be_large(shape, op):
    """Can a kernel result of static `shape` reach the size from which `op` takes the blocked path?"""
    if not shape:
        return False
    if None in shape:
        return True
    return int(np.prod(shape)) >= blocked_min_elements(op)


def _kernel_lines(node, values, namespace):
    """One (line, description) per kernel step, assigning `values[nin + step]`."""
    op = node.op
    lines = []
    for step, (row, refs) in enumerate(op.steps):
        callee = elementwise_callee(row, namespace)
        operands = ", ".join(values[r] for r in refs)
        lines.append((f"{values[op.nin + step]} = {callee}({operands})", StepDescription(node, step)))
    return lines


def _with_blocked_path(node, input_names, out, runner, lines):
    """`lines` (the direct path) behind a test that first tries `runner` (bound as a name) on large operands."""
    probe = input_names[_probe_input(node)]
    head = (f"if {probe}.size < {blocked_min_elements(node.op)} or "
            f"({out} := {runner}({', '.join(input_names)})) is None:")
    return [head] + [("    " + text, description) for text, description in lines]


@register_statement_lowering(Fused)
def lower_fused(node, input_names, output_names, namespace):
    op = node.op
    (out,) = output_names
    names = _temporary_names(op, out)
    names[-1] = out
    lines = _kernel_lines(node, list(input_names) + names, namespace)
    if not _may_be_large(node.outputs[0].type.shape, op):
        return lines
    kernel = BlockedKernel(op, [v.dtype for v in node.inputs])
    return _with_blocked_path(node, input_names, out, namespace.bind(kernel.try_run, "blocked_kernel"), lines)


@register_statement_lowering(FusedReduce)
def lower_fused_reduce(node, input_names, output_names, namespace):
    op = node.op
    (out,) = output_names
    names = _temporary_names(op, out)
    lines = _kernel_lines(node, list(input_names) + names, namespace)
    keep = ", keepdims=True" if op.keepdims else ""
    lines.append((f"{out} = np.{op.kind}({names[-1]}{keep})", None))
    # the kernel's full-size arrays are dead once reduced: free them now, not when the function returns
    lines.append((f"del {', '.join(sorted(set(names)))}", None))
    kernel_shape = op.value_types(*[v.type for v in node.inputs])[-1].shape
    if not _may_be_large(kernel_shape, op):
        return lines
    reduction = BlockedReduction(op, [v.dtype for v in node.inputs])
    return _with_blocked_path(node, input_names, out, namespace.bind(reduction.try_run, "blocked_reduction"), lines)
