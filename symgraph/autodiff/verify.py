"""`sg.verify_grad`: compare symbolic gradients with central finite differences.

A non-scalar output is projected on a random cotangent `u`, so what is checked is the vector-Jacobian
product `J^T u` (a scalar output is checked as it is). When the points hold few entries every entry is
checked on its own; otherwise the check runs along a few random directions `d`, comparing `<J^T u, d>`
with `(u . f(x + eps d) - u . f(x - eps d)) / (2 eps)`.

Example:
    >>> import numpy as np, symgraph as sg
    >>> sg.verify_grad(lambda x: sg.tanh(x) * x, [np.array([0.5, -1.0])], rng=0)
"""
import numpy as np

from ..errors import GradientError
from ..graph.basic import Variable
from ..graph.inputs import tensor
from .forward import vjp

PER_ENTRY_LIMIT = 64
"""Points with at most this many entries in total are checked entry by entry."""

RANDOM_DIRECTIONS = 3
"""How many random directions larger points are checked along."""

_DEFAULTS = {  # dtype -> (eps, rtol, atol): float32 differences lose ~4 more digits to rounding
    "float16": (1e-1, 5e-2, 5e-2),
    "float32": (1e-3, 1e-2, 1e-2),
    "float64": (1e-6, 1e-5, 1e-5),
}


def _as_points(points):
    if isinstance(points, np.ndarray) or np.isscalar(points):
        points = [points]
    if not isinstance(points, (list, tuple)):
        raise TypeError(f"sg.verify_grad: points must be a list of NumPy arrays, got {points!r}")
    arrays = []
    for i, point in enumerate(points):
        array = np.array(point, copy=True)
        if array.dtype.kind != "f":
            raise TypeError(
                f"sg.verify_grad: point {i} has dtype {array.dtype}; finite differences need float points"
            )
        arrays.append(array)
    return arrays


def _as_rng(rng):
    """(Generator, seed or None): a fresh seed is drawn and reported when none is given."""
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
        return np.random.default_rng(seed), seed
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng)), int(rng)
    raise TypeError(f"sg.verify_grad: rng must be a numpy.random.Generator or an int seed, got {rng!r}")


def _defaults(dtypes):
    """eps, rtol, atol for the least precise of `dtypes`."""
    least = min(dtypes, key=lambda d: np.finfo(d).bits)
    return _DEFAULTS.get(np.dtype(least).name, _DEFAULTS["float64"])


class _Checker:
    """The compiled output and gradient functions at fixed points, cotangent and tolerances."""

    def __init__(self, fn, points, rng, mode):
        self.points = points
        inputs = [tensor(f"point{i}", dtype=p.dtype, shape=p.shape) for i, p in enumerate(points)]
        output = fn(*inputs)
        if not isinstance(output, Variable):
            raise TypeError(f"sg.verify_grad: fn must return one symbolic variable, got {output!r}")
        if output.dtype.kind != "f":
            raise TypeError(f"sg.verify_grad: fn returned {output!r} of type {output.type}; it must be float")
        from ..function import function

        self.output_dtype = output.dtype
        self.f = function(inputs, output, mode=mode, on_unused_input="ignore")
        value = self.f(*points)
        self.cotangent = np.ones((), value.dtype) if value.ndim == 0 else rng.standard_normal(value.shape).astype(value.dtype)
        cotangent = tensor("cotangent", dtype=output.dtype, shape=value.shape)
        grad_function = function(inputs + [cotangent], vjp(output, inputs, cotangent), mode=mode, on_unused_input="ignore")
        self.grads = [np.asarray(g) for g in grad_function(*points, self.cotangent)]
        for i, (g, p) in enumerate(zip(self.grads, points)):
            if g.shape != p.shape:
                raise GradientError(f"sg.verify_grad: the gradient for point {i} has shape {g.shape}, the point {p.shape}",
                                    index=(i,))

    def projected(self, values):
        """u . f(values) in float64."""
        return float(np.sum(np.asarray(self.f(*values), dtype=np.float64) * self.cotangent))

    def shifted(self, steps, eps):
        """The points moved by +eps and -eps times `steps` (one array per point), in the points' dtypes."""
        plus = [(p + eps * s).astype(p.dtype) for p, s in zip(self.points, steps)]
        minus = [(p - eps * s).astype(p.dtype) for p, s in zip(self.points, steps)]
        return plus, minus

    def per_entry(self, eps):
        """(where, analytic, numeric) for every entry of every point."""
        for i, point in enumerate(self.points):
            for entry in np.ndindex(point.shape):
                steps = [np.zeros(p.shape) for p in self.points]
                steps[i][entry] = 1.0
                plus, minus = self.shifted(steps, eps)
                # Divide by the step actually taken: in float32, x + eps is rounded.
                taken = float(plus[i][entry]) - float(minus[i][entry])
                numeric = (self.projected(plus) - self.projected(minus)) / taken
                yield (i, entry), float(self.grads[i][entry]), numeric

    def along_directions(self, eps, rng):
        """(where, analytic, numeric) along random unit-variance directions."""
        for k in range(RANDOM_DIRECTIONS):
            steps = [rng.standard_normal(p.shape) for p in self.points]
            analytic = float(sum(np.sum(g.astype(np.float64) * s) for g, s in zip(self.grads, steps)))
            plus, minus = self.shifted(steps, eps)
            yield ("direction", k), analytic, (self.projected(plus) - self.projected(minus)) / (2 * eps)


