"""Numba loop nests of fused kernels: generated source, the on-disk module cache, and compilation.

A kernel's scalar body (scalar.py) is wrapped in one of three loops, each a function of a generated module:

- `flat`: every operand is C-contiguous of the output's shape (read at `i`) or holds one element (read
  once, before the loop): one loop over the flat arrays, `prange` when parallel;
- `nest`: any broadcast-compatible operands, each seen as a (read-only, strided) view broadcast to the
  output's shape: a loop per axis, the outer one a `prange`. Its strided accesses keep LLVM from
  vectorizing it, so kernels calling vector_math.py (whose scalar forms are slower than NumPy's SIMD
  loops) leave such calls to NumPy;
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
import inspect
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numba.core.compiler_lock
import numpy as np

from ..numpy_backend.blocked import blocked_output_shape
from ..memory import RecycledOutput
from . import vector_math
from .scalar import _ARITHMETIC, step_expression, step_guard

COMBINE = {"sum": "{0} + {1}", "mean": "{0} + {1}", "max": _ARITHMETIC["maximum"], "min": _ARITHMETIC["minimum"]}
"""kind -> the scalar combining an accumulator {0} with a value {1} (NaN propagating as in NumPy)."""
START = {"sum": "0.0", "mean": "0.0", "max": "-np.inf", "min": "np.inf"}
"""kind -> the accumulator's start."""

REDUCE_CHUNK = 16384
"""Elements one thread reduces before its partial result is combined with the others'."""
REDUCE_BLOCK = 1024
"""Elements of a reduced kernel computed into a buffer (8 KB, in the L1 cache) before they are folded."""
REDUCE_LANES = 8
"""Accumulators a reduction folds into in turn (independent additions, which the CPU overlaps)."""

GUARD_BLOCK = 4096
"""Elements of a kernel with guarded rows (sin, cos) computed before their guards are checked: a block in
which one fails is computed again with libm (a few cache-resident microseconds)."""

