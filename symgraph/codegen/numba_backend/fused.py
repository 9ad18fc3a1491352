"""Numba lowering of `Fused` and `FusedReduce` nodes: the NumPy backend's lines behind a test that first
runs the kernel's Numba loop on large enough operands.

    if len(x) < 1668 or (v0 := numba_kernel_3(x, c_1)) is None:
        <the NumPy backend's lines for the node>

The Numba kernel returns None when its loop is not compiled yet (tiered) or the call does not suit it
(operands that do not broadcast: NumPy then raises its error, naming the step and the user's line).
Kernels with a step off the allow-list (scalar.py), kernels whose libm calls would make the Numba loop
slower than NumPy's SIMD loops (`pays`), and reductions other than sum, mean, max and min of a
float64 kernel over all or trailing axes, keep the NumPy lowering alone.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], (x + 1.0) * x, backend=sg.backend("numba", parallel=False))
    >>> "numba_kernel" in f.source and "np_add(x, c" in f.source
    True
"""
from ...ops.fused import Fused, FusedReduce
from ..numpy_backend import fused as numpy_fused
from ..numpy_backend.blocked import elements_for, kernel_nanoseconds
from . import BACKEND
from .kernels import kernel_for
from .scalar import step_nanoseconds

MIN_NANOSECONDS = 20_000
"""A kernel runs on Numba from this much estimated NumPy work (blocked.py's per-element estimates): a
Numba call costs a few microseconds to dispatch, and a parallel one some more to wake the threads."""

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


def _kernel(node, namespace):
    """The node's NumbaKernel (compiling its C-contiguous loop, or starting to), or None."""
    options = namespace.backend.options
    op = node.op
    if not pays(op):
        return None
    kernel = kernel_for(op.kernel if isinstance(op, FusedReduce) else op, [v.dtype for v in node.inputs],
                        options["parallel"], options["fastmath"])
    if kernel is None:
        return None
    return kernel.tiering(options["tiered"])


def _min_elements(node, namespace):
    found = namespace.backend.options["min_elements"]
    return elements_for(MIN_NANOSECONDS, node.op) if found is None else found


def _spans(var):
    """Is the operand `var` (statically) more than one element, so a kernel reads it at every index?"""
    return any(size != 1 for size in var.type.shape)


def _with_numba_path(node, input_names, out, call, numpy_lines, namespace):
    probed = numpy_fused._probe_input(node)
    probe = numpy_fused._element_count(node.inputs[probed], input_names[probed])
    head = f"if {probe} < {_min_elements(node, namespace)} or ({out} := {call}) is None:"
    lines = [head]
    for line in numpy_lines:
        text, description = line if isinstance(line, tuple) else (line, None)
        lines.append((f"    {text}", description))
    return lines


@BACKEND.in_place(Fused)
@BACKEND.statements(Fused)
def lower_fused(node, input_names, output_names, namespace, reusable=()):
    numpy_lines = numpy_fused.lower_fused(node, input_names, output_names, namespace, reusable)
    kernel = _kernel(node, namespace) if node.outputs[0].ndim > 0 else None
    if kernel is None:
        return numpy_lines
    kernel.compile_contiguous(tuple(_spans(v) for v in node.inputs))
    runner = namespace.bind(kernel.try_run, "numba_kernel")
    return _with_numba_path(node, input_names, output_names[0], f"{runner}({', '.join(input_names)})",
                            numpy_lines, namespace)


def _trailing_reduction(node):
    """The number of trailing axes the node's consumer reduces, or None when Numba does not lower it."""
    op = node.op
    kernel_type = op.value_types(*[v.type for v in node.inputs])[-1]
    ndim = kernel_type.ndim
    if op.kind not in REDUCTIONS or kernel_type.dtype != "float64" or not op.steps:
        return None
    if tuple(op.axis) != tuple(range(ndim - len(op.axis), ndim)):
        return None
    return len(op.axis)


@BACKEND.in_place(FusedReduce)
@BACKEND.statements(FusedReduce)
def lower_fused_reduce(node, input_names, output_names, namespace, reusable=()):
    numpy_lines = numpy_fused.lower_fused_reduce(node, input_names, output_names, namespace, reusable)
    reduced = _trailing_reduction(node)
    kernel = _kernel(node, namespace) if reduced is not None else None
    if kernel is None:
        return numpy_lines
    kind = node.op.kind
    kernel.compile_reduction(kind, tuple(_spans(v) for v in node.inputs))
    runner = namespace.bind(kernel.try_reduce, "numba_reduction")
    call = f"{runner}({kind!r}, {reduced}, {node.op.consumer.keepdims}, {', '.join(input_names)})"
    return _with_numba_path(node, input_names, output_names[0], call, numpy_lines, namespace)
