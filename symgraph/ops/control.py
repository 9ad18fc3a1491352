"""Branches: `sg.ifelse(cond, then, else)` computes only the branch taken; `sg.switch` is `sg.where`.

An `IfElse` node takes the condition and both branches' values. When a function is compiled, every node
that only a branch needs moves into that branch (`LazyIfElse`, which holds each branch as an inner graph),
so the generated code is an `if`/`else` and the branch not taken costs nothing.

Example:
    >>> import symgraph as sg
    >>> x = sg.scalar("x")
    >>> safe = sg.ifelse(x > 0, sg.log(x), sg.constant(0.0))
    >>> float(safe.eval({x: -1.0}))
    0.0
"""
import numpy as np

from ..errors import ShapeError
from ..graph.basic import as_variable
from ..graph.op import Op
from ..graph.type import TensorType
from .creation import zeros_like
from .elemwise import cast, lift_operands, where

__all__ = ["ifelse", "switch"]


class IfElse(Op):
    """`then` values if the 0-d condition holds, else the `else` values: inputs (cond, *then, *else)."""

    __props__ = ("n_outputs",)

    def __init__(self, n_outputs):
        self.n_outputs = n_outputs

    @property
    def name(self):
        return "ifelse"

    @property
    def nout(self):
        return self.n_outputs

    def output_types(self, condition, *branches):
        then, other = branches[: self.n_outputs], branches[self.n_outputs:]
        if condition.ndim != 0:
            raise ShapeError(f"ifelse: the condition must be 0-d, got type {condition}")
        types = []
        for a, b in zip(then, other):
            if a.ndim != b.ndim or a.dtype != b.dtype:
                raise TypeError(f"ifelse: the branches have types {a} and {b}; they need the same dtype and rank")
            types.append(TensorType(a.dtype, tuple(x if x == y else None for x, y in zip(a.shape, b.shape))))
        return types

    def perform(self, condition, *branches):
        chosen = branches[: self.n_outputs] if condition else branches[self.n_outputs:]
        return chosen[0] if self.n_outputs == 1 else tuple(chosen)

    def pullback(self, inputs, outputs, output_grads):
        condition = inputs[0]
        then_grads, else_grads = [], []
        for grad, out in zip(output_grads, outputs):
            if grad is None:
                then_grads.append(None)
                else_grads.append(None)
                continue
            zero = zeros_like(grad)
            then_grads.append(ifelse(condition, grad, zero))
            else_grads.append(ifelse(condition, zero, grad))
        return [None] + then_grads + else_grads

    def pushforward(self, inputs, outputs, tangents):
        condition, branches = inputs[0], inputs[1:]
        results = []
        for k, out in enumerate(outputs):
            a, b = tangents[1 + k], tangents[1 + self.n_outputs + k]
            if a is None and b is None:
                results.append(None)
                continue
            a = a if a is not None else zeros_like(branches[k], dtype=out.dtype)
            b = b if b is not None else zeros_like(branches[self.n_outputs + k], dtype=out.dtype)
            results.append(ifelse(condition, a, b))
        return results


class LazyIfElse(Op):
    """The compiled form of IfElse: each branch is an inner graph over placeholders for the values it reads
    from outside. Inputs: (cond, *then captured, *else captured)."""

    __props__ = ("then_inputs", "then_outputs", "else_inputs", "else_outputs")

    def __init__(self, then_inputs, then_outputs, else_inputs, else_outputs):
        self.then_inputs = tuple(then_inputs)
        self.then_outputs = tuple(then_outputs)
        self.else_inputs = tuple(else_inputs)
        self.else_outputs = tuple(else_outputs)

    @property
    def name(self):
        return "ifelse"

    @property
    def nout(self):
        return len(self.then_outputs)

    @property
    def inner_graphs(self):
        """The two branches, for the printers."""
        return (("then", self.then_outputs), ("else", self.else_outputs))

    def __str__(self):
        return "ifelse{lazy}"

    __repr__ = __str__

    def output_types(self, condition, *captured):
        return [TensorType(a.dtype, tuple(x if x == y else None for x, y in zip(a.type.shape, b.type.shape)))
                for a, b in zip(self.then_outputs, self.else_outputs)]

    def branch_program(self, which):
        """The branch `which` ("then" or "else") compiled as a plain function (cached outside the parameters)."""
        key = f"_{which}_program"
        program = self.__dict__.get(key)
        if program is None:
            from ..codegen.linker import link

            inputs, outputs = (self.then_inputs, self.then_outputs) if which == "then" else (self.else_inputs, self.else_outputs)
            program = link(list(inputs), list(outputs), name=f"ifelse_{which}")
            self.__dict__[key] = program
        return program

    def perform(self, condition, *captured):
        n_then = len(self.then_inputs)
        if condition:
            results = self.branch_program("then").callable(*captured[:n_then])
        else:
            results = self.branch_program("else").callable(*captured[n_then:])
        return results[0] if self.nout == 1 else tuple(results)


def ifelse(condition, then_branch, else_branch, name=None):
    """`then_branch` if the 0-d `condition` is true, else `else_branch`, computing only the branch taken.

    Each branch is a variable or a list of variables (the result has the same structure); both must agree
    in rank, and dtypes are promoted as NumPy does (a Python scalar takes the other branch's dtype). Gradients flow into the branch taken (zeros into the
    other); the condition gets none. `sg.where` is the element-wise, eager counterpart.

    Example:
        >>> import symgraph as sg
        >>> n = sg.scalar("n", dtype="int64")
        >>> sg.ifelse(n > 2, [n * 10, n], [n, n * 10]).__class__.__name__
        'list'
        >>> [int(v) for v in sg.function([n], sg.ifelse(n > 2, [n * 10, n], [n, n * 10]))(3)]
        [30, 3]
    """
    single = not isinstance(then_branch, (list, tuple))
    then_values = list([then_branch] if single else then_branch)
    else_values = list([else_branch] if single else else_branch)
    if len(then_values) != len(else_values):
        raise ValueError(f"ifelse: the branches hold {len(then_values)} and {len(else_values)} values")
    condition = as_variable(condition)
    if condition.ndim != 0:
        raise ShapeError(f"ifelse: the condition must be 0-d, got type {condition.type}")
    if condition.dtype.kind != "b":
        condition = cast(condition, "bool")
    for k, pair in enumerate(zip(then_values, else_values)):
        a, b = lift_operands(pair)  # a Python scalar is weak, as in `sg.where`
        if a.ndim != b.ndim:
            raise ShapeError(f"ifelse: branch value {k} has types {a.type} and {b.type}; they need the same rank")
        dtype = np.result_type(a.dtype, b.dtype)
        then_values[k], else_values[k] = cast(a, dtype), cast(b, dtype)
    outputs = IfElse(len(then_values))(condition, *then_values, *else_values)
    outputs = [outputs] if len(then_values) == 1 else outputs
    return outputs[0] if single else outputs


def switch(condition, then_value, else_value):
    """Theano's `switch`: the element-wise choice `sg.where(condition, then_value, else_value)`.

    Example:
        >>> import symgraph as sg
        >>> sg.switch([True, False], 1.0, 2.0).eval()
        array([1., 2.])
    """
    return where(condition, then_value, else_value)
