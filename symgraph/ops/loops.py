"""Loops: the `Scan` op and `sg.scan`, `sg.map`, `sg.foldl`, `sg.foldr`, `sg.reduce`, `sg.until`, `sg.while_loop`.

A scan runs a step graph once per step. Its node holds the step as an inner graph over placeholders: one per
sequence (the sequence's entry at step t), one per tap of each recurrent state (the state d steps back), and
one per captured value (anything from outside the step that the step reads). Whatever the step computes
from captured values alone is computed once, outside the loop (hoisted when the scan is built). A draw from
a shared generator state is not: `sg.scan` makes that state a recurrent state, so each step draws anew.

The node's outputs are, per recurrent state, its whole buffer (the k initial entries, then one per step)
and, per plain output, the stacked per-step values. The reverse-mode rule is a reverse scan
(backpropagation through time) and the forward-mode rule a tangent scan, both built with `build_scan`, so
gradients of loops are loops that can be optimized, compiled and differentiated again.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> partial_sums, _ = sg.scan(lambda v, total: total + v, sequences=x, outputs_info=sg.constant(0.0))
    >>> partial_sums.eval({x: [1.0, 2.0, 3.0]})
    array([1., 3., 6.])
"""
import numpy as np

from ..errors import ScanError
from ..graph.basic import Constant, SharedVariable, Variable, as_variable
from ..graph.op import Op
from ..graph.replace import clone_replace
from ..graph.traversal import toposort
from ..graph.type import TensorType
from .elemwise import cast, logical_not
from .random import next_generator_states, random_state_updates
from .shape import expand_dims
from .shape_of import shape_of

__all__ = ["scan", "map", "foldl", "foldr", "reduce", "until", "while_loop"]


