"""Random draws: `sg.random.RandomStream` and functional draws over an explicit generator state.

A generator state is a uint64 vector of `STATE_WORDS` words holding the complete state of NumPy's PCG64
bit generator (the one `np.random.default_rng` uses), so a state is an ordinary tensor: it can be a
constant, an input or a shared variable, it pickles, and it prints. A draw is one node of a
`RandomVariable` op that takes the state (and the distribution's parameters) and returns
`(next_state, sample)`; the same state gives the same sample, so nothing is hidden.

- Functional draws (`sg.random.normal(key, loc, scale, size)` and the others) return
  `(next_key, sample)`; `key` is a symbolic uint64 state vector or a value accepted by `key()`.
- `RandomStream(seed)` gives every draw its own shared state, which every compiled function that
  uses the draw advances at each call (the update is added automatically; see
  `random_state_updates`), so two calls give different samples, and `rng.seed(s)` or
  `rng.set_state(...)` reproduces a run exactly.

Samples follow NumPy's `Generator` exactly: the same state gives bit-identical samples and the dtypes
of its methods. Reparameterized draws (`normal`, `uniform`) are built as `loc + scale * z` on a standard
draw `z`, so they are differentiable with respect to their parameters (a `ParameterCheck` node raises
NumPy's error for a negative scale or range); discrete draws have zero gradients. Draws are impure (`Op.pure` is False): rewrites never fold them into constants.

Example:
    >>> import symgraph as sg
    >>> rng = sg.random.RandomStream(seed=0)
    >>> x = rng.normal(size=3)
    >>> f = sg.function([], x)
    >>> bool((f() != f()).all())
    True
"""
import itertools
import threading
import weakref

import numpy as np

from ..errors import ShapeError
from ..graph.basic import Constant, SharedVariable, Variable, as_variable, constant, shared
from ..graph.op import Op
from ..graph.traversal import toposort
from ..graph.type import TensorType, as_dtype, broadcast_static_shapes
from .creation import arange
from .elemwise import add, cast, eq, ge, multiply, subtract, true_divide, where
from .shape import _check_shape_input, _shape_argument, _shape_text

__all__ = ["RandomStream", "dropout"]
"""What `sg.*` exports; the functional draws and `key` live in the `sg.random` namespace (this module)."""

STATE_WORDS = 6
"""Length of a state vector: PCG64's 128-bit state and increment (two words each), then its buffered
32-bit half (`has_uint32`, `uinteger`)."""

_WORD = (1 << 64) - 1
_STATE_TYPE = TensorType("uint64", (STATE_WORDS,))


# ---------------------------------------------------------------- states

def _encode(bit_generator):
    """The state vector of a PCG64 bit generator."""
    state = bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise TypeError(f"sg.random: only PCG64 generators are supported, got {state['bit_generator']}")
    words = state["state"]
    return np.array([words["state"] >> 64, words["state"] & _WORD, words["inc"] >> 64, words["inc"] & _WORD,
                     state["has_uint32"], state["uinteger"]], dtype=np.uint64)


_per_thread = threading.local()


def _generator(state):
    """A Generator positioned at the state vector `state`.

    Each thread reuses one Generator (making one costs more than a small draw) and sets its state, so
    two threads never share a state mid-draw.
    """
    generator = getattr(_per_thread, "generator", None)
    if generator is None:
        generator = _per_thread.generator = np.random.Generator(np.random.PCG64(0))
    state = np.asarray(state)
    if state.shape != (STATE_WORDS,) or state.dtype != np.uint64:
        raise ValueError(f"a random state must be {STATE_WORDS} uint64 words, got an array of "
                         f"dtype {state.dtype} and shape {state.shape}")
    high, low, inc_high, inc_low, has_uint32, uinteger = (int(word) for word in state)
    generator.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": (high << 64) | low, "inc": (inc_high << 64) | inc_low},
        "has_uint32": has_uint32,
        "uinteger": uinteger,
    }
    return generator


def key(seed=None):
    """A generator state (uint64 vector) to start functional draws from.

    `seed` is what `np.random.default_rng` takes (None, an int, a `SeedSequence`), or a
    `np.random.Generator`, whose current state is copied (it is not advanced).

    Example:
        >>> import numpy as np, symgraph as sg
        >>> k = sg.random.key(42)
        >>> k.dtype, k.shape
        (dtype('uint64'), (6,))
        >>> _, sample = sg.random.normal(k, size=2)
        >>> bool((sample.eval() == np.random.default_rng(42).normal(size=2)).all())
        True
    """
    generator = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return _encode(generator.bit_generator)


