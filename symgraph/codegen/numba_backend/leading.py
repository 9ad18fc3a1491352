"""Numba loops of a fused kernel reduced (sum, mean, max, min) over its leading axes: the kernel's result
seen as (rows, columns) (the leading axes flattened into the rows), its rows are accumulated into the
output vector of columns one after the other, so each operand is read in one sequential pass and the
kernel's result is never stored. The loop is serial: it is bound by memory, and a parallel one (each
thread a run of rows into a vector of its own) was no faster on two cores; a loop inside a `prange`
body also compiled to code three times slower (on (1000, 1000), 0.75 ms against 0.23 ms).

    if a.size < 16667 or (v0 := numba_reduction_3('sum', 1, False, a, b)) is None:
        <the NumPy backend's lines for the node>

Each column adds its rows in order, as NumPy's own reduction over a leading axis of a C-contiguous
array does. Operands must be C-contiguous of the kernel's shape or hold one element, and not empty (NumPy then
gives its result, or its error for the maximum of nothing); other layouts keep the NumPy code.

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> a = sg.matrix("a")
    >>> f = sg.function([a], sg.sum(a * a + 1.0, axis=0), backend=sg.backend("numba", min_elements=1))
    >>> "numba_reduction" in f.source
    True
    >>> f(np.arange(6.0).reshape(3, 2))
    array([23., 38.])
"""
import math

import numpy as np

from ..numpy_backend.blocked import blocked_output_shape
from .kernels import COMBINE, START, NumbaKernel, _header, read_only_flat


class LeadingKernel(NumbaKernel):
    """A NumbaKernel with the loops reducing it over its leading axes ("leading" variant). It shares the
    compiled loops (and those compiling) of the kernel it is made from: `LeadingKernel.of(kernel)`."""

    def _source(self, variant, key):
        if variant != "leading":
            return super()._source(variant, key)
        kind, full = key
        nin = self.op.nin
        inputs = [f"a{i}" for i in range(nin)]
        result = self._result()
        lines = self._imports() + _header("kernel", ["out", "rows"] + inputs, False, self.fastmath)
        lines += [f"    x{i} = a{i}[0]" for i in range(nin) if not full[i]]
        lines += ["    columns = out.shape[0]",
                  "    for j in range(columns):",
                  f"        out[j] = {START[kind]}",
                  "    for row in range(rows):",
                  "        base = row * columns",
                  "        for j in range(columns):",
                  "            acc = out[j]"]
        lines += [f"            x{i} = a{i}[base + j]" for i in range(nin) if full[i]]
        lines += [f"            {line}" for line in self.unguarded_lines()]
        lines.append(f"            out[j] = {COMBINE[kind].format('acc', result)}")
        if kind == "mean":
            lines += ["    for j in range(columns):",
                      "        out[j] = out[j] / rows"]
        return "\n".join(lines) + "\n"

    def _leading_example(self):
        return [np.empty(1), 1] + [read_only_flat(np.zeros(1, d)) for d in self.input_dtypes]

    def compile_leading(self, kind, full):
        """Compile (or, tiered, start compiling) the loop reducing the kernel by `kind` over its leading
        axes, for flat operands (`full` says which of them span the kernel's result)."""
        self.loop("leading", (kind, full), self._leading_example)

    def try_leading(self, kind, reduced, keepdims, *arrays):
        """The reduction `kind` of the kernel's result over its first `reduced` axes (kept as size 1 with
        `keepdims`), or None when the operands are not flat or the loop is not compiled yet."""
        if any(a.dtype != d for a, d in zip(arrays, self.input_dtypes)):
            return None
        shape = blocked_output_shape(arrays)
        if shape is None or len(shape) <= reduced:
            return None
        full = tuple(a.size != 1 for a in arrays)
        loop = self.loop("leading", (kind, full), self._leading_example)
        if loop is None:
            return None
        kept = shape[reduced:]
        out = np.empty(math.prod(kept))
        loop(out, math.prod(shape[:reduced]), *[read_only_flat(a) for a in arrays])
        return out.reshape((1,) * reduced + kept if keepdims else kept)
