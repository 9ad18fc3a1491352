"""NumPy lowering of `Fused` kernels (and of `FusedReduce`, a kernel reduced over all its axes): inline
NumPy calls for small arrays, cache-blocked threads for large.

A fused node becomes a few lines of the compiled function itself:

    if len(x) < 192308 or (v0 := blocked_kernel_3(x, c_1)) is None:
        v0_t0 = np_exp(x)
        v0 = np_multiply(v0_t0, c_1, out=v0_t0)
        del v0_t0

Small arrays take the direct chain (one NumPy call per step, no extra Python frame); large ones run in
`BlockedKernel` (see blocked.py), which returns None when the operands' layout does not suit it, and the
direct chain runs instead. "Large" starts where the kernel's estimated work pays for blocks: 192308
elements for exp and multiply, at about 1.3 ns per element. In the direct chain a step writes into a
temporary of the kernel that dies there (`out=`), when its operands cannot make the result larger; a
check on the operands' shapes is added where static shapes do not tell (only for arrays of 128 KiB or
more, by the size the blocked-path test read: smaller ones gain nothing). The size is `len(x)` for a
vector, which takes half the time of `x.size`. Each step's line knows the
operation it computes, so an error names the failing operation, its operand types and the user line
that created it.

A fused reduction's direct path ends with the NumPy reduction of the kernel's result; its blocked path
(`BlockedReduction`) reduces each block as it is computed, so no full-size array is ever made:

    if (v0_n := x.size) < 192308 or (v0 := blocked_reduction_3(x, y)) is None:
        v0_k_t0 = np_exp(x)
        v0_k = np_multiply(v0_k_t0, y, out=v0_k_t0) if v0_n >= 16384 and y.shape == v0_k_t0.shape else ...
        v0 = np.sum(v0_k)
        del v0_k, v0_k_t0

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], sg.exp(x) * 2.0)
    >>> "np_exp(x)" in f.source and "blocked_kernel" in f.source
    True
    >>> g = sg.function([x], sg.sum(sg.exp(x) * 2.0))
    >>> "np.sum(v0_k)" in g.source and "blocked_reduction" in g.source
    True
"""
import math

import numpy as np

from ...graph.type import broadcasts_into
from ...ops.elemwise import Elemwise
from ...ops.fused import STEP_SITES, Fused, FusedReduce
from .blocked import BlockedKernel, blocked_min_elements
from .blocked_reduce import NORMALIZERS, BlockedReduction
from . import BACKEND
from .elementwise import elementwise_callee

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


class _Step:
    """How the direct path computes one step: the name of its result and, when it writes into a
    temporary of the kernel that dies here, that temporary's name and the run-time shape checks
    (operands whose broadcasting could enlarge the result beyond the temporary)."""

    __slots__ = ("name", "into", "checks")

    def __init__(self, name, into=None, checks=()):
        self.name = name
        self.into = into
        self.checks = checks


IN_PLACE_MIN_BYTES = 1 << 17
"""Arrays from this size on are written into when that needs a run-time shape check. glibc hands arrays
of 128 KiB and more back to the system when freed (so a fresh one faults its pages in again); smaller
ones are recycled at no cost, and the check (~0.2 us) would only slow small calls down."""


def _shape_checks(operands, target, value_types, values, large):
    """Run-time conditions under which writing into the value `target` pays and is right: `large(name of
    target)` (a condition that the arrays are big enough; `large` is None when no check may be added) and,
    for each operand
    whose static shape does not prove that broadcasting it gives `target`'s shape, a shape comparison.
    None when that can never hold or needs a check that may not be added; [] when nothing needs checking."""
    target_shape = value_types[target].shape
    checks = []
    for r in dict.fromkeys(operands):
        shape = value_types[r].shape
        if r == target or broadcasts_into(shape, target_shape):
            continue
        if len(shape) > len(target_shape) or large is None:
            return None
        trailing = f"[{len(target_shape) - len(shape)}:]" if len(shape) < len(target_shape) else ""
        checks.append(f"{values[r]}.shape == {values[target]}.shape{trailing}")
    return [large(values[target])] + checks if checks else checks


