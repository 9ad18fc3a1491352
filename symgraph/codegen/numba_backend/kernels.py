"""Numba loop nests of fused kernels: generated source, the on-disk module cache, and compilation.

A kernel's scalar body (scalar.py) is wrapped in one of three loops, each a function of a generated module:

- `flat`: every operand is C-contiguous of the output's shape (read at `i`) or holds one element (read
  once, before the loop): one loop over the flat arrays, `prange` when parallel;
- `nest`: any broadcast-compatible operands, each seen as a (read-only, strided) view broadcast to the
  output's shape: a loop per axis, the outer one a `prange`;
- `reduce`: a reduction (sum, mean, max, min) of the kernel over all its axes or its trailing ones, with
  flat operands: the rows of an (outer, reduced) view in parallel, each reduced in chunks so that a full
  reduction is parallel too; the kernel's result is never stored.

The module is written to `$SYMGRAPH_CACHE_DIR/numba` (default `~/.cache/symgraph/numba`) under the hash of
its source and imported from there, so Numba's own cache (`cache=True`, next to the file) lets a second
process load the machine code instead of compiling. In one process each source is imported once and each
(variant, operand types) compiled once: kernels are shared by every function that has them.

After `os.fork` the child has no compiler thread: the kernels pending in the parent are submitted again to
a new one (a fork waits for a compilation in flight, so no lock is held in the child). A child forked
after Numba's OpenMP threads started cannot run parallel loops (Numba would terminate it): its parallel
kernels return None, so the NumPy code serves.

Example:
    >>> import numpy as np
    >>> from symgraph.ops.elemwise import scalar_op
    >>> from symgraph.ops.fused import Fused
    >>> op = Fused(2, ((scalar_op("exp"), (0,)), (scalar_op("multiply"), (2, 1))))
    >>> kernel = kernel_for(op, (np.dtype("float64"),) * 2, parallel=False, fastmath=False)
    >>> x = np.linspace(0, 1, 5)
    >>> bool(np.allclose(kernel.try_run(x, np.array(2.0)), np.exp(x) * 2.0))
    True
"""
import hashlib
import importlib.util
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numba.core.compiler_lock
import numpy as np

from ..numpy_backend.blocked import blocked_output_shape
from .scalar import _ARITHMETIC, step_expression

COMBINE = {"sum": "acc + {0}", "mean": "acc + {0}", "max": _ARITHMETIC["maximum"].format("acc", "{0}"),
           "min": _ARITHMETIC["minimum"].format("acc", "{0}")}
"""kind -> the scalar combining the accumulator `acc` with a value (NaN propagating as in NumPy)."""
START = {"sum": "0.0", "mean": "0.0", "max": "-np.inf", "min": "np.inf"}
"""kind -> the accumulator's start."""

REDUCE_CHUNK = 16384
"""Elements one thread reduces sequentially before its partial result is combined with the others'."""