class Scan(Op):
    """A loop over a step graph (see the module docstring for the layout of inputs and outputs).

    `inner_inputs`: placeholders, `n_sequences` sequence entries, then the taps of each state (`taps`: per
    state, the positive distances d it reads, state[t - d]), then captured values. `inner_outputs`: the next
    value of each state, the `n_plain` plain outputs, then the stop condition when `until`. `exact_length`:
    the sequences must all have exactly n_steps entries (n_steps was taken from them), else at least n_steps.
    `last_only`: per state, whether only its final entry is kept (set by the memory plan when nothing reads
    the history). `labels`: the sequences' names for error messages. `truncate`: how many steps reverse
    mode backpropagates through (-1: all).
    """

    __props__ = ("inner_inputs", "inner_outputs", "n_sequences", "taps", "n_plain", "until", "exact_length",
                 "last_only", "labels", "loop_name", "truncate")

    def __init__(self, inner_inputs, inner_outputs, n_sequences, taps, n_plain, until, exact_length, last_only,
                 labels, loop_name, truncate=-1):
        self.inner_inputs = tuple(inner_inputs)
        self.inner_outputs = tuple(inner_outputs)
        self.n_sequences = n_sequences
        self.taps = tuple(tuple(t) for t in taps)
        self.n_plain = n_plain
        self.until = until
        self.exact_length = exact_length
        self.last_only = tuple(last_only)
        self.labels = tuple(labels)
        self.loop_name = loop_name
        self.truncate = truncate

    @property
    def name(self):
        return "scan"

    def __str__(self):
        return f"scan{{{self.loop_name}}}" if self.loop_name else "scan"

    __repr__ = __str__

    # ------------------------------------------------------------------ layout
    @property
    def n_states(self):
        return len(self.taps)

    def depth(self, state):
        """How many initial entries state `state` has: its largest tap."""
        return max(self.taps[state])

    def sequence_placeholders(self):
        return self.inner_inputs[: self.n_sequences]

    def tap_placeholders(self):
        """Per state, its tap placeholders in `taps` order."""
        result, position = [], self.n_sequences
        for taps in self.taps:
            result.append(self.inner_inputs[position: position + len(taps)])
            position += len(taps)
        return result

    def captured_placeholders(self):
        return self.inner_inputs[self.n_sequences + sum(len(t) for t in self.taps):]

    def next_states(self):
        return self.inner_outputs[: self.n_states]

    def plain_outputs(self):
        return self.inner_outputs[self.n_states: self.n_states + self.n_plain]

    @property
    def inner_graphs(self):
        """The step graph, for the printers."""
        return (("step", self.inner_outputs),)

    def condition(self):
        return self.inner_outputs[-1] if self.until else None

    def split_outer_inputs(self, inputs):
        """(n_steps, sequences, initial buffers, captured values) of a node's inputs."""
        sequences = inputs[1: 1 + self.n_sequences]
        initial = inputs[1 + self.n_sequences: 1 + self.n_sequences + self.n_states]
        captured = inputs[1 + self.n_sequences + self.n_states:]
        return inputs[0], list(sequences), list(initial), list(captured)

    def replaced(self, **changes):
        """This op with some parameters changed (e.g. `inner_outputs`, `last_only`)."""
        props = dict(zip(self.__props__, self._props()))
        props.update(changes)
        return Scan(**props)

    def generator_updates(self, node):
        """(shared generator state, its value after the last step) for each state of `node` that threads the
        generator of a draw in the step from one step to the next (`sg.scan` makes one per RandomStream draw)."""
        _, _, initial, _ = self.split_outer_inputs(node.inputs)
        threaded = {id(v) for v in next_generator_states(self.next_states())}
        found = []
        for index, (init, nxt) in enumerate(zip(initial, self.next_states())):
            if id(nxt) in threaded:
                # The initial buffer is the state with a leading axis (`expand_dims`).
                source = init.owner.inputs[0] if init.owner is not None and len(init.owner.inputs) == 1 else init
                found.append((source, node.outputs[index][-1]))
        return found

    # ------------------------------------------------------------------ types
    def output_types(self, n_steps, *operand_types):
        steps = None if self.until else _static_steps(n_steps)
        initial = operand_types[self.n_sequences: self.n_sequences + self.n_states]
        types = []
        for state, (init, nxt) in enumerate(zip(initial, self.next_states())):
            depth = self.depth(state)
            if self.last_only[state]:
                types.append(TensorType(init.dtype, (1,) + init.shape[1:]))
            else:
                length = None if steps is None else depth + steps
                types.append(TensorType(init.dtype, (length,) + _merged_shape(init.shape[1:], nxt.type.shape)))
        for out in self.plain_outputs():
            types.append(TensorType(out.dtype, (steps,) + out.type.shape))
        return types

    # ------------------------------------------------------------------ reference implementation
    def step_program(self):
        """The step graph compiled as a plain function (cached on the op, outside its parameters)."""
        program = self.__dict__.get("_step_program")
        if program is None:
            from ..codegen.linker import link

            program = link(list(self.inner_inputs), list(self.inner_outputs), name="scan_step")
            self.__dict__["_step_program"] = program
        return program

    def perform(self, n_steps, *values):
        return self.run(self.step_program().callable, n_steps, *values)

    def run(self, step, n_steps, *values):
        """The loop with `step` (a callable from the step's input values to its output values) as its body;
        the profiler passes a step that times each inner node."""
        steps = checked_steps(self, n_steps, values[: self.n_sequences])
        sequences = values[: self.n_sequences]
        initial = values[self.n_sequences: self.n_sequences + self.n_states]
        captured = values[self.n_sequences + self.n_states:]
        histories = [list(init) for init in initial]
        plain = [[] for _ in range(self.n_plain)]
        for t in range(steps):
            args = [s[t] for s in sequences]
            for history, taps in zip(histories, self.taps):
                args.extend(history[len(history) - tap] for tap in taps)
            results = step(*args, *captured)
            for state, (history, init) in enumerate(zip(histories, initial)):
                check_state_shape(self, state, results[state], init.shape[1:])
                history.append(np.asarray(results[state], dtype=init.dtype))
            for collected, value in zip(plain, results[self.n_states:]):
                collected.append(np.asarray(value))
            if self.until and results[-1]:
                break
        outputs = []
        for state, (history, init) in enumerate(zip(histories, initial)):
            if self.last_only[state]:
                history = history[-1:]
            outputs.append(np.stack(history) if history else np.empty((0,) + init.shape[1:], dtype=init.dtype))
        for collected, out in zip(plain, self.plain_outputs()):
            outputs.append(stacked(collected, out))
        return tuple(outputs) if len(outputs) != 1 else outputs[0]

    # ------------------------------------------------------------------ derivatives
    def pullback(self, inputs, outputs, output_grads):
        from ..autodiff.loops import scan_pullback

        return scan_pullback(self, inputs, outputs, output_grads)

    def pushforward(self, inputs, outputs, tangents):
        from ..autodiff.loops import scan_pushforward

        return scan_pushforward(self, inputs, outputs, tangents)

    @property
    def nout(self):
        return self.n_states + self.n_plain


