"""NumPy lowering of the shape ops (`np.transpose(x, (1, 0))`, `np.reshape`, `np.concatenate`).

Example:
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> "x.T" in sg.function([x], x.T).source
    True
"""
from ...ops.shape import NEW_AXIS, BroadcastTo, Concatenate, DimShuffle, Reshape, Stack
from . import BACKEND
from .text import int_tuple, tuple_text


@BACKEND.expression(DimShuffle)
def _lower_dimshuffle(node, input_names, namespace):
    op = node.op
    (expression,) = input_names
    if op.dropped:
        expression = f"np.squeeze({expression}, {int_tuple(op.dropped)})"
    if op.permutation == (1, 0):
        expression = f"{expression}.T"  # an attribute, cheaper than a call, for the common case
    elif op.permutation != tuple(range(len(op.permutation))):
        expression = f"np.transpose({expression}, {int_tuple(op.permutation)})"
    if op.new_axes and op.input_ndim and not op.dropped and op.permutation == tuple(range(len(op.permutation))):
        # indexing with None inserts the axes, a view as np.expand_dims gives, without a Python-level call
        entries = ["None" if axis == NEW_AXIS else ":" for axis in op.order]
        expression = f"{expression}[{', '.join(entries)}]"
    elif op.new_axes:
        expression = f"np.expand_dims({expression}, {int_tuple(op.new_axes)})"
    return expression


def _lower_sized(function):
    def lower(node, input_names, namespace):
        shape = input_names[1] if len(input_names) > 1 else int_tuple(node.op.shape)
        return f"{function}({input_names[0]}, {shape})"

    return lower


BACKEND.expression(Reshape)(_lower_sized("np.reshape"))
BACKEND.expression(BroadcastTo)(_lower_sized("np.broadcast_to"))


@BACKEND.expression(Concatenate)
def _lower_concatenate(node, input_names, namespace):
    return f"np.concatenate({tuple_text(input_names)}, axis={int(node.op.axis)})"


@BACKEND.expression(Stack)
def _lower_stack(node, input_names, namespace):
    return f"np.stack({tuple_text(input_names)}, axis={int(node.op.axis)})"