def _key_variable(key_or_generator, op_name):
    if isinstance(key_or_generator, Variable):
        if key_or_generator.dtype != np.uint64 or key_or_generator.ndim != 1:
            raise TypeError(f"{op_name}: a generator state must be a uint64 vector of {STATE_WORDS} words, "
                            f"got {key_or_generator!r}")
        return key_or_generator
    if isinstance(key_or_generator, np.ndarray) and key_or_generator.dtype == np.uint64:
        return constant(key_or_generator)
    if key_or_generator is None or isinstance(key_or_generator, (int, np.integer, np.random.Generator)):
        return constant(key(key_or_generator))
    raise TypeError(f"{op_name}: expected a generator state (a uint64 vector), an int seed or a "
                    f"np.random.Generator, got {key_or_generator!r}")


# ---------------------------------------------------------------- distributions

def _draw_categorical(generator, p, size):
    """One index per row of the last axis of `p` (probabilities, normalized here): the count of
    cumulative probabilities at or below a uniform draw, which picks i with probability p[i]."""
    # NumPy's choice refuses such probabilities too; no normalization gives them a meaning.
    if not np.all(np.isfinite(p)):
        raise ValueError("categorical: probabilities are not finite")
    if np.any(p < 0):
        raise ValueError("categorical: probabilities are not non-negative")
    if np.any(np.sum(p, axis=-1) == 0):
        raise ValueError("categorical: the probabilities of a row sum to 0")
    cumulative = np.cumsum(p, axis=-1)
    threshold = generator.random(size)[..., None] * cumulative[..., -1:]
    return np.minimum((cumulative <= threshold).sum(axis=-1), p.shape[-1] - 1)


def _permutation(generator, population):
    """`generator.permutation(population)`. NumPy shuffles an empty 1-d array in place (it shares no
    memory, so it is not copied), which fails on a read-only one such as a constant's value."""
    return generator.permutation(np.array(population) if population.size == 0 else population)


# name -> sampler(generator, params, size, dtype, options). A sampler whose parameters only give the
# sample's shape (the standard draws under normal/uniform) ignores them.
_SAMPLERS = {
    "standard_normal": lambda g, params, size, dtype, options: g.standard_normal(size, dtype=dtype),
    "random": lambda g, params, size, dtype, options: g.random(size, dtype=dtype),
    "binomial": lambda g, params, size, dtype, options: g.binomial(*params, size=size),
    "integers": lambda g, params, size, dtype, options: g.integers(*params, size=size, dtype=dtype, endpoint=options[0]),
    "choice": lambda g, params, size, dtype, options: g.choice(*params[:1], size=size, replace=options[0],
                                                                 p=params[1] if len(params) > 1 else None),
    "permutation": lambda g, params, size, dtype, options: _permutation(g, params[0]),
    "categorical": lambda g, params, size, dtype, options: _draw_categorical(g, params[0], size),
    # An explicit size ends with the number of categories, which NumPy's size leaves out.
    "multinomial": lambda g, params, size, dtype, options: g.multinomial(*params, size=None if size is None else size[:-1]),
}

_OPTION_NAMES = {"integers": ("endpoint",), "choice": ("replace",)}
_OPTION_NAMES.update((name, ()) for name in _SAMPLERS if name not in _OPTION_NAMES)

ELEMENTWISE_DISTRIBUTIONS = frozenset({"standard_normal", "random", "binomial", "integers"})
"""Distributions whose parameters broadcast with each other and against the sample's shape."""


def _sample_shape(op, params):
    """The static shape of a sample drawn without a size: the parameters' broadcast shape, or the
    shape the distribution implies."""
    if op.distribution in ELEMENTWISE_DISTRIBUTIONS:
        return broadcast_static_shapes(*(t.shape for t in params), op_name=op.name, types=params)
    if op.distribution == "categorical":
        return params[0].shape[:-1]
    if op.distribution == "permutation":
        return params[0].shape
    if op.distribution == "multinomial":
        n, pvals = params
        rows = broadcast_static_shapes(n.shape, pvals.shape[:-1], op_name=op.name, types=params)
        return rows + pvals.shape[-1:]
    return ()


def _run_time_size(op, params, size_vector):
    if op.shape is None:
        if op.distribution in ELEMENTWISE_DISTRIBUTIONS:
            return np.broadcast_shapes(*(np.shape(p) for p in params))
        return np.shape(params[0])[:-1] if op.distribution == "categorical" else None
    if size_vector is None:
        return op.shape
    return tuple(int(s) for s in size_vector)


