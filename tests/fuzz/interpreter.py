"""The reference interpreter: evaluate a graph node by node with each op's NumPy `perform`.

No rewrites, no fusion, no code generation: this is the oracle compiled functions are compared with.
It also checks each op against its own declaration: the value `perform` returns has the dtype the node
declares and a shape that fits the node's static shape, and `perform` leaves its (read-only) inputs alone.

Example:
    >>> import numpy as np, symgraph as sg
    >>> x = sg.vector("x")
    >>> y = sg.exp(x) + 1
    >>> evaluation = evaluate([y], {x: np.zeros(2)})
    >>> evaluation.values[0]
    array([2., 2.])
"""
import warnings

import numpy as np

from symgraph.graph.basic import Constant, SharedVariable
from symgraph.graph.traversal import toposort

from .fragile import on_a_jump


class PerformContractError(AssertionError):
    """An op's `perform` returned a value its node's type does not allow."""


class Evaluation:
    """The output `values`; whether any NumPy floating-point warning (overflow, invalid, divide by zero)
    occurred on the way (`warned`: where none did, non-finite results come from the inputs); and for each
    output whether it is `fragile` (computed through a discontinuity sitting at its jump, see fragile.py)."""

    def __init__(self, values, warned, fragile):
        self.values = values
        self.warned = warned
        self.fragile = fragile


def _read_only(value):
    array = np.asarray(value)
    if array.flags.writeable:
        array = array.view()
        array.setflags(write=False)
    return array


def _leaf_value(var, leaf_values):
    if var in leaf_values:
        return leaf_values[var]
    if isinstance(var, Constant):
        return var.data
    if isinstance(var, SharedVariable):
        return var.container.value
    raise KeyError(f"the reference interpreter has no value for leaf {var!r}")


def check_declared_type(node, var, value):
    """Raise PerformContractError unless `value` has `var`'s declared dtype and fits its static shape."""
    declared = var.type
    fits = value.ndim == declared.ndim and all(s is None or s == n for s, n in zip(declared.shape, value.shape))
    if value.dtype != declared.dtype or not fits:
        inputs = ", ".join(str(v.type) for v in node.inputs)
        raise PerformContractError(
            f"{node.op}({inputs}).perform returned {value.dtype}{list(value.shape)}, "
            f"but the node declares {declared}"
        )


def _perform(node, inputs):
    results = node.op.perform(*inputs)
    if node.op.nout == 1:
        results = (results,)
    return [_read_only(r) for r in results]


def evaluate(outputs, leaf_values):
    """Evaluate `outputs` by `perform`, leaves taken from `leaf_values` (Variable -> array), constants and
    shared variables; returns an Evaluation."""
    values = {}
    fragile = set()

    def value_of(var):
        if var.owner is None:
            return _read_only(_leaf_value(var, leaf_values))
        return values[var]

    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always", RuntimeWarning)
        for node in toposort(outputs):
            inputs = [value_of(v) for v in node.inputs]
            results = _perform(node, inputs)
            for var, value in zip(node.outputs, results):
                check_declared_type(node, var, value)
                values[var] = value
            if any(v in fragile for v in node.inputs) or on_a_jump(node, inputs):
                fragile.update(node.outputs)
    warned = any(issubclass(w.category, RuntimeWarning) for w in caught)
    return Evaluation([value_of(out) for out in outputs], warned, [out in fragile for out in outputs])