def _static_steps(n_steps):
    if isinstance(n_steps, Constant):
        return int(n_steps.data)
    return None


def _merged_shape(a, b):
    return tuple(x if x is not None else y for x, y in zip(a, b))


def loop_label(op):
    return f"scan {op.loop_name!r}" if op.loop_name else "scan"


def checked_steps(op, n_steps, sequences):
    """The number of steps as an int, after checking it against the sequences' lengths."""
    steps = int(n_steps)
    if steps < 0:
        raise ScanError(f"{loop_label(op)}: n_steps is {steps}; it must be >= 0")
    for label, sequence in zip(op.labels, sequences):
        length = len(sequence)
        if op.exact_length and length != steps:
            raise ScanError(f"{loop_label(op)}: sequences {op.labels[0]} and {label} have different lengths "
                            f"({steps} and {length} steps)")
        if length < steps:
            raise ScanError(f"{loop_label(op)}: sequence {label} has {length} entries, fewer than n_steps={steps}")
    return steps


def check_state_shape(op, state, value, expected):
    if np.shape(value) != tuple(expected):
        raise ScanError(f"{loop_label(op)}: the step returned shape {np.shape(value)} for recurrent output {state}, "
                        f"whose initial value has shape {tuple(expected)}")


def stacked(values, out):
    """Per-step values stacked along a new leading axis (an empty array of the right shape for no steps)."""
    if values:
        return np.stack(values)
    shape = tuple(0 if s is None else s for s in out.type.shape)
    return np.zeros((0,) + shape, dtype=out.dtype)


# ---------------------------------------------------------------------- building a scan
def _placeholder(like_type, name):
    return Variable(like_type, None, 0, name)


def depends_on(outputs, placeholders):
    """Ids of the variables among the graph of `outputs` that depend on a placeholder, and its nodes."""
    dependent = {id(p) for p in placeholders}
    nodes = toposort(outputs, stop_at=placeholders)
    for node in nodes:
        if any(id(v) in dependent for v in node.inputs):
            dependent.update(id(v) for v in node.outputs)
    return dependent, nodes


def capture(outputs, placeholders):
    """The values a step graph reads from outside: every variable that feeds the step's placeholder-dependent
    part (or is an output) without depending on a placeholder itself, except small constants.

    Returns (captured outer variables, inner outputs rebuilt over new placeholders, those placeholders).
    """
    dependent, nodes = depends_on(outputs, placeholders)
    captured, seen = [], set()

    def note(var):
        if id(var) in dependent or id(var) in seen or (isinstance(var, Constant) and var.data.size <= 1):
            return
        seen.add(id(var))
        captured.append(var)

    for node in nodes:
        if any(id(v) in dependent for v in node.outputs):
            for var in node.inputs:
                note(var)
    for out in outputs:
        note(out)
    inner = [_placeholder(v.type, v.name or f"captured{i}") for i, v in enumerate(captured)]
    rebuilt = clone_replace(list(outputs), dict(zip(captured, inner)))
    return captured, rebuilt, inner


