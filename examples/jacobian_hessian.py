"""Jacobians, Hessians and Jacobian-vector products of small maps, checked against finite differences.

    python examples/jacobian_hessian.py
"""
import numpy as np

import symgraph as sg


def finite_difference_jacobian(f, x, eps=1e-6):
    """Central differences, one column per input entry."""
    columns = []
    for i in range(x.size):
        step = np.zeros_like(x)
        step.flat[i] = eps
        columns.append((f(x + step) - f(x - step)) / (2 * eps))
    return np.stack(columns, axis=-1)


def main():
    rng = np.random.default_rng(0)
    x = sg.vector("x")
    w = sg.constant(rng.standard_normal((3, 4)), name="W")
    y = sg.tanh(w @ x) * sg.exp(-x.sum() / 4)

    jac = sg.function([x], sg.jacobian(y, x))
    f = sg.function([x], y)
    point = rng.standard_normal(4)
    analytic, numeric = jac(point), finite_difference_jacobian(f, point)
    print("Jacobian of tanh(W x) * exp(-sum(x)/4), shape", analytic.shape)
    print(np.round(analytic, 4))
    print("max |analytic - finite differences| =", np.abs(analytic - numeric).max())

    cost = (x ** 4).sum() / 4 + (w @ x).dot(w @ x) / 2
    hess = sg.function([x], sg.hessian(cost, x))
    grad = sg.function([x], sg.grad(cost, x))
    print("\nHessian of sum(x^4)/4 + |W x|^2/2 (should be diag(3x^2) + W^T W):")
    expected = np.diag(3 * point ** 2) + w.data.T @ w.data
    print("max |Hessian - closed form| =", np.abs(hess(point) - expected).max())
    print("max |Hessian - differences of the gradient| =",
          np.abs(hess(point) - finite_difference_jacobian(grad, point)).max())

    u, v = sg.vector("u"), sg.vector("v")
    jvp = sg.function([x, u], sg.jvp(y, x, u))
    vjp = sg.function([x, v], sg.vjp(y, x, v))
    u_value, v_value = rng.standard_normal(4), rng.standard_normal(3)
    print("\nforward and reverse mode agree: <v, J u> =", float(v_value @ jvp(point, u_value)),
          "= <J^T v, u> =", float(vjp(point, v_value) @ u_value))


if __name__ == "__main__":
    main()
