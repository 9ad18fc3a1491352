"""Numba loops of a fused kernel feeding a softmax, log_softmax or logsumexp over its trailing axes: each
row (the trailing axes, flattened) in three passes, the kernel's values kept in the output (a scratch row
for logsumexp): its maximum, the sum of exp(value - shift), then the result.

    if (v4 := numba_rows_9('log_softmax', 1, False, row_cost_10, v3)) is None:
        <the NumPy backend's lines for the node>

The loops compute the reference formulas (ops/nnet.py, ops/reduce.py) step by step, so rows holding NaN,
infinities or only -inf, and empty or one-element rows, give what NumPy gives; sums add in order, not
pairwise, so values may differ from NumPy's in the last bits. They use scalar libm exp and log (through
scalar.py), about three times slower per element than NumPy's SIMD loops, but a NumPy softmax makes five
to nine calls, and its reductions along short rows cost some 45 ns a row: each call runs the loop where
its estimated time is below the NumPy code's (`row_cost`, `pays`: rows of up to about 12 elements at any
count, such as (4096, 10) logits, and any small call), serially (where it pays the work is small, and a
parallel loop lost to NumPy's blocked threads on (4096, 1000)).
Operands must be C-contiguous (or hold one element) and the kernel's result float64; otherwise, or when
the consumer's axes are not the trailing ones, the NumPy lowering runs alone.

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> z = sg.matrix("z")
    >>> f = sg.function([z], sg.softmax(z * 2.0, axis=1), backend=sg.backend("numba"))
    >>> "numba_rows" in f.source
    True
    >>> f(np.zeros((2, 4)))[0]
    array([0.25, 0.25, 0.25, 0.25])
"""
import math

import numpy as np

from ...ops.elemwise import scalar_op
from ..numpy_backend import fused as numpy_fused
from ..numpy_backend.blocked import DEFAULT_STEP_NANOSECONDS, STEP_NANOSECONDS, blocked_output_shape
from .kernels import NumbaKernel, _header, kernel_for, read_only_flat
from .scalar import step_expression, step_nanoseconds

KINDS = ("softmax", "log_softmax", "logsumexp")

NUMPY_NANOSECONDS = {"softmax": (6500, 44, 1.4), "log_softmax": (13000, 63, 1.8), "logsumexp": (7700, 45, 1.1)}
"""(per call, per row, per element) nanoseconds of the NumPy lowering of each consumer of a kernel of no
steps, fitted (least squares, relative) to 13 shapes from (1, 10) to (16384, 10) and (1, 4000): short rows
are slow in NumPy, whose reductions along a short axis cost some 45 ns a row."""
NUMBA_NANOSECONDS = (2800, 10, 4.0)
"""(per call, per row, per element) nanoseconds of the row loops of all three consumers, fitted alike (with
scalar libm exp)."""
NUMPY_STEP_CALL_NANOSECONDS = 1_000
"""Time of each kernel step's NumPy call on a small array, besides its per-element time (blocked.py)."""


_F64 = np.dtype("float64")


def _call(name, *operands):
    """The Numba scalar expression of the float64 row `name` (scalar.py) on `operands`, in libm's form: the
    row loops accumulate as they go, so they do not vectorize, and a scalar libm call is the faster there."""
    return step_expression(scalar_op(name), list(operands), [_F64] * len(operands), _F64, exact=True)


def row_cost(op):
    """(nanoseconds a call saves, and more per row, nanoseconds it loses per element) running the row loop
    of FusedReduce `op` instead of the NumPy code, from the estimates above and each step's per-element
    time in NumPy (blocked.py) and in Numba (scalar.py).

    Example:
        >>> from symgraph.ops.fused import FusedReduce
        >>> from symgraph.ops.nnet import Softmax
        >>> row_cost(FusedReduce(1, (), Softmax((1,))))
        (3700, 34, 2.6)
    """
    numpy_call, numpy_row, numpy_element = NUMPY_NANOSECONDS[op.kind]
    numba_call, numba_row, numba_element = NUMBA_NANOSECONDS
    steps = op.steps
    saved = numpy_call + NUMPY_STEP_CALL_NANOSECONDS * len(steps) - numba_call
    lost = (numba_element + sum(step_nanoseconds(row) for row, _ in steps)
            - numpy_element - sum(STEP_NANOSECONDS.get(row.name, DEFAULT_STEP_NANOSECONDS) for row, _ in steps))
    return saved, numpy_row - numba_row, round(lost, 6)


def pays(cost, rows, inner):
    """Does the row loop beat the NumPy code on `rows` rows of `inner` elements, by `cost` (`row_cost`)?

    Example:
        >>> cost = (3700, 34, 2.6)
        >>> pays(cost, 256, 10), pays(cost, 4096, 1000)
        (True, False)
    """
    saved, per_row, per_element = cost
    return saved + rows * (per_row - inner * per_element) > 0


