"""The backpropagation lecture in code.

A two-layer network is built symbolically; `sg.grad` walks the reversed graph and emits new nodes: the
error term at each variable is the sum over its consumers of their pullbacks. We print the gradient
graph before and after optimization and check, numerically, the facts a course derives by hand:

1. the gradient of softmax cross-entropy with respect to the logits is softmax(z) - onehot(y);
2. the Jacobian of a ReLU layer relu(W x + b) with respect to x is W with the rows of inactive units zeroed;
3. the Jacobian of a composition is the product of the Jacobians (the chain rule).

    python examples/backprop.py
"""
import numpy as np

import symgraph as sg


def softmax_cross_entropy_gradient(rng):
    z, y = sg.vector("z"), sg.scalar("y", dtype="int64")
    loss = -sg.log_softmax(z)[y]
    dz = sg.grad(loss, z)
    print("gradient graph as built by sg.grad:")
    print(sg.debugprint(dz))
    print("after optimization:")
    print(sg.debugprint(sg.optimize(dz)))
    logits, label = rng.standard_normal(5), 2
    value = sg.function([z, y], dz)(logits, label)
    expected = np.exp(logits) / np.exp(logits).sum() - np.eye(5)[label]
    print("d loss / d z          =", np.round(value, 4))
    print("softmax(z) - onehot(y) =", np.round(expected, 4))
    assert np.allclose(value, expected)


def relu_layer_jacobian(rng):
    x = sg.vector("x")
    w_value, b_value = rng.standard_normal((4, 3)), rng.standard_normal(4)
    layer = sg.relu(sg.constant(w_value, name="W") @ x + sg.constant(b_value, name="b"))
    x_value = rng.standard_normal(3)
    jac = sg.function([x], sg.jacobian(layer, x))(x_value)
    active = (w_value @ x_value + b_value) > 0
    print("\nactive units:", active.astype(int))
    print("Jacobian of relu(W x + b):\n", np.round(jac, 3))
    print("W with inactive rows zeroed:\n", np.round(w_value * active[:, None], 3))
    assert np.allclose(jac, w_value * active[:, None])


def chain_rule(rng):
    x = sg.vector("x")
    a = sg.constant(rng.standard_normal((3, 3)), name="A")
    inner = sg.tanh(a @ x)
    outer = sg.sin(inner) * 2
    u = sg.vector("u")
    outer_of_u = sg.sin(u) * 2
    x_value = rng.standard_normal(3)
    j_total = sg.function([x], sg.jacobian(outer, x))(x_value)
    j_inner = sg.function([x], sg.jacobian(inner, x))(x_value)
    j_outer = sg.function([u], sg.jacobian(outer_of_u, u))(sg.function([x], inner)(x_value))
    print("\nJacobian of sin(tanh(A x)) * 2 equals J_outer @ J_inner:",
          np.allclose(j_total, j_outer @ j_inner))
    assert np.allclose(j_total, j_outer @ j_inner)


def two_layer_network(rng):
    x, y = sg.matrix("x"), sg.vector("y", dtype="int64")
    w1, b1 = sg.shared(rng.standard_normal((4, 8)) * 0.5, name="w1"), sg.shared(np.zeros(8), name="b1")
    w2, b2 = sg.shared(rng.standard_normal((8, 3)) * 0.5, name="w2"), sg.shared(np.zeros(3), name="b2")
    z = sg.relu(x @ w1 + b1) @ w2 + b2
    loss = -sg.log_softmax(z, axis=1)[sg.arange(x.shape[0]), y].mean()
    grads = sg.grad(loss, [w1, b1, w2, b2])
    f = sg.function([x, y], grads)
    print(f"\ntwo-layer network: gradient graph of {f.report.nodes_before} nodes optimized to {f.report.nodes_after}")
    print("rewrites that fired:", ", ".join(sorted(f.report.rewrites)) or "none")


def main():
    rng = np.random.default_rng(0)
    softmax_cross_entropy_gradient(rng)
    relu_layer_jacobian(rng)
    chain_rule(rng)
    two_layer_network(rng)


if __name__ == "__main__":
    main()
