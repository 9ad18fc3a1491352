"""Train a small convolutional network (conv -> relu -> max pool -> conv -> relu -> dense) by minibatch
SGD with momentum, using sg.conv, sg.max_pool and the logits form of the cross-entropy.

Uses scikit-learn's bundled digits (8x8 images) when scikit-learn is installed, and generated 8x8
images of ten stroke patterns otherwise. Runs in a few seconds.

    python examples/lenet.py
"""
import time

import numpy as np

import symgraph as sg


def load_images(rng):
    """(x_train, y_train, x_test, y_test, source) with images shaped (N, 1, 8, 8)."""
    try:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x, y, source = digits.images / 16.0, digits.target, "scikit-learn digits"
    except ImportError:
        # Ten templates (bars, crosses, boxes...) with noise and random one-pixel shifts.
        templates = np.zeros((10, 8, 8))
        for label in range(10):
            templates[label, label % 8, :] = 1.0
            templates[label, :, (3 * label) % 8] = 1.0 if label >= 4 else 0.0
            templates[label, 2:6, 2:6] += 0.5 if label >= 8 else 0.0
        y = rng.integers(0, 10, 1800)
        shifts = rng.integers(-1, 2, (1800, 2))
        x = np.stack([np.roll(templates[label], tuple(shift), axis=(0, 1)) for label, shift in zip(y, shifts)])
        x = x + rng.normal(0, 0.3, x.shape)
        source = "generated stroke patterns (install scikit-learn for digits)"
    order = rng.permutation(len(x))
    x, y = x[order][:, None].astype("float64"), y[order].astype(np.int64)
    split = int(0.8 * len(x))
    return x[:split], y[:split], x[split:], y[split:], source


def parameter(rng, shape, fan_in, name):
    return sg.shared(rng.normal(0, np.sqrt(2.0 / fan_in), shape), name=name)


def build_model(rng):
    """Shared parameters, the compiled training step (loss, momentum SGD updates) and the predictor."""
    params = [
        parameter(rng, (8, 1, 3, 3), 9, "conv1"), sg.shared(np.zeros(8), name="bias1"),
        parameter(rng, (16, 8, 3, 3), 72, "conv2"), sg.shared(np.zeros(16), name="bias2"),
        parameter(rng, (64, 10), 64, "dense"), sg.shared(np.zeros(10), name="bias3"),
    ]
    conv1, bias1, conv2, bias2, dense, bias3 = params
    x, y = sg.tensor("x", shape=(None, 1, 8, 8)), sg.vector("y", dtype="int64")
    h = sg.relu(sg.conv(x, conv1, padding="same") + bias1[:, None, None])      # (N, 8, 8, 8)
    h = sg.max_pool(h, 2)                                                        # (N, 8, 4, 4)
    h = sg.relu(sg.conv(h, conv2, padding="same") + bias2[:, None, None])      # (N, 16, 4, 4)
    h = sg.max_pool(h, 2)                                                        # (N, 16, 2, 2)
    logits = h.reshape((x.shape[0], 64)) @ dense + bias3
    loss = sg.categorical_crossentropy(logits, y, from_logits=True).mean()
    velocities = [sg.shared(np.zeros_like(p.get_value())) for p in params]
    updates = []
    for p, v, g in zip(params, velocities, sg.grad(loss, params)):
        new_v = 0.9 * v - 0.05 * g
        updates += [(v, new_v), (p, p + new_v)]
    train = sg.function([x, y], loss, updates=updates)
    predict = sg.function([x], sg.argmax(logits, axis=1))
    return train, predict


def main():
    rng = np.random.default_rng(0)
    x_train, y_train, x_test, y_test, source = load_images(rng)
    print(f"data: {source}, {len(x_train)} training and {len(x_test)} test images of 8x8")
    train, predict = build_model(rng)
    start = time.perf_counter()
    epoch_losses = []
    for epoch in range(1, 7):
        order = rng.permutation(len(x_train))
        losses = [float(train(x_train[batch], y_train[batch])) for batch in np.array_split(order, len(order) // 32)]
        epoch_losses.append(np.mean(losses))
        print(f"epoch {epoch}: mean training loss {epoch_losses[-1]:.4f}")
    first, last = epoch_losses[0], epoch_losses[-1]
    print(f"training loss went down from {first:.3f} to {last:.3f}: {last < first}")
    accuracy = np.mean(predict(x_test) == y_test)
    print(f"test accuracy {accuracy:.3f} after {time.perf_counter() - start:.1f} s of training")


if __name__ == "__main__":
    main()
