"""A character-level recurrent network trained by backpropagation through time, with `sg.scan`.

The network reads a text one character at a time (one-hot), keeps a tanh hidden state, and predicts the
next character. `sg.scan` builds the loop over time steps; `sg.grad` turns it into a reverse loop (BPTT);
`sg.function` compiles both into one Python function over NumPy, with the SGD updates of the parameters.
Prints the loss as it falls and a sample of generated text; saves the loss curve to examples/output/ when
matplotlib is installed.

    python examples/rnn_char.py
"""
import time

import numpy as np

import symgraph as sg
from _plotting import save_loss_curve

TEXT = (
    "the quick brown fox jumps over the lazy dog. a loop is a graph that runs again and again. "
    "gradients flow backwards through time, one step after another, until they reach the start. "
    "the dog sleeps and the fox runs; the loop runs and the gradient flows. "
) * 4


def build_model(vocabulary, hidden, rng):
    """The shared parameters, the compiled training step and the compiled one-character step for sampling."""
    def parameter(name, *shape, scale=None):
        scale = 1 / np.sqrt(shape[0]) if scale is None else scale
        return sg.shared(rng.normal(0, scale, shape) if len(shape) > 1 else np.zeros(shape), name=name)

    w_in, w_rec, w_out = parameter("w_in", vocabulary, hidden), parameter("w_rec", hidden, hidden), \
        parameter("w_out", hidden, vocabulary)
    b_rec, b_out = parameter("b_rec", hidden), parameter("b_out", vocabulary)
    params = [w_in, w_rec, b_rec, w_out, b_out]

    inputs = sg.tensor("inputs", shape=(None, None, vocabulary))  # time, batch, one-hot character
    targets = sg.matrix("targets", dtype="int64")                  # time, batch: the next characters
    h0 = sg.matrix("h0")
    learning_rate = sg.scalar("learning_rate")

    def step(x_t, h):
        return sg.tanh(x_t @ w_in + h @ w_rec + b_rec)

    states, _ = sg.scan(step, sequences=inputs, outputs_info=h0, name="rnn")
    log_probs = sg.log_softmax(states @ w_out + b_out, axis=-1)
    flat = log_probs.reshape((-1, vocabulary))
    loss = -flat[sg.arange(flat.shape[0]), targets.flatten()].mean()
    grads = sg.grad(loss, params)
    updates = [(p, p - learning_rate * sg.clip(g, -5.0, 5.0)) for p, g in zip(params, grads)]
    train = sg.function([inputs, targets, h0, learning_rate], [loss, states[-1]], updates=updates, name="train")

    x_one, h_one = sg.matrix("x_one"), sg.matrix("h_one")
    h_next = step(x_one, h_one)
    predict = sg.function([x_one, h_one], [h_next, sg.softmax(h_next @ w_out + b_out, axis=-1)], name="predict")
    return train, predict


def batches(codes, vocabulary, length, batch, rng):
    """Random windows of the text: one-hot inputs (length, batch, vocabulary) and next-character targets."""
    starts = rng.integers(0, len(codes) - length - 1, batch)
    windows = np.stack([codes[s: s + length + 1] for s in starts], axis=1)
    return np.eye(vocabulary)[windows[:-1]], windows[1:].astype(np.int64)


def sample(predict, alphabet, first, length, hidden, rng):
    h = np.zeros((1, hidden))
    code = alphabet.index(first)
    text = [first]
    for _ in range(length):
        h, probs = predict(np.eye(len(alphabet))[[code]], h)
        code = int(rng.choice(len(alphabet), p=probs[0]))
        text.append(alphabet[code])
    return "".join(text)


def main(steps=300, length=25, batch=16, hidden=64, learning_rate=0.5, seed=0):
    rng = np.random.default_rng(seed)
    alphabet = sorted(set(TEXT))
    codes = np.array([alphabet.index(c) for c in TEXT])
    start = time.perf_counter()
    train, predict = build_model(len(alphabet), hidden, rng)
    print(f"compiled the training step in {time.perf_counter() - start:.2f} s "
          f"({train.report.nodes_before} nodes -> {train.report.nodes_after})")
    losses = []
    start = time.perf_counter()
    for iteration in range(1, steps + 1):
        x, y = batches(codes, len(alphabet), length, batch, rng)
        loss, _ = train(x, y, np.zeros((batch, hidden)), learning_rate)
        losses.append(float(loss))
        if iteration % 50 == 0 or iteration == 1:
            print(f"step {iteration:4d}  loss {np.mean(losses[-50:]):.3f}")
    print(f"trained {steps} steps of {length}-character BPTT in {time.perf_counter() - start:.2f} s; "
          f"loss from {losses[0]:.3f} to {np.mean(losses[-20:]):.3f}")
    print("sample:", sample(predict, alphabet, "t", 80, hidden, rng))
    save_loss_curve(losses, "rnn_char_loss.png", "training step", "cross-entropy", "character RNN trained by BPTT with sg.scan")
    return losses


if __name__ == "__main__":
    main()
