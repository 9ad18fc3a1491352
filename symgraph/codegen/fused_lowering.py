"""NumPy lowering of `Fused` kernels: each kernel becomes a small generated function of NumPy calls.

The line of the compiled function calls the kernel (`v3 = fused_exp_add_0(i0, i1)`). The kernel's source
is compiled once per distinct `Fused` op and registered with `linecache`, so tracebacks show its lines;
each node gets its own function object around that code, knowing the node's operand types and the user
lines that created the fused operations, so that an error inside the kernel names the failing operation
(`add(float64[?], float64[?]) created at model.py:12`).

Example:
    >>> import symgraph as sg
    >>> from symgraph.ops.elemwise import scalar_op
    >>> from symgraph.ops.fused import Fused
    >>> print(kernel_source(Fused(2, ((scalar_op("exp"), (0,)), (scalar_op("add"), (2, 1)))), Namespace()))
    def fused_exp_add(a0, a1):
        try:
            t0 = np.exp(a0)
            t1 = np.add(t0, a1)
        except Exception as exc:
            raise located(exc) from exc
        return t1
    <BLANKLINE>
"""
import functools
import itertools
import linecache
import types

import numpy as np

from ..ops.fused import STEP_SITES, Fused
from .namespace import Namespace, safe_identifier
from .numpy_backend import _numpy_name, register_lowering

_MAX_NAMED_STEPS = 3
_FIRST_STEP_LINE = 3
_counter = itertools.count()


def _kernel_name(op):
    names = op.inner_names
    shown = "_".join(names[:_MAX_NAMED_STEPS]) + ("_etc" if len(names) > _MAX_NAMED_STEPS else "")
    return safe_identifier(f"fused_{shown}")


def kernel_source(op, namespace):
    """Source of a Python function computing `op` (a Fused) with NumPy calls, one line per step.

    Row implementations that are not NumPy functions are bound in `namespace` (a Namespace). On an error
    the kernel raises `located(exc)`, a name each node's function binds to its own error context.
    """
    params = [f"a{i}" for i in range(op.nin)]
    lines = [f"def {_kernel_name(op)}({', '.join(params)}):", "    try:"]
    for index, (row, refs) in enumerate(op.steps):
        callee = _numpy_name(row.impl) or namespace.bind(row.impl, row.name)
        operands = ", ".join(params[r] if r < op.nin else f"t{r - op.nin}" for r in refs)
        lines.append(f"        t{index} = {callee}({operands})")
    lines += ["    except Exception as exc:", "        raise located(exc) from exc", f"    return t{len(op.steps) - 1}"]
    return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=1024)
def _kernel_template(op):
    """(code object, globals) of the kernel of `op`, compiled once per distinct Fused op."""
    namespace = Namespace({"np": np})
    source = kernel_source(op, namespace)
    filename = f"<symgraph-kernel:{_kernel_name(op)}#{next(_counter)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace.globals)
    return namespace.globals[_kernel_name(op)].__code__, namespace.globals


class _ErrorContext:
    """Turns an exception raised inside one node's kernel into one naming the failing step."""

    __slots__ = ("op", "input_types", "sites")

    def __init__(self, op, input_types, sites):
        self.op = op
        self.input_types = input_types
        self.sites = sites

    def __call__(self, exc):
        step = exc.__traceback__.tb_lineno - _FIRST_STEP_LINE
        if not 0 <= step < len(self.op.steps):
            return exc
        row, refs = self.op.steps[step]
        value_types = self.op.value_types(*self.input_types)
        operands = ", ".join(str(value_types[r]) for r in refs)
        site = self.sites[step] if self.sites is not None else None
        where = f", created at {site}" if site is not None else ""
        message = f"{exc} [in {row.name}({operands}){where}, step {step + 1} of {self.op}]"
        try:
            return type(exc)(message)
        except Exception:
            return RuntimeError(message)


def kernel_function(node):
    """The function computing `node` (an Apply of a Fused op) from its input values."""
    code, template_globals = _kernel_template(node.op)
    context = _ErrorContext(node.op, tuple(v.type for v in node.inputs), STEP_SITES.get(node))
    return types.FunctionType(code, dict(template_globals, located=context), code.co_name)


@register_lowering(Fused)
def lower_fused(node, input_names, namespace):
    kernel = namespace.bind(kernel_function(node), _kernel_name(node.op))
    return f"{kernel}({', '.join(input_names)})"
