"""`sg.debugprint`: a graph as an indented tree or as a flat one-line-per-node listing, and `compare`.

The tree suits small graphs: a sub-graph used more than once gets a short id (`[id A]`), is printed in full
once and referenced by its id afterwards; so does a sub-tree deeper than DEEPEST_INDENT levels, printed
after the rest. The flat listing (`style="flat"`) suits large graphs and diffs:
one line per leaf and per node, values numbered `%0, %1, ...` in schedule order. Both walk the graph with
explicit stacks, so graphs 10,000 nodes deep print without recursion.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> print(debugprint(sg.exp(x) + 1))
    add float64[?]
    ├─ exp float64[?]
    │  └─ x float64[?]
    └─ 1.0 float64[]
"""
import itertools
import string

from .common import (
    display_name,
    format_constant,
    inner_graphs,
    inner_names,
    is_compact_constant,
    kernel_label,
    leaf_kind,
    leaf_names,
    one_line,
    op_label,
    output_suffix,
    view_of,
)

STYLES = ("tree", "flat")


def debugprint(obj, file=None, print_site=False, style="tree") -> str:
    """The graph of `obj` as text, one node per line; the same text is also written to `file` if given.

    `obj` is a Variable, a list of Variables, or a compiled function (then its optimized graph is shown,
    fused kernels with their inner operations listed below them). Each line shows the op with its
    parameters, the dtype and static shape (`float64[?,3]`), and the variable's name if it has one.
    `style="tree"` (default) indents inputs below the node that uses them, at most DEEPEST_INDENT levels
    deep (a deeper sub-tree is referenced with `(see below)` and printed after the rest); `style="flat"`
    lists every leaf and node once, in order, like a jaxpr. `print_site=True` appends where user code created each node.
    The inner graph of a user-defined op (`sg.OpFromGraph`) is listed after the graph that uses it.
    To see a graph before and after optimization side by side, use `symgraph.inspect.compare`.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> h = sg.exp(x)
        >>> print(debugprint(h * h))
        multiply float64[?]
        ├─ exp [id A] float64[?]
        │  └─ x float64[?]
        └─ exp [id A] float64[?] (see above)
        >>> print(debugprint(h * h, style="flat"))
        input x: float64[?]
        %0: float64[?] = exp(x)
        %1: float64[?] = multiply(%0, %0)
        output %1
    """
    if style not in STYLES:
        raise ValueError(f"debugprint: style must be one of {STYLES}, got {style!r}")
    view = view_of(obj, "debugprint")
    lines = _lines(view, print_site, style)
    text = "\n".join(lines)
    if file is not None:  # exactly the returned text, so that what was written and returned compare equal
        file.write(text)
    return text


def _lines(view, print_site, style):
    """The lines of `view` in `style`, then those of the inner graph of each op that has one
    (an OpFromGraph), once per op."""
    lines = tree_lines(view, print_site) if style == "tree" else flat_lines(view, print_site)
    seen = set()
    for node in view.nodes:
        inner = getattr(node.op, "inner_outputs", None)
        # Loops and branches print their inner graphs in place (`inner_graphs`), not once after the graph.
        if inner is None or inner_graphs(node.op) or id(node.op) in seen:
            continue
        seen.add(id(node.op))
        lines += ["", f"Inner graph of {op_label(node.op)}:"]
        lines += ["  " + line for line in _lines(view_of(list(inner), "debugprint"), print_site, style)]
    return lines


def _site_comment(node, print_site):
    if not print_site or node.site is None:
        return ""
    return f"  # {one_line(node.site)}"


def _name_suffix(var):
    return "" if var.name is None else f" {var.name!r}"


def _short_ids():
    """A, B, ..., Z, AA, AB, ...: the ids of shared sub-graphs in the tree."""
    for length in itertools.count(1):
        for letters in itertools.product(string.ascii_uppercase, repeat=length):
            yield "".join(letters)


def _use_counts(view):
    counts = {}
    for node in view.nodes:
        for inp in node.inputs:
            if inp.owner is not None:
                counts[id(inp.owner)] = counts.get(id(inp.owner), 0) + 1
    for out in view.outputs:
        if out.owner is not None:
            counts[id(out.owner)] = counts.get(id(out.owner), 0) + 1
    return counts


def _leaf_text(var, names):
    kind = leaf_kind(var)
    if kind == "constant":
        value = format_constant(var.data)
        label = value if var.name is None else f"{display_name(var.name)}={value}"
        return f"{label} {var.type}"
    label = f"{display_name(names[id(var)])} {var.type}"
    return label + " shared" if kind == "shared" else label


def _update_note(view, position):
    target = view.updates.get(position)
    if target is None:
        return ""
    return f"  (update of {display_name(target.name) if target.name else 'an unnamed shared variable'})"


DEEPEST_INDENT = 32
"""Most levels of indentation in a tree: a node deeper than this is printed as a reference, `(see below)`,
and its sub-tree as a tree of its own after the others, so a chain n nodes deep prints in text linear in
n, not n * n."""


