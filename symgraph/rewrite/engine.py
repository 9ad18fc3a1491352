"""The rewrite engine: local rewrites applied bottom-up over interned nodes until none fires.

Rewriting is functional. A node is visited after its inputs are in normal form; it is rebuilt on the
normalized inputs (`apply_op` interns it, so rebuilding a node that already exists *is* merging it), then
the rewrites indexed under its op are tried. When one fires, the nodes of its replacement that are new are
normalized the same way before the replacement stands for the node. So every node is visited once, and
again only when a rewrite built it anew: the worklist revisits exactly the nodes whose neighbourhood
changed, never sweeps the whole graph twice, and the user's graph is never touched. A chain of rewrites
that keeps firing (a rewrite loop) is cut by a bound and reported with the names of the rewrites involved.

Example:
    >>> import symgraph as sg
    >>> from symgraph.rewrite.registry import REWRITES
    >>> x = sg.vector("x")
    >>> counts = {}
    >>> [y] = RewritePass([REWRITES["subtract_constant"], REWRITES["add_zero"]], counts).run([(x - 0.0) * 2.0])
    >>> y.owner.inputs[0] is x, counts
    (True, {'subtract_constant': 1, 'add_zero': 1})
"""
from collections import Counter

from ..graph.basic import apply_op
from ..ops.elemwise import Elemwise
from .build import Builder
from .shapes import ShapeFacts

CHAIN_LIMIT = 64
"""Most rewrites that may fire one after the other on what replaces one node."""

FIRED_PER_NODE_LIMIT = 16
"""Most rewrites that may fire in one pass, per node of the graph (plus a constant allowance)."""


class RewriteError(RuntimeError):
    """A rewrite misbehaved: it loops with others, or returned a replacement of the wrong type."""


class RewriteIndex:
    """Rewrites looked up by the op of a node: by op type, and for element-wise ops by row name."""

    __slots__ = ("_generic", "_by_type", "_by_row", "_cache")

    def __init__(self, rewrites):
        self._generic = []
        self._by_type = {}
        self._by_row = {}
        self._cache = {}
        for rewrite in rewrites:
            if rewrite.tracks is None:
                self._generic.append(rewrite)
                continue
            for tracked in rewrite.tracks:
                table = self._by_row if isinstance(tracked, str) else self._by_type
                table.setdefault(tracked, []).append(rewrite)

    def candidates(self, op):
        """The rewrites to try on a node of `op`, most general first."""
        op_type = type(op)
        key = (op_type, op.scalar.name) if op_type is Elemwise else op_type
        found = self._cache.get(key)
        if found is None:
            found = self._generic + self._by_type.get(op_type, [])
            if op_type is Elemwise:
                found = found + self._by_row.get(op.scalar.name, [])
            self._cache[key] = found
        return found

    def __bool__(self):
        return bool(self._generic or self._by_type or self._by_row)


class _Pending:
    """A node whose replacement is being normalized; `parent` is the pending entry that built it."""

    __slots__ = ("original", "rebuilt", "replacement", "rewrite", "parent", "depth")

    def __init__(self, original, rebuilt, replacement, rewrite, parent):
        self.original = original
        self.rebuilt = rebuilt
        self.replacement = replacement
        self.rewrite = rewrite
        self.parent = parent
        self.depth = 1 if parent is None else parent.depth + 1

    def chain(self):
        """Names of the rewrites that led here, oldest first."""
        names = []
        entry = self
        while entry is not None:
            names.append(entry.rewrite.name)
            entry = entry.parent
        return names[::-1]


