"""Batching of graphs (like JAX's `vmap`): rebuild a graph so that it runs on a whole batch at once.

`vectorize(outputs, {x: x_batch}, size)` rebuilds `outputs` with each `x` replaced by `x_batch`, which
holds a leading batch axis of `size` entries. Every node that depends on a batched variable is rebuilt by
the batching rule of its op type (`BATCHING_RULES`, the one table of rules; random draws are rebuilt by
`batch_draw`, which needs the batch size); its outputs carry the batch as their leading axis too. Ops
without a rule fall back to `PerSliceLoop`, which runs the op once per batch entry in Python: correct
for any op, but slower.

`sg.jacobian` batches a vector-Jacobian product over the rows of the identity, so one graph computes all
rows with matrix-sized kernels, as JAX's `jacrev` does.

Example:
    >>> import symgraph as sg
    >>> x, xs = sg.vector("x"), sg.matrix("xs")
    >>> [y] = vectorize([sg.exp(x).sum()], {x: xs}, xs.shape[0])
    >>> y.eval({xs: [[0.0, 0.0], [1.0, 0.0]]})
    array([2.        , 3.71828183])
"""
import math
import string

import numpy as np

from ..errors import ShapeError
from ..graph.basic import Variable, apply_op, constant, sites_from
from ..graph.op import Op
from ..graph.traversal import toposort
from ..graph.type import TensorType, broadcast_static_shapes
from ..graph.replace import clone_replace
from ..ops.convolution import Conv, ConvInputGrad, ConvKernelGrad, MaxPool, MaxPoolGather, MaxPoolScatter, SumPool, SumPoolTranspose
from ..ops.creation import Full
from ..ops.custom import OpFromGraph
from ..ops.elemwise import Elemwise, cast, maximum
from ..ops.gradient_ops import FitShape, StopGradient, stop_gradient
from ..ops.indexing import SYMBOLIC, AdvancedIndex, BasicIndex, IndexWrite, entry_kind, index_op, indexed_type
from ..ops.linalg import Einsum, MatMul, TensorDot, matmul, tensordot
from ..ops.linalg_decomp import Cholesky, Det, Inv, Pinv, SlogDet, Solve, SolveTriangular
from ..ops.linalg_spectral import QR, SVD, Eigh, Eigvalsh
from ..ops.loops import Scan, depends_on
from ..ops.nnet import CumProd, CumSum, LogSoftmax, Softmax
from ..ops.random import ELEMENTWISE_DISTRIBUTIONS, DrawLoop, ParameterCheck, RandomVariable, draw_with_size, is_draw
from ..ops.reduce import Reduce, prod as reduce_prod
from ..ops.shape import BroadcastTo, Concatenate, DimShuffle, EnsureShape, NEW_AXIS, Reshape, Stack, broadcast_to, expand_dims
from ..ops.shape import reshape, squeeze, swapaxes, transpose
from ..ops.shape_of import Shape, shape_of, symbolic_sizes
from ..ops.sorting import ArgPartition, ArgSort, SearchSorted, Sort

_WHOLE_AXIS = ("slice", None, None, None)
"""The index entry of a full slice `:` (see symgraph.ops.indexing), which keeps the batch axis."""

BATCHING_RULES = {}
"""op type -> rule(node, inputs, batched) returning one (variable, is_batched) pair per output.

`inputs` are the node's inputs with batched ones replaced by their batched versions, `batched` tells
which; a batched variable has the batch as its leading axis."""


def batching_rule(*op_types):
    """Decorator registering a batching rule for `op_types`."""

    def register(rule):
        for op_type in op_types:
            BATCHING_RULES[op_type] = rule
        return rule

    return register


def batch_size(batched_var):
    """The batch size of a batched variable: an int when static, else a symbolic int64 scalar."""
    size = batched_var.type.shape[0]
    return size if size is not None else shape_of(batched_var)[0]


def with_batch(var, size):
    """An unbatched `var` repeated along a new leading batch axis of `size` entries."""
    return broadcast_to(expand_dims(var, 0), (size,) + symbolic_sizes(var))


def _align(batched_var, core_ndim):
    """A batched variable with size-1 axes inserted after the batch axis so its core has `core_ndim` dims."""
    missing = core_ndim - (batched_var.ndim - 1)
    return expand_dims(batched_var, tuple(range(1, 1 + missing))) if missing > 0 else batched_var


def _all_batched(outputs):
    return [(out, True) for out in (outputs if isinstance(outputs, list) else [outputs])]


