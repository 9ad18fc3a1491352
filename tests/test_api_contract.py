"""Regression tests from an audit of symgraph against API.md and NumPy semantics.

Each test is named for the promised behaviour that was found broken, and compares against NumPy.
"""
import numpy as np
import pytest

import symgraph as sg


def test_concatenate_axis_none_flattens_every_operand_like_numpy(rng):
    a_value = rng.standard_normal((2, 3))
    b_value = np.arange(4, dtype="int32")
    a, b, c = sg.tensor("a", shape=(2, 3)), sg.vector("b", dtype="int32"), sg.scalar("c")
    joined = sg.concatenate([a, b, c], axis=None)
    assert joined.ndim == 1
    result = sg.function([a, b, c], joined)(a_value, b_value, 5.0)
    expected = np.concatenate([a_value, b_value, np.array(5.0)], axis=None)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


def test_python_int_that_wraps_between_int64_and_uint64_is_rejected_naming_the_input():
    # NumPy refuses both conversions (`np.array(2**63, dtype="int64")` raises OverflowError).
    n = sg.scalar("n", dtype="int64")
    with pytest.raises(TypeError, match="'n'"):
        sg.function([n], n + 1)(2**63)
    u = sg.vector("u", dtype="uint64")
    with pytest.raises(TypeError, match="'u'"):
        sg.function([u], u + 1)([-1, 2])
    shared = sg.shared(np.array(0))
    with pytest.raises(TypeError):
        shared.set_value(2**63)
    assert shared.get_value() == 0
    assert sg.function([n], n * 1)(2**63 - 1) == np.int64(2**63 - 1)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool", "float32"])
def test_empty_python_list_is_accepted_for_any_dtype_like_numpy(dtype):
    v = sg.vector("v", dtype=dtype)
    result = sg.function([v], v)([])
    expected = np.asarray([], dtype=dtype)
    assert result.dtype == expected.dtype and result.shape == expected.shape
