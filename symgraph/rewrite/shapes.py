"""Shape facts: which sizes are equal at run time, as far as the graph proves it.

Each axis of a variable gets a *size key*: an int when the size is static, else a `Dim` naming where the
size comes from (an axis of a graph input, an entry of a shape vector, a 0-d size variable). Ops pass
keys from inputs to outputs (an element-wise result has its operands' keys where they agree, a matmul
result its rows from the left operand and its columns from the right one, `zeros(x.shape)` has x's keys).
Contracted matmul axes must be equal for the program to run, so their keys are unified (union-find).
Two variables whose keys agree axis by axis have the same shape whenever the compiled function runs.

Example:
    >>> import symgraph as sg
    >>> x, w = sg.matrix("x"), sg.matrix("w")
    >>> facts = ShapeFacts()
    >>> facts.same_shape(sg.tanh(x @ w) * 2.0, x @ w), facts.same_shape(x + w, x)
    (True, False)
"""
from ..graph.basic import Constant
from ..ops.creation import Arange, Full
from ..ops.elemwise import Elemwise
from ..ops.fused import Fused
from ..ops.gradient_ops import FitShape, StopGradient
from ..ops.indexing import AdvancedIndex, BasicIndex, IndexWrite
from ..ops.linalg import DiagonalMatrix, MatMul
from ..ops.nnet import CumProd, CumSum, LogSoftmax, Softmax
from ..ops.random import ParameterCheck
from ..ops.reduce import Reduce
from ..ops.shape import BroadcastTo, DimShuffle, EnsureShape, NEW_AXIS, Reshape, Stack
from ..ops.shape_of import Shape
from .specialized_ops import FitLike, FullLike


class Dim:
    """An unknown size: axis `index` of variable `var` ("axis"), entry `index` of the shape vector `var`
    ("entry"), the value of the 0-d integer `var` ("value"), or axis `index` of the result of an op whose
    output shape is determined by `var`, a tuple of the op, its operands' size keys and its operands
    ("derived": two indexings alike of same-shaped tensors have equal shapes)."""

    __slots__ = ("kind", "var", "index", "_hash")

    def __init__(self, kind, var, index=0):
        self.kind = kind
        self.var = var
        self.index = index
        self._hash = None

    def __eq__(self, other):
        if type(other) is not Dim or self.kind != other.kind or self.index != other.index:
            return False
        return self.var is other.var or (self.kind == "derived" and self.var == other.var)

    def __hash__(self):
        # memoized: a derived size nests the keys of its operands, so hashing it anew walks them all
        if self._hash is None:
            origin = hash(self.var) if self.kind == "derived" else id(self.var)
            self._hash = hash((self.kind, origin, self.index))
        return self._hash

    def __repr__(self):
        return f"Dim({self.kind}, {self.var!r}, {self.index})"

    @property
    def is_input_axis(self):
        """Is this an axis of a graph input (so `shape_of(var)[index]` costs nothing to compute)?"""
        return self.kind == "axis" and self.var.owner is None