def _materialized(inputs, batched):
    """Every input batched: unbatched ones are repeated along the batch axis."""
    size = batch_size(next(v for v, b in zip(inputs, batched) if b))
    return [v if b else with_batch(v, size) for v, b in zip(inputs, batched)]


def _shifted(axes):
    return tuple(axis + 1 for axis in axes)


@batching_rule(Elemwise)
def _batch_elemwise(node, inputs, batched):
    core_ndim = node.outputs[0].ndim
    return _all_batched(node.op(*(_align(v, core_ndim) if b else v for v, b in zip(inputs, batched))))


@batching_rule(Reduce)
def _batch_reduce(node, inputs, batched):
    op = node.op
    if op.kind in ("argmax", "argmin") and len(op.axis) > 1:
        return _batch_by_loop(node, inputs, batched)  # NumPy's argmax flattens: no single axis to shift
    return _all_batched(Reduce(op.kind, _shifted(op.axis), op.keepdims, op.dtype, op.ddof)(inputs[0]))


@batching_rule(Softmax, LogSoftmax)
def _batch_normalizer(node, inputs, batched):
    return _all_batched(type(node.op)(_shifted(node.op.axis))(inputs[0]))


@batching_rule(CumSum)
def _batch_cumsum(node, inputs, batched):
    return _all_batched(CumSum(node.op.axis + 1, node.op.reverse)(inputs[0]))


@batching_rule(CumProd)
def _batch_cumprod(node, inputs, batched):
    return _all_batched(CumProd(node.op.axis + 1)(inputs[0]))


@batching_rule(Sort, ArgSort)
def _batch_sort(node, inputs, batched):
    return _all_batched(type(node.op)(node.op.axis + 1, node.op.kind)(inputs[0]))


@batching_rule(ArgPartition)
def _batch_argpartition(node, inputs, batched):
    return _all_batched(ArgPartition(node.op.kth, node.op.axis + 1)(inputs[0]))


@batching_rule(SearchSorted)
def _batch_searchsorted(node, inputs, batched):
    if batched[0]:
        return _batch_by_loop(node, inputs, batched)  # NumPy searches one sorted vector
    return _all_batched(node.op(*inputs))


@batching_rule(Conv, ConvInputGrad)
def _batch_conv(node, inputs, batched):
    if batched[2:] and batched[2]:
        return _batch_by_loop(node, inputs, batched)  # a batch of shape vectors
    if batched[1]:
        if not batched[0] and isinstance(node.op, Conv):
            # The kernel sets stack along the output channels: one convolution with B * O kernels.
            kernels = inputs[1]
            stacked = node.op(inputs[0], _stack_group_major(kernels, 0, node.op.groups))
            return _all_batched(_unstack_group_major(stacked, 1, node.op.groups, batch_size(kernels)))
        return _batch_as_groups(node, inputs, batched)
    # The batch axis merges into the image axis: one convolution over all images.
    first, *rest = inputs
    merged = reshape(first, (-1,) + symbolic_sizes(first)[2:])
    result = node.op(merged, *rest)
    return _all_batched(reshape(result, (batch_size(first), -1) + symbolic_sizes(result)[1:]))


@batching_rule(ConvKernelGrad)
def _batch_conv_kernel_grad(node, inputs, batched):
    x, gy, shape = inputs
    if batched[2]:
        return _batch_by_loop(node, inputs, batched)
    if batched[0]:
        return _batch_as_groups(node, inputs, batched)
    # A batch of output gradients (B, N, O, ...) stacks along their channels: the gradient of B * O kernels
    # in one product (sg.jacobian of a convolution with respect to its kernel).
    stacked = node.op(x, _stack_group_major(move_axis(gy, 0, 1), 1, node.op.groups), shape)
    return _all_batched(_unstack_group_major(stacked, 0, node.op.groups, batch_size(gy)))


def _stack_group_major(var, axis, groups):
    """`var` with its axes `axis`, `axis + 1` of sizes (B, O) merged into one axis of B * O channels in the
    order (groups, B, O // groups), so that a convolution with `groups` groups sees each group's channels
    of all B entries together."""
    sizes = symbolic_sizes(var)
    lead, count, rest = sizes[:axis], sizes[axis], sizes[axis + 2:]
    split = reshape(var, lead + (count, groups, -1) + rest)
    order = list(range(split.ndim))
    order[axis], order[axis + 1] = axis + 1, axis
    return reshape(transpose(split, order), lead + (-1,) + rest)


