"""Train a denoising autoencoder with symgraph: inputs corrupted by random masking inside the graph.

The corruption is `sg.dropout` over a `sg.RandomStream`, so every call of the compiled training step
draws a new mask, and re-seeding the stream replays a run exactly. Data: 8x8 images made of random
horizontal and vertical bars, which the model learns to restore from their masked versions.

    python examples/denoising_autoencoder.py
"""
import numpy as np

import symgraph as sg


def bar_images(rng, count, side=8):
    """Images (count, side*side) with one to three bright bars each, values in [0, 1]."""
    images = np.zeros((count, side, side))
    for image in images:
        for _ in range(rng.integers(1, 4)):
            position = rng.integers(side)
            if rng.random() < 0.5:
                image[position, :] = 1.0
            else:
                image[:, position] = 1.0
    return images.reshape(count, side * side)


def build(n_visible, n_hidden, corruption, seed):
    """The shared parameters, the training step and the reconstruction error on clean inputs."""
    init = np.random.default_rng(seed)
    w = sg.shared(init.normal(0, 1 / np.sqrt(n_visible), (n_visible, n_hidden)), name="w")
    b_hidden = sg.shared(np.zeros(n_hidden), name="b_hidden")
    b_visible = sg.shared(np.zeros(n_visible), name="b_visible")
    x, learning_rate = sg.matrix("x"), sg.scalar("learning_rate")
    rng = sg.RandomStream(seed)

    def reconstruct(inputs):
        hidden = sg.sigmoid(inputs @ w + b_hidden)
        return sg.sigmoid(hidden @ w.T + b_visible)

    def loss(output):
        eps = 1e-7
        return -sg.mean(sg.sum(x * sg.log(output + eps) + (1 - x) * sg.log(1 - output + eps), axis=1))

    # Masking noise: dropout zeroes entries; undoing its 1 / (1 - rate) scaling keeps the kept ones as they are.
    noisy_loss = loss(reconstruct(sg.dropout(x, corruption, rng) * (1 - corruption)))
    params = [w, b_hidden, b_visible]
    grads = sg.grad(noisy_loss, params)
    train = sg.function([x, learning_rate], noisy_loss,
                        updates=[(p, p - learning_rate * g) for p, g in zip(params, grads)], name="train_step")
    clean_error = sg.function([x], sg.mean((reconstruct(x) - x) ** 2), name="clean_error")
    return train, clean_error, rng


def main():
    data_rng = np.random.default_rng(0)
    train_images, test_images = bar_images(data_rng, 2000), bar_images(data_rng, 400)
    train, clean_error, rng = build(64, 32, corruption=0.3, seed=1)
    print(f"before training: test reconstruction error {clean_error(test_images):.4f}")
    losses = []
    for epoch in range(1, 16):
        order = data_rng.permutation(len(train_images))
        epoch_loss = np.mean([train(train_images[order[i:i + 50]], 0.5) for i in range(0, len(order), 50)])
        losses.append(epoch_loss)
        if epoch % 3 == 0 or epoch == 1:
            print(f"epoch {epoch:2d}  denoising loss {epoch_loss:.4f}  test reconstruction error "
                  f"{clean_error(test_images):.4f}")
    print(f"loss decreased: {losses[-1] < 0.7 * losses[0]}")
    state = rng.get_state()
    first = train(test_images[:50], 0.0)
    rng.set_state(state)
    print(f"replaying the stream gives the same loss: {train(test_images[:50], 0.0) == first}")


if __name__ == "__main__":
    main()
