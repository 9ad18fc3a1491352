"""NumPy lowering of reads by index (`x[0, 1:3]`, `x[idx]`); index writes keep their reference
implementation, which copies before writing.

Example:
    >>> import symgraph as sg
    >>> x = sg.matrix("x")
    >>> "x[1:, None]" in sg.function([x], x[1:, None]).source
    True
"""
from ...ops.indexing import AdvancedIndex, BasicIndex, index_source
from . import BACKEND


@BACKEND.expression(BasicIndex)
def _lower_basic_index(node, input_names, namespace):
    subscript = index_source(node.op.index, input_names[1:])
    if Ellipsis not in node.op.index and (node.outputs[0].ndim == 0 or not subscript):
        # An Ellipsis makes NumPy return a 0-d array view rather than a scalar, and x[...] is a view of x.
        subscript = f"{subscript}, ..." if subscript else "..."
    return f"{input_names[0]}[{subscript}]"


@BACKEND.expression(AdvancedIndex)
def _lower_advanced_index(node, input_names, namespace):
    return f"{input_names[0]}[{index_source(node.op.index, input_names[1:])}]"
