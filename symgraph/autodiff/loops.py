"""Derivatives of loops: backpropagation through time and the tangent scan.

Reverse mode (`scan_pullback`) builds a reverse scan over the steps the forward loop took, last step first.
It carries, per recurrent state, a window of the gradient still owed to the state's last k values (k its
deepest tap) and, per captured value, the sum of its gradients so far; it emits the gradient of each sequence
entry. The step's vector-Jacobian product is derived once on the step graph and rebuilt per use; the values
the forward loop stored (each state's history, each plain output) are read back instead of recomputed.

Forward mode (`scan_pushforward`) builds a scan that carries the tangent of each state next to the stored
forward history. Both loops are ordinary Scan nodes: they print, optimize, compile and differentiate again.

Example:
    >>> import symgraph as sg
    >>> x, w = sg.vector("x"), sg.scalar("w")
    >>> h, _ = sg.scan(lambda x_t, h: w * h + x_t, sequences=x, outputs_info=sg.constant(0.0))
    >>> float(sg.grad(h[-1], w).eval({x: [1.0, 1.0, 1.0], w: 2.0}))  # h3 = w**2 + w + 1
    5.0
"""
from ..errors import NotDifferentiableError
from ..graph.basic import Variable
from ..graph.replace import clone_replace
from ..graph.traversal import toposort
from ..ops.creation import zeros_like
from ..ops.control import ifelse
from ..ops.elemwise import add, eq, gt, is_differentiable_dtype, maximum, subtract, where
from ..ops.creation import is_zeros
from ..ops.indexing import IndexWrite, set_subtensor
from ..ops.linalg import sum_if_any
from ..ops.loops import build_scan
from ..ops.shape import expand_dims, stack
from ..ops.shape_of import Shape, shape_of
from .grad import backpropagate


def _placeholder(var_type, name):
    return Variable(var_type, None, 0, name)


def _steps_taken(op, outputs):
    """The number of steps the forward loop ran, read off its outputs (an until-loop may stop early)."""
    if op.n_states:
        return subtract(shape_of(outputs[0])[0], op.depth(0))
    return shape_of(outputs[0])[0]


def _reversed(var, start, stop):
    """`var[start:stop]` in reverse order."""
    return var[start:stop][::-1]


def _uses(outputs, variables):
    """Which of `variables` the graph of `outputs` reads."""
    seen = set()
    for node in toposort(outputs, stop_at=variables):
        seen.update(id(v) for v in node.inputs)
    seen.update(id(v) for v in outputs)
    return [id(v) in seen for v in variables]


def _shapes_as_residuals(outputs, leaves):
    """`outputs` with each shape of a step intermediate read from a placeholder instead, and the (placeholder,
    intermediate) pairs. A step's values have the same shapes at every step, so the reverse loop reads them
    once, off the first step, instead of recomputing the intermediates (matrix products, say) every step for
    their shapes alone (gradients are fitted to their operands' shapes, for broadcasting)."""
    leaf_ids = {id(v) for v in leaves}
    residuals = {}
    for node in toposort(outputs, stop_at=leaves):
        if isinstance(node.op, Shape) and node.inputs[0].owner is not None and id(node.inputs[0]) not in leaf_ids:
            residuals[id(node.outputs[0])] = (node.outputs[0], node.inputs[0])
    if not residuals:
        return outputs, []
    pairs = [(_placeholder(shape.type, f"shape_of_{var.name or 'value'}"), var) for shape, var in residuals.values()]
    rebuilt = clone_replace(list(outputs), {shape: ph for (shape, _), (ph, _) in zip(residuals.values(), pairs)})
    return rebuilt, pairs


def _residual_shapes(op, residuals, sequences, buffers, captured, stored, steps):
    """The shapes of the step intermediates `residuals` names, computed from the first step's values (zeros
    when the loop took no step, so that nothing is read from empty sequences). `stored` pairs the placeholder
    of each value the forward loop stores with that value's history (an intermediate may be computed from it)."""
    if not residuals:
        return []
    at_first_step = dict(zip(op.sequence_placeholders(), [s[0] for s in sequences]))
    at_first_step.update((placeholder, history[0]) for placeholder, history in stored)
    for state, (buffer, taps, placeholders) in enumerate(zip(buffers, op.taps, op.tap_placeholders())):
        at_first_step.update((p, buffer[op.depth(state) - tap]) for tap, p in zip(taps, placeholders))
    at_first_step.update(zip(op.captured_placeholders(), captured))
    shapes = clone_replace([shape_of(var) for _, var in residuals], at_first_step)
    return ifelse(gt(steps, 0), shapes, [zeros_like(shape) for shape in shapes])


