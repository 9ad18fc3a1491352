"""The properties every random graph must have, as plain functions that raise AssertionError.

- `check_forward(case, modes)`: the graph's types are NumPy's; the reference interpreter computes what
  NumPy computes; compiled functions in each mode compute what the reference interpreter computes (same
  dtype and shape; integers exact; NaN/inf at the same places), leave their arguments unchanged, accept
  read-only arguments and never overwrite a result they returned before.
- `check_gradient(case)`: for a smooth case, the gradient of `sum(w_k * output_k)` (fixed random `w_k`)
  and its forward-mode derivative (`sg.jvp`) evaluated by the reference interpreter match central finite
  differences of the reference interpreter, and compiled gradients (fast_run, fast_compile) match it.

Example:
    >>> from fuzz.strategies import graph_cases
    >>> check_forward(graph_cases().example(), ["fast_run"])
"""
import numpy as np
from hypothesis import assume

import symgraph as sg

from .case import evaluate_numpy, quiet
from .interpreter import evaluate
from .strategies import graph_cases, partial_modes

FLOAT_TOLERANCES = {"float16": (1e-2, 1e-2), "float32": (2e-4, 1e-5), "float64": (1e-9, 1e-12)}
"""dtype -> (rtol, atol) between a compiled function and the reference interpreter."""

NUMPY_TOLERANCES = {"float16": (1e-2, 1e-2), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-14)}
"""dtype -> (rtol, atol) between the reference interpreter and NumPy (same algorithms, few ulps apart)."""

FINITE_DIFFERENCE_EPS = (1e-6, 4e-6)
"""Steps of the central differences: where the two disagree, rounding noise dominates and nothing is judged."""
PER_ENTRY_LIMIT = 30
"""Gradients of at most this many entries in total are checked entry by entry, others along directions."""


def assert_agree(expected, actual, label, tolerances, strict_nonfinite=True, scale=None, least_precise=None):
    """`actual` equals `expected` in dtype and shape, exactly for integers and booleans, and for floats
    within the tolerance of their dtype, or of `least_precise` (the least precise float type the values
    went through) if that is coarser, relative to `scale` (the magnitude of the values it was computed
    from) when given; NaN and +-inf at the same places (only where `expected` is finite, if not
    `strict_nonfinite`)."""
    actual = np.asarray(actual)
    assert actual.dtype == expected.dtype, f"{label}: dtype {actual.dtype}, expected {expected.dtype}"
    assert actual.shape == expected.shape, f"{label}: shape {actual.shape}, expected {expected.shape}"
    if expected.dtype.kind not in "fc":
        np.testing.assert_array_equal(actual, expected, err_msg=label)
        return
    dtype = expected.dtype
    if least_precise is not None and np.finfo(least_precise).bits < np.finfo(dtype).bits:
        dtype = np.dtype(least_precise)
    rtol, atol = tolerances[dtype.name]
    finite = np.isfinite(expected)
    if strict_nonfinite:
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=f"{label}: NaN positions")
        np.testing.assert_array_equal(actual[~finite & ~np.isnan(expected)], expected[~finite & ~np.isnan(expected)],
                                      err_msg=f"{label}: inf values")
    atol = atol * (1.0 if scale is None else max(1.0, scale))
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=rtol, atol=atol, err_msg=f"{label}: finite values")


def least_precise_float(values):
    """The float dtype of fewest bits among `values` (None when none is a float)."""
    floats = [v.dtype for v in values if v.dtype.kind == "f"]
    return min(floats, key=lambda d: np.finfo(d).bits) if floats else None


def _magnitude(values):
    finite = [np.abs(v[np.isfinite(v)]).max() for v in values if v.dtype.kind == "f" and np.isfinite(v).any()]
    return float(max(finite, default=0.0))


def check_types_follow_numpy(case, built, numpy_values):
    """Every variable's dtype is NumPy's and its static shape fits NumPy's shape."""
    for name in case.names():
        var, value = built[name], numpy_values[name]
        assert var.dtype == value.dtype, f"{name}: symgraph dtype {var.dtype}, NumPy {value.dtype}"
        assert var.ndim == value.ndim and all(s is None or s == n for s, n in zip(var.type.shape, value.shape)), (
            f"{name}: symgraph type {var.type}, NumPy shape {value.shape}")


def _rolled(value):
    """The same values in other places (so a second call computes something else of the same kind), read-only."""
    rolled = np.roll(value.ravel(), 1).reshape(value.shape)
    rolled.setflags(write=False)
    return rolled


def _writeable_copies(values):
    return [np.array(v, copy=True) for v in values]


