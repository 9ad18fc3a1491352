"""Merge phase: equal constants become one constant, so the nodes using them merge too.

Apply nodes are interned when built, so identical operations on identical inputs are already one node;
what is left are distinct Constant objects holding equal values (constants built separately, or too big to
be interned). Rebuilding the graph on one representative per value merges every node above them.

Example:
    >>> import numpy as np, symgraph as sg
    >>> x = sg.vector("x")
    >>> big_a, big_b = sg.constant(np.ones(2000)), sg.constant(np.ones(2000))
    >>> a, b = sg.optimize([x + big_a, x + big_b], mode="fast_compile")
    >>> a is b
    True
"""
from ..graph.basic import Constant
from .registry import register_pass_name

MAX_MERGED_SIZE = 1 << 22
"""Constants with more elements than this are not compared (hashing them would cost more than it saves)."""

register_pass_name("merge_constants", "merge")


def constant_merge_map(nodes):
    """{constant: representative} for every constant input of `nodes` equal to an earlier one."""
    representatives = {}
    mapping = {}
    seen = set()
    for node in nodes:
        for var in node.inputs:
            if type(var) is not Constant or var in seen:
                continue
            seen.add(var)
            data = var.data
            if data.size > MAX_MERGED_SIZE:
                continue
            key = (data.dtype, data.shape, data.tobytes())
            first = representatives.setdefault(key, var)
            if first is not var:
                mapping[var] = first
    return mapping