class _StepVJP:
    """The vector-Jacobian product of a scan's step graph, over placeholders for the output cotangents and for
    the values the forward loop stores (so that the reverse loop reads them instead of recomputing them)."""

    def __init__(self, op, wanted_plain):
        inner_inputs = list(op.inner_inputs)
        self.state_cotangents = [_placeholder(out.type, f"d{out.name or f'state{i}'}")
                                 if is_differentiable_dtype(out.dtype) else None
                                 for i, out in enumerate(op.next_states())]
        self.plain_cotangents = [_placeholder(out.type, f"dout{p}") if wanted else None
                                 for p, (out, wanted) in enumerate(zip(op.plain_outputs(), wanted_plain))]
        seeds = {}
        for out, cotangent in zip(list(op.next_states()) + list(op.plain_outputs()),
                                  self.state_cotangents + self.plain_cotangents):
            if cotangent is not None:
                seeds.setdefault(id(out), (out, []))[1].append(cotangent)
        wanted = [v for v in inner_inputs if is_differentiable_dtype(v.dtype)]
        totals, _ = backpropagate(seeds, wanted) if seeds else ({}, set())
        grads = [totals.get(id(v)) for v in inner_inputs]
        stored = list(op.next_states()) + list(op.plain_outputs())
        self.stored_inputs = [_placeholder(v.type, f"{v.name or 'stored'}") for v in stored]
        present = [g for g in grads if g is not None]
        rebuilt = clone_replace(present, dict(zip(stored, self.stored_inputs))) if present else []
        rebuilt, self.shape_residuals = _shapes_as_residuals(rebuilt, inner_inputs + self.stored_inputs)
        rebuilt_iter = iter(rebuilt)
        self.grads = [next(rebuilt_iter) if g is not None else None for g in grads]
        self.reads_stored = _uses(rebuilt, self.stored_inputs) if rebuilt else [False] * len(stored)
        self.reads_input = dict(zip(map(id, inner_inputs), _uses(rebuilt, inner_inputs) if rebuilt
                                    else [False] * len(inner_inputs)))


def _split_state_gradient(grad, depth):
    """(gradient of the initial entries or None, gradient of the steps' entries) of a state's buffer.

    The user reads a state's steps as `buffer[depth:]`, whose gradient is that slice's gradient written
    into zeros: it is taken back out directly instead of materializing the whole buffer's gradient."""
    node = grad.owner
    if (node is not None and isinstance(node.op, IndexWrite) and node.op.mode == "inc"
            and node.op.index == (("slice", depth, None, None),) and is_zeros(node.inputs[0])
            and node.inputs[1].ndim == grad.ndim):
        return None, node.inputs[1]
    return grad[:depth], grad[depth:]