class RandomVariable(Op):
    """One draw: inputs `(state, *params[, size])`, outputs `(next_state, sample)`.

    `distribution` names a Generator method (or "categorical"); `shape` is the sample's shape (ints,
    None where an int64 size-vector input gives it at run time), or None for the shape the parameters
    imply; `dtype` is the sample's dtype; `options` holds the sampler's static arguments (`replace` of
    choice, `endpoint` of integers).

    Example:
        >>> import symgraph as sg
        >>> next_key, z = sg.random.standard_normal(sg.random.key(0), size=(2, 3))
        >>> z.owner.op.name, z.type, next_key.type
        ('standard_normal', TensorType(float64, (2, 3)), TensorType(uint64, (6,)))
    """

    __props__ = ("distribution", "shape", "dtype", "options")
    nout = 2
    pure = False

    def __init__(self, distribution, shape, dtype, options=()):
        self.distribution = distribution
        self.shape = None if shape is None else tuple(shape)
        self.dtype = dtype
        self.options = tuple(options)

    @property
    def name(self):
        return self.distribution

    def __str__(self):
        size = "" if self.shape is None else f"size={_shape_text(self.shape)}, "
        options = "".join(f", {name}={value}" for name, value in zip(_OPTION_NAMES[self.distribution], self.options))
        return f"{self.distribution}{{{size}{self.dtype}{options}}}"

    __repr__ = __str__

    def _split(self, rest):
        """(parameters, size vector or None) from the inputs after the state."""
        if self.shape is not None and None in self.shape:
            return rest[:-1], rest[-1]
        return rest, None

    def output_types(self, state, *rest):
        if state.dtype != np.uint64 or state.ndim != 1 or state.shape[0] not in (None, STATE_WORDS):
            raise TypeError(f"{self.name}: the generator state must be a uint64 vector of {STATE_WORDS} words, "
                            f"got {state}")
        params, size = self._split(rest)
        if self.shape is None:
            return [_STATE_TYPE, TensorType(self.dtype, _sample_shape(self, params))]
        _check_shape_input(self, self.shape, () if size is None else (size,))
        if self.distribution in ELEMENTWISE_DISTRIBUTIONS:
            check_broadcasts_to(self.shape, params, self.name)
        return [_STATE_TYPE, TensorType(self.dtype, self.shape)]

    def perform(self, state, *rest):
        params, size_vector = self._split(rest)
        generator = _generator(state)
        size = _run_time_size(self, params, size_vector)
        sample = _SAMPLERS[self.distribution](generator, params, size, self.dtype, self.options)
        return _encode(generator.bit_generator), np.asarray(sample, dtype=self.dtype)

    def pullback(self, inputs, outputs, output_grads):
        # The sample is discrete, or a standard draw whose parameters only give its shape.
        return [None] * len(inputs)

    def pushforward(self, inputs, outputs, tangents):
        return [None, None]


class DrawLoop(Op):
    """Batching of a draw without a batched rule: `op` once per batch entry, the state threaded through
    the entries (so every entry gets its own sample), samples stacked along a new leading axis.

    `batched` tells which inputs after the state carry the batch axis. Outputs `(next_state, samples)`.
    """

    __props__ = ("op", "batched")
    nout = 2
    pure = False
    batching_fallback = True
    """Listed in `f.report` as a batching fallback."""

    def __init__(self, op, batched):
        self.op = op
        self.batched = tuple(batched)

    @property
    def name(self):
        return f"{self.op.name}_loop"

    def output_types(self, state, *rest):
        sizes = {t.shape[0] for t, b in zip(rest, self.batched) if b}
        core = [TensorType(t.dtype, t.shape[1:]) if b else t for t, b in zip(rest, self.batched)]
        next_state, sample = self.op.output_types(state, *core)
        return [next_state, TensorType(sample.dtype, (sizes.pop() if len(sizes) == 1 else None,) + sample.shape)]

    def perform(self, state, *rest):
        count = next(np.shape(v)[0] for v, b in zip(rest, self.batched) if b)
        samples = []
        for index in range(count):
            state, sample = self.op.perform(state, *(v[index] if b else v for v, b in zip(rest, self.batched)))
            samples.append(sample)
        if samples:
            return state, np.stack(samples)
        sample_type = self.output_types(TensorType("uint64", (None,)),
                                        *(TensorType(np.asarray(v).dtype, np.shape(v)) for v in rest))[1]
        return state, np.empty((0,) + tuple(0 if s is None else s for s in sample_type.shape[1:]), sample_type.dtype)

    def pullback(self, inputs, outputs, output_grads):
        return [None] * len(inputs)

    def pushforward(self, inputs, outputs, tangents):
        return [None, None]


class ParameterCheck(Op):
    """The identity on a distribution parameter that refuses, at run time, the values NumPy's Generator
    refuses: negative ones (ValueError "`draw`: `role` < 0") and, with `finite`, non-finite ones
    (OverflowError, as NumPy's `uniform` for an infinite or NaN range).

    `normal` and `uniform` are built on a standard draw, which never sees their parameters, so they
    check `scale` and `high - low` with it.

    Example:
        >>> import symgraph as sg
        >>> scale = sg.scalar("scale")
        >>> _, x = sg.random.normal(sg.random.key(0), 0.0, scale)
        >>> x.eval({scale: -1.0})
        Traceback (most recent call last):
        ...
        ValueError: normal: scale < 0 ...
    """

    __props__ = ("draw", "role", "finite")
    view_map = {0: 0}  # the output is the input itself

    def __init__(self, draw, role, finite=False):
        self.draw = draw
        self.role = role
        self.finite = finite

    @property
    def name(self):
        return "check_parameter"

    def output_types(self, value):
        return [value]

    def perform(self, value):
        check_parameter(value, self.draw, self.role, self.finite)
        return value

    def pullback(self, inputs, outputs, output_grads):
        return [output_grads[0]]

    def pushforward(self, inputs, outputs, tangents):
        return [tangents[0]]