def _frontier(outputs, sequence_inputs, state_inputs):
    """The step values computed from sequence entries (and outside values) alone that a state-dependent node
    or the step's outputs read, in first-use order."""
    _, nodes = depends_on(outputs, sequence_inputs + state_inputs)
    from_sequences, _ = depends_on(outputs, sequence_inputs)
    from_states, _ = depends_on(outputs, state_inputs)
    leaves = {id(p) for p in sequence_inputs + state_inputs}
    found, seen = [], set()

    def note(var):
        if (id(var) in from_sequences and id(var) not in from_states and id(var) not in leaves
                and id(var) not in seen):
            seen.add(id(var))
            found.append(var)

    for node in nodes:
        if any(id(v) in from_states for v in node.outputs):
            for var in node.inputs:
                note(var)
    for out in outputs:
        note(out)
    return found


def push_out_sequence_work(outputs, sequences, sequence_inputs, state_inputs, labels, n_steps, exact_length):
    """Compute what a step derives from sequence entries alone for all steps at once, before the loop (one
    batched product `xs @ w` instead of one `x_t @ w` per step): those values become new sequences.

    Only values whose every operation has a batching rule move. Returns the rebuilt (outputs, sequences,
    sequence placeholders, labels).
    """
    from ..autodiff.vectorize import PerSliceLoop, vectorize

    frontier = _frontier(outputs, sequence_inputs, state_inputs)
    if not frontier:
        return outputs, sequences, sequence_inputs, labels
    moved, origin = {}, {}
    for var in frontier:
        # One sequence at a time: values of several would broadcast their lengths before the loop checks them.
        read = [j for j, p in enumerate(sequence_inputs) if id(p) in _reads_any([var], [p])]
        if len(read) != 1:
            continue
        j = read[0]
        whole = sequences[j] if exact_length else sequences[j][:n_steps]
        [batched] = vectorize([var], {sequence_inputs[j]: whole}, n_steps)
        if any(isinstance(n.op, PerSliceLoop) for n in toposort([batched], stop_at=[whole])):
            continue
        moved[var], origin[var] = batched, j
    if not moved:
        return outputs, sequences, sequence_inputs, labels
    new_inputs = [_placeholder(var.type, f"{var.name or 'precomputed'}[t]") for var in moved]
    outputs = clone_replace(list(outputs), dict(zip(moved, new_inputs)))
    still_read = _reads_any(outputs, sequence_inputs)
    kept = [j for j, p in enumerate(sequence_inputs) if exact_length or id(p) in still_read]
    return (outputs, [sequences[j] for j in kept] + list(moved.values()),
            [sequence_inputs[j] for j in kept] + new_inputs,
            [labels[j] for j in kept] + [labels[origin[var]] for var in moved])


def _reads_any(outputs, placeholders):
    wanted = {id(p) for p in placeholders}
    found = {id(v) for v in outputs if id(v) in wanted}
    for node in toposort(outputs, stop_at=placeholders):
        found.update(id(v) for v in node.inputs if id(v) in wanted)
    return found