def scan_pullback(op, inputs, outputs, output_grads):
    """The gradients of a Scan node's inputs (see the module docstring)."""
    if any(op.last_only):
        raise NotDifferentiableError(f"{op}: a loop that keeps only its last state has no reverse mode")
    n_steps, sequences, initial, captured = op.split_outer_inputs(inputs)
    state_grads, plain_grads = output_grads[: op.n_states], output_grads[op.n_states:]
    vjp = _StepVJP(op, [g is not None for g in plain_grads])
    steps = _steps_taken(op, outputs)
    first = maximum(subtract(steps, op.truncate), 0) if op.truncate > 0 else 0
    count = subtract(steps, first)
    n_sequences = op.n_sequences
    taps_inputs = op.tap_placeholders()
    depths = [op.depth(i) for i in range(op.n_states)]

    # the reverse loop's sequences, each with the forward placeholder it stands for
    reverse_sequences, stands_for = [], []
    for sequence, placeholder in zip(sequences, op.sequence_placeholders()):
        if vjp.reads_input[id(placeholder)]:
            reverse_sequences.append(_reversed(sequence, first, steps))
            stands_for.append(("input", placeholder))
    for state, (buffer, taps, placeholders) in enumerate(zip(outputs[: op.n_states], op.taps, taps_inputs)):
        for tap, placeholder in zip(taps, placeholders):
            if not vjp.reads_input[id(placeholder)]:
                continue
            start = depths[state] - tap
            reverse_sequences.append(_reversed(buffer, add(first, start), add(steps, start)))
            stands_for.append(("input", placeholder))
    stored_outputs = [buffer[depth:] for buffer, depth in zip(outputs[: op.n_states], depths)] + list(outputs[op.n_states:])
    for stored, placeholder, read in zip(stored_outputs, vjp.stored_inputs, vjp.reads_stored):
        if read:
            reverse_sequences.append(_reversed(stored, first, steps))
            stands_for.append(("input", placeholder))
    for grad, cotangent in zip(plain_grads, vjp.plain_cotangents):
        if cotangent is not None:
            reverse_sequences.append(_reversed(grad, first, steps))
            stands_for.append(("input", cotangent))
    split = [_split_state_gradient(g, d) if g is not None else (None, None) for g, d in zip(state_grads, depths)]
    for state, ((_, tail), cotangent) in enumerate(zip(split, vjp.state_cotangents)):
        if tail is not None and cotangent is not None:
            reverse_sequences.append(_reversed(tail, first, steps))
            stands_for.append(("direct", state))

    residual_shapes = dict(zip((ph for ph, _ in vjp.shape_residuals),
                               _residual_shapes(op, vjp.shape_residuals, sequences, outputs[: op.n_states], captured,
                                                list(zip(vjp.stored_inputs, stored_outputs)), steps)))
    carried = [i for i, c in enumerate(vjp.state_cotangents) if c is not None]
    captured_placeholders = op.captured_placeholders()
    summed = [m for m, placeholder in enumerate(captured_placeholders)
              if vjp.grads[op.inner_inputs.index(placeholder)] is not None]
    # A state of depth 1 carries the gradient owed to its last value; a deeper one, a window of them.
    reverse_states = [(zeros_like(initial[i]) if depths[i] == 1 else expand_dims(zeros_like(initial[i]), 0), (1,))
                      for i in carried]
    reverse_states += [(expand_dims(zeros_like(captured[m]), 0), (1,)) for m in summed]
    sequence_slots = [j for j in range(n_sequences) if vjp.grads[j] is not None]

    def reverse_step(entries, state_taps):
        mapping = dict(zip(captured_placeholders, captured))
        mapping.update(residual_shapes)
        direct = {}
        for entry, (kind, target) in zip(entries, stands_for):
            if kind == "input":
                mapping[target] = entry
            else:
                direct[target] = entry
        windows = [taps[0] for taps in state_taps[: len(carried)]]
        for state, window in zip(carried, windows):
            owed = window if depths[state] == 1 else window[0]
            mapping[vjp.state_cotangents[state]] = sum_if_any([direct.get(state), owed])
        present = [g for g in vjp.grads if g is not None]
        rebuilt = iter(clone_replace(present, mapping))
        grads = [next(rebuilt) if g is not None else None for g in vjp.grads]
        new_windows = []
        for state, window in zip(carried, windows):
            position = n_sequences + sum(len(t) for t in op.taps[:state])
            by_tap = dict(zip(op.taps[state], grads[position: position + len(op.taps[state])]))
            if depths[state] == 1:
                new_windows.append(by_tap[1] if by_tap[1] is not None else zeros_like(window))
                continue
            rows = [sum_if_any([window[r + 1] if r + 1 < depths[state] else None, by_tap.get(r + 1)])
                    for r in range(depths[state])]
            rows = [row if row is not None else zeros_like(window[0]) for row in rows]
            new_windows.append(stack(rows))
        sums = [add(taps[0], grads[op.inner_inputs.index(captured_placeholders[m])])
                for m, taps in zip(summed, state_taps[len(carried):])]
        return new_windows + sums, [grads[j] for j in sequence_slots], None, []

    if not reverse_sequences:
        return [None] * len(inputs)
    buffers, plain, _ = build_scan(reverse_step, reverse_sequences, reverse_states, count, False,
                                   name=f"grad of {op.loop_name}" if op.loop_name else "grad")
    results = [None] * len(inputs)
    for slot, j in enumerate(sequence_slots):
        emitted = plain[slot][::-1]
        whole = op.exact_length and op.truncate <= 0 and not op.until  # the loop read every entry
        results[1 + j] = emitted if whole else set_subtensor(zeros_like(sequences[j])[first:steps], emitted)
    for slot, i in enumerate(carried):
        owed = expand_dims(buffers[slot][-1], 0) if depths[i] == 1 else buffers[slot][-1][::-1]
        if op.truncate > 0:
            owed = where(eq(first, 0), owed, zeros_like(owed))
        results[1 + n_sequences + i] = sum_if_any([split[i][0], owed])
    for slot, m in enumerate(summed):
        results[1 + n_sequences + op.n_states + m] = buffers[len(carried) + slot][-1]
    return results


