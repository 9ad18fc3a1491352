"""Numba lowering of `Fused` and `FusedReduce` nodes: the NumPy backend's lines behind a test that first
runs the kernel's Numba loop on large enough operands.

    if len(x) < 1668 or (v0 := numba_kernel_3(x, c_1)) is None:
        <the NumPy backend's lines for the node>

The Numba kernel returns None when its loop is not compiled yet (tiered) or the call does not suit it
(operands that do not broadcast: NumPy then raises its error, naming the step and the user's line).
With `parallel`, a kernel has a serial and a parallel variant, chosen by the operands' size:

    if (v0_n := len(x)) < 1668 or (v0 := (numba_kernel_3 if v0_n < 8334 else numba_parallel_kernel_4)(x, c_1)) is None:

Kernels with a step off the allow-list (scalar.py), kernels whose libm calls would make the Numba loop
slower than NumPy's SIMD loops (`pays`), and reductions other than sum, mean, max and min of a
float64 kernel over all, trailing (kernels.py) or leading axes (leading.py, serial), keep the NumPy
lowering alone; a softmax, log_softmax or logsumexp over trailing axes goes to rows.py.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], (x + 1.0) * x, backend=sg.backend("numba", parallel=False))
    >>> "numba_kernel" in f.source and "np_add(x, c" in f.source
    True
"""
import math

import numba

from ...ops.fused import Fused, FusedReduce
from ..numpy_backend import fused as numpy_fused
from ..numpy_backend.blocked import elements_for, kernel_nanoseconds
from . import BACKEND, rows
from .kernels import kernel_for
from .leading import LeadingKernel
from .scalar import step_nanoseconds

MIN_NANOSECONDS = 20_000
"""A kernel runs on Numba from this much estimated NumPy work (blocked.py's per-element estimates): a
Numba call costs a few microseconds to dispatch."""

PARALLEL_MIN_NANOSECONDS = 100_000
"""A kernel's loop runs on all cores (its `prange` variant) from this much estimated NumPy work, and
serially below it: waking the sleeping threads (see __init__.py) costs 20-50 us, which a cheap 6-step
kernel repays from about 32K-64K elements (60-120 us of NumPy work; 64K elements took 34 us in parallel,
63 us serially)."""

REDUCTIONS = ("sum", "mean", "max", "min")


def pays(op):
    """Does a Numba loop beat the NumPy backend on `op`'s kernel? It saves the temporaries and passes over
    memory of each step, but computes arctan, sinh and the like with scalar libm calls about ten times
    slower than NumPy's SIMD loops (exp, log, tanh, sin and cos are vectorized, vector_math.py): a kernel
    goes to Numba when its estimated time per element (scalar.py) is no more than NumPy's (blocked.py).

    Example:
        >>> from symgraph.ops.elemwise import scalar_op
        >>> from symgraph.ops.fused import Fused
        >>> pays(Fused(2, [(scalar_op("multiply"), (0, 1)), (scalar_op("add"), (2, 0))]))
        True
        >>> pays(Fused(1, [(scalar_op("arctan"), (0,)), (scalar_op("add"), (1, 0))]))
        False
    """
    return sum(step_nanoseconds(row) for row, _ in op.steps) <= kernel_nanoseconds(op)


def _kernels(node, namespace, serial_only=False):
    """The node's NumbaKernels, one per variant its calls may take: {False: serial, True: parallel} (the
    caller compiles their loops); {} when the node keeps the NumPy lowering alone. A kernel whose static
    size decides has one variant; with one Numba thread, `parallel=False` or `serial_only`, only the
    serial one."""
    options = namespace.backend.options
    op = node.op
    if not pays(op):
        return {}
    size = _static_size(node.inputs[numpy_fused._probe_input(node)])
    threshold = elements_for(PARALLEL_MIN_NANOSECONDS, op)
    parallel = options["parallel"] and numba.config.NUMBA_NUM_THREADS > 1 and not serial_only
    variants = [False, True] if parallel else [False]
    if size is not None:
        variants = [parallel for parallel in variants if (size >= threshold) == parallel] or variants[:1]
    kernels = {}
    for parallel in variants:
        kernel = kernel_for(op.kernel if isinstance(op, FusedReduce) else op, [v.dtype for v in node.inputs],
                            parallel, options["fastmath"])
        if kernel is None:
            return {}
        kernels[parallel] = kernel.tiering(options["tiered"])
    return kernels


def _static_size(var):
    """The number of elements of `var` when its static shape tells, else None."""
    return None if None in var.type.shape else math.prod(var.type.shape)


def _min_elements(node, namespace):
    found = namespace.backend.options["min_elements"]
    return elements_for(MIN_NANOSECONDS, node.op) if found is None else found


def _spans(var):
    """Is the operand `var` (statically) more than one element, so a kernel reads it at every index?"""
    return any(size != 1 for size in var.type.shape)


