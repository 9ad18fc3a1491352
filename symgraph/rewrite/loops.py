"""Compile-time passes over loops and branches, run after the other phases.

- `scan_optimize_inner`: a scan's step graph is optimized by the same phases as the function (stabilize,
  fuse, ...), with the function's mode;
- `scan_prune`: outputs nothing reads are not computed, nor the states only they need (the gradient of a
  sequence no one asked for, say), and sequences and captured values the step no longer reads are dropped;
- `scan_merge`: two scans over the same number of steps, neither reading the other's results, become one
  loop (sequences and captured values they share are read once per step, and the step graphs are
  optimized together);
- `scan_save_memory` (group "inplace"): a state whose history is only read at its last entry keeps one
  value instead of a buffer of one entry per step (the sums a reverse loop accumulates, `foldl`, shared
  variables updated in a loop, `h[-1]` of an RNN);
- `lazy_ifelse` (always on: it is what makes `ifelse` lazy): the nodes only one branch of an `ifelse` needs
  move into that branch.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> total = sg.foldl(lambda v, acc: acc + v, sequences=x, outputs_info=sg.constant(0.0))
    >>> f = sg.function([x], total)
    >>> f.report.rewrites["scan_save_memory"], float(f([1.0, 2.0]))
    (1, 3.0)
"""
from ..graph.basic import Constant, Variable, apply_op
from ..graph.replace import clone_replace
from ..graph.traversal import clients_map, toposort
from ..ops.control import IfElse, LazyIfElse
from ..ops.indexing import BasicIndex
from ..ops.loops import Scan
from .registry import register_pass_name

SCAN_INNER = "scan_optimize_inner"
SCAN_MEMORY = "scan_save_memory"
SCAN_PRUNE = "scan_prune"
SCAN_MERGE = "scan_merge"
LAZY_IFELSE = "lazy_ifelse"
register_pass_name(SCAN_INNER, "specialize")
register_pass_name(SCAN_MEMORY, "inplace")
register_pass_name(SCAN_PRUNE, "canonicalize")
register_pass_name(SCAN_MERGE, "canonicalize")
register_pass_name(LAZY_IFELSE, "merge")  # on in every mode, "fast_compile" too: laziness is ifelse's meaning


def _count(counts, name, amount=1):
    counts[name] = counts.get(name, 0) + amount


def _optimized_inner(op, mode, counts, cache):
    """`op` with its step graph optimized under `mode` (once per op)."""
    optimized = cache.get(op)
    if optimized is None:
        from .pipeline import optimize_graph

        inner_outputs, report = optimize_graph(list(op.inner_outputs), mode)
        for name, times in report.rewrites.items():
            _count(counts, name, times)
        _count(counts, SCAN_INNER)
        optimized = cache[op] = op.replaced(inner_outputs=tuple(inner_outputs))
    return optimized


def _is_last_entry(node):
    return type(node.op) is BasicIndex and node.op.index == (-1,)


def _is_tail_slice(node, depth):
    return type(node.op) is BasicIndex and node.op.index == (("slice", depth, None, None),)


def _last_readers(buffer, depth, clients, kept):
    """The nodes reading only the last entry of a state's buffer (`b[-1]`, `b[depth:][-1]`; none when
    nothing reads it), or None when anything else reads it."""
    if depth != 1 or id(buffer) in kept:
        return None
    readers = []
    for node, _ in clients.get(id(buffer), ()):
        if _is_last_entry(node):
            readers.append(node)
        elif _is_tail_slice(node, depth) and id(node.outputs[0]) not in kept:
            tail_clients = clients.get(id(node.outputs[0]), ())
            if not tail_clients or not all(_is_last_entry(c) for c, _ in tail_clients):
                return None
            readers.extend(c for c, _ in tail_clients)
        else:
            return None
    return readers


def _last_step(scan_node, state):
    """The final value of a last-only state as `states[depth:][-1]` reads it: after zero steps that tail is
    empty, so this raises NumPy's IndexError instead of giving the initial value."""
    return scan_node.outputs[state][: scan_node.inputs[0]][-1]


