"""Helpers for the op tests: random inputs of any dtype, compiling against symbolic inputs of static or
unknown sizes on every installed backend, and a forward-mode check against finite differences."""
import importlib.util

import numpy as np
import pytest

import symgraph as sg
from symgraph.autodiff import grad, jvp

DTYPES = ["float32", "float64", "int32", "int64", "bool"]


def installed_backends():
    """The backends the op battery runs on: NumPy, and Numba when it is installed (serial, and taking its
    loops at every size, so that the small test arrays run through them)."""
    backends = [sg.backend("numpy")]
    if importlib.util.find_spec("numba") is not None:
        backends.append(sg.backend("numba", parallel=False, min_elements=1))
    return backends


BACKENDS = installed_backends()


def dask_backend():
    """The Dask backend the op battery also runs on when dask is installed (else None): chunks of 2 along
    every axis, so that the small test arrays span several blocks."""
    if importlib.util.find_spec("dask") is None:
        return None
    return sg.backend("dask", chunks=2)


DASK = dask_backend()

NOT_LOWERED_BY_DASK = frozenset()
"""Names of the ops of the battery's graphs that the Dask backend has no lowering of: a graph holding one
must be refused with NotImplementedError when compiled for Dask (checked), and an op refused that is not
listed here fails the test, so no graph skips Dask silently."""


def random_array(rng, shape, dtype="float64"):
    """Random values of `dtype`: normal floats, small integers, or random booleans."""
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-4, 5, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def symbolic_like(value, static=True, name="x"):
    """A symbolic input of `value`'s dtype and rank, with its static sizes or with every size unknown."""
    value = np.asarray(value)
    return sg.tensor(name, dtype=value.dtype, shape=value.shape if static else (None,) * value.ndim)


def run(build, values, static=True, backend="numpy"):
    """(symbolic output, computed value) of `build` applied to symbolic inputs standing for `values`."""
    inputs = [symbolic_like(v, static, f"x{i}") for i, v in enumerate(values)]
    output = build(*inputs)
    return output, sg.function(inputs, output, backend=backend)(*values)


def run_on_dask(build, values):
    """(symbolic output, computed value) of `build` on the Dask backend with static input sizes, on Dask's
    synchronous scheduler (the arrays are tiny: threads would only add overhead); None when the graph holds
    an op the Dask backend does not lower, after checking that compiling refuses it by name and that the op
    is one of NOT_LOWERED_BY_DASK."""
    import dask

    inputs = [symbolic_like(v, True, f"x{i}") for i, v in enumerate(values)]
    output = build(*inputs)
    nodes = sg.function(inputs, output, on_unused_input="ignore").graph.nodes
    unlowered = {node.op.name for node in nodes if not DASK.lowers(type(node.op))}
    if unlowered:
        assert unlowered <= NOT_LOWERED_BY_DASK, f"ops the dask backend does not lower: {sorted(unlowered)}"
        with pytest.raises(NotImplementedError, match="the dask backend cannot lower"):
            sg.function(inputs, output, backend=DASK, on_unused_input="ignore")
        return None
    with dask.config.set(scheduler="synchronous"):
        return output, sg.function(inputs, output, backend=DASK, on_unused_input="ignore")(*values)


def assert_matches_numpy(build, reference, values, rtol=1e-6):
    """Values, dtype and static shape as NumPy's, with static and with unknown input sizes, on every
    installed backend; and on Dask with static sizes (see run_on_dask)."""
    expected = np.asarray(reference(*values))
    runs = [(static, run(build, values, static, backend)) for static in (True, False) for backend in BACKENDS]
    on_dask = None if DASK is None else run_on_dask(build, values)
    for static, (output, result) in runs + ([(True, on_dask)] if on_dask is not None else []):
        assert result.dtype == expected.dtype and output.dtype == expected.dtype
        assert result.shape == expected.shape
        if expected.dtype.kind in "fc":
            np.testing.assert_allclose(result, expected, rtol=rtol, atol=rtol)
        else:
            np.testing.assert_array_equal(result, expected)
        assert len(output.type.shape) == expected.ndim
        if static:
            assert output.type.shape == expected.shape
        else:
            assert all(s is None or s == e for s, e in zip(output.type.shape, expected.shape))


def gradients_with_unknown_sizes(build, values, rng):
    """The gradients of `sum(u * build(...))` with static and with unknown input sizes (two lists)."""
    cotangent = None
    results = []
    for static in (True, False):
        inputs = [symbolic_like(v, static, f"x{i}") for i, v in enumerate(values)]
        output = build(*inputs)
        if cotangent is None:
            cotangent = rng.standard_normal(sg.function(inputs, output)(*values).shape)
        cost = sg.sum(output * sg.constant(cotangent))
        results.append(sg.function(inputs, grad(cost, inputs), on_unused_input="ignore")(*values))
    return results


def assert_jvp_matches_finite_differences(build, values, rng, eps=1e-6, rtol=1e-5):
    """The forward-mode derivative along random tangents equals central finite differences."""
    inputs = [symbolic_like(v, True, f"x{i}") for i, v in enumerate(values)]
    tangents = [symbolic_like(v, True, f"t{i}") for i, v in enumerate(values)]
    forward = sg.function(inputs + tangents, jvp(build(*inputs), inputs, tangents), on_unused_input="ignore")
    value = sg.function(inputs, build(*inputs))
    directions = [rng.standard_normal(v.shape) for v in values]
    plus = value(*[v + eps * d for v, d in zip(values, directions)])
    minus = value(*[v - eps * d for v, d in zip(values, directions)])
    np.testing.assert_allclose(forward(*values, *directions), (plus - minus) / (2 * eps), rtol=rtol, atol=rtol)