def check_parameter(value, draw, role, finite=False):
    """Raise NumPy's error for a parameter `value` of `draw` that NumPy's Generator refuses (see
    `ParameterCheck`); NaN passes unless `finite`, as in NumPy."""
    if finite and not np.all(np.isfinite(value)):
        raise OverflowError(f"{draw}: {role} range exceeds valid bounds")
    if np.any(np.less(value, 0)):
        raise ValueError(f"{draw}: {role} < 0")


def _checked(var, draw, role, finite=False):
    """`var`, checked now when it is a constant, else at run time by a ParameterCheck node."""
    if isinstance(var, Constant):
        check_parameter(var.data, draw, role, finite)
        return var
    return ParameterCheck(draw, role, finite)(var)


def is_draw(node):
    """Does `node` draw from the generator state that is its first input (and return the next one first)?"""
    return isinstance(node.op, (RandomVariable, DrawLoop))


def random_state_updates(outputs, updated=()):
    """The updates that advance the shared generator states that draws in `outputs` consume:
    `[(state, last_state)]`, skipping the shared variables in `updated` (given an explicit update).

    `last_state` is the end of the chain of draws (and loops) in `outputs` that starts at `state`: a
    functional draw from the next state of a draw from `state` continues the chain, so the next call
    starts after every sample this one drew from it, as one `np.random.Generator` drawing them in turn.

    Raises ValueError when two draws consume the same state of a chain that starts at a shared state
    (they would give the same sample, and the update could keep only one of their next states), or
    when a draw consumes a state computed from a chain other than as a draw's next state.

    Example:
        >>> import symgraph as sg
        >>> rng = sg.random.RandomStream(seed=1)
        >>> x = rng.uniform(size=2)
        >>> [(state, next_state)] = sg.random.random_state_updates([x])
        >>> state is rng.state_variables[0], next_state.owner is x.owner
        (True, True)
        >>> key = sg.shared(sg.random.key(0))
        >>> k1, a = sg.random.normal(key)
        >>> k2, b = sg.random.normal(k1)
        >>> [(state, last_state)] = sg.random.random_state_updates([a, b])
        >>> last_state is k2
        True
    """
    skipped = {id(v) for v in updated}
    nodes = toposort(outputs)
    consumers = {}
    for node in nodes:
        for state, next_state in _consumed_states(node):
            consumers.setdefault(id(state), (state, []))[1].append(next_state)
    chain_of = {}
    updates = []
    for state, _ in consumers.values():
        if isinstance(state, SharedVariable) and id(state) not in skipped:
            updates.append((state, _chain_end(state, consumers, chain_of)))
    if chain_of:
        _check_no_draw_from_computed_states(nodes, consumers, chain_of)
    return updates


def _chain_end(shared_state, consumers, chain_of):
    """The last state of the chain of draws from `shared_state` (see `random_state_updates`); records
    each state of the chain in `chain_of` (state id -> `shared_state`)."""
    state = shared_state
    chain_of[id(state)] = shared_state
    while id(state) in consumers:
        next_states = consumers[id(state)][1]
        if len(next_states) > 1:
            name = shared_state.name or repr(shared_state)
            where = name if state is shared_state else f"{state!r} (a next state of the shared state {name})"
            raise ValueError(f"two draws consume the generator state {where}: they would give the same sample; "
                             "give each draw its own state, or an explicit update")
        state = next_states[0]
        chain_of[id(state)] = shared_state
    return state


def _check_no_draw_from_computed_states(nodes, consumers, chain_of):
    """Refuse a draw from a state computed from a chain's states other than as a draw's next state (say,
    an entry of a scan's buffer of states): the automatic update could not tell whether the chain
    continues through that draw, and a wrong guess would repeat samples at the next call."""
    computed_from = {}
    for node in nodes:
        source = next((chain_of.get(id(v), computed_from.get(id(v))) for v in node.inputs
                       if id(v) in chain_of or id(v) in computed_from), None)
        if source is not None:
            computed_from.update((id(out), source) for out in node.outputs)
    for state, _ in consumers.values():
        if id(state) in computed_from and id(state) not in chain_of:
            shared_state = computed_from[id(state)]
            name = shared_state.name or repr(shared_state)
            raise ValueError(f"a draw consumes the generator state {state!r}, computed from the shared state {name} "
                             f"but not as the next state of a draw: the automatic update of {name} cannot tell where "
                             "its draws end; give an explicit update of it")


