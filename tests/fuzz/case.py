"""A random graph as data: leaves with values, then steps written as source text.

Each step is one expression in two spellings over the same operand names: a symgraph one (`sg_source`,
e.g. `sg.sum(v2, axis=(0,), keepdims=True)`) and a NumPy/SciPy one (`np_source`) giving what NumPy says
the result is. The symbolic graph is built by executing the symgraph spellings, so the reproducer a
failure prints (`GraphCase.source()`) is exactly the code that ran.

Example:
    >>> import numpy as np
    >>> leaf = Leaf("x0", "input", np.array([1.0, 2.0]), (None,))
    >>> case = GraphCase((leaf,), (Step("v1", "sg.exp(x0)", "np.exp(x0)"),), ("v1",), smooth=False)
    >>> sorted(case.build())
    ['v1', 'x0']
"""
import contextlib
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.special

import symgraph as sg

LEAF_KINDS = ("input", "shared", "constant")


@dataclass(frozen=True)
class Leaf:
    """A graph leaf: an input of static shape `static_shape`, a shared variable or a constant, and its value."""

    name: str
    kind: str
    value: np.ndarray
    static_shape: tuple

    def sg_source(self):
        if self.kind == "input":
            return f"sg.tensor({self.name!r}, dtype={self.value.dtype.name!r}, shape={self.static_shape!r})"
        if self.kind == "shared":
            return f"sg.shared({array_literal(self.value)}, name={self.name!r})"
        return f"sg.constant({array_literal(self.value)})"


@dataclass(frozen=True)
class Step:
    """One node (or a few) of the graph: `name = sg_source`, which NumPy computes as `np_source`."""

    name: str
    sg_source: str
    np_source: str


@dataclass(frozen=True)
class GraphCase:
    """Leaves, steps (in order: a step uses leaves and earlier steps) and the names of the outputs.

    `smooth` cases use only operations that are differentiable at the leaf values, for gradient checks.
    """

    leaves: tuple
    steps: tuple
    outputs: tuple
    smooth: bool

    @property
    def inputs(self):
        return [leaf for leaf in self.leaves if leaf.kind == "input"]

    def build(self):
        """Execute the symgraph spellings: a dict from every leaf and step name to its Variable."""
        namespace = sg_namespace()
        for leaf in self.leaves:
            namespace[leaf.name] = eval(leaf.sg_source(), namespace)
        for step in self.steps:
            namespace[step.name] = eval(step.sg_source, namespace)
        return {name: namespace[name] for name in self.names()}

    def names(self):
        return [leaf.name for leaf in self.leaves] + [step.name for step in self.steps]

    def numpy_values(self):
        """What NumPy computes for every leaf and step (name -> array)."""
        values = {leaf.name: leaf.value for leaf in self.leaves}
        for step in self.steps:
            values[step.name] = evaluate_numpy(step.np_source, values)
        return values

    def source(self):
        """A runnable reproducer: builds the graph and compiles it."""
        lines = ["import numpy as np", "import symgraph as sg", "from numpy import nan, inf", ""]
        lines += [f"{leaf.name} = {leaf.sg_source()}" for leaf in self.leaves]
        lines += [f"{step.name} = {step.sg_source}  # NumPy: {step.np_source}" for step in self.steps]
        inputs = ", ".join(leaf.name for leaf in self.inputs)
        values = ", ".join(array_literal(leaf.value) for leaf in self.inputs)
        lines.append(f"f = sg.function([{inputs}], [{', '.join(self.outputs)}])")
        lines.append(f"print(f({values}))")
        return "\n".join(lines)

    def __repr__(self):
        return f"GraphCase(smooth={self.smooth}) reproducer:\n{self.source()}\n"

    def _repr_pretty_(self, printer, cycle):
        """How hypothesis shows a falsifying example: as the reproducer."""
        printer.text(repr(self))


