"""The Op protocol: what every operation knows about itself.

An op is a small immutable object, compared and hashed by its parameters (`__props__`), with:
- `output_types(*input_types)`: output TensorTypes, raising ShapeError/TypeError on bad operands;
- `perform(*values)`: the NumPy reference implementation (one array, or a tuple for several outputs);
- `pullback(inputs, outputs, output_grads)`: the vector-Jacobian product as symbolic nodes;
- `pushforward(inputs, outputs, tangents)`: the Jacobian-vector product as symbolic nodes;
- `infer_shape(inputs, outputs)`: symbolic output shapes from the inputs (optional);
- `pure`: False for ops that must run at every call of a compiled function (random draws), which
  rewrites never fold into constants.

Example:
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> sg.exp(x).owner.op.name
    'exp'
"""
from ..errors import NotDifferentiableError
from .basic import apply_op, as_variable


class Op:
    """Base class of all operations. Subclasses list their parameters in `__props__`."""

    __props__: tuple = ()
    nout = 1
    pure = True

    @property
    def name(self) -> str:
        """The public function name of this operation (used by printers and `to_networkx`)."""
        return type(self).__name__.lower()

    def _props(self):
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other):
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self):
        # Ops are immutable and every node lookup hashes one (interning, rewrites), so the hash is kept.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = self.__dict__["_hash"] = hash((type(self), self._props()))
        return cached

    def __str__(self):
        props = self._props()
        if not props:
            return self.name
        return f"{self.name}{{{', '.join(f'{p}={v!r}' for p, v in zip(self.__props__, props))}}}"

    __repr__ = __str__

    def __reduce__(self):
        return type(self)._from_props, (self._props(),)

    @classmethod
    def _from_props(cls, props):
        op = cls.__new__(cls)
        for name, value in zip(cls.__props__, props):
            object.__setattr__(op, name, value)
        return op

    def __call__(self, *inputs):
        """Apply the op to inputs (Variables or values turned into constants); return its output(s)."""
        node = self.make_node(*inputs)
        return node.outputs[0] if self.nout == 1 else list(node.outputs)

    def make_node(self, *inputs):
        return apply_op(self, tuple(as_variable(v) for v in inputs))

    def output_types(self, *input_types):
        raise NotImplementedError(f"{type(self).__name__}.output_types")

    def perform(self, *values):
        raise NotImplementedError(f"{type(self).__name__}.perform")

    def pullback(self, inputs, outputs, output_grads):
        raise NotDifferentiableError(f"operation {self} has no gradient")

    def pushforward(self, inputs, outputs, tangents):
        raise NotDifferentiableError(f"operation {self} has no forward-mode derivative")

    infer_shape = None