def _unstack_group_major(var, axis, groups, count):
    """The inverse of `_stack_group_major` on a convolution's result: its channels along `axis`, in the
    order (groups, B, O // groups), become a leading batch axis of B = `count` entries."""
    sizes = symbolic_sizes(var)
    lead, rest = sizes[:axis], sizes[axis + 1:]
    split = reshape(var, lead + (groups, count, -1) + rest)
    order = [axis + 1] + list(range(axis)) + [axis, axis + 2] + list(range(axis + 3, split.ndim))
    return reshape(transpose(split, order), (count,) + lead + (-1,) + rest)


def _merge_into_channels(var):
    """A batched (B, N, C, ...) as (N, B * C, ...): the batch entries side by side along the channels."""
    sizes = symbolic_sizes(var)
    return reshape(move_axis(var, 0, 1), (sizes[1], -1) + sizes[3:])


def _batch_as_groups(node, inputs, batched):
    """Both operands of a convolution batched: each batch entry becomes its own set of groups (B times
    the groups in one op). The group count is a parameter, so this needs a static batch size."""
    count = next(v.type.shape[0] for v, b in zip(inputs, batched) if b)
    if count is None:
        return _batch_by_loop(node, inputs, batched)
    first, second = _materialized(inputs[:2], batched[:2])
    grouped = node.op.regrouped(node.op.groups * count)
    if isinstance(node.op, ConvKernelGrad):
        result = grouped(_merge_into_channels(first), _merge_into_channels(second), *inputs[2:])
        return _all_batched(reshape(result, (count, -1) + symbolic_sizes(result)[1:]))
    kernels = reshape(second, (-1,) + symbolic_sizes(second)[2:])
    result = grouped(_merge_into_channels(first), kernels, *inputs[2:])
    sizes = symbolic_sizes(result)
    return _all_batched(move_axis(reshape(result, (sizes[0], count, -1) + sizes[2:]), 1, 0))


@batching_rule(MaxPool, SumPool, MaxPoolScatter, MaxPoolGather, SumPoolTranspose)
def _batch_pool(node, inputs, batched):
    # Pooling acts on trailing axes: the batch axis is one more leading axis. Shape inputs stay as they are.
    tensors = 1 if isinstance(node.op, SumPoolTranspose) else len(inputs)
    aligned = _materialized(inputs[:tensors], batched[:tensors])
    return _all_batched(node.op(*aligned, *inputs[tensors:]))


@batching_rule(DimShuffle)
def _batch_dimshuffle(node, inputs, batched):
    op = node.op
    order = (0,) + tuple(axis if axis == NEW_AXIS else axis + 1 for axis in op.order)
    return _all_batched(DimShuffle(op.input_ndim + 1, order)(inputs[0]))


def _target_sizes(op, shape_inputs):
    """The target shape of a Reshape/BroadcastTo node: its static entries, symbolic where unknown."""
    vector = shape_inputs[0] if shape_inputs else None
    return tuple(vector[axis] if size is None else size for axis, size in enumerate(op.shape))


@batching_rule(Reshape)
def _batch_reshape(node, inputs, batched):
    if any(batched[1:]):
        return _batch_by_loop(node, inputs, batched)
    x = inputs[0]
    return _all_batched(reshape(x, (batch_size(x),) + _example_sizes(node, x, inputs[1:])))


def _example_sizes(reshape_node, batched_x, shape_inputs):
    """The per-example target shape of a Reshape with its -1 resolved: next to a batch of size 0, NumPy
    could not infer it."""
    sizes = _target_sizes(reshape_node.op, shape_inputs)
    if -1 not in reshape_node.op.shape:
        return sizes
    axis = reshape_node.op.shape.index(-1)
    inferred = reshape_node.outputs[0].type.shape[axis]
    if inferred is None:
        others = math.prod(size for position, size in enumerate(sizes) if position != axis and not isinstance(size, Variable))
        for position, size in enumerate(sizes):
            if position != axis and isinstance(size, Variable):
                others = others * size
        # a zero among the other sizes leaves nothing to infer from: NumPy's error comes from the reshape
        inferred = reduce_prod(shape_of(batched_x)[1:]) // maximum(others, 1)
    return sizes[:axis] + (inferred,) + sizes[axis + 1:]


@batching_rule(BroadcastTo)
def _batch_broadcast_to(node, inputs, batched):
    if any(batched[1:]):
        return _batch_by_loop(node, inputs, batched)
    x = _align(inputs[0], len(node.op.shape))
    return _all_batched(broadcast_to(x, (batch_size(x),) + _target_sizes(node.op, inputs[1:])))


@batching_rule(Concatenate, Stack)
def _batch_join(node, inputs, batched):
    return _all_batched(type(node.op)(node.op.axis + 1)(*_materialized(inputs, batched)))


