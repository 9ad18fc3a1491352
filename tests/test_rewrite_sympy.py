"""The optional "sympy" group: fused kernels simplified by SymPy when that makes them smaller."""
import numpy as np
import pytest

import symgraph as sg

SYMPY = sg.Mode(include=["sympy"])


def _kernel_steps(f):
    [node] = [n for n in f.graph.nodes if n.op.name == "fused"]
    return len(node.op.steps)


def test_simplification_makes_kernels_smaller_and_agrees(rng):
    x, y = sg.vector("x"), sg.vector("y")
    expression = sg.exp(x) * sg.exp(y) + x * 2 + x * 3
    simplified, plain = sg.function([x, y], expression, mode=SYMPY), sg.function([x, y], expression)
    assert simplified.report.rewrites["sympy_simplify"] == 1
    assert _kernel_steps(simplified) < _kernel_steps(plain)
    xv, yv = rng.standard_normal(50), rng.standard_normal(50)
    np.testing.assert_allclose(simplified(xv, yv), plain(xv, yv), rtol=1e-13)


def test_off_by_default_and_switched_off_by_name():
    x = sg.vector("x")
    assert "sympy_simplify" not in sg.function([x], x * 2 + x * 3).report.rewrites
    mode = sg.Mode(include=["sympy"], exclude=["sympy_simplify"])
    assert "sympy_simplify" not in sg.function([x], x * 2 + x * 3, mode=mode).report.rewrites


@pytest.mark.parametrize(
    "build",
    [
        lambda x: sg.tanh(x) * 2 + 1,  # already minimal
        lambda x: (sg.cast(x, "int64") + 1) * 3,  # integer kernel: SymPy's reals do not model it
        lambda x: x * 1.0 + 0.0,  # reduces to an input: kept, its broadcast shape could differ
    ],
)
def test_kernels_that_do_not_simplify_are_left_alone(build, rng):
    x = sg.vector("x")
    f = sg.function([x], build(x), mode=SYMPY)
    assert "sympy_simplify" not in f.report.rewrites
    xv = rng.standard_normal(7)
    np.testing.assert_allclose(f(xv), sg.function([x], build(x), mode="fast_compile")(xv))


def test_the_dtype_of_a_float32_kernel_is_kept(rng):
    x = sg.vector("x", dtype="float32")
    f = sg.function([x], x * 2 + x * 3, mode=SYMPY)
    assert f.report.rewrites.get("sympy_simplify") == 1
    assert f(rng.standard_normal(4).astype("float32")).dtype == np.float32
