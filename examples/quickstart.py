"""Define an expression once, compile it, look at what the compiler made of it, and call it."""
import numpy as np

import symgraph as sg

x = sg.vector("x")
w = sg.vector("w")
y = sg.tanh(x * w + 1.0).sum()

f = sg.function([x, w], y)
print("generated source:\n" + f.source)
print("f([1, 2], [0.5, -0.5]) =", f([1.0, 2.0], [0.5, -0.5]))
expected = np.tanh(np.array([1.0, 2.0]) * np.array([0.5, -0.5]) + 1.0).sum()
assert np.isclose(f([1.0, 2.0], [0.5, -0.5]), expected)
