import numpy as np

import symgraph as sg


def test_compiled_expression_matches_numpy():
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], sg.exp(x) * y + 1)
    a, b = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    np.testing.assert_allclose(f(a, b), np.exp(a) * b + 1)