def _reads(outputs, placeholders):
    """Ids of the placeholders that the graph of `outputs` reads."""
    wanted = {id(p) for p in placeholders}
    found = {id(v) for v in outputs if id(v) in wanted}
    for node in toposort(outputs, stop_at=placeholders):
        found.update(id(v) for v in node.inputs if id(v) in wanted)
    return found


def pruned_scan(op, node_inputs, used):
    """(op, inputs, kept output positions) of a Scan node (`op` applied to `node_inputs`) without the outputs nothing uses (`used`: per
    output), nor the states only they need, nor the values no remaining output reads. None when all stay."""
    n_steps, sequences, initial, captured = op.split_outer_inputs(node_inputs)
    taps = op.tap_placeholders()
    keep_state = [used[i] for i in range(op.n_states)]
    keep_plain = list(used[op.n_states:])
    while True:
        roots = [out for out, keep in zip(op.next_states(), keep_state) if keep]
        roots += [out for out, keep in zip(op.plain_outputs(), keep_plain) if keep]
        roots += [op.condition()] if op.until else []
        read = _reads(roots, op.inner_inputs)
        grown = [keep or any(id(p) in read for p in taps[i]) for i, keep in enumerate(keep_state)]
        if grown == keep_state:
            break
        keep_state = grown
    keep_sequence = [op.exact_length or id(p) in read for p in op.sequence_placeholders()]
    keep_captured = [id(p) in read for p in op.captured_placeholders()]
    if all(keep_state) and all(keep_plain) and all(keep_sequence) and all(keep_captured):
        return None

    def chosen(items, keeps):
        return [item for item, keep in zip(items, keeps) if keep]

    inner_inputs = chosen(op.sequence_placeholders(), keep_sequence)
    inner_inputs += [p for i, ps in enumerate(taps) if keep_state[i] for p in ps]
    inner_inputs += chosen(op.captured_placeholders(), keep_captured)
    inner_outputs = chosen(op.next_states(), keep_state) + chosen(op.plain_outputs(), keep_plain)
    inner_outputs += [op.condition()] if op.until else []
    new_op = Scan(inner_inputs, inner_outputs, sum(keep_sequence), chosen(op.taps, keep_state), sum(keep_plain),
                  op.until, op.exact_length, chosen(op.last_only, keep_state), chosen(op.labels, keep_sequence),
                  op.loop_name, op.truncate)
    inputs = [n_steps] + chosen(sequences, keep_sequence) + chosen(initial, keep_state) + chosen(captured, keep_captured)
    positions = [i for i, keep in enumerate(keep_state + keep_plain) if keep]
    return new_op, inputs, positions


# ---------------------------------------------------------------------- merging loops
_MERGE_GROUP_LIMIT = 16
"""Most scans with one step count compared pairwise for merging (each pair costs a walk of the graph)."""


def _mergeable(op):
    return (type(op) is Scan and not op.until
            and all(node.op.pure for node in toposort(list(op.inner_outputs), stop_at=list(op.inner_inputs))))


