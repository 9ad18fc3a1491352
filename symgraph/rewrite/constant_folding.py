"""Constant folding: a node whose inputs are all constants is computed once, while compiling.

The op's reference implementation (`perform`) computes the value. Only outputs whose static shape is
fully known and holds at most `MAX_FOLDED_SIZE` elements are folded, so that a huge constant (say
`zeros((10**5, 10**5))`) is never materialized; an op that fails on its constant inputs is left for run
time, where its error names the user's line. Impure ops (`op.pure` False: random draws) are never folded, nor
ops whose node says more than its value (`keeps_structure`, the structural zeros of `diag`). A basic
index whose result is statically empty (`x[:0]`) is a constant too, whatever `x` holds, unless an integer
in it could be out of range: that read must still raise NumPy's IndexError.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> y = sg.optimize(x * (sg.constant(2.0) + 1.0), mode=sg.Mode("fast_compile", include=["constant_folding"]))
    >>> float(y.owner.inputs[1].data)
    3.0
"""
import math

import numpy as np

from ..graph.basic import Constant, constant
from ..ops.indexing import BasicIndex, entry_kind
from .build import MAX_FOLDED_SIZE
from .registry import register_rewrite


def _foldable_size(node):
    for out in node.outputs:
        shape = out.type.shape
        if None in shape or math.prod(shape) > MAX_FOLDED_SIZE:
            return False
    return True


def _statically_empty(var):
    return None not in var.type.shape and 0 in var.type.shape


def _cannot_fail(index_node):
    """Whether a basic index can raise no IndexError: its integers were checked against static sizes."""
    kinds = {entry_kind(entry) for entry in index_node.op.index}
    if "symbolic" in kinds:
        return False
    return "int" not in kinds or None not in index_node.inputs[0].type.shape


@register_rewrite("fold_constants", "constant_folding")
def fold_constants(node, build):
    """Replace a node with constant inputs by constants holding its outputs."""
    if isinstance(node.op, BasicIndex) and _statically_empty(node.outputs[0]) and _cannot_fail(node):
        return constant(np.empty(node.outputs[0].type.shape, node.outputs[0].dtype))
    if not node.op.pure or not all(isinstance(var, Constant) for var in node.inputs) or not _foldable_size(node):
        return None
    if getattr(node.op, "keeps_structure", False):  # a folded value would lose what the op knows
        return None
    try:
        with np.errstate(all="ignore"):
            values = node.op.perform(*[var.data for var in node.inputs])
    except Exception:  # the same error is raised at run time, with the user's line attached
        return None
    if len(node.outputs) == 1:
        values = (values,)
    folded = []
    for out, value in zip(node.outputs, values):
        array = np.asarray(value)
        if array.dtype != out.dtype or array.shape != out.type.shape:
            return None
        folded.append(constant(array))
    return folded
