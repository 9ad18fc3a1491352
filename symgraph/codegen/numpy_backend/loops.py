"""Lowering of loops and branches: one Python `for` loop per scan, with the step written inline as generated
code, and one `if`/`else` per lazy branch.

A scan's states live in preallocated buffers (the initial entries, then one per step) that the step reads
its taps from and writes its next values into; a state whose history nothing reads is one variable; plain
outputs are buffers allocated at the first step, when their shape is known. Nothing is compiled per
step. Each line of a step names the step's node in errors.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> total, _ = sg.scan(lambda v, acc: acc + v, sequences=x, outputs_info=sg.constant(0.0))
    >>> "for s0_t in range(s0_n):" in sg.function([x], total).source
    True
"""
import numpy as np

from ...graph.traversal import toposort
from ...ops.control import LazyIfElse
from ..memory import computes_in_place
from ...ops.loops import Scan, check_state_shape, checked_steps, loop_label
from . import BACKEND


class InnerLine:
    """What a line of a loop's (or branch's) body computes, for error messages: the inner node and its block."""

    __slots__ = ("node", "block")

    def __init__(self, node, block):
        self.node = node
        self.block = block

    def __str__(self):
        site = f", created at {self.node.site}" if self.node.site is not None else ""
        operands = ", ".join(str(v.type) for v in self.node.inputs)
        return f"node {self.node.op}({operands}) of {self.block}{site}"


def inline_body(inputs, input_names, outputs, namespace, prefix, block, overwritable=None):
    """(lines, result names) computing `outputs` from variables named `input_names`, for a nested block."""
    from ..linker import _Source, _write_body

    source = _Source()
    results, _, _ = _write_body(source, "", list(inputs), list(input_names), list(outputs), namespace, prefix=prefix,
                                overwritable=overwritable)
    lines = []
    for number, text in enumerate(source.lines, start=1):
        node = source.line_nodes.get(number)
        description = source.line_descriptions.get(number)
        if description is None and node is not None:
            description = InnerLine(node, block)
        lines.append((text, description) if description is not None else text)
    return lines, results


def indented(lines, depth=1):
    pad = "    " * depth
    return [(pad + line[0], line[1]) if isinstance(line, tuple) else pad + line for line in lines]


class ScanRuntime:
    """The checks and allocations a scan's generated loop calls (bound once per node)."""

    __slots__ = ("op",)

    def __init__(self, op):
        self.op = op

    def steps(self, n_steps, sequences):
        return checked_steps(self.op, n_steps, sequences)

    def first_step(self, results, initial_shapes):
        for state, (value, shape) in enumerate(zip(results, initial_shapes)):
            check_state_shape(self.op, state, value, shape)

    def plain_buffer(self, value, length, dtype):
        return np.empty((length,) + np.shape(value), dtype=dtype)

    def empty_plain(self, position):
        out = self.op.plain_outputs()[position]
        shape = tuple(0 if s is None else s for s in out.type.shape)
        return np.empty((0,) + shape, dtype=out.dtype)

    @staticmethod
    def grow(buffer, length):
        bigger = np.empty((length,) + buffer.shape[1:], dtype=buffer.dtype)
        bigger[: len(buffer)] = buffer
        return bigger

    def __repr__(self):
        return f"<runtime of {loop_label(self.op)}>"


def _updated_in_place(op, buffered):
    """({step node: positions}, states) for the states a step updates element-wise from their own last value
    (an accumulator `acc + g`): the node may write into the state's array, which the loop owns (it copies
    the initial value) and which nothing else reads."""
    readers = {}
    for node in toposort(list(op.inner_outputs), stop_at=list(op.inner_inputs)):
        for position, var in enumerate(node.inputs):
            readers.setdefault(id(var), []).append((node, position))
    outputs = {id(v) for v in op.inner_outputs}
    plan, states = {}, set()
    for state, (placeholders, nxt) in enumerate(zip(op.tap_placeholders(), op.next_states())):
        if buffered[state] or id(placeholders[0]) in outputs:
            continue
        placeholder = placeholders[0]  # an unbuffered state has depth 1: one tap
        uses = readers.get(id(placeholder), [])
        if len(uses) == 1 and uses[0][0].outputs[0] is nxt and computes_in_place(uses[0][0]):
            plan.setdefault(uses[0][0], []).append(uses[0][1])
            states.add(state)
    return plan, states


def _read_inputs(op):
    """Ids of the step's placeholders that its outputs read."""
    read = {id(v) for v in op.inner_outputs}
    for node in toposort(list(op.inner_outputs), stop_at=list(op.inner_inputs)):
        read.update(id(v) for v in node.inputs)
    return read


def _dtype_name(dtype, namespace):
    return namespace.bind(np.dtype(dtype), f"dtype_{np.dtype(dtype).name}")