def _call(function, arguments):
    with quiet():
        return function(*arguments)


def _reference(outputs, inputs, values):
    with quiet():
        return evaluate(outputs, dict(zip(inputs, values)))


def check_compiled(case, built, mode, reference, least_precise):
    """One mode: results agree with `reference`; arguments untouched; earlier results never overwritten."""
    inputs = [built[leaf.name] for leaf in case.inputs]
    outputs = [built[name] for name in case.outputs]
    leaf_values = [leaf.value for leaf in case.inputs]
    function = sg.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    arguments = _writeable_copies(leaf_values)
    results = _call(function, arguments)
    # Stabilizing rewrites legitimately turn an overflow of the naive formula into a finite result.
    strict = not reference.warned or not _stabilizes(mode)
    scale = _magnitude(leaf_values)
    _compare_outputs(case.outputs, reference, results, f"in mode {mode}", strict, scale, least_precise)
    for leaf, before, after in zip(case.inputs, leaf_values, arguments):
        np.testing.assert_array_equal(after, before, err_msg=f"mode {mode} modified argument {leaf.name}")
    kept = [np.array(r, copy=True) for r in results]
    rolled = [_rolled(v) for v in leaf_values]
    try:
        second_reference = _reference(outputs, inputs, rolled)
    except Exception:  # the rolled values are outside the graph's domain (an integer power < 0, ...)
        return
    second = _call(function, rolled)
    strict = not second_reference.warned or not _stabilizes(mode)
    _compare_outputs(case.outputs, second_reference, second, f"in mode {mode}, second call", strict, scale,
                     least_precise)
    for name, result, copy in zip(case.outputs, results, kept):
        np.testing.assert_array_equal(result, copy, err_msg=f"mode {mode}: a later call overwrote output {name}")


def _compare_outputs(names, reference, results, where, strict, scale, least_precise):
    """Compiled `results` against the `reference` Evaluation; fragile outputs in dtype and shape only."""
    for name, expected, actual, fragile in zip(names, reference.values, results, reference.fragile):
        if fragile:
            actual = np.asarray(actual)
            assert (actual.dtype, actual.shape) == (expected.dtype, expected.shape), (
                f"{name} {where}: {actual.dtype}{list(actual.shape)}, expected {expected.dtype}{list(expected.shape)}")
            continue
        assert_agree(expected, actual, f"{name} {where}", FLOAT_TOLERANCES, strict, scale, least_precise)


def _stabilizes(mode):
    """Would `mode` run the stabilize group's rewrites?"""
    if mode == "fast_compile":
        return False
    return mode == "fast_run" or mode is None or mode.enabled("any_stabilize_rewrite", ("stabilize",))


def check_steps_follow_numpy(case, built):
    """The reference interpreter computes each step as NumPy does from the same operand values.

    Step by step, so that a last-bit difference (SciPy's expit against symgraph's sigmoid) is not
    amplified by later ill-conditioned steps (a huge integer mod a fraction) into a false alarm.
    """
    names = case.names()
    inputs = [built[leaf.name] for leaf in case.inputs]
    evaluation = _reference([built[n] for n in names], inputs, [leaf.value for leaf in case.inputs])
    values = dict(zip(names, evaluation.values))
    least_precise = least_precise_float(values.values())
    for step in case.steps:
        expected = evaluate_numpy(step.np_source, values)
        scale = _magnitude([values[n] for n in names[: names.index(step.name)]])
        assert_agree(expected, values[step.name], f"reference interpreter vs NumPy for {step.name}",
                     NUMPY_TOLERANCES, scale=scale, least_precise=least_precise)


def check_forward(case, modes):
    """Types follow NumPy, the reference interpreter agrees with NumPy, each compiled mode with both."""
    built = case.build()
    numpy_values = case.numpy_values()
    check_types_follow_numpy(case, built, numpy_values)
    check_steps_follow_numpy(case, built)
    inputs = [built[leaf.name] for leaf in case.inputs]
    reference = _reference([built[n] for n in case.outputs], inputs, [leaf.value for leaf in case.inputs])
    least_precise = least_precise_float(numpy_values.values())
    for mode in modes:
        check_compiled(case, built, mode, reference, least_precise)


def _cost(case, built, rng):
    """(sum_k sum(w_k * output_k) over the float outputs with fixed random w_k, sum_k sum |w_k * output_k|),
    or (None, 0) when no output is a float."""
    numpy_values = case.numpy_values()
    terms = []
    magnitude = 0.0
    for name in case.outputs:
        if built[name].dtype.kind == "f":
            weights = rng.standard_normal(numpy_values[name].shape)
            terms.append(sg.sum(built[name] * sg.constant(weights)))
            magnitude += float(np.sum(np.abs(weights * numpy_values[name])))
    if not terms:
        return None, 0.0
    return sum(terms[1:], terms[0]), magnitude


