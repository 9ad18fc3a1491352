"""Optional SymPy simplification of fused element-wise kernels (group "sympy", off by default).

After fusion, each small floating-point kernel is turned into a SymPy expression, simplified by
`sympy.simplify`, and rebuilt (and fused again) when the result needs fewer operations:
`x*2 + x*3` becomes `5*x`, `exp(x)*exp(y)` becomes `exp(x + y)`. SymPy reasons about real numbers, not
IEEE floats, so like the "unsafe" group it may change results for NaN/inf inputs or where an
intermediate overflows (`exp(800)*exp(-800)` is inf*0 = NaN, `exp(0)` is 1); that is why it is opt-in.
A kernel that simplifies to a constant or to one of its inputs is kept (its broadcast shape could differ). It also costs compile time: SymPy takes
milliseconds per kernel, so only kernels of at most `MAX_KERNEL_STEPS` steps are tried.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], x * 2 + x * 3, mode=sg.Mode(include=["sympy"]))
    >>> f.report.rewrites["sympy_simplify"], f([1.0, 2.0])
    (1, array([ 5., 10.]))
"""
import sympy

from ..graph.basic import Constant, Variable, apply_op
from ..graph.replace import clone_replace
from ..graph.traversal import toposort
from ..ops.elemwise import Elemwise
from ..ops.fused import Fused
from .fusion import fuse_elemwise
from .registry import register_pass_name

SYMPY_SIMPLIFY = "sympy_simplify"
register_pass_name(SYMPY_SIMPLIFY, "sympy")

MAX_KERNEL_STEPS = 16


def simplify_kernels(outputs, counts):
    """`outputs` with every eligible fused kernel replaced by its SymPy-simplified form."""
    memo = {}
    for node in toposort(outputs):
        inputs = tuple(memo.get(v, v) for v in node.inputs)
        replacement = _simplified(node, inputs) if isinstance(node.op, Fused) else None
        if replacement is not None:
            memo[node.outputs[0]] = replacement
            counts[SYMPY_SIMPLIFY] = counts.get(SYMPY_SIMPLIFY, 0) + 1
        elif any(a is not b for a, b in zip(inputs, node.inputs)):
            memo.update(zip(node.outputs, apply_op(node.op, inputs, node.site).outputs))
    return [memo.get(v, v) for v in outputs]


def _simplified(node, inputs):
    """The kernel of `node` rebuilt from its simplified SymPy form on `inputs`, or None if not smaller."""
    from ..inspect.sympy_bridge import from_sympy, to_sympy

    op = node.op
    types = op.value_types(*[v.type for v in inputs])
    if len(op.steps) > MAX_KERNEL_STEPS or any(t.dtype.kind != "f" for t in types):
        return None
    placeholders = {}
    values = []
    for i, (var, type_) in enumerate(zip(inputs, types)):
        if isinstance(var, Constant) and var.ndim == 0:
            values.append(var)  # a number SymPy can fold with others
        else:
            placeholder = Variable(type_, name=f"a{i}")
            placeholders[placeholder] = var
            values.append(placeholder)
    for row, refs in op.steps:
        values.append(Elemwise(row)(*[values[r] for r in refs]))
    try:
        expression, symbols = to_sympy(values[-1], return_symbols=True)
        rebuilt = from_sympy(sympy.simplify(expression), symbols)
    except (TypeError, ValueError):  # a row without a SymPy form, or a SymPy head without a symgraph op
        return None
    # SymPy already combines like terms while the expression is built, so the measure of success is
    # the size of the rebuilt kernel, not of the SymPy expressions.
    if not isinstance(rebuilt, Variable) or not rebuilt.type.is_compatible(node.outputs[0].type):
        return None
    if len(toposort([rebuilt])) >= len(op.steps):
        return None
    [on_inputs] = clone_replace([rebuilt], placeholders)
    if on_inputs.owner is None:
        return None  # the kernel reduced to one of its inputs or a constant: shapes may differ, keep it
    return fuse_elemwise([on_inputs], {})[0]