def next_generator_states(outputs):
    """The next generator states that the draws and loops in `outputs` produce, whatever their states are."""
    return [next_state for node in toposort(outputs) for _, next_state in _consumed_states(node)]


def _consumed_states(node):
    """(generator state, next state) pairs that `node` consumes: a draw's own, or those a loop threads
    through its steps (`Scan.generator_updates`)."""
    if is_draw(node):
        return [(node.inputs[0], node.outputs[0])]
    threaded = getattr(node.op, "generator_updates", None)
    return threaded(node) if threaded is not None else []


# ---------------------------------------------------------------- functional draws

def _draw(key_or_generator, distribution, params, size, dtype, options=(), op_name=None):
    """(next_state, sample) of one draw; `size` None means the shape the parameters imply."""
    op_name = op_name or distribution
    state = _key_variable(key_or_generator, op_name)
    if size is None:
        return RandomVariable(distribution, None, dtype, options)(state, *params)
    entries, size_input = _shape_argument(size, op_name)
    if any(s is not None and s < 0 for s in entries):
        raise ValueError(f"{op_name}: negative dimensions are not allowed, got size {_shape_text(entries)}")
    extra = [] if size_input is None else [size_input]
    return RandomVariable(distribution, entries, dtype, options)(state, *params, *extra)


def draw_with_size(op, state, params, size):
    """(next_state, sample) of `op`'s distribution with the same parameters and options but an explicit
    `size` (ints and symbolic int scalars)."""
    return _draw(state, op.distribution, params, size, op.dtype, op.options)


def _float_dtype(dtype, op_name):
    dtype = as_dtype(dtype, op_name)
    if dtype not in (np.float64, np.float32):
        raise TypeError(f"{op_name}: dtype must be float64 or float32, got {dtype}")
    return dtype.name


def _number_is(value, target):
    return not isinstance(value, Variable) and np.ndim(value) == 0 and value == target


def _real_parameter(value, role, op_name):
    var = as_variable(value, f"{role} of {op_name}")
    if var.dtype.kind not in "biuf":
        raise TypeError(f"{op_name}: {role} must be real, got {var!r}")
    return var


def standard_normal(key, size=None, dtype="float64"):
    """(next_key, sample) of `np.random.Generator.standard_normal(size, dtype)` from state `key`.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> _, z = sg.random.standard_normal(sg.random.key(3), size=(2,), dtype="float32")
        >>> z.dtype, bool((z.eval() == np.random.default_rng(3).standard_normal(2, dtype="float32")).all())
        (dtype('float32'), True)
    """
    return _draw(key, "standard_normal", (), () if size is None else size, _float_dtype(dtype, "standard_normal"))


def normal(key, loc=0.0, scale=1.0, size=None):
    """(next_key, sample) of `np.random.Generator.normal(loc, scale, size)`: `loc + scale * z` for a
    standard normal `z`, so it is differentiable with respect to `loc` and `scale` (float64, as NumPy).

    Example:
        >>> import numpy as np, symgraph as sg
        >>> mu = sg.vector("mu")
        >>> _, x = sg.random.normal(sg.random.key(0), mu, 2.0)
        >>> np.allclose(x.eval({mu: [0.0, 10.0]}), np.random.default_rng(0).normal([0.0, 10.0], 2.0))
        True
        >>> sg.grad(x.sum(), mu).eval({mu: [0.0, 10.0]})
        array([1., 1.])
    """
    loc, scale = _real_parameter(loc, "loc", "normal"), _real_parameter(scale, "scale", "normal")
    next_key, z = _draw(key, "standard_normal", (loc, scale) if size is None else (), size, "float64",
                        op_name="normal")
    _check_fits(size, (loc, scale), z, "normal")
    return next_key, _affine(loc, _checked(scale, "normal", "scale"), z)


def uniform(key, low=0.0, high=1.0, size=None):
    """(next_key, sample) of `np.random.Generator.uniform(low, high, size)`: `low + (high - low) * u`
    for a standard uniform `u` (differentiable with respect to `low` and `high`; float64, as NumPy).

    Example:
        >>> import numpy as np, symgraph as sg
        >>> _, u = sg.random.uniform(sg.random.key(5), -1.0, 1.0, size=3)
        >>> bool((u.eval() == np.random.default_rng(5).uniform(-1.0, 1.0, size=3)).all())
        True
    """
    low, high = _real_parameter(low, "low", "uniform"), _real_parameter(high, "high", "uniform")
    next_key, u = _draw(key, "random", (low, high) if size is None else (), size, "float64", op_name="uniform")
    _check_fits(size, (low, high), u, "uniform")
    span = high if _constant_is(low, 0) else subtract(high, low)
    return next_key, _affine(low, _checked(span, "uniform", "high - low", finite=True), u)