def _finite_differences(cost, wrt, leaf_values, rng):
    """(where, numeric derivatives with each step, direction per wrt) for each entry or along a few random
    directions."""
    total = sum(leaf_values[v].size for v in wrt)
    if total <= PER_ENTRY_LIMIT:
        directions = []
        for i, var in enumerate(wrt):
            for entry in np.ndindex(leaf_values[var].shape):
                direction = [np.zeros(leaf_values[v].shape) for v in wrt]
                direction[i][entry] = 1.0
                directions.append((f"{var.name}{list(entry)}", direction))
    else:
        directions = [(f"direction {k}", [rng.standard_normal(leaf_values[v].shape) for v in wrt]) for k in range(3)]
    for where, direction in directions:
        yield where, [_central_difference(cost, wrt, leaf_values, direction, eps) for eps in FINITE_DIFFERENCE_EPS], direction


def _central_difference(cost, wrt, leaf_values, direction, eps):
    shifted = []
    for sign in (1, -1):
        values = dict(leaf_values)
        values.update({v: leaf_values[v] + sign * eps * d for v, d in zip(wrt, direction)})
        shifted.append(float(evaluate([cost], values).values[0]))
    return (shifted[0] - shifted[1]) / (2 * eps)


def _derivatives_agree(a, b, scale):
    return abs(a - b) <= 1e-6 * scale + 1e-4 * max(abs(a), abs(b))


def check_gradient(case):
    """Reference gradients match finite differences; compiled gradients match reference gradients.
    Returns False when the case has nothing to differentiate (no float output or no float leaf)."""
    built = case.build()
    rng = np.random.default_rng(len(case.steps))
    wrt = [built[leaf.name] for leaf in case.leaves if leaf.kind != "constant" and leaf.value.dtype.kind == "f"]
    cost, magnitude = _cost(case, built, rng)
    if cost is None or not wrt:
        return False
    grads = sg.grad(cost, wrt, disconnected_inputs="ignore")
    tangents = [sg.tensor(f"tangent_{v.name}", dtype=v.dtype, shape=v.type.shape) for v in wrt]
    directional = sg.jvp(cost, wrt, tangents)
    inputs = [built[leaf.name] for leaf in case.inputs]
    leaf_values = {built[leaf.name]: leaf.value for leaf in case.leaves if leaf.kind != "constant"}
    with quiet():
        reference = evaluate(grads, leaf_values).values
        scale = 1.0 + magnitude
        for where, (numeric, coarser), direction in _finite_differences(cost, wrt, leaf_values, rng):
            if not _derivatives_agree(numeric, coarser, scale):
                continue  # rounding noise (1 - sigmoid(20) cancels) swamps the differences: they cannot judge
            analytic = float(sum(np.sum(g * d) for g, d in zip(reference, direction)))
            forward = float(evaluate([directional], {**leaf_values, **dict(zip(tangents, direction))}).values[0])
            for label, value in (("sg.grad", analytic), ("sg.jvp", forward)):
                assert _derivatives_agree(value, numeric, scale), (
                    f"{label} at {where}: reference interpreter {value!r}, finite differences {numeric!r}")
    input_values = [leaf.value for leaf in case.inputs]
    for mode in ("fast_run", "fast_compile"):
        function = sg.function(inputs, grads, mode=mode, on_unused_input="ignore")
        for var, expected, actual in zip(wrt, reference, _call(function, _writeable_copies(input_values))):
            assert_agree(expected, actual, f"gradient for {var.name} in mode {mode}", FLOAT_TOLERANCES,
                         scale=_magnitude(reference))
    return True


def forward_property(case, mode):
    """What the fuzzer checks on every random graph: `check_forward` in fast_run, fast_compile and `mode`."""
    with quiet():
        check_forward(case, ["fast_run", "fast_compile", mode])


def gradient_property(case):
    """What the fuzzer checks on every smooth random graph (cases without gradients are rejected)."""
    with quiet():
        assume(check_gradient(case))


PROPERTIES = {
    "forward": (forward_property, lambda: {"case": graph_cases(), "mode": partial_modes()}),
    "gradient": (gradient_property, lambda: {"case": graph_cases(smooth=True)}),
}
"""name -> (property body, the keyword strategies it is given)."""