_RUNNERS = {"try_run": "kernel", "try_reduce": "reduction", "try_leading": "reduction"}


def _runner(node, kernels, method, out, probe, namespace):
    """(Python for the bound `method` of the kernel variant to run, the size probe): `numba_kernel_3`, or
    with both variants `(numba_kernel_3 if v0_n < 55556 else numba_parallel_kernel_4)`, the probe then
    keeping the size in `v0_n`."""
    what = _RUNNERS[method]
    names = {parallel: namespace.bind(getattr(kernel, method),
                                      f"numba_parallel_{what}" if parallel else f"numba_{what}")
             for parallel, kernel in kernels.items()}
    if len(names) == 1:
        (name,) = names.values()
        return name, probe
    size = f"{out}_n"
    threshold = elements_for(PARALLEL_MIN_NANOSECONDS, node.op)
    return f"({names[False]} if {size} < {threshold} else {names[True]})", f"({size} := {probe})"


def _with_numba_path(node, input_names, out, kernels, method, arguments, numpy_lines, namespace):
    probed = numpy_fused._probe_input(node)
    probe = numpy_fused._element_count(node.inputs[probed], input_names[probed])
    runner, probe = _runner(node, kernels, method, out, probe, namespace)
    return _behind(f"if {probe} < {_min_elements(node, namespace)} or ({out} := {runner}({arguments})) is None:",
                   numpy_lines)


def _behind(head, numpy_lines):
    """The NumPy backend's lines indented under the `head` test that first tries a Numba loop."""
    lines = [head]
    for line in numpy_lines:
        text, description = line if isinstance(line, tuple) else (line, None)
        lines.append((f"    {text}", description))
    return lines


@BACKEND.in_place(Fused)
@BACKEND.statements(Fused)
def lower_fused(node, input_names, output_names, namespace, reusable=()):
    numpy_lines = numpy_fused.lower_fused(node, input_names, output_names, namespace, reusable)
    kernels = _kernels(node, namespace) if node.outputs[0].ndim > 0 else {}
    if not kernels:
        return numpy_lines
    for kernel in kernels.values():
        kernel.compile_contiguous(tuple(_spans(v) for v in node.inputs))
    return _with_numba_path(node, input_names, output_names[0], kernels, "try_run", ", ".join(input_names),
                            numpy_lines, namespace)


def _trailing_axes(node):
    """The number of trailing axes the node's consumer reduces or normalizes over, or None when they are
    not the trailing ones or the kernel's result is not float64 (Numba does not lower it)."""
    op = node.op
    kernel_type = op.value_types(*[v.type for v in node.inputs])[-1]
    ndim = kernel_type.ndim
    if kernel_type.dtype != "float64" or tuple(op.axis) != tuple(range(ndim - len(op.axis), ndim)):
        return None
    return len(op.axis)


def _reduction(node):
    """("trailing" or "leading", the number of axes) of the node's reduction, or None when Numba does not
    lower it (reductions over middle axes, and kernels of no steps: the input, which NumPy's own
    reduction reads as fast)."""
    op = node.op
    if op.kind not in REDUCTIONS or not op.steps:
        return None
    trailing = _trailing_axes(node)
    if trailing is not None:
        return "trailing", trailing
    kernel_type = op.value_types(*[v.type for v in node.inputs])[-1]
    if kernel_type.dtype == "float64" and tuple(op.axis) == tuple(range(len(op.axis))):
        return "leading", len(op.axis)
    return None


@BACKEND.in_place(FusedReduce)
@BACKEND.statements(FusedReduce)
def lower_fused_reduce(node, input_names, output_names, namespace, reusable=()):
    numpy_lines = numpy_fused.lower_fused_reduce(node, input_names, output_names, namespace, reusable)
    if node.op.kind in rows.KINDS:
        reduced = _trailing_axes(node)
        head = None if reduced is None else rows.row_path(node, input_names, output_names[0], reduced,
                                                          tuple(_spans(v) for v in node.inputs), namespace)
        return numpy_lines if head is None else _behind(head, numpy_lines)
    side, reduced = _reduction(node) or (None, None)
    kernels = _kernels(node, namespace, serial_only=side == "leading") if side is not None else {}
    if not kernels:
        return numpy_lines
    kind = node.op.kind
    full = tuple(_spans(v) for v in node.inputs)
    if side == "leading":
        kernels = {parallel: LeadingKernel.of(kernel) for parallel, kernel in kernels.items()}
    for kernel in kernels.values():
        (kernel.compile_leading if side == "leading" else kernel.compile_reduction)(kind, full)
    arguments = f"{kind!r}, {reduced}, {node.op.consumer.keepdims}, {', '.join(input_names)}"
    method = "try_leading" if side == "leading" else "try_reduce"
    return _with_numba_path(node, input_names, output_names[0], kernels, method, arguments, numpy_lines, namespace)