@batching_rule(Shape)
def _batch_shape(node, inputs, batched):
    core = node.inputs[0].type.shape
    if None not in core:
        return [(constant(np.array(core, dtype=np.int64)), False)]
    return [(shape_of(inputs[0])[1:], False)]


@batching_rule(FitShape)
def _batch_fit_shape(node, inputs, batched):
    if batched[1]:
        return _batch_by_loop(node, inputs, batched)
    return _all_batched(FitShape(node.op.shape, node.op.batch_ndim + 1)(*inputs))


@batching_rule(EnsureShape)
def _batch_ensure_shape(node, inputs, batched):
    if len(inputs) > 1 and batched[1]:
        return _batch_by_loop(node, inputs, batched)
    op = node.op
    return _all_batched(EnsureShape(op.shape, op.what, op.batch_ndim + 1, op.checks_target)(*inputs))


@batching_rule(StopGradient)
def _batch_stop_gradient(node, inputs, batched):
    return _all_batched(stop_gradient(inputs[0]))


@batching_rule(ParameterCheck)
def _batch_parameter_check(node, inputs, batched):
    return _all_batched(node.op(inputs[0]))  # the check is entry by entry, so it holds for the batch as a whole


def _batch_axis_after_indexing(index, index_inputs):
    """Where the batch axis lands in `x_batch[(:,) + index]`: 0, unless NumPy moves the advanced-index
    block to the front (its items are not adjacent), which puts the batch axis right after that block."""
    kinds = [entry_kind(entry) for entry in index]
    if "array" not in kinds and "mask" not in kinds:
        return 0
    positions = [i for i, kind in enumerate(kinds) if kind in ("int", "symbolic", "array", "mask")]
    if positions == list(range(positions[0], positions[-1] + 1)):
        return 0
    inputs = iter(index_inputs)  # the symbolic parts of the index, in the order of its entries
    block_ndim = 0
    for entry, kind in zip(index, kinds):
        taken = [next(inputs) for part in entry[1:] if part == SYMBOLIC] if kind == "slice" else []
        if kind in ("symbolic", "array", "mask"):
            taken.append(next(inputs))
        if kind in ("array", "mask"):
            block_ndim = max(block_ndim, taken[0].ndim if kind == "array" else 1)
    return block_ndim


def move_axis(var, source, destination):
    """`var` with axis `source` moved to position `destination` (the other axes keep their order)."""
    order = [axis for axis in range(var.ndim) if axis != source]
    order.insert(destination, source)
    return transpose(var, order) if source != destination else var


@batching_rule(Scan)
def _batch_scan(node, inputs, batched):
    """A loop over batched values is one loop whose step is batched: sequences and state buffers carry the
    batch as their second axis inside the loop, the step graph is vectorized, and the results get the
    batch back in front. A state becomes batched when its initial value or its step depends on anything
    batched. A batched number of steps, or a stop condition that depends on a batched value, would make
    the entries loop differently: those run once per entry."""
    op = node.op
    n_steps, sequences, initial, captured = op.split_outer_inputs(inputs)
    flags = op.split_outer_inputs(batched)
    if flags[0]:
        return _batch_by_loop(node, inputs, batched)
    size = batch_size(next(v for v, b in zip(inputs, batched) if b))
    taps = op.tap_placeholders()
    state_batched = list(flags[2])
    while True:
        marked = [p for p, b in zip(op.sequence_placeholders(), flags[1]) if b]
        marked += [p for p, b in zip(op.captured_placeholders(), flags[3]) if b]
        marked += [p for ps, b in zip(taps, state_batched) for p in ps if b]
        dependent, _ = depends_on(list(op.inner_outputs), marked)
        grown = [b or id(nxt) in dependent for b, nxt in zip(state_batched, op.next_states())]
        if grown == state_batched:
            break
        state_batched = grown
    if op.until and id(op.condition()) in dependent:
        return _batch_by_loop(node, inputs, batched)
    replaced = {p: Variable(TensorType(p.dtype, (None,) + p.type.shape), None, 0, p.name) for p in marked}
    wanted = [nxt for nxt, b in zip(op.next_states(), state_batched) if b] + list(op.plain_outputs())
    vectorized = iter(vectorize(wanted, replaced, size))
    inner_outputs = [next(vectorized) if b else nxt for nxt, b in zip(op.next_states(), state_batched)]
    inner_outputs += [next(vectorized) for _ in op.plain_outputs()]
    inner_outputs += [op.condition()] if op.until else []
    new_op = op.replaced(inner_inputs=tuple(replaced.get(p, p) for p in op.inner_inputs), inner_outputs=tuple(inner_outputs))
    new_sequences = [move_axis(s, 0, 1) if b else s for s, b in zip(sequences, flags[1])]
    new_initial = [move_axis(init if b else with_batch(init, size), 0, 1) if batch else init
                   for init, b, batch in zip(initial, flags[2], state_batched)]
    results = new_op(n_steps, *new_sequences, *new_initial, *captured)
    results = results if isinstance(results, list) else [results]
    pairs = [(move_axis(r, 1, 0), True) if b else (r, False) for r, b in zip(results, state_batched)]
    return pairs + [(move_axis(r, 1, 0), True) for r in results[op.n_states:]]