def _check_fits(size, params, sample, op_name):
    """With an explicit size, the parameters must broadcast to it (NumPy's rule)."""
    if size is not None:
        check_broadcasts_to(sample.type.shape, [p.type for p in params], op_name)


def check_broadcasts_to(shape, param_types, op_name):
    """Raise ShapeError naming `op_name` unless parameters of `param_types` broadcast to `shape`."""
    def mismatch():
        operands = ", ".join(str(t) for t in param_types)
        return ShapeError(f"{op_name}: parameters of types {operands} do not broadcast to size {_shape_text(shape)}")

    try:
        broadcast = broadcast_static_shapes(shape, *(t.shape for t in param_types))
    except ShapeError:
        raise mismatch() from None
    if len(broadcast) != len(shape) or any(b is not None and s is not None and b != s for b, s in zip(broadcast, shape)):
        raise mismatch()


def _affine(shift, scale, standard):
    """`shift + scale * standard`, leaving out a shift of 0 and a scale of 1 given as Python numbers."""
    result = standard if _constant_is(scale, 1) else multiply(scale, standard)
    return result if _constant_is(shift, 0) else add(shift, result)


def _constant_is(var, number):
    return isinstance(var, Constant) and var.data.ndim == 0 and var.data == number


def binomial(key, n, p, size=None):
    """(next_key, sample) of `np.random.Generator.binomial(n, p, size)` (int64; zero gradients).

    Example:
        >>> import numpy as np, symgraph as sg
        >>> _, b = sg.random.binomial(sg.random.key(0), 10, 0.5, size=4)
        >>> b.eval().tolist() == np.random.default_rng(0).binomial(10, 0.5, size=4).tolist()
        True
    """
    n, p = as_variable(n, "n of binomial"), _real_parameter(p, "p", "binomial")
    if n.dtype.kind not in "biu":
        raise TypeError(f"binomial: n must be an integer, got {n!r}")
    return _draw(key, "binomial", (n, p), size, "int64")


def bernoulli(key, p, size=None):
    """(next_key, sample): 1 with probability `p`, else 0; `binomial(key, 1, p, size)` (int64).

    Example:
        >>> import symgraph as sg
        >>> _, b = sg.random.bernoulli(sg.random.key(0), 0.3, size=1000)
        >>> 0.25 < float(b.mean().eval()) < 0.35
        True
    """
    return binomial(key, 1, p, size)


def integers(key, low, high=None, size=None, dtype="int64", endpoint=False):
    """(next_key, sample) of `np.random.Generator.integers(low, high, size, dtype, endpoint)`: integers
    in [low, high) (or [low, high] with `endpoint`), in [0, low) when `high` is None.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> _, i = sg.random.integers(sg.random.key(2), 10, size=5)
        >>> i.eval().tolist() == np.random.default_rng(2).integers(10, size=5).tolist()
        True
    """
    if high is None:
        low, high = 0, low
    dtype = as_dtype(dtype, "integers")
    if dtype.kind not in "iub":
        raise TypeError(f"integers: dtype must be an integer dtype, got {dtype}")
    low, high = as_variable(low, "low of integers"), as_variable(high, "high of integers")
    for role, var in (("low", low), ("high", high)):
        if var.dtype.kind not in "biu":
            raise TypeError(f"integers: {role} must be an integer, got {var!r}")
    return _draw(key, "integers", (low, high), size, dtype.name, (bool(endpoint),))


def _population(a, op_name):
    """A 1-d population: an int (or 0-d integer variable) `n` stands for `arange(n)`, as in NumPy."""
    var = as_variable(a, f"a of {op_name}")
    if var.ndim == 0:
        if var.dtype.kind not in "iu":
            raise TypeError(f"{op_name}: a 0-d population must be an integer (the size of arange), got {var!r}")
        return arange(var)
    return var


def choice(key, a, size=None, replace=True, p=None):
    """(next_key, sample) of `np.random.Generator.choice(a, size, replace, p)` for a 1-d `a` (or an int
    `n`, meaning `arange(n)`); the sample has `a`'s dtype.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> _, c = sg.random.choice(sg.random.key(0), 5, size=3, replace=False)
        >>> c.eval().tolist() == np.random.default_rng(0).choice(5, size=3, replace=False).tolist()
        True
    """
    a = _population(a, "choice")
    if a.ndim != 1:
        raise ShapeError(f"choice: a must be 1-d (or an int), got {a.type}")
    params = (a,)
    if p is not None:
        p = _real_parameter(p, "p", "choice")
        if p.ndim != 1:
            raise ShapeError(f"choice: p must be 1-d, got {p.type}")
        params = (a, p)
    return _draw(key, "choice", params, () if size is None else size, a.dtype.name, (bool(replace),))


