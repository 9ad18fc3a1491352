"""Train an MLP classifier by minibatch SGD with symgraph: define once, differentiate, compile, call.

Uses scikit-learn's bundled digits (8x8 images) when scikit-learn is installed, and a generated
10-class problem otherwise. Saves a loss curve to examples/output/ when matplotlib is installed.

    python examples/train_mlp.py
"""
import time

import numpy as np

import symgraph as sg
from _plotting import save_loss_curve


def load_data(rng):
    """(x_train, y_train, x_test, y_test, source): digits when available, else Gaussian clusters."""
    try:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x, y, source = digits.data / 16.0, digits.target, "scikit-learn digits"
    except ImportError:
        centers = rng.normal(0, 1.0, (10, 64))
        y = rng.integers(0, 10, 1800)
        x, source = centers[y] + rng.normal(0, 2.5, (1800, 64)), "generated clusters (install scikit-learn for digits)"
    order = rng.permutation(len(x))
    x, y = x[order], y[order].astype(np.int64)
    split = int(0.8 * len(x))
    return x[:split], y[:split], x[split:], y[split:], source


def build_model(n_in, n_hidden, n_out, rng):
    """Parameters as shared variables, and the symbolic loss, accuracy and SGD updates."""
    w1 = sg.shared(rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_hidden)), name="w1")
    b1 = sg.shared(np.zeros(n_hidden), name="b1")
    w2 = sg.shared(rng.normal(0, 1 / np.sqrt(n_hidden), (n_hidden, n_out)), name="w2")
    b2 = sg.shared(np.zeros(n_out), name="b2")
    x, y, learning_rate = sg.matrix("x"), sg.vector("y", dtype="int64"), sg.scalar("learning_rate")

    hidden = sg.tanh(x @ w1 + b1)
    log_probs = sg.log_softmax(hidden @ w2 + b2, axis=1)
    loss = -log_probs[sg.arange(x.shape[0]), y].mean()
    accuracy = sg.eq(log_probs.argmax(axis=1), y).mean()

    params = [w1, b1, w2, b2]
    grads = sg.grad(loss, params)
    updates = [(p, p - learning_rate * g) for p, g in zip(params, grads)]
    train_step = sg.function([x, y, learning_rate], loss, updates=updates, name="train_step")
    evaluate = sg.function([x, y], [loss, accuracy], name="evaluate")
    return train_step, evaluate


def main(epochs=15, batch_size=64, learning_rate=0.2, seed=0):
    rng = np.random.default_rng(seed)
    x_train, y_train, x_test, y_test, source = load_data(rng)
    print(f"data: {source}; {len(x_train)} training and {len(x_test)} test examples, {x_train.shape[1]} features")
    train_step, evaluate = build_model(x_train.shape[1], 64, 10, rng)
    print(f"compiled train_step: {train_step.report.nodes_before} graph nodes -> {train_step.report.nodes_after}")

    losses = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x_train))
        for first in range(0, len(order), batch_size):
            batch = order[first:first + batch_size]
            losses.append(float(train_step(x_train[batch], y_train[batch], learning_rate)))
        train_loss, train_acc = evaluate(x_train, y_train)
        print(f"epoch {epoch:2d}  loss {float(train_loss):.4f}  train accuracy {float(train_acc):.3f}")
    test_loss, test_acc = evaluate(x_test, y_test)
    print(f"trained in {time.perf_counter() - start:.2f} s; test loss {float(test_loss):.4f}, "
          f"test accuracy {float(test_acc):.3f}")
    save_loss_curve(losses, "train_mlp_loss.png", "minibatch step", "training loss", "MLP trained with symgraph")
    return float(test_acc)


if __name__ == "__main__":
    main()