@batching_rule(BasicIndex, AdvancedIndex)
def _batch_index(node, inputs, batched):
    if any(batched[1:]):
        return _batch_by_loop(node, inputs, batched)
    x, *index_inputs = inputs
    result = index_op((_WHOLE_AXIS,) + node.op.index)(x, *index_inputs)
    return _all_batched(move_axis(result, _batch_axis_after_indexing(node.op.index, index_inputs), 0))


@batching_rule(IndexWrite)
def _batch_index_write(node, inputs, batched):
    op = node.op
    if any(batched[2:]):
        return _batch_by_loop(node, inputs, batched)
    x, value, *index_inputs = inputs
    size = batch_size(x if batched[0] else value)
    if not batched[0]:
        x = with_batch(x, size)
    batch_axis = _batch_axis_after_indexing(op.index, index_inputs)
    if batch_axis and not batched[1]:
        value = with_batch(value, size)  # the region's batch axis sits inside it: give the value one too
    if batched[1] or batch_axis:
        region = indexed_type(op.name, op.index, node.inputs[0].type, [v.type for v in index_inputs])
        value = move_axis(_align(value, region.ndim), 0, batch_axis)
    return _all_batched(IndexWrite((_WHOLE_AXIS,) + op.index, op.mode)(x, value, *index_inputs))


@batching_rule(MatMul)
def _batch_matmul(node, inputs, batched):
    a, b = inputs
    a_ndim, b_ndim = node.inputs[0].ndim, node.inputs[1].ndim
    if batched == [True, False] and b_ndim <= 2:
        # One matrix product over the batch and a's own rows (a single BLAS call through tensordot).
        return _all_batched(tensordot(a, b, axes=([a.ndim - 1], [0])))
    if batched == [False, True] and a_ndim <= 2:
        # b's rows times a transposed, one BLAS call; a's rows then come last and swap with b's columns.
        product = tensordot(b, a, axes=([1 if b_ndim == 1 else b.ndim - 2], [a_ndim - 1]))
        return _all_batched(swapaxes(product, -1, -2) if a_ndim == 2 and b_ndim >= 2 else product)
    return _all_batched(_padded_matmul(a, b, batched, a_ndim, b_ndim))


def _padded_matmul(a, b, batched, a_ndim, b_ndim):
    """matmul of batched operands: vectors made matrices, batch axes padded so the batch stays in front."""
    a = expand_dims(a, a.ndim - 1) if a_ndim == 1 else a
    b = expand_dims(b, b.ndim) if b_ndim == 1 else b
    stacked = max(a_ndim, 2) - 2, max(b_ndim, 2) - 2
    depth = max(stacked)
    a = _pad_stack(a, depth - stacked[0]) if batched[0] else a
    b = _pad_stack(b, depth - stacked[1]) if batched[1] else b
    product = matmul(a, b)
    dropped = tuple(axis for axis, vector in ((product.ndim - 2, a_ndim == 1), (product.ndim - 1, b_ndim == 1)) if vector)
    return squeeze(product, dropped) if dropped else product


def _pad_stack(batched_var, count):
    return expand_dims(batched_var, tuple(range(1, 1 + count))) if count else batched_var


@batching_rule(TensorDot)
def _batch_tensordot(node, inputs, batched):
    op = node.op
    a, b = inputs
    if batched == [True, False]:
        return _all_batched(TensorDot(_shifted(op.axes_a), op.axes_b)(a, b))
    if batched == [False, True]:
        product = TensorDot(op.axes_a, _shifted(op.axes_b))(a, b)
        free_a = node.inputs[0].ndim - len(op.axes_a)
        order = (free_a,) + tuple(range(free_a)) + tuple(range(free_a + 1, product.ndim))
        return _all_batched(transpose(product, order))
    # Both batched: an einsum that keeps the batch label apart and contracts the paired axes.
    batch, *labels = string.ascii_letters[: 1 + node.inputs[0].ndim + node.inputs[1].ndim]
    a_labels, b_labels = labels[: node.inputs[0].ndim], labels[node.inputs[0].ndim:]
    for axis_a, axis_b in zip(op.axes_a, op.axes_b):
        b_labels[axis_b] = a_labels[axis_a]
    free = [label for i, label in enumerate(a_labels) if i not in op.axes_a]
    free += [label for i, label in enumerate(b_labels) if i not in op.axes_b]
    subscripts = f"{batch}{''.join(a_labels)},{batch}{''.join(b_labels)}->{batch}{''.join(free)}"
    return _all_batched(Einsum(subscripts)(a, b))