@BACKEND.statements(Scan)
def _lower_scan(node, input_names, output_names, namespace):
    op = node.op
    p = namespace.block_prefix()
    runtime = namespace.bind(ScanRuntime(op), "scan")
    n_name = input_names[0]
    sequences = input_names[1: 1 + op.n_sequences]
    initial = input_names[1 + op.n_sequences: 1 + op.n_sequences + op.n_states]
    captured = input_names[1 + op.n_sequences + op.n_states:]
    depths = [op.depth(i) for i in range(op.n_states)]
    steps, t, capacity = f"{p}n", f"{p}t", f"{p}cap"
    buffered = [not op.last_only[i] or depths[i] != 1 for i in range(op.n_states)]
    lines = [f"# {loop_label(op)}: {op.n_sequences} sequences, {op.n_states} states, {op.n_plain} plain outputs",
             f"{steps} = {runtime}.steps({n_name}, ({', '.join(sequences)}{',' if len(sequences) == 1 else ''}))"]
    length = steps
    if op.until:
        lines.append(f"{capacity} = min({steps}, 16)")
        length = capacity
    in_place, owned_states = _updated_in_place(op, buffered)
    for i, init in enumerate(initial):
        if buffered[i]:
            lines.append(f"{p}b{i} = np.empty(({depths[i]} + {length},) + {init}.shape[1:], dtype={init}.dtype)")
            lines.append(f"{p}b{i}[:{depths[i]}] = {init}")
        else:
            # a state updated in place starts as a copy the loop owns
            lines.append(f"{p}h{i} = {init}[0, ...]" + (".copy()" if i in owned_states else ""))
    for k in range(op.n_plain):
        lines.append(f"{p}y{k} = None")

    body = []
    if op.until:
        body.append(f"if {t} == {capacity}:")
        body.append(f"    {capacity} = min(2 * {capacity}, {steps})")
        for i in range(op.n_states):
            if buffered[i]:
                body.append(f"    {p}b{i} = {runtime}.grow({p}b{i}, {depths[i]} + {capacity})")
        for k in range(op.n_plain):
            body.append(f"    {p}y{k} = {runtime}.grow({p}y{k}, {capacity})")
    inner_names = []
    read = _read_inputs(op)
    for j, (sequence, placeholder) in enumerate(zip(sequences, op.sequence_placeholders())):
        name = f"{p}x{j}"
        if id(placeholder) in read:  # a sequence kept only for its length check is not indexed
            body.append(f"{name} = {sequence}[{t}, ...]")
        inner_names.append(name)
    for i, taps in enumerate(op.taps):
        for tap in taps:
            inner_names.append(f"{p}b{i}[{t} + {depths[i] - tap}, ...]" if buffered[i] else f"{p}h{i}")
    # a tap is read through its own name, so that the body sees an array, never an expression
    tap_names = []
    position = op.n_sequences
    for i, taps in enumerate(op.taps):
        for tap in taps:
            expression = inner_names[position]
            if buffered[i]:
                name = f"{p}r{i}_{tap}"
                body.append(f"{name} = {expression}")
                inner_names[position] = name
            tap_names.append(inner_names[position])
            position += 1
    inner_names.extend(captured)
    block = f"the step of {loop_label(op)}"
    step_lines, results = inline_body(op.inner_inputs, inner_names, op.inner_outputs, namespace, f"{p}v", block,
                                      in_place)
    body.extend(step_lines)
    state_results = results[: op.n_states]
    plain_results = results[op.n_states: op.n_states + op.n_plain]
    body.append(f"if {t} == 0:")
    shapes = ", ".join(f"{init}.shape[1:]" for init in initial)
    if op.n_states:
        body.append(f"    {runtime}.first_step(({', '.join(state_results)},), ({shapes},))")
    for k, (result, out) in enumerate(zip(plain_results, op.plain_outputs())):
        body.append(f"    {p}y{k} = {runtime}.plain_buffer({result}, {length}, {_dtype_name(out.dtype, namespace)})")
    if not op.n_states and not op.n_plain:
        body.append("    pass")
    for i, result in enumerate(state_results):
        if buffered[i]:
            body.append(f"{p}b{i}[{t} + {depths[i]}] = {result}")
        else:
            body.append(f"{p}h{i} = {result}")
    for k, result in enumerate(plain_results):
        body.append(f"{p}y{k}[{t}] = {result}")
    if op.until:
        body.append(f"if {results[-1]}:")
        body.append(f"    {steps} = {t} + 1")
        body.append("    break")
    lines.append(f"for {t} in range({steps}):")
    lines.extend(indented(body))
    for i, out_name in enumerate(output_names[: op.n_states]):
        if not buffered[i]:
            lines.append(f"{out_name} = np.expand_dims({p}h{i}, 0)")
        elif op.until:
            lines.append(f"{out_name} = {p}b{i}[:{depths[i]} + {steps}]")
        else:
            lines.append(f"{out_name} = {p}b{i}")
    for k, out_name in enumerate(output_names[op.n_states:]):
        lines.append(f"if {p}y{k} is None:")
        lines.append(f"    {p}y{k} = {runtime}.empty_plain({k})")
        lines.append(f"{out_name} = {p}y{k}[:{steps}]" if op.until else f"{out_name} = {p}y{k}")
    return lines



@BACKEND.statements(LazyIfElse)
def _lower_lazy_ifelse(node, input_names, output_names, namespace):
    op = node.op
    condition, captured = input_names[0], input_names[1:]
    n_then = len(op.then_inputs)
    lines = [f"if {condition}:"]
    for which, inputs, outputs, names in (("then", op.then_inputs, op.then_outputs, captured[:n_then]),
                                          ("else", op.else_inputs, op.else_outputs, captured[n_then:])):
        if which == "else":
            lines.append("else:")
        body, results = inline_body(inputs, names, outputs, namespace, f"{namespace.block_prefix()}v",
                                    f"the {which} branch of ifelse")
        body += [f"{out} = {result}" for out, result in zip(output_names, results)]
        lines.extend(indented(body))
    return lines