def build_scan(step, sequences, states, n_steps, exact_length, labels=None, name=None, truncate=-1):
    """Build a Scan node; returns (one buffer per state, the plain outputs, one buffer per updated shared variable).

    `sequences`: outer variables iterated over their leading axis. `states`: (initial buffer, taps) pairs,
    the buffer holding max(taps) entries along a leading axis. `step(sequence_entries, state_taps)` gets
    one placeholder per sequence and, per state, one per tap (in `taps` order), and returns (next states,
    plain outputs, stop condition or None, [(shared variable, new value)]). Each updated shared variable
    becomes a state: inside the loop it reads the previous step's value. `n_steps`: a symbolic int scalar.
    """
    labels = list(labels) if labels is not None else [seq.name or f"sequence {i}" for i, seq in enumerate(sequences)]
    sequence_inputs = [_placeholder(TensorType(s.dtype, s.type.shape[1:]), f"{labels[i]}[t]")
                       for i, s in enumerate(sequences)]
    tap_inputs = []
    for index, (init, taps) in enumerate(states):
        label = init.name or f"state{index}"
        tap_inputs.append([_placeholder(TensorType(init.dtype, init.type.shape[1:]), f"{label}[t-{d}]") for d in taps])
    next_states, plain, condition, shared_updates = step(sequence_inputs, tap_inputs)
    next_states = [_fit_state(nxt, init, index, name) for index, (nxt, (init, _)) in enumerate(zip(next_states, states))]
    shared_reads = [_placeholder(TensorType(target.dtype, target.type.shape), f"{target.name or 'shared'}[t-1]")
                    for target, _ in shared_updates]
    all_states = list(states) + [(expand_dims(target, 0), (1,)) for target, _ in shared_updates]
    outputs = next_states + [_fit_state(expr, init, len(states) + i, name)
                             for i, ((_, expr), (init, _)) in enumerate(zip(shared_updates, all_states[len(states):]))]
    outputs += list(plain) + ([_as_condition(condition, name)] if condition is not None else [])
    if shared_updates:
        outputs = clone_replace(outputs, {target: read for (target, _), read in zip(shared_updates, shared_reads)})
    state_inputs = [p for taps in tap_inputs for p in taps] + shared_reads
    if condition is None:
        outputs, sequences, sequence_inputs, labels = push_out_sequence_work(
            outputs, sequences, sequence_inputs, state_inputs, labels, n_steps, exact_length)
    placeholders = sequence_inputs + state_inputs
    captured, inner_outputs, captured_inputs = capture(outputs, placeholders)
    op = Scan(placeholders + captured_inputs, inner_outputs, len(sequences), [taps for _, taps in all_states],
              len(plain), condition is not None, exact_length, [False] * len(all_states), labels, name, truncate)
    node_inputs = [cast(as_variable(n_steps), "int64")] + list(sequences) + [init for init, _ in all_states] + captured
    results = op(*node_inputs) if op.nout != 1 else [op(*node_inputs)]
    n_own, n_shared = len(states), len(shared_updates)
    return results[:n_own], results[n_own + n_shared:], results[n_own: n_own + n_shared]


def _fit_state(value, init, index, name):
    value = as_variable(value)
    where = f"{f'scan {name!r}' if name else 'scan'}"
    if value.ndim != init.ndim - 1:
        raise ScanError(f"{where}: the step returns a value of type {value.type} for recurrent output {index}, "
                        f"whose initial value has type {TensorType(init.dtype, init.type.shape[1:])} (rank "
                        f"{init.ndim - 1})")
    if value.dtype != init.dtype:
        if not np.can_cast(value.dtype, init.dtype, "safe"):
            raise ScanError(f"{where}: the step returns dtype {value.dtype} for recurrent output {index}, whose "
                            f"initial value has dtype {init.dtype}; cast one of them with sg.cast")
        value = cast(value, init.dtype)
    return value


def _as_condition(condition, name):
    condition = as_variable(condition)
    if condition.ndim != 0:
        raise ScanError(f"{f'scan {name!r}' if name else 'scan'}: the stop condition must be a 0-d value, got "
                        f"type {condition.type}")
    return condition if condition.dtype.kind == "b" else cast(condition, "bool")


# ---------------------------------------------------------------------- the public interface
class until:
    """The stop condition of a scan step (Theano's `scan_module.until`): return it from the step function
    after the outputs, and the loop stops after the first step where `condition` holds.

    Example:
        >>> import symgraph as sg
        >>> def double(x):
        ...     y = 2 * x
        ...     return y, sg.until(y > 100)
        >>> powers, _ = sg.scan(double, outputs_info=sg.constant(1.0), n_steps=1000)
        >>> powers.eval()
        array([  2.,   4.,   8.,  16.,  32.,  64., 128.])
    """

    def __init__(self, condition):
        self.condition = as_variable(condition)


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _sequence_spec(entry, position):
    if isinstance(entry, dict):
        unknown = set(entry) - {"input", "taps"}
        if unknown or "input" not in entry:
            raise TypeError(f"sg.scan: sequence {position} must be a variable or dict(input=..., taps=[...]), "
                            f"got keys {sorted(entry)}")
        variable, taps = as_variable(entry["input"]), list(entry.get("taps", [0]))
    else:
        variable, taps = as_variable(entry), [0]
    if variable.ndim == 0:
        raise ScanError(f"sg.scan: sequence {position} ({variable!r}) is 0-d; sequences are iterated over their "
                        f"leading axis")
    if not taps or any(not isinstance(t, (int, np.integer)) for t in taps):
        raise TypeError(f"sg.scan: the taps of sequence {position} must be a non-empty list of ints, got {taps!r}")
    return variable, [int(t) for t in taps]