def scan_pushforward(op, inputs, outputs, tangents):
    """The tangents of a Scan node's outputs: a scan carrying each state's tangent beside the stored history."""
    if any(op.last_only):
        raise NotDifferentiableError(f"{op}: a loop that keeps only its last state has no forward mode here")
    from .forward import jvp

    n_steps, sequences, initial, captured = op.split_outer_inputs(inputs)
    _, sequence_tangents, initial_tangents, captured_tangents = op.split_outer_inputs(list(tangents))
    inner_inputs = list(op.inner_inputs)
    tangent_inputs = [_placeholder(v.type, f"d{v.name}") if is_differentiable_dtype(v.dtype) else None
                      for v in inner_inputs]
    inner_outputs = list(op.next_states()) + list(op.plain_outputs())
    wrt = [v for v, t in zip(inner_inputs, tangent_inputs) if t is not None]
    inner_tangents = jvp(inner_outputs, wrt, [t for t in tangent_inputs if t is not None]) if wrt else []
    stored_inputs = [_placeholder(v.type, v.name or "stored") for v in inner_outputs]
    inner_tangents = clone_replace(list(inner_tangents), dict(zip(inner_outputs, stored_inputs))) if inner_tangents else []
    steps = _steps_taken(op, outputs)
    depths = [op.depth(i) for i in range(op.n_states)]
    taps_inputs = op.tap_placeholders()

    loop_sequences, stands_for = [], []
    for j, (sequence, placeholder) in enumerate(zip(sequences, op.sequence_placeholders())):
        loop_sequences.append(sequence)
        stands_for.append(placeholder)
        if tangent_inputs[j] is not None:
            loop_sequences.append(sequence_tangents[j] if sequence_tangents[j] is not None else zeros_like(sequence))
            stands_for.append(tangent_inputs[j])
    for state, (buffer, taps, placeholders) in enumerate(zip(outputs[: op.n_states], op.taps, taps_inputs)):
        for tap, placeholder in zip(taps, placeholders):
            start = depths[state] - tap
            loop_sequences.append(buffer[start: add(steps, start)])
            stands_for.append(placeholder)
    stored_outputs = [buffer[depth:] for buffer, depth in zip(outputs[: op.n_states], depths)] + list(outputs[op.n_states:])
    for stored, placeholder, read in zip(stored_outputs, stored_inputs, _uses(inner_tangents, stored_inputs)
                                         if inner_tangents else []):
        if read:
            loop_sequences.append(stored)
            stands_for.append(placeholder)
    carried = [i for i in range(op.n_states) if is_differentiable_dtype(initial[i].dtype)]
    loop_states = [(initial_tangents[i] if initial_tangents[i] is not None else zeros_like(initial[i]), op.taps[i])
                   for i in carried]
    captured_placeholders = op.captured_placeholders()

    def tangent_step(entries, state_taps):
        mapping = dict(zip(captured_placeholders, captured))
        mapping.update(zip(stands_for, entries))
        for m, placeholder in enumerate(captured_placeholders):
            tangent = tangent_inputs[inner_inputs.index(placeholder)]
            if tangent is not None:
                mapping[tangent] = captured_tangents[m] if captured_tangents[m] is not None else zeros_like(captured[m])
        for state, taps in zip(carried, state_taps):
            for placeholder, value in zip(taps_inputs[state], taps):
                mapping[tangent_inputs[inner_inputs.index(placeholder)]] = value
        rebuilt = clone_replace(list(inner_tangents), mapping)
        next_tangents = [rebuilt[i] for i in carried]
        return next_tangents, rebuilt[op.n_states:], None, []

    if not inner_tangents:
        return [None] * len(outputs)
    buffers, plain, _ = build_scan(tangent_step, loop_sequences, loop_states, steps, False,
                                   name=f"tangent of {op.loop_name}" if op.loop_name else "tangent")
    results = [None] * len(outputs)
    for slot, i in enumerate(carried):
        results[i] = buffers[slot]
    for p, tangent in enumerate(plain):
        results[op.n_states + p] = tangent if is_differentiable_dtype(tangent.dtype) else None
    return results