def cache_directory():
    """Where generated kernel modules (and Numba's cache of their machine code) are kept."""
    root = os.environ.get("SYMGRAPH_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "symgraph")
    return os.path.join(root, "numba")


_modules = {}
_modules_lock = threading.Lock()


def load_module(source):
    """The module of generated `source`, written once to the cache directory under its hash and imported."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    with _modules_lock:
        module = _modules.get(digest)
        if module is not None:
            return module
        directory = cache_directory()
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"k{digest}.py")
        if not os.path.exists(path):  # Numba's cache is keyed on the file's time stamp: never rewrite it
            temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(temporary, "w") as file:
                file.write(source)
            os.replace(temporary, path)
        name = f"symgraph_numba_k{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _modules[digest] = module
        return module


_compiler = None


def _background():
    """The thread compiling kernels for tiered functions (one: Numba's compiler holds a global lock)."""
    global _compiler
    if _compiler is None:
        _compiler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="symgraph-numba")
    return _compiler


def _header(name, arguments, parallel, fastmath):
    return [f"@numba.njit(cache=True, nogil=True, error_model='numpy', parallel={parallel}, fastmath={fastmath})",
            f"def {name}({', '.join(arguments)}):"]


class NumbaKernel:
    """The Numba loops of one `Fused` op (or the kernel of a `FusedReduce`) for given operand dtypes.

    `try_run(*arrays)` returns the kernel's result, or None when the loop for these operands is not
    compiled yet (a tiered function compiles it in the background meanwhile) or does not apply; the
    caller then computes with NumPy. Build with `kernel_for`, which returns None when a step is not on
    the allow-list (scalar.py).
    """

    def __init__(self, op, input_dtypes, body, value_dtypes, parallel, fastmath, tiered=False):
        self.op = op
        self.input_dtypes = tuple(input_dtypes)
        self.body = body
        self.out_dtype = value_dtypes[-1]
        self.parallel = parallel
        self.fastmath = fastmath
        self.tiered = tiered
        self._ready = {}
        self._pending = set()

    def tiering(self, tiered):
        """This kernel's compiled loops, compiling later ones in the background when `tiered` is true."""
        if tiered == self.tiered:
            return self
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.tiered = tiered
        return copy

    def _operand(self, r):
        return f"x{r}" if r < self.op.nin else f"v{r}"

    def _source(self, variant, key):
        lines = ["import numpy as np", "import numba", ""]
        nin = self.op.nin
        inputs = [f"a{i}" for i in range(nin)]
        result = self._operand(nin + len(self.op.steps) - 1) if self.op.steps else "x0"
        if variant == "flat":
            full = key
            lines += _header("kernel", ["out"] + inputs, self.parallel, self.fastmath)
            lines += [f"    x{i} = a{i}[0]" for i in range(nin) if not full[i]]
            lines.append("    for i in numba.prange(out.shape[0]):")
            lines += [f"        x{i} = a{i}[i]" for i in range(nin) if full[i]]
            lines += [f"        {line}" for line in self.body]
            lines.append(f"        out[i] = {result}")
        elif variant == "nest":
            ndim = key
            index = ", ".join(f"i{k}" for k in range(ndim))
            lines += _header("kernel", ["out"] + inputs, self.parallel, self.fastmath)
            for k in range(ndim):
                loop = "numba.prange" if k == 0 else "range"
                lines.append(f"{'    ' * (k + 1)}for i{k} in {loop}(out.shape[{k}]):")
            indent = "    " * (ndim + 1)
            lines += [f"{indent}x{i} = a{i}[{index}]" for i in range(nin)]
            lines += [f"{indent}{line}" for line in self.body]
            lines.append(f"{indent}out[{index}] = {result}")
        else:
            kind, full = key
            lines += self._reduce_source(kind, full, inputs, result)
        return "\n".join(lines) + "\n"

    def _reduce_source(self, kind, full, inputs, result):
        combine, start = COMBINE[kind], START[kind]
        lines = _header("kernel", ["out", "inner"] + inputs, self.parallel, self.fastmath)
        lines += [f"    x{i} = a{i}[0]" for i in range(len(inputs)) if not full[i]]
        lines += [f"    chunks = (inner + {REDUCE_CHUNK - 1}) // {REDUCE_CHUNK}",
                  "    partial = np.empty((out.shape[0], chunks))",
                  "    for unit in numba.prange(out.shape[0] * chunks):",
                  "        row, chunk = unit // chunks, unit % chunks",
                  f"        acc = {start}",
                  f"        for j in range(row * inner + chunk * {REDUCE_CHUNK}, "
                  f"row * inner + min(inner, (chunk + 1) * {REDUCE_CHUNK})):"]
        lines += [f"            x{i} = a{i}[j]" for i in range(len(inputs)) if full[i]]
        lines += [f"            {line}" for line in self.body]
        lines += [f"            acc = {combine.format(result)}",
                  "        partial[row, chunk] = acc",
                  "    for row in range(out.shape[0]):",
                  f"        acc = {start}",
                  "        for chunk in range(chunks):",
                  f"            acc = {combine.format('partial[row, chunk]')}",
                  "        out[row] = acc / inner" if kind == "mean" else "        out[row] = acc"]
        return lines

    def loop(self, variant, key, example):
        """The compiled loop `variant` for `key` (its operand pattern), compiled for the arguments
        `example()` makes; None while a tiered kernel compiles it in the background, and for a parallel
        kernel in a process forked after OpenMP started (see `_after_fork_in_child`)."""
        if self.parallel and _openmp_forked:
            return None
        loop = self._ready.get((variant, key))
        if loop is not None:
            return loop
        if not self.tiered:
            return self._compile(variant, key, example)
        if (variant, key) not in self._pending:
            self._pending.add((variant, key))
            _background().submit(self._compile, variant, key, example)
        return None

    def _compile(self, variant, key, example):
        function = load_module(self._source(variant, key)).kernel
        function(*example())  # compiles (or loads from Numba's cache) for these argument types
        self._ready[(variant, key)] = function
        return function

    def compile_contiguous(self, full):
        """Compile (or, tiered, start compiling) the flat loop for C-contiguous operands, `full` saying
        which of them span the output (the others hold one element)."""
        self.loop("flat", full, lambda: self._flat_example(full))

    def compile_reduction(self, kind, full):
        """Compile (or, tiered, start compiling) the loop reducing the kernel by `kind` over flat operands."""
        self.loop("reduce", (kind, full), self._reduce_example)

    def _reduce_example(self):
        return [np.empty(1), 1] + [read_only_flat(np.zeros(1, d)) for d in self.input_dtypes]

    def _flat_example(self, full):
        return [np.empty(1, self.out_dtype)] + [read_only_flat(np.zeros(1, d)) for d in self.input_dtypes]

    def try_run(self, *arrays):
        """The kernel's result on `arrays`, or None (see the class docstring)."""
        if any(a.dtype != d for a, d in zip(arrays, self.input_dtypes)):
            return None
        shape = blocked_output_shape(arrays)
        if shape is not None:
            full = tuple(a.size != 1 for a in arrays)
            loop = self.loop("flat", full, lambda: self._flat_example(full))
            if loop is None:
                return None
            out = np.empty(shape, self.out_dtype)
            loop(out.reshape(-1), *[read_only_flat(a) for a in arrays])
            return out
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            return None  # NumPy raises the error, naming the step
        if not shape or 0 in shape:
            return None
        ndim = len(shape)
        views = [np.broadcast_to(a, shape) for a in arrays]
        loop = self.loop("nest", ndim, lambda: [np.empty((1,) * ndim, self.out_dtype)] +
                         [np.broadcast_to(np.zeros((1,) * ndim, d), (1,) * ndim) for d in self.input_dtypes])
        if loop is None:
            return None
        out = np.empty(shape, self.out_dtype)
        loop(out, *views)
        return out

    def try_reduce(self, kind, reduced, keepdims, *arrays):
        """The reduction `kind` of the kernel's result over its last `reduced` axes (kept as size 1 with
        `keepdims`), or None when the operands are not flat (see the module docstring)."""
        if any(a.dtype != d for a, d in zip(arrays, self.input_dtypes)):
            return None
        shape = blocked_output_shape(arrays)
        if shape is None or len(shape) < reduced:
            return None
        full = tuple(a.size != 1 for a in arrays)
        loop = self.loop("reduce", (kind, full), self._reduce_example)
        if loop is None:
            return None
        kept = shape[:len(shape) - reduced]
        inner = math.prod(shape[len(shape) - reduced:])
        out = np.empty(math.prod(kept))
        loop(out, inner, *[read_only_flat(a) for a in arrays])
        if keepdims:
            return out.reshape(kept + (1,) * reduced)
        return out.reshape(kept) if kept else out[0]


def read_only_flat(array):
    """A read-only flat view of C-contiguous `array`. Loops take their operands read-only, so one compiled
    loop serves writable arrays and read-only ones (the graph's constants) alike: Numba converts a writable
    array to a read-only parameter, but compiles the loop again for the other way round.

    Example:
        >>> view = read_only_flat(np.zeros((2, 2)))
        >>> view.shape, view.flags.writeable
        ((4,), False)
    """
    view = array.reshape(-1)
    view.flags.writeable = False
    return view


def kernel_body(op, input_dtypes):
    """(the scalar lines of `op`'s steps, the dtypes of its values), or None when a step is not allowed."""
    dtypes = list(input_dtypes)
    names = [f"x{i}" for i in range(op.nin)]
    body = []
    for index, (row, refs) in enumerate(op.steps):
        operand_dtypes = [dtypes[r] for r in refs]
        out = row.output_dtype(operand_dtypes)
        expression = step_expression(row, [names[r] for r in refs], operand_dtypes, out)
        if expression is None:
            return None
        name = f"v{op.nin + index}"
        body.append(f"{name} = {expression}")
        names.append(name)
        dtypes.append(out)
    return body, dtypes


_kernels = {}
_kernels_lock = threading.Lock()


def kernel_for(op, input_dtypes, parallel, fastmath):
    """The NumbaKernel of `op` (a Fused op, or a FusedReduce's kernel) on operands of `input_dtypes`,
    shared in the process by every function with the same kernel, dtypes and options; None when one of
    its steps keeps the NumPy lowering."""
    key = (op.nin, op.steps, tuple(input_dtypes), parallel, fastmath)
    with _kernels_lock:
        if key in _kernels:
            return _kernels[key]
        found = kernel_body(op, input_dtypes)
        kernel = None if found is None else NumbaKernel(op, input_dtypes, *found, parallel, fastmath)
        _kernels[key] = kernel
        return kernel


_openmp_forked = False
"""Is this a process forked from one whose Numba OpenMP threads had started? libgomp's threads do not
survive fork, and Numba terminates a child that runs a parallel loop then."""


def _before_fork():
    """Hold the locks a compilation takes, waiting for one in flight in the background thread, so the
    child starts with them free and with no module half imported."""
    _kernels_lock.acquire()
    _modules_lock.acquire()
    numba.core.compiler_lock.global_compiler_lock.acquire()


def _after_fork_in_parent():
    numba.core.compiler_lock.global_compiler_lock.release()
    _modules_lock.release()
    _kernels_lock.release()


def _after_fork_in_child():
    """The compiler thread did not survive the fork: start a new one when needed, and forget the kernels it
    had pending, so that they are submitted again rather than waited for forever. Parallel loops are off
    when OpenMP had started (their callers then run the NumPy code)."""
    global _compiler, _openmp_forked
    _after_fork_in_parent()
    _compiler = None
    for kernel in _kernels.values():
        if kernel is not None:
            kernel._pending.clear()
    try:
        _openmp_forked = _openmp_forked or numba.threading_layer() == "omp"
    except ValueError:  # no parallel loop ran yet: the child starts its own threads
        pass


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