@batching_rule(Einsum)
def _batch_einsum(node, inputs, batched):
    terms, output = node.op.subscripts.split("->")
    terms = terms.split(",")
    label = next(label for label in string.ascii_letters if label not in node.op.subscripts)
    terms = [label + term if b else term for term, b in zip(terms, batched)]
    return _all_batched(Einsum(f"{','.join(terms)}->{label}{output}")(*inputs))


@batching_rule(Inv, Det, SlogDet, Cholesky, Pinv, QR, SVD, Eigh, Eigvalsh)
def _batch_matrix_stack(node, inputs, batched):
    """numpy.linalg ops treat leading axes as a stack of matrices: the batch axis is one more of them."""
    return _all_batched(node.op(inputs[0]))


@batching_rule(Solve, SolveTriangular)
def _batch_solve(node, inputs, batched):
    """Solves broadcast their stacks' batch axes: pad each batched operand's stack so the batch axis
    stays in front, and solve a batched vector right-hand side as one column (a 2-d b is a matrix)."""
    a, b = inputs
    vector = node.inputs[1].ndim == 1
    stack_a = node.inputs[0].ndim - 2
    stack_b = 0 if vector else node.inputs[1].ndim - 2
    depth = max(stack_a, stack_b)
    if batched[0]:
        a = _pad_stack(a, depth - stack_a)
    if batched[1]:
        b = _pad_stack(expand_dims(b, -1) if vector else b, depth - stack_b)
    result = node.op(a, b)
    return _all_batched(squeeze(result, -1) if vector and batched[1] else result)


@batching_rule(Full)
def _batch_full(node, inputs, batched):
    if any(batched[1:]):
        return _batch_by_loop(node, inputs, batched)
    value = _align(inputs[0], len(node.op.shape))
    sizes = (batch_size(value),) + _target_sizes(node.op, inputs[1:])
    return _all_batched(cast(broadcast_to(value, sizes), node.op.dtype))


@batching_rule(OpFromGraph)
def _batch_op_from_graph(node, inputs, batched):
    """The inner graph, rebuilt on the node's inputs and batched by the rules of its own ops."""
    op = node.op
    cores = [Variable(TensorType(v.dtype, v.type.shape[1:])) if b else None for v, b in zip(inputs, batched)]
    substituted = clone_replace(op.inner_outputs, {inner: core if b else v for inner, core, v, b
                                                   in zip(op.inner_inputs, cores, inputs, batched)})
    size = batch_size(next(v for v, b in zip(inputs, batched) if b))
    mapping = {core: v for core, v, b in zip(cores, inputs, batched) if b}
    return _all_batched(vectorize(substituted, mapping, size))


def _broadcast_sizes(shapes):
    """The broadcast of `shapes` (tuples of ints and symbolic int64 scalars), NumPy's rule: a size unknown
    while building is 1 or the common size at run time, so the largest candidate is the result."""
    ndim = max((len(shape) for shape in shapes), default=0)
    padded = [(1,) * (ndim - len(shape)) + tuple(shape) for shape in shapes]
    static = broadcast_static_shapes(*(tuple(s if isinstance(s, int) else None for s in shape) for shape in padded))
    sizes = []
    for axis, known in enumerate(static):
        candidates = [shape[axis] for shape in padded if not isinstance(shape[axis], int)]
        if known is not None or not candidates:
            sizes.append(known)
            continue
        size = candidates[0]
        for other in candidates[1:]:
            size = maximum(size, other)
        sizes.append(size)
    return tuple(sizes)