class ShapeFacts:
    """Size keys of variables, computed on demand and memoized (graphs are immutable)."""

    def __init__(self):
        self._keys = {}
        self._parent = {}
        self._sources = {}

    def find(self, key):
        """The representative of `key`'s class of sizes known to be equal."""
        parent = self._parent
        root = key
        while root in parent:
            root = parent[root]
        while key in parent and parent[key] is not root:
            parent[key], key = root, parent[key]
        return root

    def unify(self, a, b):
        """Record that sizes `a` and `b` are equal (an int, or an input's axis, becomes the representative)."""
        a, b = self.find(a), self.find(b)
        if a == b or (isinstance(a, int) and isinstance(b, int)):
            return
        if isinstance(a, int) or (not isinstance(b, int) and a.is_input_axis and not b.is_input_axis):
            self._parent[b] = a
        else:
            self._parent[a] = b

    def dims(self, var):
        """The size key of each axis of `var`."""
        keys = self._keys.get(var)
        if keys is None:
            self._compute(var)
            keys = self._keys[var]
        return tuple(key if isinstance(key, int) else self.find(key) for key in keys)

    def same_shape(self, a, b):
        """Do `a` and `b` have equal shapes whenever the graph runs?"""
        return a is b or (a.ndim == b.ndim and self.dims(a) == self.dims(b))

    def shape_source(self, var):
        """The variable furthest down `var`'s producers whose shape certainly is var's (var when none is):
        tanh(exp(x) * 2) -> x. Memoized along the way, so a chain of n such operations costs O(n) in all."""
        walked = []
        source = var
        while source not in self._sources:
            deeper = self._same_shape_operand(source)
            if deeper is None:
                self._sources[source] = source
                break
            walked.append(source)
            source = deeper
        source = self._sources[source]
        for v in walked:
            self._sources[v] = source
        return source

    def _same_shape_operand(self, var):
        owner = var.owner
        if owner is None:
            return None
        for candidate in owner.inputs:
            if candidate.ndim == var.ndim and self.same_shape(candidate, var):
                return candidate
        return None

    def vector_dims(self, vector):
        """Size keys of the entries of a 1-d integer shape vector of static length."""
        owner = vector.owner
        if isinstance(vector, Constant):
            return tuple(int(v) for v in vector.data)
        if owner is not None:
            op = owner.op
            if isinstance(op, Shape):
                return self.dims(owner.inputs[0])
            if isinstance(op, Stack) and all(v.ndim == 0 for v in owner.inputs):
                return tuple(self.size_key(v) for v in owner.inputs)
            if _is_integer_cast(owner):
                return self.vector_dims(owner.inputs[0])
        return tuple(Dim("entry", vector, i) for i in range(vector.type.shape[0]))

    def size_key(self, scalar):
        """The size key equal to the value of a 0-d integer variable used as a size."""
        if isinstance(scalar, Constant):
            return int(scalar.data)
        owner = scalar.owner
        if owner is not None:
            if isinstance(owner.op, BasicIndex) and len(owner.inputs) == 1 and _single_int_index(owner.op):
                vector = owner.inputs[0]
                if vector.ndim == 1 and vector.type.shape[0] is not None:
                    entries = self.vector_dims(vector)
                    return _key(entries[owner.op.index[0] % len(entries)], self)
            if _is_integer_cast(owner):
                return self.size_key(owner.inputs[0])
        return Dim("value", scalar)

    def _compute(self, root):
        stack = [root]
        while stack:
            var = stack[-1]
            if var in self._keys:
                stack.pop()
                continue
            owner = var.owner
            if owner is None:
                self._keys[var] = _static_or(var, lambda axis: Dim("axis", var, axis))
                stack.pop()
                continue
            missing = [v for v in owner.inputs if v not in self._keys]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            rule = _RULES.get(type(owner.op))
            keys = rule(self, owner) if rule is not None and len(owner.outputs) == 1 else None
            for out in owner.outputs:
                found = keys if keys is not None and len(keys) == out.ndim else None
                self._keys[out] = _merge_static(out, found)


def _key(entry, facts):
    return entry if isinstance(entry, int) else facts.find(entry)


def _static_or(var, unknown):
    return tuple(size if size is not None else unknown(axis) for axis, size in enumerate(var.type.shape))


def _merge_static(var, keys):
    """Static sizes win; unknown axes take the rule's key, or a fresh key of this variable."""
    return tuple(
        size if size is not None else (keys[axis] if keys is not None else Dim("axis", var, axis))
        for axis, size in enumerate(var.type.shape)
    )


def _is_integer_cast(node):
    return type(node.op) is Elemwise and node.op.scalar.name == "cast" and node.outputs[0].dtype.kind in "iu"


def _single_int_index(op):
    return len(op.index) == 1 and isinstance(op.index[0], int)


def _broadcast(facts, node):
    """Each output axis takes the key its operands agree on (size-1 operands aside); else a fresh key."""
    out = node.outputs[0]
    operand_keys = [facts.dims(v) for v in node.inputs]
    result = []
    for axis in range(out.ndim):
        offset = out.ndim - axis
        candidates = {keys[-offset] for keys in operand_keys if len(keys) >= offset and keys[-offset] != 1}
        if not candidates:
            result.append(1)
        elif len(candidates) == 1:
            result.append(candidates.pop())
        else:
            result.append(Dim("axis", out, axis))
    return tuple(result)