def tree_lines(view, print_site=False):
    """The indented-tree lines of a GraphView (see `debugprint`)."""
    names = leaf_names(view.leaves)
    uses = _use_counts(view)
    ids = {}
    fresh_ids = _short_ids()
    printed = set()
    deferred = set()
    lines = []
    roots = [(root, _update_note(view, position)) for position, root in enumerate(view.outputs)]
    for root, root_note in roots:  # grows while printing: the sub-trees deferred past DEEPEST_INDENT
        stack = [(root, "", "", root_note, 0)]
        while stack:
            var, head, tail, note, depth = stack.pop()
            node = var.owner
            if node is None:
                lines.append(head + _leaf_text(var, names) + note)
                continue
            reference = None
            if id(node) in printed:
                reference = " (see above)"
            elif id(node) in deferred and depth > 0:
                reference = " (see below)"
            elif depth > DEEPEST_INDENT:
                deferred.add(id(node))
                roots.append((var, ""))
                reference = " (see below)"
            if reference is not None or uses.get(id(node), 0) > 1 or id(node) in deferred:
                if id(node) not in ids:
                    ids[id(node)] = next(fresh_ids)
            tag = f" [id {ids[id(node)]}]" if id(node) in ids else ""
            text = f"{op_label(node.op)}{output_suffix(var)}{tag} {var.type}{_name_suffix(var)}"
            if reference is not None:
                lines.append(head + text + reference + note)
                continue
            printed.add(id(node))
            lines.append(head + text + note + _site_comment(node, print_site))
            bar = "│  " if node.inputs else "   "
            for inner in inner_names(node.op) or ():
                lines.append(f"{tail}{bar}· {one_line(inner)}")
            for title, inner_outputs in inner_graphs(node.op):
                lines.append(f"{tail}{bar}↻ {title}:")
                lines.extend(f"{tail}{bar}   {line}" for line in tree_lines(view_of(inner_outputs, "debugprint"), print_site))
            last = len(node.inputs) - 1
            for i in range(last, -1, -1):
                connector, extension = ("└─ ", "   ") if i == last else ("├─ ", "│  ")
                stack.append((node.inputs[i], tail + connector, tail + extension, "", depth + 1))
    return lines


def flat_lines(view, print_site=False):
    """The flat listing of a GraphView: leaves, then one line per node, then the outputs (see `debugprint`)."""
    names = leaf_names(view.leaves)
    refs = {}
    lines = []
    constants = itertools.count()
    for leaf in view.leaves:
        kind = leaf_kind(leaf)
        if kind != "constant":
            refs[id(leaf)] = display_name(names[id(leaf)])
            lines.append(f"{kind} {refs[id(leaf)]}: {leaf.type}")
        elif is_compact_constant(leaf):
            refs[id(leaf)] = format_constant(leaf.data)
        else:
            refs[id(leaf)] = f"%c{next(constants)}"
            lines.append(f"constant {refs[id(leaf)]}: {leaf.type} = {format_constant(leaf.data)}")
    values = itertools.count()
    for node in view.nodes:
        results = []
        for out in node.outputs:
            refs[id(out)] = f"%{next(values)}"
            results.append(f"{refs[id(out)]}: {out.type}")
        arguments = ", ".join(refs[id(v)] for v in node.inputs)
        notes = [repr(out.name) for out in node.outputs if out.name is not None]
        if print_site and node.site is not None:
            notes.append(one_line(node.site))
        comment = f"  # {'; '.join(notes)}" if notes else ""
        lines.append(f"{', '.join(results)} = {kernel_label(node.op)}({arguments}){comment}")
        for title, inner_outputs in inner_graphs(node.op):
            lines.append(f"  {title} {{")
            lines.extend(f"    {line}" for line in flat_lines(view_of(inner_outputs, "debugprint"), print_site))
            lines.append("  }")
    for position, out in enumerate(view.outputs):
        target = view.updates.get(position)
        if target is None:
            lines.append(f"output {refs[id(out)]}")
        else:
            target_ref = refs.get(id(target)) or display_name(target.name or "<unnamed shared>")
            lines.append(f"update {target_ref} <- {refs[id(out)]}")
    return lines


def compare(outputs, mode=None, style="flat") -> str:
    """A graph before and after optimization, side by side: the left column as built, the right as compiled.

    `outputs` is a Variable or a list of them; `mode` is what `sg.function` accepts (default "fast_run").

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> print(compare(sg.exp(x)))
        before                   | after
        input x: float64[?]      | input x: float64[?]
        %0: float64[?] = exp(x)  | %0: float64[?] = exp(x)
        output %0                | output %0
    """
    from ..rewrite import optimize_graph

    if style not in STYLES:
        raise ValueError(f"compare: style must be one of {STYLES}, got {style!r}")
    view = view_of(outputs, "compare")
    optimized, _ = optimize_graph(view.outputs, mode)
    before = debugprint(view.outputs, style=style).splitlines()
    after = debugprint(optimized, style=style).splitlines()
    left = ["before"] + before
    right = ["after"] + after
    width = max(len(line) for line in left) + 2
    rows = itertools.zip_longest(left, right, fillvalue="")
    return "\n".join(f"{a:<{width}}| {b}".rstrip() for a, b in rows)