class RewritePass:
    """One bottom-up pass applying `rewrites` (Rewrite objects or a RewriteIndex) to fixpoint.

    `counts` (name -> times fired) is updated in place; `leaf_map` replaces leaf variables (used to merge
    equal constants); `graph_size` (nodes in the graph) scales the bound on rewrites fired; `facts` (a
    ShapeFacts) is handed to rewrites through their Builder. `run(outputs)` returns the rewritten outputs.
    """

    def __init__(self, rewrites, counts, leaf_map=None, graph_size=0, facts=None):
        self.index = rewrites if isinstance(rewrites, RewriteIndex) else RewriteIndex(rewrites)
        self.facts = facts if facts is not None else ShapeFacts()
        self.counts = counts
        self.leaf_map = leaf_map or {}
        self.done = {}
        self.pending_of = {}
        self.in_progress = set()
        self.fired = 0
        self.fired_limit = FIRED_PER_NODE_LIMIT * graph_size + 1000

    def run(self, outputs):
        for var in outputs:
            if var.owner is not None:
                self._normalize(var.owner)
        return [self._normal(var) for var in outputs]

    def _normal(self, var):
        owner = var.owner
        if owner is None:
            return self.leaf_map.get(var, var)
        return self.done[owner][var.index]

    def _normalize(self, start):
        done = self.done
        stack = [start]
        while stack:
            item = stack[-1]
            if type(item) is _Pending:
                stack.pop()
                self._finish(item)
                continue
            if item in done:
                stack.pop()
                continue
            if item in self.in_progress:
                self._loop_error(_innermost(stack), "a rewrite rebuilt a node it replaces")
            waiting = False
            for var in item.inputs:
                owner = var.owner
                if owner is not None and owner not in done:
                    stack.append(owner)
                    waiting = True
            if waiting:
                continue
            stack.pop()
            self._visit(item, stack)

    def _visit(self, node, stack):
        done = self.done
        inputs = node.inputs
        new_inputs = tuple([self._normal(var) for var in inputs])
        rebuilt = node
        if any(a is not b for a, b in zip(new_inputs, inputs)):
            rebuilt = apply_op(node.op, new_inputs, node.site)
            known = done.get(rebuilt)
            if known is not None:
                done[node] = known
                return
            if rebuilt in self.in_progress:
                self._loop_error(_innermost(stack), "a rewrite rebuilt a node it replaces")
        found = self._first_rewrite(rebuilt) if self.index else None
        if found is None:
            done[rebuilt] = rebuilt.outputs
            done[node] = rebuilt.outputs
            return
        rewrite, replacement = found
        parent = self.pending_of.get(node) or self.pending_of.get(rebuilt)
        pending = _Pending(node, rebuilt, replacement, rewrite, parent)
        self._count(pending)
        self.in_progress.add(rebuilt)
        self.pending_of[rebuilt] = pending
        stack.append(pending)
        for var in replacement:
            owner = var.owner
            if owner is not None and owner not in done:
                self.pending_of.setdefault(owner, pending)
                stack.append(owner)

    def _finish(self, pending):
        normalized = tuple(self._normal(var) for var in pending.replacement)
        self.done[pending.rebuilt] = normalized
        self.done[pending.original] = normalized
        self.in_progress.discard(pending.rebuilt)

    def _first_rewrite(self, node):
        build = None
        for rewrite in self.index.candidates(node.op):
            if build is None:
                build = Builder(node.site, self.facts)
            result = rewrite.function(node, build)
            if result is None:
                continue
            replacement = (result,) if not isinstance(result, (list, tuple)) else tuple(result)
            _check_replacement(rewrite, node, replacement)
            if all(new is old for new, old in zip(replacement, node.outputs)):
                continue
            return rewrite, replacement
        return None

    def _count(self, pending):
        name = pending.rewrite.name
        self.counts[name] = self.counts.get(name, 0) + 1
        self.fired += 1
        if pending.depth > CHAIN_LIMIT:
            self._loop_error(pending, f"more than {CHAIN_LIMIT} rewrites fired one after the other")
        if self.fired > self.fired_limit:
            self._loop_error(pending, f"more than {self.fired_limit} rewrites fired in one pass")

    def _loop_error(self, pending, reason):
        chain = pending.chain()
        involved = ", ".join(f"{name} ({times}x)" for name, times in Counter(chain).most_common())
        node = pending.original
        where = f" created at {node.site}" if node.site is not None else ""
        raise RewriteError(
            f"rewrite loop on node {node.op}{where}: {reason}; rewrites involved: {involved}. "
            f"Switch one of them off with sg.Mode(exclude=[...])."
        )


def _innermost(stack):
    """The most recent rewrite whose replacement is still being normalized."""
    return next(item for item in reversed(stack) if type(item) is _Pending)


def _check_replacement(rewrite, node, replacement):
    """A replacement must keep the number of outputs, each output's dtype and rank, and static sizes."""
    if len(replacement) != len(node.outputs):
        raise RewriteError(
            f"rewrite {rewrite.name} returned {len(replacement)} variable(s) for node {node.op} "
            f"with {len(node.outputs)} output(s)"
        )
    for old, new in zip(node.outputs, replacement):
        if not new.type.is_compatible(old.type):
            raise RewriteError(
                f"rewrite {rewrite.name} replaced the output of {node.op} (type {old.type}) by a variable "
                f"of incompatible type {new.type}"
            )