def _like_first_input(facts, node):
    return facts.dims(node.inputs[0])


def _like_second_input(facts, node):
    return facts.dims(node.inputs[1])


def _reduce(facts, node):
    keys = facts.dims(node.inputs[0])
    if node.op.keepdims:
        return tuple(1 if axis in node.op.axis else key for axis, key in enumerate(keys))
    return tuple(key for axis, key in enumerate(keys) if axis not in node.op.axis)


def _dimshuffle(facts, node):
    keys = facts.dims(node.inputs[0])
    return tuple(1 if axis == NEW_AXIS else keys[axis] for axis in node.op.order)


def _matmul(facts, node):
    a, b = (facts.dims(v) for v in node.inputs)
    facts.unify(a[-1], b[0] if len(b) == 1 else b[-2])
    batch_a, batch_b = a[:-2], b[:-2]
    batch = []
    for offset in range(max(len(batch_a), len(batch_b)), 0, -1):
        candidates = {keys[-offset] for keys in (batch_a, batch_b) if len(keys) >= offset and keys[-offset] != 1}
        batch.append(candidates.pop() if len(candidates) == 1 else 1 if not candidates else None)
    if None in batch:
        return None
    rows = (a[-2],) if len(a) >= 2 else ()
    columns = (b[-1],) if len(b) >= 2 else ()
    return tuple(batch) + rows + columns


def _diagonal_matrix(facts, node):
    return facts.dims(node.inputs[0]) * 2


def _from_shape_operand(position):
    """Rule of ops whose output shape is `op.shape`, with unknown entries from a shape-vector input."""

    def rule(facts, node):
        if len(node.inputs) > position:
            return facts.vector_dims(node.inputs[position])
        return None

    return rule


def _reshape(facts, node):
    if len(node.inputs) < 2:
        return None
    keys = facts.vector_dims(node.inputs[1])
    # a -1 entry stands for the size that makes the element count match: unknown here
    return tuple(Dim("axis", node.outputs[0], axis) if isinstance(key, int) and key < 0 else key
                 for axis, key in enumerate(keys))


def _index(facts, node):
    """An indexing result's shape follows from the op, the indexed tensor's shape and the index operands."""
    x, *index_inputs = node.inputs
    origin = (node.op, facts.dims(x), tuple(index_inputs))
    return tuple(Dim("derived", origin, axis) for axis in range(node.outputs[0].ndim))


def _fit_shape(facts, node):
    g, target = node.inputs
    return facts.dims(g)[: node.op.batch_ndim] + facts.vector_dims(target)


def _ensure_shape(facts, node):
    """The checked value has the shape it was checked against: static entries, the others from the vector."""
    if len(node.inputs) < 2:
        return None
    return facts.dims(node.inputs[0])[: node.op.batch_ndim] + facts.vector_dims(node.inputs[1])


def _arange(facts, node):
    """arange(0, n, 1) has n elements when n is a size (np.arange gives none for a negative n)."""
    start, stop, step = node.inputs
    if not (_is_constant(start, 0) and _is_constant(step, 1) and stop.dtype.kind in "iu"):
        return None
    key = facts.size_key(stop)
    is_size = (key >= 0) if isinstance(key, int) else key.kind in ("axis", "derived")
    return (key,) if is_size else None


def _is_constant(var, value):
    return isinstance(var, Constant) and var.data.ndim == 0 and var.data == value


_RULES = {
    Elemwise: _broadcast,
    Fused: _broadcast,
    Softmax: _like_first_input,
    LogSoftmax: _like_first_input,
    CumSum: _like_first_input,
    CumProd: _like_first_input,
    StopGradient: _like_first_input,
    ParameterCheck: _like_first_input,
    IndexWrite: _like_first_input,
    Reduce: _reduce,
    DimShuffle: _dimshuffle,
    MatMul: _matmul,
    DiagonalMatrix: _diagonal_matrix,
    BroadcastTo: _from_shape_operand(1),
    Reshape: _reshape,
    Full: _from_shape_operand(1),
    FitShape: _fit_shape,
    EnsureShape: _ensure_shape,
    Arange: _arange,
    BasicIndex: _index,
    AdvancedIndex: _index,
    FitLike: _like_second_input,
    FullLike: _like_second_input,
}