def _state_spec(entry, position):
    """(initial value or None, taps as negative ints) of one entry of outputs_info."""
    if entry is None:
        return None, []
    if isinstance(entry, dict):
        unknown = set(entry) - {"initial", "taps"}
        if unknown:
            raise TypeError(f"sg.scan: outputs_info entry {position} has unknown keys {sorted(unknown)}")
        initial = entry.get("initial")
        if initial is None:
            return None, []
        taps = list(entry.get("taps", [-1]))
        if not taps or any(not isinstance(t, (int, np.integer)) or t >= 0 for t in taps):
            raise ScanError(f"sg.scan: the taps of outputs_info entry {position} must be negative ints, got {taps!r}")
        return as_variable(initial), [int(t) for t in taps]
    return as_variable(entry), [-1]


def _initial_buffer(initial, taps, position):
    """The initial buffer of a state: its value with a leading axis of depth max(-taps)."""
    depth = max(-t for t in taps)
    if taps == [-1]:
        return expand_dims(initial, 0)
    if initial.ndim == 0:
        raise ScanError(f"sg.scan: outputs_info entry {position} has taps {taps}, so its initial value needs a "
                        f"leading axis of {depth} past values; got a 0-d value")
    return initial[-depth:]


def _step_results(result, n_outputs, name):
    """(outputs list, updates dict, condition or None) from what a step function returned."""
    where = f"scan {name!r}" if name else "scan"
    updates, condition = {}, None
    parts = list(result) if isinstance(result, tuple) else [result]
    while parts and isinstance(parts[-1], (until, dict)):
        last = parts.pop()
        if isinstance(last, until):
            condition = last.condition
        else:
            updates = dict(last)
    if len(parts) == 1 and isinstance(parts[0], (list, tuple)):
        parts = list(parts[0])
    if len(parts) == 2 and isinstance(parts[0], (list, tuple)) and isinstance(parts[1], dict):
        parts, updates = list(parts[0]), dict(parts[1])
    outputs = [as_variable(p) for p in parts]
    if n_outputs is not None and len(outputs) != n_outputs:
        raise ScanError(f"{where}: the step function returned {len(outputs)} outputs, but outputs_info has "
                        f"{n_outputs} entries")
    for target in updates:
        if not isinstance(target, SharedVariable):
            raise TypeError(f"{where}: the updates a step returns must have shared variables as keys, got {target!r}")
    return outputs, updates, condition


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None, go_backwards=False,
         truncate_gradient=-1, return_updates=True, name=None):
    """Loop `fn` over steps, with Theano's `scan` semantics; returns (outputs, updates).

    `fn` receives, in order: the entry of each sequence at this step (one argument per tap; a sequence is a
    variable or `dict(input=x, taps=[-1, 0])`), the past values of each recurrent output (one per tap;
    `outputs_info` entries are an initial value, `dict(initial=h0, taps=[-1, -2])`, or None for outputs not
    fed back), then `non_sequences`. It returns the outputs (one per outputs_info entry), optionally
    followed by an updates dict for shared variables and by `sg.until(condition)` to stop early.
    Variables from outside that `fn` uses without listing them are captured too. `n_steps` (int or
    symbolic) defaults to the sequences' length; `go_backwards` iterates the sequences from the end.
    `truncate_gradient=k > 0` backpropagates through the last k steps only. Outputs stack the steps along a
    new leading axis; `updates` maps each updated shared variable to its value after the last step (pass it
    to `sg.function(updates=...)`). With `return_updates=False` only the outputs are returned.

    Example:
        >>> import symgraph as sg
        >>> x, w = sg.matrix("x"), sg.scalar("w")
        >>> h, _ = sg.scan(lambda x_t, h, w: sg.tanh(w * h + x_t.sum()), sequences=x,
        ...                outputs_info=sg.constant(0.0), non_sequences=w)
        >>> h.eval({x: [[0.5, 0.5], [0.0, 0.0]], w: 2.0}).round(4)
        array([0.7616, 0.9093])
    """
    sequence_specs = [_sequence_spec(entry, i) for i, entry in enumerate(_as_list(sequences))]
    info_given = outputs_info is not None
    info_entries = _as_list(outputs_info)
    state_specs = [_state_spec(entry, i) for i, entry in enumerate(info_entries)]
    non_sequences = [as_variable(v) for v in _as_list(non_sequences)]
    if (isinstance(truncate_gradient, bool) or not isinstance(truncate_gradient, (int, np.integer))
            or truncate_gradient == 0 or truncate_gradient < -1):
        raise ValueError(f"sg.scan: truncate_gradient must be -1 (no truncation) or a positive int, got {truncate_gradient!r}")
    steps_var, sliced, labels, exact = _steps_and_sequences(sequence_specs, n_steps, go_backwards, name)
    fed_back = [i for i, (initial, _) in enumerate(state_specs) if initial is not None]
    states = [(_initial_buffer(state_specs[i][0], state_specs[i][1], i), tuple(sorted(-t for t in state_specs[i][1])))
              for i in fed_back]
    n_outputs, update_targets = [], []

    def step(sequence_entries, state_taps):
        args, position = [], 0
        for _, taps in sequence_specs:
            args.extend(sequence_entries[position: position + len(taps)])
            position += len(taps)
        for slot, i in enumerate(fed_back):
            by_distance = dict(zip(states[slot][1], state_taps[slot]))
            args.extend(by_distance[-t] for t in state_specs[i][1])
        args.extend(non_sequences)
        outputs, updates, condition = _step_results(fn(*args), len(state_specs) if info_given else None, name)
        step_values = list(outputs) + list(updates.values()) + ([condition] if condition is not None else [])
        # A draw from a RandomStream in the step advances its generator at every step, as in Theano.
        updates.update(random_state_updates(step_values, list(updates)))
        n_outputs.append(len(outputs))
        update_targets.extend(updates)
        plain = [out for i, out in enumerate(outputs) if i not in fed_back]
        return [outputs[i] for i in fed_back], plain, condition, list(updates.items())

    buffers, plain, shared_buffers = build_scan(step, sliced, states, steps_var, exact, labels, name,
                                                int(truncate_gradient))
    plain_outputs = iter(plain)
    per_output = [buffers[fed_back.index(i)][max(states[fed_back.index(i)][1]):] if i in fed_back else next(plain_outputs)
                  for i in range(n_outputs[0])]
    updates = {target: buffer[-1] for target, buffer in zip(update_targets, shared_buffers)}
    single = len(per_output) == 1 and not isinstance(outputs_info, (list, tuple))
    outputs = per_output[0] if single else per_output
    return (outputs, updates) if return_updates else outputs