def batch_draw(node, inputs, batched, size):
    """A draw (`is_draw(node)`) rebuilt to give one independent sample per batch entry of `size`.

    With an unbatched state: one draw with a leading batch axis where the distribution's parameters
    broadcast, else a DrawLoop that threads the state through the entries. A batch of states (a vmap
    over keys) draws entry by entry, each from its own state, as the per-slice fallback does.
    """
    if batched[0]:
        return _batch_by_loop(node, inputs, batched)
    op = node.op
    if isinstance(op, RandomVariable) and op.distribution in ELEMENTWISE_DISTRIBUTIONS:
        params, size_input = op._split(inputs[1:])
        if size_input is None or not batched[-1]:
            params_batched = batched[1:1 + len(params)]
            if op.shape is None:
                core = _broadcast_sizes([symbolic_sizes(p)[1:] if b else symbolic_sizes(p)
                                         for p, b in zip(params, params_batched)])
            else:
                core = _target_sizes(op, [] if size_input is None else [size_input])
            aligned = [_align(p, len(core)) if b else p for p, b in zip(params, params_batched)]
            next_state, sample = draw_with_size(op, inputs[0], aligned, (size,) + core)
            return [(next_state, False), (sample, True)]
    if isinstance(op, RandomVariable) and op.distribution == "multinomial":
        params, size_input = op._split(inputs[1:])
        if size_input is None or not batched[-1]:
            return _batch_multinomial(op, inputs[0], params, batched[1:3], size_input, size)
    rest, rest_batched = list(inputs[1:]), list(batched[1:])
    if not any(rest_batched):
        rest[0], rest_batched[0] = with_batch(rest[0], size), True
    next_state, samples = DrawLoop(op, rest_batched)(inputs[0], *rest)
    return [(next_state, False), (samples, True)]


def _batch_multinomial(op, state, params, params_batched, size_input, size):
    """One multinomial draw with a leading batch axis: NumPy broadcasts `n` against the rows of `pvals`,
    so the batched parameters get their batch axis in front of the rows."""
    n, pvals = params
    if op.shape is None:
        n_rows = symbolic_sizes(n)[1:] if params_batched[0] else symbolic_sizes(n)
        p_sizes = symbolic_sizes(pvals)[1:] if params_batched[1] else symbolic_sizes(pvals)
        core = _broadcast_sizes([n_rows, p_sizes[:-1]]) + p_sizes[-1:]
    else:
        core = _target_sizes(op, [] if size_input is None else [size_input])
    n = _align(n, len(core) - 1) if params_batched[0] else n
    pvals = _align(pvals, len(core)) if params_batched[1] else pvals
    next_state, sample = draw_with_size(op, state, (n, pvals), (size,) + core)
    return [(next_state, False), (sample, True)]


class PerSliceLoop(Op):
    """The batching fallback: runs `op` once per entry of the leading batch axis and stacks the results.

    `batched` tells which inputs carry the batch axis; the others are passed whole to every call.
    """

    __props__ = ("op", "batched")

    def __init__(self, op, batched):
        self.op = op
        self.batched = tuple(batched)

    batching_fallback = True
    """Listed in `f.report` as a batching fallback."""

    @property
    def nout(self):
        return self.op.nout

    @property
    def name(self):
        return "per_slice_loop"

    def __str__(self):
        return f"per_slice_loop{{{self.op}}}"

    __repr__ = __str__

    def output_types(self, *types):
        sizes = {t.shape[0] for t, b in zip(types, self.batched) if b}
        core = [TensorType(t.dtype, t.shape[1:]) if b else t for t, b in zip(types, self.batched)]
        size = sizes.pop() if len(sizes) == 1 else None
        return [TensorType(t.dtype, (size,) + t.shape) for t in self.op.output_types(*core)]

    def perform(self, *values):
        size = next(np.shape(v)[0] for v, b in zip(values, self.batched) if b)
        if size == 0:
            # Run one slice of zeros to learn the output shapes of an empty batch.
            sample = self._slice_results([np.zeros(np.shape(v)[1:], np.asarray(v).dtype) if b else v
                                          for v, b in zip(values, self.batched)])
            stacked = [np.empty((0,) + np.shape(r), np.asarray(r).dtype) for r in sample]
        else:
            per_slice = [self._slice_results([v[i] if b else v for v, b in zip(values, self.batched)]) for i in range(size)]
            stacked = [self._stacked(results) for results in zip(*per_slice)]
        return stacked[0] if self.nout == 1 else tuple(stacked)

    def _stacked(self, results):
        shapes = {np.shape(r) for r in results}
        if len(shapes) > 1:
            first, other = np.shape(results[0]), next(np.shape(r) for r in results if np.shape(r) != np.shape(results[0]))
            raise ShapeError(f"{self}: the batch entries' results have different shapes {first} and {other} "
                             f"(a loop that stops after a different number of steps per entry, say); a batched "
                             f"result needs one shape")
        return np.stack(results)

    def _slice_results(self, values):
        results = self.op.perform(*values)
        return [results] if self.nout == 1 else list(results)

    def pullback(self, inputs, outputs, output_grads):
        # The op's own pullback on one slice, batched: per-entry gradients, summed over the batch for the
        # inputs every entry shares.
        slices, batched_inputs = self._slices(inputs)
        slice_outputs = self._apply(slices)
        slice_grads = []
        for out, gz in zip(slice_outputs, output_grads):
            slice_grads.append(None if gz is None else _slice_of(gz, batched_inputs, out.type))
        grads = self._batched(self.op.pullback(slices, slice_outputs, slice_grads), batched_inputs, inputs)
        return [None if g is None else (g if b else g.sum(axis=0)) for g, b in zip(grads, self.batched)]

    def pushforward(self, inputs, outputs, tangents):
        # The op's own pushforward on one slice, batched (an unbatched input's tangent is shared too).
        slices, batched_inputs = self._slices(inputs)
        slice_tangents = [None if t is None else (_slice_of(t, batched_inputs, v.type) if b else t)
                          for t, v, b in zip(tangents, slices, self.batched)]
        return self._batched(self.op.pushforward(slices, self._apply(slices), slice_tangents), batched_inputs, inputs)

    def _slices(self, inputs):
        """(per-entry stand-ins for the batched inputs, the others as they are; {stand-in: batched input})."""
        slices, batched_inputs = [], {}
        for var, is_batched in zip(inputs, self.batched):
            if is_batched:
                entry = Variable(TensorType(var.dtype, var.type.shape[1:]), None, 0, var.name and f"{var.name}[i]")
                batched_inputs[entry] = var
                var = entry
            slices.append(var)
        return slices, batched_inputs

    def _apply(self, slices):
        results = self.op(*slices)
        return list(results) if isinstance(results, (list, tuple)) else [results]

    def _batched(self, values, batched_inputs, inputs):
        """`values` (built on slice stand-ins; None for disconnected) for every entry of the batch."""
        present = [v for v in values if v is not None]
        size = batch_size(next(v for v, b in zip(inputs, self.batched) if b))
        results = iter(vectorize(present, batched_inputs, size))
        return [None if v is None else next(results) for v in values]