def _merge_pair(first, second):
    """(merged Scan op, its inputs, positions of first's outputs, positions of second's) for two Scan nodes
    with the same step count; sequences and captured values of `second` that `first` has are shared."""
    a, b = first.op, second.op
    n_steps, a_sequences, a_initial, a_captured = a.split_outer_inputs(first.inputs)
    _, b_sequences, b_initial, b_captured = b.split_outer_inputs(second.inputs)
    shared = {}
    sequences, labels = list(a_sequences), list(a.labels)
    sequence_placeholders = list(a.sequence_placeholders())
    for outer, placeholder, label in zip(b_sequences, b.sequence_placeholders(), b.labels):
        known = next((i for i, s in enumerate(a_sequences) if s is outer), None)
        if known is None:
            sequences.append(outer)
            labels.append(label)
            sequence_placeholders.append(placeholder)
        else:
            shared[placeholder] = a.sequence_placeholders()[known]
    captured, captured_placeholders = list(a_captured), list(a.captured_placeholders())
    for outer, placeholder in zip(b_captured, b.captured_placeholders()):
        known = next((i for i, c in enumerate(a_captured) if c is outer), None)
        if known is None:
            captured.append(outer)
            captured_placeholders.append(placeholder)
        else:
            shared[placeholder] = a.captured_placeholders()[known]
    b_outputs = clone_replace(list(b.inner_outputs), shared) if shared else list(b.inner_outputs)
    b_next, b_plain = b_outputs[: b.n_states], b_outputs[b.n_states:]
    taps = [p for ps in a.tap_placeholders() + b.tap_placeholders() for p in ps]
    names = [name for name in (a.loop_name, b.loop_name) if name]
    op = Scan(sequence_placeholders + taps + captured_placeholders,
              list(a.next_states()) + b_next + list(a.plain_outputs()) + b_plain, len(sequences),
              a.taps + b.taps, a.n_plain + b.n_plain, False, a.exact_length, a.last_only + b.last_only, labels,
              "+".join(names) or None, a.truncate)
    inputs = [n_steps] + sequences + a_initial + b_initial + captured
    states = a.n_states + b.n_states
    first_positions = list(range(a.n_states)) + [states + i for i in range(a.n_plain)]
    second_positions = [a.n_states + i for i in range(b.n_states)] + [states + a.n_plain + i for i in range(b.n_plain)]
    return op, inputs, first_positions, second_positions


def _merge_candidate(nodes):
    """Two Scan nodes that may run as one loop (same step count, length rule and truncation; no stop
    condition or impure step; neither an ancestor of the other), or None."""
    groups = {}
    for node in nodes:
        if _mergeable(node.op):
            key = (id(node.inputs[0]), node.op.exact_length, node.op.truncate)
            groups.setdefault(key, []).append(node)
    for group in groups.values():
        group = group[:_MERGE_GROUP_LIMIT]
        for position, later in enumerate(group[1:], start=1):
            ancestors = {id(n) for n in toposort(list(later.inputs))}
            for earlier in group[:position]:
                if id(earlier) not in ancestors:
                    return earlier, later
    return None


def merge_scans(outputs, counts):
    """Merge pairs of scans (see `_merge_candidate`) until none is left; return the new outputs."""
    while True:
        pair = _merge_candidate(toposort(outputs))
        if pair is None:
            return outputs
        first, second = pair
        op, inputs, first_positions, second_positions = _merge_pair(first, second)
        merged = apply_op(op, tuple(inputs), first.site).outputs
        replacements = {first.outputs[i]: merged[p] for i, p in enumerate(first_positions)}
        replacements.update({second.outputs[i]: merged[p] for i, p in enumerate(second_positions)})
        outputs = clone_replace(list(outputs), replacements)
        _count(counts, SCAN_MERGE)


def optimize_loops(outputs, mode, counts):
    """Apply the passes of this module to the graph of `outputs`; return the new outputs."""
    nodes = toposort(outputs)
    if not any(type(n.op) in (Scan, IfElse) for n in nodes):
        return outputs
    if mode.enabled(SCAN_MERGE, ("canonicalize",)) and sum(type(n.op) is Scan for n in nodes) > 1:
        outputs = merge_scans(outputs, counts)
        nodes = toposort(outputs)
    clients = clients_map(nodes)
    kept = {id(v) for v in outputs}
    save_memory = mode.enabled(SCAN_MEMORY, ("inplace",))
    inner_enabled = mode.enabled(SCAN_INNER, ("specialize",))
    prune_enabled = mode.enabled(SCAN_PRUNE, ("canonicalize",))
    memo, last_value, cache = {}, {}, {}
    for node in nodes:
        if id(node) in last_value:
            memo[id(node.outputs[0])] = last_value[id(node)]
            continue
        inputs = tuple(memo.get(id(v), v) for v in node.inputs)
        op = node.op
        readers_by_state = {}
        positions = range(len(node.outputs))
        if type(op) is Scan:
            used = [id(out) in kept or bool(clients.get(id(out))) for out in node.outputs]
            pruned = pruned_scan(op, inputs, used) if prune_enabled else None
            if pruned is not None:
                op, inputs, positions = pruned
                _count(counts, SCAN_PRUNE)
            if inner_enabled:
                op = _optimized_inner(op, mode, counts, cache)
            if save_memory:
                for state in range(op.n_states):
                    readers = _last_readers(node.outputs[positions[state]], op.depth(state), clients, kept)
                    if readers is not None and not op.last_only[state]:
                        readers_by_state[state] = readers
                if readers_by_state:
                    op = op.replaced(last_only=tuple(s in readers_by_state or last
                                                     for s, last in enumerate(op.last_only)))
                    _count(counts, SCAN_MEMORY, len(readers_by_state))
        if op is node.op and all(a is b for a, b in zip(inputs, node.inputs)):
            continue
        new_node = apply_op(op, tuple(inputs), node.site)
        for state, readers in readers_by_state.items():
            final = new_node.outputs[state][0]
            for reader in readers:
                reads_tail = reader.inputs[0].owner is not node  # `states[depth:][-1]`, not the buffer's `[-1]`
                last_value[id(reader)] = _last_step(new_node, state) if reads_tail else final
        memo.update((id(node.outputs[old]), new) for old, new in zip(positions, new_node.outputs))
    outputs = [memo.get(id(v), v) for v in outputs]
    return make_branches_lazy(outputs, mode, counts)