VECTOR_MATH_VERSION = hashlib.sha256(inspect.getsource(vector_math).encode()).hexdigest()[:16]
"""Named in the generated modules that call vector_math.py (NumbaKernel._imports)."""


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

    def __init__(self, op, input_dtypes, body, parallel, fastmath, tiered=False):
        self.op = op
        self.input_dtypes = tuple(input_dtypes)
        self.body = body
        self.out_dtype = body.dtypes[-1]
        self.parallel = parallel
        self.fastmath = fastmath
        self.tiered = tiered
        self._ready = {}
        self._pending = set()
        self._outputs = RecycledOutput()

    @classmethod
    def of(cls, kernel):
        """`kernel` (a NumbaKernel) seen as an instance of this subclass, sharing its compiled loops (and
        those compiling)."""
        view = object.__new__(cls)
        view.__dict__.update(kernel.__dict__)
        return view

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

    def _result(self):
        """The scalar name of the kernel's value (its last step's, or its one input's)."""
        return self._operand(self.op.nin + len(self.op.steps) - 1) if self.op.steps else "x0"

    def _element_loop(self, indent, index, bounds, reads, store):
        """Lines of a loop `for index in bounds` computing each element (after the lines `reads`) and
        storing it by the lines `store(result)`. With guarded rows, a pass in which a guard fails is run
        again with libm's forms. Loops index from 0 (`range(n)`): Numba then knows indices are not
        negative, where another start adds a wrap-around select to each access that stops vectorization."""
        result = self._result()
        pad = "    " * indent

        def passes(body, check):
            head = [f"{pad}for {index} in {bounds}:"]
            return head + [f"{pad}    {line}" for line in [*reads, *body, *check, *store(result)]]
        if not self.body.guards:
            return passes(self.body.lines, [])
        lines = [f"{pad}fine = True"]
        lines += passes(self.body.lines, [f"fine &= {' & '.join(self.body.guards)}"])
        lines.append(f"{pad}if not fine:")
        lines += ["    " + line for line in passes(self.body.exact_lines, [])]
        return lines

    def _imports(self, more_lines=()):
        """The generated module's first lines: vector_math.py's hash names it when the body (or
        `more_lines`) calls it, so that a change of it changes the module's file (Numba's cache does not
        see changes of the functions a cached one inlines)."""
        lines = ["import numpy as np", "import numba"]
        if self.body.calls_vector_math or any("vm." in line for line in more_lines):
            lines += ["from symgraph.codegen.numba_backend import vector_math as vm",
                      f"# vector_math {VECTOR_MATH_VERSION}"]
        return lines + [""]

    def unguarded_lines(self):
        """Scalar lines right for every element, for loops that do not check guards: the vector forms
        when no row is guarded, else libm's."""
        return self.body.exact_lines if self.body.guards else self.body.lines

    def _source(self, variant, key):
        lines = self._imports()
        nin = self.op.nin
        inputs = [f"a{i}" for i in range(nin)]
        lines += _header("kernel", (["out", "inner"] if variant == "reduce" else ["out"]) + inputs,
                         self.parallel, self.fastmath)
        if variant == "flat":
            return _module(lines + self._flat_source(key))
        if variant == "nest":
            return _module(lines + self._nest_source(key))
        kind, full = key
        return _module(lines + self._reduce_source(kind, full))

    def _flat_source(self, full):
        """One loop over the flat operands; with guarded rows, over blocks of GUARD_BLOCK elements."""
        nin = self.op.nin
        lines = [f"    x{i} = a{i}[0]" for i in range(nin) if not full[i]]
        store = lambda result: [f"out[i] = {result}"]  # noqa: E731
        if not self.body.guards:
            reads = [f"x{i} = a{i}[i]" for i in range(nin) if full[i]]
            return lines + self._element_loop(1, "i", "numba.prange(out.shape[0])", reads, store)
        lines += [f"    for block in numba.prange((out.shape[0] + {GUARD_BLOCK - 1}) // {GUARD_BLOCK}):",
                  f"        start, stop = block * {GUARD_BLOCK}, min(out.shape[0], (block + 1) * {GUARD_BLOCK})",
                  "        block_out = out[start:stop]"]
        lines += [f"        b{i} = a{i}[start:stop]" for i in range(nin) if full[i]]
        reads = [f"x{i} = b{i}[i]" for i in range(nin) if full[i]]
        store = lambda result: [f"block_out[i] = {result}"]  # noqa: E731
        return lines + self._element_loop(2, "i", "range(block_out.shape[0])", reads, store)

    def _nest_source(self, ndim):
        """A loop per axis, the first a prange (never for kernels with guarded rows: see `try_run`)."""
        index = ", ".join(f"i{k}" for k in range(ndim))
        last = ndim - 1
        lines = [f"{'    ' * (k + 1)}for i{k} in {'numba.prange' if k == 0 else 'range'}(out.shape[{k}]):"
                 for k in range(last)]
        reads = [f"x{i} = a{i}[{index}]" for i in range(self.op.nin)]
        store = lambda result: [f"out[{index}] = {result}"]  # noqa: E731
        loop = "numba.prange" if ndim == 1 else "range"
        return lines + self._element_loop(ndim, f"i{last}", f"{loop}(out.shape[{last}])", reads, store)

    def _reduce_source(self, kind, full):
        """Rows of an (outer, inner) view in chunks of REDUCE_CHUNK, in parallel. A chunk's values are
        computed in blocks of REDUCE_BLOCK into a buffer (a loop that vectorizes, where one accumulating
        into a float could not be reordered), then folded into REDUCE_LANES accumulators."""
        combine, start = COMBINE[kind], START[kind]
        nin = self.op.nin
        lanes = [f"lane{k}" for k in range(REDUCE_LANES)]
        lines = [f"    x{i} = a{i}[0]" for i in range(nin) if not full[i]]
        lines += [f"    chunks = (inner + {REDUCE_CHUNK - 1}) // {REDUCE_CHUNK}",
                  "    partial = np.empty((out.shape[0], chunks))",
                  "    for unit in numba.prange(out.shape[0] * chunks):",
                  "        row, chunk = unit // chunks, unit % chunks",
                  f"        chunk_start = row * inner + chunk * {REDUCE_CHUNK}",
                  f"        chunk_stop = row * inner + min(inner, (chunk + 1) * {REDUCE_CHUNK})",
                  f"        values = np.empty({REDUCE_BLOCK})",
                  f"        {' = '.join(lanes)} = {start}",
                  f"        for start in range(chunk_start, chunk_stop, {REDUCE_BLOCK}):",
                  f"            stop = min(chunk_stop, start + {REDUCE_BLOCK})",
                  "            block = values[:stop - start]"]
        lines += [f"            b{i} = a{i}[start:stop]" for i in range(nin) if full[i]]
        reads = [f"x{i} = b{i}[j]" for i in range(nin) if full[i]]
        lines += self._element_loop(3, "j", "range(block.shape[0])", reads, lambda result: [f"block[j] = {result}"])
        lines += [f"            whole = block.shape[0] - block.shape[0] % {REDUCE_LANES}",
                  f"            for j in range(0, whole, {REDUCE_LANES}):"]
        lines += [f"                {lane} = {combine.format(lane, f'block[j + {k}]')}" for k, lane in enumerate(lanes)]
        lines += ["            for j in range(whole, block.shape[0]):",
                  f"                lane0 = {combine.format('lane0', 'block[j]')}"]
        while len(lanes) > 1:  # pairwise, as NumPy's sums
            pairs = [(lanes[k], lanes[k + 1]) for k in range(0, len(lanes), 2)]
            lines += [f"        {a} = {combine.format(a, b)}" for a, b in pairs]
            lanes = [a for a, _ in pairs]
        lines += ["        partial[row, chunk] = lane0",
                  "    for row in range(out.shape[0]):",
                  f"        acc = {start}",
                  "        for chunk in range(chunks):",
                  f"            acc = {combine.format('acc', 'partial[row, chunk]')}",
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
            out = self._outputs.empty(shape, self.out_dtype)
            loop(out.reshape(-1), *[read_only_flat(a) for a in arrays])
            return out
        if self.body.calls_vector_math:
            return None  # the nest does not vectorize, and vector_math's scalar forms lose to NumPy's loops
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
        out = self._outputs.empty(shape, self.out_dtype)
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


def _module(lines):
    return "\n".join(lines) + "\n"


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


class KernelBody:
    """The scalar lines of a kernel's steps: `lines` (vector_math.py's forms of transcendental rows),
    `exact_lines` (libm's forms), `guards` (conditions under which `lines` are right; none when they always
    are), `dtypes`, the dtypes of the kernel's values, and `calls_vector_math`."""

    def __init__(self, lines, exact_lines, guards, dtypes):
        self.lines, self.exact_lines, self.guards, self.dtypes = lines, exact_lines, guards, dtypes
        self.calls_vector_math = any("vm." in line for line in lines)


def kernel_body(op, input_dtypes):
    """The KernelBody of `op` on operands of `input_dtypes`, or None when a step is not allowed."""
    dtypes = list(input_dtypes)
    names = [f"x{i}" for i in range(op.nin)]
    lines, exact_lines, guards = [], [], []
    for index, (row, refs) in enumerate(op.steps):
        operands, operand_dtypes = [names[r] for r in refs], [dtypes[r] for r in refs]
        out = row.output_dtype(operand_dtypes)
        expression = step_expression(row, operands, operand_dtypes, out)
        if expression is None:
            return None
        name = f"v{op.nin + index}"
        lines.append(f"{name} = {expression}")
        exact_lines.append(f"{name} = {step_expression(row, operands, operand_dtypes, out, exact=True)}")
        guard = step_guard(row, operands, operand_dtypes, out)
        if guard is not None:
            guards.append(guard)
        names.append(name)
        dtypes.append(out)
    return KernelBody(lines, exact_lines, guards, dtypes)


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
        kernel = None if found is None else NumbaKernel(op, input_dtypes, found, parallel, fastmath)
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