def _can_hold(temporary_type, result_type):
    """Can a temporary of `temporary_type` be the `out=` of a result of `result_type`? Same dtype and rank,
    and not 0-d (ufuncs give NumPy scalars, not arrays, for 0-d operands)."""
    return (temporary_type.dtype == result_type.dtype and temporary_type.ndim == result_type.ndim
            and result_type.ndim > 0)


def _step_plan(op, value_types, values, out, reusable=(), large=None):
    """A `_Step` per kernel step for the direct path. A value that dies at a step is reused: a ufunc step of
    the same result type writes into it with `out=` (no new array, and no page faults for a large one:
    NumPy's allocator returns big arrays to the system when they are freed), else a temporary's name is
    rebound, which frees it. Values that may be written into are the temporaries a ufunc made (another
    row's function may return a view of its input) and the operands at positions `reusable` (see
    memory.py). `large`: the condition under which a write that needs a shape check is worth it (None:
    no such writes). The last step's result is named `out`."""
    last_use = {}
    for step, (_, refs) in enumerate(op.steps):
        for r in refs:
            last_use[r] = step
    writable = [r in reusable for r in range(op.nin)] + [isinstance(row.impl, np.ufunc) for row, _ in op.steps]
    free = []
    plan = []
    for step, (row, refs) in enumerate(op.steps):
        slot = op.nin + step
        dying = [r for r in dict.fromkeys(refs) if last_use[r] == step and (r >= op.nin or writable[r])]
        into = checks = None
        for r in dying:
            if into is None and writable[r] and isinstance(row.impl, np.ufunc) and _can_hold(value_types[r], value_types[slot]):
                checks = _shape_checks(refs, r, value_types, values, large)
                if checks is not None:
                    into = r
                    continue
            if r >= op.nin:
                free.append(values[r])
        if into is not None:
            last = step == len(op.steps) - 1
            name = out if last else (f"{out}_t{step}" if into < op.nin else values[into])
            plan.append(_Step(name, values[into], checks))
        else:
            name = out if step == len(op.steps) - 1 else (free.pop() if free else f"{out}_t{step}")
            plan.append(_Step(name))
        values[slot] = name
    return plan


def _probe_input(node):
    """Index of the operand whose size decides between the direct and the blocked path (largest rank)."""
    ranks = [v.ndim for v in node.inputs]
    return max(range(len(ranks)), key=lambda i: (ranks[i], -i))


def _element_count(var, name):
    """Python for the number of elements of `name`, the value of `var`. len() of a vector takes half the
    time of `.size`, whose 25 ns are a tenth of a tiny call's overhead."""
    return f"len({name})" if var.ndim == 1 else f"{name}.size"


def _may_be_large(shape, op):
    """Can a kernel result of static `shape` reach the size from which `op` takes the blocked path?"""
    if not shape:
        return False
    if None in shape:
        return True
    return int(np.prod(shape)) >= blocked_min_elements(op)


def _kernel_lines(node, op, input_names, out, namespace, reusable=(), large=None):
    """(lines, temporary names, whether a line tests `large`) of the direct path of `node`, computing the
    kernel `op`: one (line, description) per kernel step, the last assigning `out`; the caller deletes the
    temporaries (freed now, not when the function returns). The lines of a lone element-wise node keep
    the node's own description."""
    value_types = op.value_types(*[v.type for v in node.inputs])
    values = list(input_names) + [None] * len(op.steps)
    plan = _step_plan(op, value_types, values, out, reusable, large)
    lines = []
    for step, ((row, refs), planned) in enumerate(zip(op.steps, plan)):
        callee = elementwise_callee(row, namespace)
        operands = ", ".join(values[r] for r in refs)
        call = f"{callee}({operands})"
        if planned.into is not None:
            in_place = f"{callee}({operands}, out={planned.into})"
            call = f"{in_place} if {' and '.join(planned.checks)} else {call}" if planned.checks else in_place
        description = StepDescription(node, step) if node.op is op else None
        lines.append((f"{planned.name} = {call}", description))
    temporaries = sorted({planned.name for planned in plan} - {out} - set(input_names))
    return lines, temporaries, any(planned.checks for planned in plan)


