"""Checking a symbolic function against NumPy in both compilation modes, with static and unknown sizes."""
import numpy as np

import symgraph as sg

from op_testing import DASK, run_on_dask, symbolic_like

MODES = (None, "fast_compile")


def assert_same(result, expected, rtol=1e-12):
    """Same dtype, shape and values (NaN where NumPy has NaN, inf where it has inf)."""
    expected = np.asarray(expected)
    assert type(result) is np.ndarray
    assert result.dtype == expected.dtype, (result.dtype, expected.dtype)
    assert result.shape == expected.shape, (result.shape, expected.shape)
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(result, expected, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(result, expected)


def check(build, reference, values, rtol=None, statics=(True, False)):
    """`build` on symbolic stand-ins of `values` gives NumPy's `reference(*values)`: the static shape while
    building, the values compiled in the default mode and in fast_compile, with static and unknown sizes;
    and on Dask with static sizes (op_testing.run_on_dask)."""
    values = [np.asarray(v) for v in values]
    with np.errstate(all="ignore"):
        expected = np.asarray(reference(*values))
    if rtol is None:
        rtol = 1e-5 if expected.dtype in (np.float32, np.complex64) else 1e-12
    for static in statics:
        inputs = [symbolic_like(v, static, f"x{i}") for i, v in enumerate(values)]
        output = build(*inputs)
        assert output.dtype == expected.dtype, (output.dtype, expected.dtype)
        assert output.ndim == expected.ndim
        assert all(s is None or s == e for s, e in zip(output.type.shape, expected.shape)), output.type
        if static:
            assert output.type.shape == expected.shape, output.type
        for mode in MODES:
            with np.errstate(all="ignore"):
                result = sg.function(inputs, output, mode=mode)(*values)
            assert_same(result, expected, rtol)
    if DASK is not None:
        with np.errstate(all="ignore"):
            on_dask = run_on_dask(build, values)
        if on_dask is not None:
            assert_same(on_dask[1], expected, rtol)