def array_literal(value):
    """Source text that rebuilds `value` exactly (dtype, shape, NaN/inf and signed zeros included)."""
    dtype = value.dtype.name
    if value.size == 0:
        return f"np.zeros({value.shape!r}, dtype={dtype!r})"
    return f"np.array({value.tolist()!r}, dtype={dtype!r})"


def sg_namespace():
    """The names the symgraph spellings use."""
    return {"sg": sg, "np": np, "nan": np.nan, "inf": np.inf}


def numpy_set_subtensor(x, index, value):
    """NumPy's `x[index] = value` on a copy (repeated indices: the last write wins)."""
    result = np.array(x, copy=True)
    result[index] = value
    return result


def numpy_inc_subtensor(x, index, value):
    """NumPy's `np.add.at(x, index, value)` on a copy (repeated indices accumulate)."""
    result = np.array(x, copy=True)
    np.add.at(result, index, value)
    return result


def numpy_logsumexp(x, axis=None, keepdims=False):
    """`scipy.special.logsumexp` in NumPy's float type for `x` and with NumPy's reduction shape (SciPy
    gives float64 for bools and keeps a 0-d input as shape (1,))."""
    result = scipy.special.logsumexp(_as_float(x), axis=axis)
    return np.asarray(result).reshape(np.sum(x, axis=axis, keepdims=keepdims).shape)


def _as_float(x):
    """`x` in the float type NumPy's functions compute it in (`np.exp(x).dtype`: float16 for bools)."""
    return x.astype(np.result_type(x.dtype, np.float16))


def _in_numpy_float_type(function):
    """`function` (a SciPy ufunc) giving the float type NumPy's own functions give: float16 for bools."""
    return lambda x: function(x).astype(_as_float(np.asarray(x)).dtype)


def _on_floats(function):
    """`function` (a SciPy normalizer) applied to `x` in its float type (SciPy shifts integers in integer
    arithmetic, which wraps around), with NumPy's axis checks for tuples (SciPy, and NumPy's reductions
    with an int axis, take axis 0 or -1 of a 0-d array; symgraph does not)."""
    def normalizer(x, axis):
        np.sum(x, axis=axis if axis is None or isinstance(axis, tuple) else (axis,))
        return function(_as_float(x), axis=axis)

    return normalizer


def numpy_dot(a, b):
    """`np.dot`, but a 0-d operand multiplies as `np.multiply` does (`np.dot(0.0, [inf])` is 0 through BLAS)."""
    return np.multiply(a, b) if np.ndim(a) == 0 or np.ndim(b) == 0 else np.dot(a, b)


def numpy_sigmoid(x):
    """`scipy.special.expit` in the float type NumPy's `exp` gives (bools and uint8 in float16, as symgraph's
    `tanh` and `exp` compute them)."""
    return _in_numpy_float_type(scipy.special.expit)(x)


_NUMPY_NAMESPACE = {
    "np": np,
    "nan": np.nan,
    "inf": np.inf,
    "set_at": numpy_set_subtensor,
    "inc_at": numpy_inc_subtensor,
    "logsumexp": numpy_logsumexp,
    "dot": numpy_dot,
    "erf": _in_numpy_float_type(scipy.special.erf),
    "erfc": _in_numpy_float_type(scipy.special.erfc),
    "gammaln": _in_numpy_float_type(scipy.special.gammaln),
    "digamma": _in_numpy_float_type(scipy.special.digamma),
    "expit": numpy_sigmoid,
    "softmax": _on_floats(scipy.special.softmax),
    "log_softmax": _on_floats(scipy.special.log_softmax),
}


@contextlib.contextmanager
def quiet():
    """No NumPy floating-point warnings: NaN and inf are expected, and compared."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def evaluate_numpy(source, values):
    """The array NumPy computes for `source` with operand names bound to read-only `values`."""
    with quiet():
        result = np.asarray(eval(source, dict(_NUMPY_NAMESPACE), values))
    if result.flags.writeable:
        result = result.view()
        result.setflags(write=False)
    return result