def _size_name(out):
    """The name the blocked-path test gives the probed operand's size, for the direct path's checks."""
    return f"{out}_n"


def _large(node, op, out):
    """The direct path's condition that the arrays of `node`'s kernel `op` reach IN_PLACE_MIN_BYTES, as a
    function of the name of the array written into: from the size the blocked-path test keeps when the
    kernel has that test, else from that array's `nbytes`; None when static sizes say they never do."""
    kernel_type = op.value_types(*[v.type for v in node.inputs])[op.nin + len(op.steps) - 1]
    itemsize = kernel_type.dtype.itemsize
    if _may_be_large(kernel_type.shape, op):
        condition = f"{_size_name(out)} >= {max(1, IN_PLACE_MIN_BYTES // itemsize)}"
        return lambda target: condition
    if None not in kernel_type.shape and math.prod(kernel_type.shape) * itemsize < IN_PLACE_MIN_BYTES:
        return None
    return lambda target: f"{target}.nbytes >= {IN_PLACE_MIN_BYTES}"


def _size_estimate(node, input_names):
    """Python for the number of elements of a kernel's result, as the blocked-path test reads it: the size of
    its operand of largest rank, times the size of another operand along each axis where that one is
    statically 1 and the other is not (an outer product's result outgrows every operand)."""
    probed = _probe_input(node)
    shape = node.inputs[probed].type.shape
    factors = [_element_count(node.inputs[probed], input_names[probed])]
    for axis, size in enumerate(shape):
        if size != 1:
            continue
        for var, name in zip(node.inputs, input_names):
            own_axis = axis - (len(shape) - var.ndim)
            if own_axis >= 0 and var.type.shape[own_axis] != 1:
                own_size = var.type.shape[own_axis]
                factors.append(str(own_size) if own_size is not None else f"{name}.shape[{own_axis}]")
                break
    return " * ".join(factors)


def _with_blocked_path(node, op, input_names, out, runner, lines, into=None, keep_size=False):
    """`lines` (the direct path) behind a test that first tries `runner` (bound as a name) when the result of
    `node`'s kernel `op` is large, writing into the operand named `into` if given (it checks that the
    operand fits); with `keep_size` the test keeps the estimated size in `_size_name(out)` for the direct
    path."""
    probe = _size_estimate(node, input_names)
    if keep_size:
        probe = f"({_size_name(out)} := {probe})"
    arguments = ", ".join(input_names) + (f", out={into}" if into is not None else "")
    head = (f"if {probe} < {blocked_min_elements(op)} or "
            f"({out} := {runner}({arguments})) is None:")
    return [head] + [("    " + text, description) for text, description in lines]


@BACKEND.in_place(Fused)
@BACKEND.statements(Fused)
def lower_fused(node, input_names, output_names, namespace, reusable=()):
    return _lower_kernel(node, node.op, input_names, output_names, namespace, reusable)