def permutation(key, x):
    """(next_key, sample) of `np.random.Generator.permutation(x)`: `x` shuffled along its first axis,
    or a permutation of `arange(x)` for an int `x`.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> _, perm = sg.random.permutation(sg.random.key(0), 6)
        >>> perm.eval().tolist() == np.random.default_rng(0).permutation(6).tolist()
        True
    """
    x = _population(x, "permutation")
    return _draw(key, "permutation", (x,), None, x.dtype.name)


def multinomial(key, n, pvals, size=None):
    """(next_key, sample) of `np.random.Generator.multinomial(n, pvals, size)`: the counts of `n` trials
    over the categories of the last axis of `pvals` (one draw per row of `pvals`; `n` broadcasts
    against the rows). int64 of shape `size + (k,)` for k categories, or the rows' broadcast shape
    `+ (k,)` without a size; zero gradients.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> _, counts = sg.random.multinomial(sg.random.key(0), 10, [[0.2, 0.8], [0.5, 0.5]])
        >>> counts.eval().tolist() == np.random.default_rng(0).multinomial(10, [[0.2, 0.8], [0.5, 0.5]]).tolist()
        True
    """
    n = as_variable(n, "n of multinomial")
    if n.dtype.kind not in "biu":
        raise TypeError(f"multinomial: n must be an integer, got {n!r}")
    pvals = _real_parameter(pvals, "pvals", "multinomial")
    if pvals.ndim < 1:
        raise ShapeError(f"multinomial: pvals must have at least one axis (the categories), got {pvals.type}")
    pvals = cast(pvals, "float64") if pvals.dtype != np.float64 else pvals
    if size is None:
        return _draw(key, "multinomial", (n, pvals), None, "int64")
    rows = (size,) if isinstance(size, (int, np.integer, Variable)) else tuple(size)
    categories = pvals.type.shape[-1]
    sample_size = rows + (pvals.shape[-1] if categories is None else categories,)
    next_key, sample = _draw(key, "multinomial", (n, pvals), sample_size, "int64")
    check_broadcasts_to(sample.type.shape[:-1], [n.type, TensorType(pvals.dtype, pvals.type.shape[:-1])],
                        "multinomial")
    return next_key, sample


def categorical(key, p):
    """(next_key, sample): for each row of the last axis of `p` (probabilities, normalized by their sum),
    the index i drawn with probability `p[..., i]`; int64 of shape `p.shape[:-1]`.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> _, i = sg.random.categorical(sg.random.key(0), [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
        >>> i.eval().tolist()
        [1, 2]
    """
    p = _real_parameter(p, "p", "categorical")
    if p.ndim < 1:
        raise ShapeError(f"categorical: p must have at least one axis (the categories), got {p.type}")
    return _draw(key, "categorical", (cast(p, "float64") if p.dtype != np.float64 else p,), None, "int64")


# ---------------------------------------------------------------- streams

_STREAM_STATE_NUMBERS = weakref.WeakKeyDictionary()
"""The shared state of each RandomStream draw -> its number in creation order (see `made_after`)."""
_stream_numbers = itertools.count(1)
_numbering_lock = threading.Lock()


def _number_stream_state(state):
    with _numbering_lock:
        _STREAM_STATE_NUMBERS[state] = next(_stream_numbers)


def stream_draws_made():
    """A mark for `made_after`: every RandomStream draw made from now on is numbered above it."""
    with _numbering_lock:
        return next(_stream_numbers)


def made_after(node, mark):
    """Is `node` a RandomStream draw made after `stream_draws_made()` returned `mark`?"""
    return is_draw(node) and _STREAM_STATE_NUMBERS.get(node.inputs[0], -1) > mark