def _steps_and_sequences(specs, n_steps, go_backwards, name):
    """(n_steps variable, sequences sliced per tap, their labels, whether lengths must match exactly)."""
    sliced, labels, lengths = [], [], []
    for position, (variable, taps) in enumerate(specs):
        source = variable[::-1] if go_backwards else variable
        low, high = min(taps), max(taps)
        label = variable.name or f"sequence {position}"
        span = high - low
        length = shape_of(source)[0] - span if span else shape_of(source)[0]
        lengths.append(length)
        for tap in taps:
            start = tap - low
            stop = start - span
            sliced.append(source if span == 0 else source[start: stop if stop != 0 else None])
            labels.append(label if len(taps) == 1 else f"{label} (tap {tap})")
    if n_steps is not None:
        steps = as_variable(n_steps)
        if steps.ndim != 0 or steps.dtype.kind not in "iu":
            raise TypeError(f"sg.scan: n_steps must be an int or a 0-d integer variable, got {steps!r}")
        if isinstance(steps, Constant) and int(steps.data) < 0:
            raise ScanError(f"sg.scan: n_steps is {int(steps.data)}; it must be >= 0")
        if go_backwards and sliced:
            raise ScanError("sg.scan: go_backwards with both sequences and n_steps is ambiguous; slice the sequences")
        return steps, sliced, labels, False
    if not sliced:
        raise ScanError("sg.scan: give sequences or n_steps, so the number of steps is known")
    return lengths[0], sliced, labels, True


