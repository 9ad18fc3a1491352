"""Readable NumPy lowerings of the shape and indexing ops (`x[0, 1:3]`, `np.transpose(x, (1, 0))`).

Generated text holds only the linker's variable names and integers formatted here; index writes keep
their reference implementation, which copies before writing.

Example:
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> "x[1:, None]" in sg.function([x], x[1:, None]).source
    True
"""
from ..ops.indexing import AdvancedIndex, BasicIndex, index_source
from ..ops.shape import NEW_AXIS, BroadcastTo, Concatenate, DimShuffle, Reshape, Stack
from .numpy_backend import register_lowering


def _tuple_text(items):
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _int_tuple(values):
    return _tuple_text([str(int(v)) for v in values])


@register_lowering(DimShuffle)
def _lower_dimshuffle(node, input_names, namespace):
    op = node.op
    (expression,) = input_names
    if op.dropped:
        expression = f"np.squeeze({expression}, {_int_tuple(op.dropped)})"
    if op.permutation == (1, 0):
        expression = f"{expression}.T"  # an attribute, cheaper than a call, for the common case
    elif op.permutation != tuple(range(len(op.permutation))):
        expression = f"np.transpose({expression}, {_int_tuple(op.permutation)})"
    if op.new_axes and op.input_ndim and not op.dropped and op.permutation == tuple(range(len(op.permutation))):
        # indexing with None inserts the axes, a view as np.expand_dims gives, without a Python-level call
        entries = ["None" if axis == NEW_AXIS else ":" for axis in op.order]
        expression = f"{expression}[{', '.join(entries)}]"
    elif op.new_axes:
        expression = f"np.expand_dims({expression}, {_int_tuple(op.new_axes)})"
    return expression


def _lower_sized(function):
    def lower(node, input_names, namespace):
        shape = input_names[1] if len(input_names) > 1 else _int_tuple(node.op.shape)
        return f"{function}({input_names[0]}, {shape})"

    return lower


register_lowering(Reshape)(_lower_sized("np.reshape"))
register_lowering(BroadcastTo)(_lower_sized("np.broadcast_to"))


@register_lowering(Concatenate)
def _lower_concatenate(node, input_names, namespace):
    return f"np.concatenate({_tuple_text(input_names)}, axis={int(node.op.axis)})"


@register_lowering(Stack)
def _lower_stack(node, input_names, namespace):
    return f"np.stack({_tuple_text(input_names)}, axis={int(node.op.axis)})"


@register_lowering(BasicIndex)
def _lower_basic_index(node, input_names, namespace):
    subscript = index_source(node.op.index, input_names[1:])
    if Ellipsis not in node.op.index and (node.outputs[0].ndim == 0 or not subscript):
        # An Ellipsis makes NumPy return a 0-d array view rather than a scalar, and x[...] is a view of x.
        subscript = f"{subscript}, ..." if subscript else "..."
    return f"{input_names[0]}[{subscript}]"


@register_lowering(AdvancedIndex)
def _lower_advanced_index(node, input_names, namespace):
    return f"{input_names[0]}[{index_source(node.op.index, input_names[1:])}]"
