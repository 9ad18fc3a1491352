"""Measure the constants of the blocked kernel path: where blocks and threads pay, and the block size.

`python -m benchmarks.tune_blocked` times two representative fused kernels (the `ew_compute` chain of
transcendental functions and the `ew_memory` chain of cheap arithmetic) at output sizes from 4K to 4M
elements: by the direct chain (one NumPy call per step, a fresh array each), by `BlockedKernel` on the
calling thread, and by `BlockedKernel` split across threads, with the kernel's estimated work
(`kernel_nanoseconds` times the size). The estimated work from which blocks beat the direct chain, and
threads beat one thread, for both kernels gives `BLOCKED_MIN_NANOSECONDS` and `THREADED_MIN_NANOSECONDS`
in `symgraph.codegen.numpy_backend.blocked`. It then times the blocked path on 4M elements for block sizes from 4K to
256K elements (`BLOCK_ELEMENTS`).

Example (one small size, a second or so):
    >>> rows = crossover_rows(sizes=[4096], repeat=1)
    >>> [row[0] for row in rows]
    ['ew_compute', 'ew_memory']
"""
import argparse

import numpy as np

import symgraph as sg
from symgraph.codegen.numpy_backend import blocked
from symgraph.codegen.numpy_backend.blocked import BlockedKernel, kernel_nanoseconds
from symgraph.graph.basic import Constant

from .harness import median_seconds

SIZES = [1 << k for k in range(12, 23)]
BLOCK_SIZES = [1 << k for k in range(12, 19)]


def _kernels():
    """(name, Fused op, builder of its inputs for a size) of the two representative kernels."""
    x = sg.vector("x")
    a, b, c, d = (sg.vector(name) for name in "abcd")
    compute = sg.optimize(sg.exp(-x * x / 2) * sg.sin(3 * x) + sg.log1p(x * x) * sg.tanh(x))
    memory = sg.optimize(((a * b + c) * d - a) / (b + 2.0))
    rng = np.random.default_rng(0)
    return [
        ("ew_compute", compute, lambda n: [rng.uniform(-3, 3, n)]),
        ("ew_memory", memory, lambda n: [rng.uniform(0.5, 1.5, n) for _ in range(4)]),
    ]


def _operands(kernel, values):
    """The fused node's operand values: `values` for its variables (in name order), data for constants."""
    variables = sorted((v for v in kernel.owner.inputs if not isinstance(v, Constant)), key=lambda v: v.name)
    by_variable = dict(zip(variables, values))
    return [v.data if isinstance(v, Constant) else by_variable[v] for v in kernel.owner.inputs]


def crossover_rows(sizes=SIZES, repeat=7):
    """Rows (kernel, size, estimated seconds of work, direct seconds, blocked seconds on one thread, blocked
    seconds on all threads) for each kernel and output size."""
    rows = []
    for name, kernel, make_inputs in _kernels():
        op = kernel.owner.op
        one_thread, threads = (BlockedKernel(op, [v.dtype for v in kernel.owner.inputs]) for _ in range(2))
        one_thread.threaded_min_elements, threads.threaded_min_elements = 1 << 62, 0
        for size in sizes:
            operands = _operands(kernel, make_inputs(size))
            estimate = size * kernel_nanoseconds(op) * 1e-9
            rows.append((name, size, estimate, *(median_seconds(lambda: run(*operands), repeat, 0.02)
                                       for run in (op.perform, one_thread.try_run, threads.try_run))))
    return rows


def block_size_rows(block_sizes=BLOCK_SIZES, size=1 << 22, repeat=7):
    """Rows (kernel, block elements, blocked seconds) on `size` output elements."""
    rows = []
    saved = blocked.BLOCK_ELEMENTS
    try:
        for name, kernel, make_inputs in _kernels():
            op = kernel.owner.op
            operands = _operands(kernel, make_inputs(size))
            for block in block_sizes:
                blocked.BLOCK_ELEMENTS = block
                blocked_kernel = BlockedKernel(op, [v.dtype for v in kernel.owner.inputs])
                rows.append((name, block, median_seconds(lambda: blocked_kernel.try_run(*operands), repeat, 0.05)))
    finally:
        blocked.BLOCK_ELEMENTS = saved
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="repeats per measurement (median is reported)")
    args = parser.parse_args(argv)
    print("kernel       elements   direct       blocked, 1 thread   blocked, threads   (ratios to direct)  est. work")
    for name, size, estimate, direct, one, threads in crossover_rows(repeat=args.repeat):
        print(f"{name:12s} {size:9d}  {direct * 1e3:8.3f} ms  {one * 1e3:8.3f} ms {one / direct:5.2f}"
              f"  {threads * 1e3:8.3f} ms {threads / direct:5.2f}  {estimate * 1e3:8.3f} ms")
    print(f"\nkernel       block      blocked on {1 << 22} elements")
    for name, block, seconds in block_size_rows(repeat=args.repeat):
        print(f"{name:12s} {block:7d}  {seconds * 1e3:8.3f} ms")


if __name__ == "__main__":
    main()