def _slice_of(batched_value, batched_inputs, slice_type):
    """A stand-in for one entry of `batched_value` (an output gradient or tangent), registered in
    `batched_inputs` so vectorizing maps it back."""
    entry = Variable(TensorType(batched_value.dtype, batched_value.type.shape[1:]), None, 0, None)
    batched_inputs[entry] = batched_value
    return entry


def _batch_by_loop(node, inputs, batched):
    results = PerSliceLoop(node.op, batched)(*inputs)
    return _all_batched(results)


def vectorize(outputs, batched_inputs, size, independent_draws=None):
    """`outputs` rebuilt for batched inputs: `batched_inputs` maps variables to versions with a leading
    batch axis of `size` entries (an int or a symbolic int scalar); every result has that leading axis.

    Random draws that depend on a batched variable give one sample per entry, and so do the draw nodes for
    which the predicate `independent_draws(node)` holds (`sg.vmap` asks it for the draws its function
    made), even when they depend on nothing batched. Other draws are shared by all entries (`sg.jacobian`'s
    rows see one sample).

    Example:
        >>> import symgraph as sg
        >>> w, v, vs = sg.matrix("w"), sg.vector("v"), sg.matrix("vs")
        >>> [out] = vectorize([w @ v], {v: vs}, 2)
        >>> out.eval({w: [[1.0, 2.0]], vs: [[1.0, 1.0], [0.0, 1.0]]})
        array([[3.],
               [2.]])
    """
    memo = {id(var): (value, True) for var, value in batched_inputs.items()}
    for node in toposort(outputs, stop_at=list(batched_inputs)):
        entries = [memo.get(id(v), (v, False)) for v in node.inputs]
        batched = [b for _, b in entries]
        if is_draw(node) and (any(batched) or (independent_draws is not None and independent_draws(node))):
            results = batch_draw(node, [v for v, _ in entries], batched, size)
        elif not any(batched):
            values = tuple(v for v, _ in entries)
            if any(new is not old for new, old in zip(values, node.inputs)):
                # An unbatched input was rebuilt (the core shape of a batched value): rebuild the node on it.
                rebuilt = apply_op(node.op, values, node.site)
                for out, new_out in zip(node.outputs, rebuilt.outputs):
                    memo[id(out)] = (new_out, False)
            continue
        else:
            rule = BATCHING_RULES.get(type(node.op), _batch_by_loop)
            with sites_from(node.site):
                results = rule(node, [v for v, _ in entries], batched)
        for out, result in zip(node.outputs, results):
            memo[id(out)] = result
    results = []
    for out in outputs:
        value, batched = memo.get(id(out), (out, False))
        results.append(value if batched else with_batch(value, size))
    return results