# ---------------------------------------------------------------------- lazy branches
def _branch_nodes(ifelse_node, positions, clients, kept):
    """The nodes only the inputs at `positions` of `ifelse_node` need (the branch's exclusive part)."""
    roots = [ifelse_node.inputs[p] for p in positions]
    owned = set()
    for node in reversed(toposort(roots)):
        exclusive = True
        for out in node.outputs:
            if id(out) in kept:
                exclusive = False
                break
            for client, position in clients.get(id(out), ()):
                if client is ifelse_node and position in positions:
                    continue
                if id(client) not in owned:
                    exclusive = False
                    break
            if not exclusive:
                break
        if exclusive:
            owned.add(id(node))
    return owned


def _branch_graph(roots, owned):
    """(captured outer variables, inner outputs over placeholders, the placeholders) of a branch."""
    captured, seen = [], set()

    def note(var):
        if id(var) not in seen and not (isinstance(var, Constant) and var.data.size <= 1):
            seen.add(id(var))
            captured.append(var)

    for node in toposort(roots):
        if id(node) in owned:
            for var in node.inputs:
                if var.owner is None or id(var.owner) not in owned:
                    note(var)
    for root in roots:
        if root.owner is None or id(root.owner) not in owned:
            note(root)
    placeholders = [Variable(v.type, None, 0, v.name or f"branch{i}") for i, v in enumerate(captured)]
    return captured, clone_replace(list(roots), dict(zip(captured, placeholders))), placeholders


def make_branches_lazy(outputs, mode, counts):
    """Turn each IfElse into a LazyIfElse whose branches hold the nodes only they need."""
    from .pipeline import optimize_graph

    if not mode.enabled(LAZY_IFELSE, ("merge",)):
        return outputs
    while True:
        nodes = toposort(outputs)
        pending = [n for n in nodes if type(n.op) is IfElse]
        if not pending:
            return outputs
        node = pending[-1]
        clients = clients_map(nodes)
        kept = {id(v) for v in outputs}
        n = node.op.n_outputs
        branches = []
        for positions in (range(1, 1 + n), range(1 + n, 1 + 2 * n)):
            positions = set(positions)
            owned = _branch_nodes(node, positions, clients, kept)
            roots = [node.inputs[p] for p in sorted(positions)]
            captured, inner, placeholders = _branch_graph(roots, owned)
            inner, _ = optimize_graph(inner, mode)
            branches.append((captured, inner, placeholders))
        (then_captured, then_inner, then_inputs), (else_captured, else_inner, else_inputs) = branches
        lazy = LazyIfElse(then_inputs, then_inner, else_inputs, else_inner)
        new_outputs = lazy(node.inputs[0], *then_captured, *else_captured)
        new_outputs = [new_outputs] if lazy.nout == 1 else new_outputs
        _count(counts, LAZY_IFELSE)
        outputs = clone_replace(list(outputs), dict(zip(node.outputs, new_outputs)))
