"""`sg.pprint`: a graph as one line of math-like text, each operator expression inside another in parentheses.

Element-wise arithmetic, comparisons and `@` print as operators, indexing as a subscript (`x[1:, i]`),
every other op as a call followed by
the parameters its `str()` shows (`sum(x, axis=(0,))`), constants as their values. The text is built
bottom-up over the topological order (no recursion), and each sub-expression's text is capped at
`max_length` characters, so deep graphs and graphs that reuse sub-expressions many times stay cheap.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> pprint((x + 1) * 2)
    '(x + 1.0) * 2.0'
"""
from ..ops.indexing import Index, index_source
from .common import (
    display_name,
    format_constant,
    inner_graphs,
    inner_names,
    kernel_label,
    leaf_names,
    one_line,
    op_label,
    view_of,
)

_ATOM = "atom"
_UNARY = "unary"
_BINARY_EXPRESSION = "binary"
"""What a sub-expression's text is, which decides where it needs parentheses."""

_BINARY = {"power": "**", "multiply": "*", "true_divide": "/", "floor_divide": "//", "mod": "%", "matmul": "@",
           "add": "+", "subtract": "-", "bitwise_and": "&", "bitwise_xor": "^", "bitwise_or": "|",
           "eq": "==", "neq": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_PREFIX = {"negative": "-", "invert": "~"}

ELLIPSIS = "…"


def pprint(obj, max_length=2000) -> str:
    """One line of math-like text for a Variable (one line per output for a list or a compiled function).

    An operator expression that is an operand of another is parenthesized, so the grouping never depends
    on precedence rules: `tanh((x @ W) + b)`, as in API.md. The text is valid Python with the same
    grouping. Unnamed inputs get generated names (`v0`, ...). A sub-expression longer than `max_length`
    characters is cut and ends with `…`.

    Example:
        >>> import symgraph as sg
        >>> x, W, b = sg.matrix("x"), sg.matrix("W"), sg.vector("b")
        >>> pprint(sg.tanh(x @ W + b))
        'tanh((x @ W) + b)'
        >>> pprint(-(x ** 2) - (x - b))
        '-(x ** 2.0) - (x - b)'
        >>> pprint((x + 1)[1:, None] + x[::-1])
        '(x + 1.0)[1:, None] + x[::-1]'
    """
    view = view_of(obj, "pprint")
    texts = _leaf_texts(view)
    remaining = _consumer_counts(view)
    for node in view.nodes:
        arguments = [texts[id(v)] for v in node.inputs]
        for var in node.inputs:
            _release(var, texts, remaining)
        text, kind = _render_node(node, arguments)
        for out in node.outputs:
            suffix = "" if len(node.outputs) == 1 else f"[{out.index}]"
            texts[id(out)] = (_cap(text + suffix, max_length), kind if not suffix else _ATOM)
    return "\n".join(texts[id(out)][0] for out in view.outputs)


def _leaf_texts(view):
    names = leaf_names(view.leaves)
    texts = {}
    for leaf in view.leaves:
        if id(leaf) in names:
            texts[id(leaf)] = (display_name(names[id(leaf)]), _ATOM)
        else:
            value = format_constant(leaf.data)
            texts[id(leaf)] = (value, _UNARY if value.startswith("-") else _ATOM)
    return texts


def _consumer_counts(view):
    """How many times each variable is still needed: texts are freed after their last use."""
    counts = {}
    for node in view.nodes:
        for var in node.inputs:
            counts[id(var)] = counts.get(id(var), 0) + 1
    for var in view.outputs:
        counts[id(var)] = counts.get(id(var), 0) + 1
    return counts


def _release(var, texts, remaining):
    remaining[id(var)] -= 1
    if remaining[id(var)] == 0 and var.owner is not None:
        del texts[id(var)]


def _cap(text, max_length):
    return text if len(text) <= max_length else text[:max_length] + ELLIPSIS


def _atomic(argument):
    """The text of an argument, parenthesized unless it is an atom (a name, a number, a call, a subscript)."""
    text, kind = argument
    return text if kind == _ATOM else f"({text})"


def _operand(argument, power_base):
    """The text of a binary operator's operand: parenthesized when it is itself a binary operator expression,
    whatever the operators (API.md's `tanh((x @ W) + b)`), and when unary as the base of a power."""
    return _atomic(argument) if power_base or argument[1] == _BINARY_EXPRESSION else argument[0]


def _render_node(node, arguments):
    """(text, kind) of one node applied to its arguments' (text, kind)."""
    op = node.op
    name = op.name
    if name in _BINARY and len(arguments) == 2 and len(node.outputs) == 1:
        left, right = arguments
        return f"{_operand(left, name == 'power')} {_BINARY[name]} {_operand(right, False)}", _BINARY_EXPRESSION
    if name in _PREFIX and len(arguments) == 1:
        return f"{_PREFIX[name]}{_atomic(arguments[0])}", _UNARY
    if isinstance(op, Index):
        subscript = index_source(op.index, [text for text, _ in arguments[1:]], "{}")
        return f"{_atomic(arguments[0])}[{subscript}]", _ATOM
    parts = [text for text, _ in arguments] + _parameter_texts(op)
    parts += [f"{title}=[{', '.join(pprint(list(outputs)).splitlines())}]" for title, outputs in inner_graphs(op)]
    name = kernel_label(op) if inner_names(op) is not None else one_line(op.name)
    return f"{name}({', '.join(parts)})", _ATOM


def _parameter_texts(op):
    """The parameters the op itself shows in `str(op)` (`sum{axis=(0,)}` -> `axis=(0,)`), as extra arguments.

    An op without `__props__` has no parameters: the braces of an OpFromGraph's label (`expmul{2 -> 1}`)
    give its arity, which the arguments already show."""
    if not op.__props__:
        return []
    label = op_label(op)
    opening = f"{one_line(op.name)}{{"
    if label.startswith(opening) and label.endswith("}"):
        return [label[len(opening):-1]]
    return []