# ---------------------------------------------------------------------- folds and maps
def map(fn, sequences, non_sequences=None, go_backwards=False, name=None):
    """`fn` applied to each entry of the sequences (Theano's `map`): the results stacked along axis 0.

    Example:
        >>> import symgraph as sg
        >>> x = sg.matrix("x")
        >>> sg.map(lambda row: row.max(), sequences=x).eval({x: [[1.0, 5.0], [7.0, 2.0]]})
        array([5., 7.])
    """
    return scan(fn, sequences=sequences, non_sequences=non_sequences, go_backwards=go_backwards,
                return_updates=False, name=name)


def _fold(fn, sequences, outputs_info, non_sequences, go_backwards, name):
    results = scan(fn, sequences=sequences, outputs_info=outputs_info, non_sequences=non_sequences,
                   go_backwards=go_backwards, return_updates=False, name=name)
    if isinstance(results, list):
        return [r[-1] for r in results]
    return results[-1]


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, name=None):
    """A fold (Theano's `reduce`): `fn(entry..., accumulator..., non_sequences...)` over the sequences, keeping
    only the final accumulator(s), the last of the values the steps made: with no steps there is none, and
    it raises IndexError as NumPy's `[-1]` of an empty array does.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> sg.reduce(lambda v, acc: acc * v, sequences=x, outputs_info=sg.constant(1.0)).eval({x: [2.0, 3.0]})
        array(6.)
    """
    return _fold(fn, sequences, outputs_info, non_sequences, go_backwards, name)


def foldl(fn, sequences, outputs_info, non_sequences=None, name=None):
    """A left fold: `reduce` from the first entry to the last.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> sg.foldl(lambda v, acc: 10 * acc + v, sequences=x, outputs_info=sg.constant(0.0)).eval({x: [1.0, 2.0, 3.0]})
        array(123.)
    """
    return _fold(fn, sequences, outputs_info, non_sequences, False, name)


def foldr(fn, sequences, outputs_info, non_sequences=None, name=None):
    """A right fold: `reduce` from the last entry to the first.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> sg.foldr(lambda v, acc: 10 * acc + v, sequences=x, outputs_info=sg.constant(0.0)).eval({x: [1.0, 2.0, 3.0]})
        array(321.)
    """
    return _fold(fn, sequences, outputs_info, non_sequences, True, name)


def while_loop(cond_fn, body_fn, init, max_steps=None, name=None):
    """`while cond_fn(*state): state = body_fn(*state)`, like `jax.lax.while_loop`; returns the final state.

    `init` is a variable or a list of them (the result has the same structure). `max_steps` bounds the loop
    (default: 2**31 - 1 steps). Gradients flow through the steps actually taken.

    Example:
        >>> import symgraph as sg
        >>> x = sg.scalar("x")
        >>> sg.while_loop(lambda v: v < 100, lambda v: 3 * v, x).eval({x: 2.0})
        array(162.)
    """
    from .control import ifelse

    single = not isinstance(init, (list, tuple))
    state = [as_variable(v) for v in ([init] if single else init)]

    def step(*values):
        new = _as_list(body_fn(*values))
        if len(new) != len(values):
            raise ScanError(f"sg.while_loop: body_fn returned {len(new)} values for a state of {len(values)}")
        return list(new), until(logical_not(cond_fn(*new)))

    limit = (2**31 - 1) if max_steps is None else max_steps
    histories = scan(step, outputs_info=list(state), n_steps=limit, return_updates=False, name=name)
    finals = [h[-1] for h in histories]
    start = cond_fn(*state)
    results = [ifelse(start, final, initial) for final, initial in zip(finals, state)]
    return results[0] if single else results