@BACKEND.in_place(Elemwise)
@BACKEND.statements(Elemwise)
def lower_elementwise(node, input_names, output_names, namespace, reusable=()):
    """A lone element-wise node, as a kernel of one step: a result that may be large is computed by blocks,
    on every core, when it is (an outer product `x[:, :, None] * y[:, None, :]` included); the direct
    path writes into a dying operand at a position in `reusable` when it can hold the result.

    Example:
        >>> import symgraph as sg
        >>> x, w, b = sg.matrix("x"), sg.matrix("w"), sg.vector("b")
        >>> f = sg.function([x, w, b], (x @ w) + b, mode=sg.Mode(exclude=["fusion"]))
        >>> "np_add(v0, b, out=v0) if v1_n >= 16384 and b.shape == v0.shape[1:] else np_add(v0, b)" in f.source
        True
        >>> "(v1 := blocked_kernel" in f.source
        True
        >>> u, v = sg.matrix("u"), sg.matrix("v")
        >>> "if v0.size * v1.shape[2] < 2500000 or" in sg.function([u, v], u[:, :, None] * v[:, None, :]).source
        True
    """
    kernel = Fused(node.op.scalar.nin, [(node.op.scalar, tuple(range(node.op.scalar.nin)))])
    return _lower_kernel(node, kernel, input_names, output_names, namespace, reusable)


def _lower_kernel(node, op, input_names, output_names, namespace, reusable):
    """The lines of `node` computing the Fused kernel `op`: the direct path, behind the blocked path's test
    when the result may be large."""
    (out,) = output_names
    lines, temporaries, checks_size = _kernel_lines(node, op, input_names, out, namespace, reusable,
                                                    _large(node, op, out))
    if temporaries:
        lines.append((f"del {', '.join(temporaries)}", None))
    if not _may_be_large(node.outputs[0].type.shape, op):
        return lines
    kernel = BlockedKernel(op, [v.dtype for v in node.inputs])
    into = next((input_names[p] for p in reusable if _can_hold(node.inputs[p].type, node.outputs[0].type)), None)
    runner = namespace.bind(kernel.try_run, "blocked_kernel")
    return _with_blocked_path(node, op, input_names, out, runner, lines, into, checks_size)


_NUMPY_CONSUMERS = ("sum", "mean", "max", "min")


def _consumer_call(node, kernel_result, namespace):
    """The direct path's call of a fused reduction's consumer on the kernel's result: `np.sum(v0_k,
    axis=(1,))` for NumPy's reductions, the bound reference implementation for logsumexp and softmaxes."""
    consumer = node.op.consumer
    if consumer.name not in _NUMPY_CONSUMERS:
        return f"{namespace.bind(consumer.perform, consumer.name)}({kernel_result})"
    arguments = [kernel_result]
    if len(consumer.axis) < node.op.value_types(*[v.type for v in node.inputs])[-1].ndim:
        arguments.append(f"axis={consumer.axis}")
    if consumer.keepdims:
        arguments.append("keepdims=True")
    return f"np.{consumer.name}({', '.join(arguments)})"


@BACKEND.in_place(FusedReduce)
@BACKEND.statements(FusedReduce)
def lower_fused_reduce(node, input_names, output_names, namespace, reusable=()):
    op = node.op
    (out,) = output_names
    if op.steps:
        kernel_result = f"{out}_k"
        lines, temporaries, checks_size = _kernel_lines(node, op, input_names, kernel_result, namespace, reusable,
                                                        _large(node, op, out))
        lines.append((f"{out} = {_consumer_call(node, kernel_result, namespace)}", None))
        lines.append((f"del {', '.join(sorted(temporaries + [kernel_result]))}", None))
    else:  # the kernel is the input itself
        lines, checks_size = [(f"{out} = {_consumer_call(node, input_names[0], namespace)}", None)], False
    kernel_type = op.value_types(*[v.type for v in node.inputs])[-1]
    if not _may_be_large(kernel_type.shape, op):
        return lines
    reduction = BlockedReduction(op, [v.dtype for v in node.inputs], kernel_type.ndim)
    into = None
    if op.kind in NORMALIZERS:
        into = next((input_names[p] for p in reusable if _can_hold(node.inputs[p].type, node.outputs[0].type)), None)
    runner = namespace.bind(reduction.try_run, "blocked_reduction")
    return _with_blocked_path(node, op, input_names, out, runner, lines, into, keep_size=checks_size)
