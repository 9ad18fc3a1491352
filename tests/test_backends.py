"""The backend structure: choosing a backend, its options and errors, and that a backend is a table (a
new one changes the lowering of the ops it lists and inherits the rest)."""
import pickle

import numpy as np
import pytest

import symgraph as sg
from symgraph.codegen.backend import Backend
from symgraph.codegen.numpy_backend import BACKEND as NUMPY
from symgraph.ops.elemwise import Elemwise


def test_default_backend_is_numpy_and_mode_backend_is_used():
    x = sg.vector("x")
    assert sg.function([x], x + 1).backend.name == "numpy"
    assert sg.function([x], x + 1, mode=sg.Mode(backend="numpy")).backend is NUMPY
    assert sg.Mode().backend is NUMPY


def test_unknown_backend_and_option_are_refused_by_name():
    x = sg.vector("x")
    with pytest.raises(ValueError, match="unknown backend 'cuda'"):
        sg.function([x], x + 1, backend="cuda")
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        sg.Mode(backend="tpu")
    with pytest.raises(TypeError, match="the numpy backend has no option 'chunks'"):
        sg.backend("numpy", chunks=10)


def test_a_backend_with_a_parent_overrides_only_what_it_lists():
    child = Backend("numpy", parent=NUMPY)

    @child.expression(Elemwise)
    def _lower(node, input_names, namespace):
        if node.op.scalar.name != "exp":
            return None
        return f"np.exp({input_names[0]}) * 1.0"

    x = sg.vector("x")
    f = sg.function([x], [sg.exp(x), x.sum()], backend=child, mode=sg.Mode(exclude=["fusion"]))
    assert "np.exp(x) * 1.0" in f.source and "np.sum(x" in f.source
    value, total = f(np.array([0.0, 1.0]))
    np.testing.assert_allclose(value, np.exp([0.0, 1.0]))
    assert total == 1.0


def test_function_with_a_backend_pickles():
    x = sg.vector("x")
    f = sg.function([x], sg.exp(x) * 2, backend="numpy")
    g = pickle.loads(pickle.dumps(f))
    assert g.backend.name == "numpy"
    np.testing.assert_allclose(g(np.array([0.0])), [2.0])
    mode = pickle.loads(pickle.dumps(sg.Mode(backend="numpy")))
    assert mode.backend.name == "numpy"


def test_backend_unavailable_error_is_an_import_error_naming_the_extra():
    error = sg.BackendUnavailableError("needs numba", extra="numba")
    assert isinstance(error, ImportError) and error.extra == "numba"