class RowKernel(NumbaKernel):
    """A NumbaKernel with the row loops of softmax, log_softmax and logsumexp ("rows" variant). It shares
    the compiled loops (and those compiling) of the kernel it is made from: `RowKernel.of(kernel)`."""

    def _source(self, variant, key):
        if variant != "rows":
            return super()._source(variant, key)
        kind, full = key
        nin = self.op.nin
        inputs = [f"a{i}" for i in range(nin)]
        result = self._result()
        values = "out[base + j]" if kind != "logsumexp" else "values[j]"
        finish = self._finish_row(kind, values)
        lines = self._imports(finish) + _header("kernel", ["out", "rows", "inner"] + inputs, False, self.fastmath)
        lines += [f"    x{i} = a{i}[0]" for i in range(nin) if not full[i]]
        if kind == "logsumexp":
            lines.append("    values = np.empty(inner)")
        lines += ["    for row in range(rows):",
                  "        base = row * inner",
                  "        top = -np.inf",
                  "        for j in range(inner):"]
        lines += [f"            x{i} = a{i}[base + j]" for i in range(nin) if full[i]]
        lines += [f"            {line}" for line in self.body.exact_lines]  # scalar loops: libm's forms
        lines += [f"            {values} = {result}",
                  f"            top = {_call('maximum', 'top', result)}"]
        lines += finish
        return "\n".join(lines) + "\n"

    @staticmethod
    def _finish_row(kind, values):
        """The passes after the maximum `top`, as the reference computes them: softmax shifts by the
        maximum itself, log_softmax and logsumexp by it only when it is finite."""
        if kind == "softmax":
            return ["        total = 0.0",
                    "        for j in range(inner):",
                    f"            {values} = {_call('exp', f'{values} - top')}",
                    f"            total += {values}",
                    "        for j in range(inner):",
                    f"            {values} = {values} / total"]
        lines = ["        shift = top if np.isfinite(top) else 0.0",
                 "        total = 0.0",
                 "        for j in range(inner):",
                 f"            total += {_call('exp', f'{values} - shift')}"]
        if kind == "logsumexp":
            return lines + [f"        out[row] = {_call('log', 'total')} + shift"]
        return lines + [f"        log_total = {_call('log', 'total')}",
                        "        for j in range(inner):",
                        f"            {values} = ({values} - shift) - log_total"]

    def _rows_example(self):
        return [np.empty(1), 1, 1] + [read_only_flat(np.zeros(1, d)) for d in self.input_dtypes]

    def compile_rows(self, kind, full):
        """Compile (or, tiered, start compiling) the row loop of `kind` over flat operands, `full` saying
        which of them span the kernel's result (the others hold one element)."""
        self.loop("rows", (kind, full), self._rows_example)

    def try_rows(self, kind, reduced, keepdims, cost, *arrays):
        """The consumer `kind` of the kernel's result on `arrays` over its last `reduced` axes (a logsumexp
        keeps them as size 1 with `keepdims`), or None when the operands are not flat, the loop is not
        compiled yet, or it would be slower than NumPy by `cost` (`row_cost`; None: run it)."""
        if any(a.dtype != d for a, d in zip(arrays, self.input_dtypes)):
            return None
        shape = blocked_output_shape(arrays)
        if shape is None or len(shape) < reduced:
            return None
        kept = shape[:len(shape) - reduced]
        rows, inner = math.prod(kept), math.prod(shape[len(shape) - reduced:])
        if cost is not None and not pays(cost, rows, inner):
            return None
        full = tuple(a.size != 1 for a in arrays)
        loop = self.loop("rows", (kind, full), self._rows_example)
        if loop is None:
            return None
        out = np.empty(shape if kind != "logsumexp" else rows)
        loop(out.reshape(-1), rows, inner, *[read_only_flat(a) for a in arrays])
        if kind != "logsumexp":
            return out
        if keepdims:
            return out.reshape(kept + (1,) * reduced)
        return out.reshape(kept) if kept else out[0]


def row_path(node, input_names, out, reduced, full, namespace):
    """The test line putting the row loop before the NumPy lines of FusedReduce `node` (a softmax,
    log_softmax or logsumexp over its last `reduced` axes; `full` says which operands span the kernel's
    result): the loop runs where `row_cost` says it pays, or with the `min_elements` option from that size
    on. None when a step is not allowed."""
    op = node.op
    options = namespace.backend.options
    kernel = kernel_for(op.kernel, [v.dtype for v in node.inputs], False, options["fastmath"])
    if kernel is None:
        return None
    kernel = RowKernel.of(kernel).tiering(options["tiered"])
    kernel.compile_rows(op.kind, full)
    runner = namespace.bind(kernel.try_rows, "numba_rows")
    keepdims = getattr(op.consumer, "keepdims", False)
    minimum = options["min_elements"]
    cost = "None" if minimum is not None else namespace.bind(row_cost(op), "row_cost")
    call = f"({out} := {runner}({op.kind!r}, {reduced}, {keepdims}, {cost}, {', '.join(input_names)})) is None"
    if minimum is None:
        return f"if {call}:"
    probed = numpy_fused._probe_input(node)
    return f"if {numpy_fused._element_count(node.inputs[probed], input_names[probed])} < {minimum} or {call}:"