class RandomStream:
    """A source of random draws, in the shape of Theano's `RandomStreams`.

    Each draw (`rng.normal(...)`, ...) gets its own shared generator state: draw k (counting from 0 in
    creation order) starts as `np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))`.
    Every compiled function using a draw advances its state at each call, so calls give new samples;
    `seed(s)` restarts every draw as if the stream had been made with seed `s`, and
    `get_state()`/`set_state()` save and restore the states.

    Example:
        >>> import symgraph as sg
        >>> rng = sg.random.RandomStream(seed=7)
        >>> f = sg.function([], rng.integers(0, 100, size=3))
        >>> first = f(); rng.seed(7); bool((f() == first).all())
        True
    """

    def __init__(self, seed=None):
        self._entropy = np.random.SeedSequence(seed).entropy
        self._states = []
        self._lock = threading.Lock()

    def __getstate__(self):
        return {"entropy": self._entropy, "states": self._states}

    def __setstate__(self, state):
        self._entropy, self._states = state["entropy"], state["states"]
        self._lock = threading.Lock()

    def _initial_state(self, entropy, index):
        return key(np.random.SeedSequence(entropy, spawn_key=(index,)))

    def _next_state(self):
        with self._lock:
            index = len(self._states)
            state = shared(self._initial_state(self._entropy, index), name=f"random_state_{index}")
            self._states.append(state)
        _number_stream_state(state)
        return state

    @property
    def state_variables(self) -> list:
        """The shared generator states of the draws, in creation order."""
        return list(self._states)

    def seed(self, seed=None):
        """Restart every draw from seed `seed`, as if the stream had been created with it."""
        self._entropy = np.random.SeedSequence(seed).entropy
        for index, state in enumerate(self._states):
            state.set_value(self._initial_state(self._entropy, index))

    def get_state(self) -> list:
        """Copies of the generator states of the draws (uint64 vectors), in creation order."""
        return [state.get_value() for state in self._states]

    def set_state(self, states):
        """Restore states saved by `get_state()` (one per draw, in creation order)."""
        states = list(states)
        if len(states) != len(self._states):
            raise ValueError(f"RandomStream.set_state: expected {len(self._states)} states, got {len(states)}")
        for state, value in zip(self._states, states):
            state.set_value(np.asarray(value, dtype=np.uint64))

    def normal(self, loc=0.0, scale=1.0, size=None):
        """A draw of `sg.random.normal(loc, scale, size)` (differentiable in loc and scale)."""
        return normal(self._next_state(), loc, scale, size)[1]

    def standard_normal(self, size=None, dtype="float64"):
        """A draw of `sg.random.standard_normal(size, dtype)`."""
        return standard_normal(self._next_state(), size, dtype)[1]

    def uniform(self, low=0.0, high=1.0, size=None):
        """A draw of `sg.random.uniform(low, high, size)` (differentiable in low and high)."""
        return uniform(self._next_state(), low, high, size)[1]

    def binomial(self, n, p, size=None):
        """A draw of `sg.random.binomial(n, p, size)`."""
        return binomial(self._next_state(), n, p, size)[1]

    def bernoulli(self, p, size=None):
        """A draw of `sg.random.bernoulli(p, size)`."""
        return bernoulli(self._next_state(), p, size)[1]

    def integers(self, low, high=None, size=None, dtype="int64", endpoint=False):
        """A draw of `sg.random.integers(low, high, size, dtype, endpoint)`."""
        return integers(self._next_state(), low, high, size, dtype, endpoint)[1]

    def choice(self, a, size=None, replace=True, p=None):
        """A draw of `sg.random.choice(a, size, replace, p)`."""
        return choice(self._next_state(), a, size, replace, p)[1]

    def permutation(self, x):
        """A draw of `sg.random.permutation(x)`."""
        return permutation(self._next_state(), x)[1]

    def categorical(self, p):
        """A draw of `sg.random.categorical(p)`."""
        return categorical(self._next_state(), p)[1]

    def multinomial(self, n, pvals, size=None):
        """A draw of `sg.random.multinomial(n, pvals, size)`."""
        return multinomial(self._next_state(), n, pvals, size)[1]

    def __repr__(self):
        return f"<RandomStream with {len(self._states)} draws>"


def dropout(x, rate, rng):
    """Inverted dropout: each entry of `x` is zeroed with probability `rate` and the kept ones are
    divided by `1 - rate`, so the expected value is `x`. `rng` is a RandomStream (one new draw). A
    number `rate` must be in [0, 1) (ValueError); a symbolic rate of 1 drops every entry (zeros).

    Example:
        >>> import numpy as np, symgraph as sg
        >>> x = sg.vector("x")
        >>> y = sg.dropout(x, 0.5, sg.random.RandomStream(seed=0))
        >>> values = y.eval({x: np.ones(1000)})
        >>> sorted(set(values.tolist())), 0.4 < float((values == 0).mean()) < 0.6
        ([0.0, 2.0], True)
    """
    if not isinstance(rng, RandomStream):
        raise TypeError(f"dropout: rng must be a sg.random.RandomStream, got {rng!r}")
    x = as_variable(x, "x of dropout")
    if _number_is(rate, 0):
        return x
    if not isinstance(rate, Variable) and not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate!r}")
    keep = ge(rng.uniform(size=x.shape if x.ndim else ()), rate)
    # A number rate stays a Python scalar, which keeps x's float type (float32 stays float32), as NumPy does.
    return true_divide(multiply(x, keep), _kept_fraction(rate) if isinstance(rate, Variable) else 1 - rate)


def _kept_fraction(rate):
    """`1 - rate` for a symbolic rate, but 1 where the rate is 1: every entry is dropped then, and
    dividing the zeros by 1 keeps them zeros instead of 0/0 = NaN."""
    kept = subtract(1, rate)
    return where(eq(kept, 0), 1, kept)

