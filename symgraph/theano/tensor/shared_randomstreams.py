"""`theano.tensor.shared_randomstreams.RandomStreams`: Theano's draw signatures over `sg.RandomStream`.

Each draw has its own shared state that every compiled function using it advances at each call (Theano's
default updates). Samples follow NumPy's `Generator`, not Theano's generators: the same seed gives
different numbers than under Theano, with the same distribution.

Example:
    >>> import symgraph.theano as theano
    >>> from symgraph.theano.tensor.shared_randomstreams import RandomStreams
    >>> srng = RandomStreams(seed=234)
    >>> draw = theano.function([], srng.uniform((2, 2)))
    >>> bool((draw() != draw()).all())
    True
"""
from ...config import config as _sg_config
from ...ops import cast
from ...ops.random import RandomStream

__all__ = ["RandomStreams"]


def _typed(sample, dtype, ndim, method):
    if ndim is not None and sample.ndim != ndim:
        raise ValueError(f"RandomStreams.{method}: the draw has rank {sample.ndim}, not ndim={ndim}")
    return sample if sample.dtype == dtype else cast(sample, dtype)


class RandomStreams:
    """A source of random draws with Theano's method signatures (`uniform`, `normal`, `binomial`,
    `random_integers`, `choice`, `permutation`, `multinomial`), `seed`, and `state_updates` for inspection.

    `ndim` is checked against the draw's rank; `dtype` defaults to `theano.config.floatX` for `uniform`
    and `normal`, and to int64 for the discrete draws.

    Example:
        >>> import symgraph.theano as theano
        >>> from symgraph.theano.tensor.shared_randomstreams import RandomStreams
        >>> srng = RandomStreams(seed=1)
        >>> coin = srng.binomial(size=(4,), n=1, p=0.5, dtype="float64")
        >>> theano.function([], coin)().dtype
        dtype('float64')
    """

    def __init__(self, seed=None):
        self.stream = RandomStream(seed)

    def seed(self, seed=None):
        """Restart every draw from `seed`, as if the streams had been made with it."""
        self.stream.seed(seed)

    def state_updates(self):
        """The shared generator states of the draws (symgraph updates them itself)."""
        return self.stream.state_variables

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        """Uniform samples in [low, high)."""
        return _typed(self.stream.uniform(low, high, size), dtype or _sg_config.floatX, ndim, "uniform")

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        """Normal samples of mean `avg` and standard deviation `std`."""
        return _typed(self.stream.normal(avg, std, size), dtype or _sg_config.floatX, ndim, "normal")

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64"):
        """Binomial samples: successes in `n` trials of probability `p` (Bernoulli for n=1)."""
        return _typed(self.stream.binomial(n, p, size), dtype, ndim, "binomial")

    def random_integers(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        """Integers from `low` to `high`, both included."""
        sample = self.stream.integers(low, high, size, dtype="int64", endpoint=True)
        return _typed(sample, dtype, ndim, "random_integers")

    def choice(self, size=1, a=2, replace=True, p=None, ndim=None, dtype="int64"):
        """Samples of `a` (an int n for range(n), or a vector), with probabilities `p`."""
        return _typed(self.stream.choice(a, size, replace, p), dtype, ndim, "choice")

    def multinomial(self, size=None, n=1, pvals=(0.5, 0.5), ndim=None, dtype="int64"):
        """Counts of `n` trials over the categories of the last axis of `pvals`, one draw per row of
        `pvals` (shape `size + (k,)`, or `pvals`' shape without a size), as `sg.random.multinomial`.

        Example:
            >>> import symgraph.theano as theano
            >>> from symgraph.theano.tensor.shared_randomstreams import RandomStreams
            >>> counts = RandomStreams(seed=3).multinomial(n=5, pvals=[[0.0, 1.0], [1.0, 0.0]])
            >>> theano.function([], counts)().tolist()
            [[0, 5], [5, 0]]
        """
        return _typed(self.stream.multinomial(n, pvals, size), dtype, ndim, "multinomial")

    def permutation(self, size=None, n=1, ndim=None, dtype="int64"):
        """A random permutation of range(n) (only `size=None`: one permutation)."""
        if size not in (None, (), 1, (1,)):
            raise ValueError(f"RandomStreams.permutation: argument size={size!r} cannot be honoured by "
                             "symgraph: it draws one permutation; use theano.scan for several")
        return _typed(self.stream.permutation(n), dtype, ndim, "permutation")
