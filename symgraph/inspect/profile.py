"""`f.profile(...)`: where a compiled function spends its time, node by node (or fused kernel by kernel).

Each scheduled node is compiled alone with the same lowering the function uses, then the nodes are run one
after the other on the real values, `repeat` times, timing each call. This adds a little overhead per
node compared to the whole generated function, whose time per call is reported beside the sum. No update
is applied and no shared value changes.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], sg.exp(x) * 2)
    >>> report = f.profile([1.0, 2.0], repeat=3)
    >>> len(report.rows) == len(f.graph.nodes), report.rows[0][0].startswith("#0 ")
    (True, True)
"""
import os
import time

from ..codegen.linker import link, node_description, with_location
from ..graph.basic import Constant
from ..graph.traversal import toposort
from ..ops.loops import Scan
from .common import kernel_label


class Profile:
    """Seconds per call of each node: `rows` is a list of `(node_label, seconds, share)`, slowest first.

    `inner_rows` maps the label of each loop node to rows of the same form for the nodes of its step, their
    seconds summed over the steps of a call and their share that of the loop's measured time.

    `total` is the sum of the rows' seconds, `call_seconds` the time of one call of the whole generated
    function on the same values, `repeat` how many runs were averaged. `str()` is a table.
    """

    def __init__(self, rows, call_seconds, repeat, inner_rows=None):
        self.rows = rows
        self.inner_rows = inner_rows or {}
        self.total = sum(seconds for _, seconds, _ in rows)
        self.call_seconds = call_seconds
        self.repeat = repeat

    def __str__(self):
        width = max([len(label) for label, _, _ in self.rows] + [4])
        lines = [f"{'share':>7}  {'time/call':>11}  node", f"{'-' * 7}  {'-' * 11}  {'-' * width}"]
        for label, seconds, share in self.rows:
            lines.append(f"{share * 100:6.1f}%  {_microseconds(seconds)}  {label}")
            for inner_label, inner_seconds, inner_share in self.inner_rows.get(label, ()):
                lines.append(f"{'':7}  {_microseconds(inner_seconds)}    {inner_label} ({inner_share * 100:.1f}% of the loop)")
        lines.append(f"sum of nodes: {_microseconds(self.total).strip()} per call (node by node, "
                     f"{self.repeat} runs); whole function: {_microseconds(self.call_seconds).strip()} per call")
        return "\n".join(lines)

    def __repr__(self):
        return f"<Profile {len(self.rows)} nodes, {self.total * 1e6:.1f} µs per call>"


def _microseconds(seconds):
    return f"{seconds * 1e6:9.1f} µs"


def node_label(position, node) -> str:
    """`#position op` plus, when known, where user code created the node: `#2 matmul (mlp.py:12)`."""
    label = f"#{position} {kernel_label(node.op)}"
    if node.site is not None:
        label += f" ({os.path.basename(node.site.filename)}:{node.site.lineno})"
    return label


def _single_node_program(node):
    """The node compiled alone, with its non-constant inputs (each once) as parameters."""
    parameters = [v for v in dict.fromkeys(node.inputs) if not isinstance(v, Constant)]
    return parameters, link(parameters, list(node.outputs), name=f"profile_{node.op.name}")


def profile_function(f, args, kwargs, repeat):
    """Time compiled function `f` on `args`/`kwargs` node by node over `repeat` runs (see `Function.profile`).

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> f = sg.function([x], sg.exp(x) + 1)
        >>> rows = profile_function(f, ([0.0],), {}, 2).rows
        >>> round(sum(share for _, _, share in rows), 6)
        1.0
    """
    if not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"profile: repeat must be a positive int, got {repeat!r}")
    values = f._bind_arguments(args, kwargs)
    if not f.trust_input:
        values = f._check(values)
    graph = f.graph
    leaf_values = values + [shared.container.value for shared in f._shared]
    environment = dict(zip(map(id, graph.inputs), leaf_values))
    steps = [(node, *_single_node_program(node)) for node in graph.nodes]
    seconds = [0.0] * len(steps)
    environment_of_node = {}
    for _ in range(repeat):
        values_now = dict(environment)
        for position, (node, parameters, program) in enumerate(steps):
            environment_of_node[position] = values_now
            arguments = [values_now[id(v)] for v in parameters]
            start = time.perf_counter()
            try:
                results = program.callable(*arguments)
            except Exception as exc:  # named as a call of the function names it
                raise with_location(exc, f"while computing node {node_description(node)}") from exc
            seconds[position] += time.perf_counter() - start
            values_now.update(zip(map(id, node.outputs), results))
    inner_rows = {}
    for position, (node, parameters, _) in enumerate(steps):
        if isinstance(node.op, Scan):
            arguments = [environment_of_node[position][id(v)] for v in parameters]
            inner_rows[node_label(position, node)] = _step_rows(node, parameters, arguments, repeat,
                                                               seconds[position] / repeat)
    whole = link(graph.inputs, graph.outputs, name="profile_whole")
    start = time.perf_counter()
    for _ in range(repeat):
        whole.callable(*leaf_values)
    call_seconds = (time.perf_counter() - start) / repeat
    per_call = [s / repeat for s in seconds]
    total = sum(per_call) or 1.0
    rows = [(node_label(i, node), per_call[i], per_call[i] / total) for i, (node, _, _) in enumerate(steps)]
    rows.sort(key=lambda row: -row[1])
    return Profile(rows, call_seconds, repeat, inner_rows)


class _TimedStep:
    """A loop's step run node by node (each compiled alone), adding up the seconds of each inner node."""

    def __init__(self, op):
        self.inputs = list(op.inner_inputs)
        self.outputs = list(op.inner_outputs)
        self.nodes = [(node, *_single_node_program(node)) for node in toposort(self.outputs, stop_at=self.inputs)]
        self.seconds = [0.0] * len(self.nodes)

    def __call__(self, *values):
        known = dict(zip(map(id, self.inputs), values))
        for position, (node, parameters, program) in enumerate(self.nodes):
            arguments = [known[id(v)] for v in parameters]
            start = time.perf_counter()
            results = program.callable(*arguments)
            self.seconds[position] += time.perf_counter() - start
            known.update(zip(map(id, node.outputs), results))
        return tuple(known[id(v)] if id(v) in known else v.data for v in self.outputs)


def _step_rows(node, parameters, arguments, repeat, loop_seconds):
    """Rows for the nodes of a loop's step: seconds per call summed over its steps, share of `loop_seconds`."""
    timed = _TimedStep(node.op)
    values = dict(zip(map(id, parameters), arguments))
    inputs = [values[id(v)] if id(v) in values else v.data for v in node.inputs]
    for _ in range(repeat):
        node.op.run(timed, *inputs)
    rows = []
    for position, (inner, _, _) in enumerate(timed.nodes):
        seconds = timed.seconds[position] / repeat
        rows.append((f"step {node_label(position, inner)}", seconds, seconds / (loop_seconds or 1.0)))
    rows.sort(key=lambda row: -row[1])
    return rows