def _describe(where):
    if where[0] == "direction":
        return f"along random direction {where[1]}"
    return f"at point {where[0]}, entry {where[1]}"


def verify_grad(fn, points, eps=None, rtol=None, atol=None, rng=None, mode=None):
    """Check the symbolic gradient of `fn` at `points` against central finite differences.

    `fn` maps symbolic inputs (one per point, of its dtype and shape) to one symbolic output of any
    shape; `points` is a list of float NumPy arrays. Entries disagree when
    `|analytic - numeric| > atol + rtol * max(|analytic|, |numeric|)`; defaults depend on the dtype
    (float32 is looser). `rng` is a `np.random.Generator` or an int seed (a fresh seed, reported on
    failure, when None); `mode` is the compilation mode. Raises `sg.GradientError` naming the worst entry
    with its analytic and numeric values; returns None when the gradient is right.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> sg.verify_grad(lambda a, b: a @ b, [np.ones((2, 3)), np.ones(3)], rng=1)
    """
    points = _as_points(points)
    rng, seed = _as_rng(rng)
    checker = _Checker(fn, points, rng, mode)
    default_eps, default_rtol, default_atol = _defaults([p.dtype for p in points] + [checker.output_dtype])
    eps = default_eps if eps is None else eps
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    total = sum(p.size for p in points)
    comparisons = checker.per_entry(eps) if total <= PER_ENTRY_LIMIT else checker.along_directions(eps, rng)
    worst = None
    for where, analytic, numeric in comparisons:
        abs_err = abs(analytic - numeric)
        allowed = atol + rtol * max(abs(analytic), abs(numeric))
        excess = abs_err / allowed if np.isfinite(abs_err) else np.inf
        if worst is None or not excess <= worst[0]:
            worst = (excess, where, analytic, numeric, abs_err)
    if worst is None or worst[0] <= 1:
        return None
    _, where, analytic, numeric, abs_err = worst
    rel_err = abs_err / max(abs(analytic), abs(numeric), np.finfo(np.float64).tiny)
    seed_note = f", rng seed {seed}" if seed is not None else ""
    raise GradientError(
        f"sg.verify_grad: analytic and numeric gradients disagree {_describe(where)}: analytic {analytic!r}, "
        f"numeric {numeric!r} (abs error {abs_err:.3g}, rel error {rel_err:.3g}; rtol {rtol}, atol {atol}, "
        f"eps {eps}{seed_note})",
        index=where, analytic=analytic, numeric=numeric, abs_err=abs_err, rel_err=rel_err,
    )
