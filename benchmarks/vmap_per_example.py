"""Per-example gradients of a 784-256-10 MLP for a batch of 256 (float32): `sg.vmap(sg.grad)` against a
Python loop over the examples (one compiled per-example gradient per call, results stacked) and against
`jax.jit(jax.vmap(jax.grad))` where JAX is installed. Prints best-of-N times and the ratios of one run.

    python -m benchmarks.vmap_per_example
"""
import time

import numpy as np

import symgraph as sg

BATCH, INPUTS, HIDDEN, CLASSES = 256, 784, 256, 10
DTYPE = "float32"


def best_time(run, repeat):
    run()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def symgraph_functions():
    """(vmapped per-example gradient function, per-example gradient function) of the MLP."""
    params = [sg.matrix("w1", dtype=DTYPE), sg.vector("b1", dtype=DTYPE), sg.matrix("w2", dtype=DTYPE),
              sg.vector("b2", dtype=DTYPE)]
    w1, b1, w2, b2 = params

    def gradients(x, y):
        logits = sg.tanh(x @ w1 + b1) @ w2 + b2
        return sg.grad(-(sg.log_softmax(logits) * y).sum(), params)

    xs, ys = sg.matrix("xs", dtype=DTYPE), sg.matrix("ys", dtype=DTYPE)
    batched = sg.function([xs, ys] + params, list(sg.vmap(gradients)(xs, ys)))
    x, y = sg.vector("x", dtype=DTYPE), sg.vector("y", dtype=DTYPE)
    single = sg.function([x, y] + params, list(gradients(x, y)))
    return batched, single


def jax_function():
    import jax
    import jax.numpy as jnp

    def loss(params, x, y):
        w1, b1, w2, b2 = params
        logits = jnp.tanh(x @ w1 + b1) @ w2 + b2
        return -(jax.nn.log_softmax(logits) * y).sum()

    return jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))), jnp.asarray


def main(repeat=5):
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(BATCH, INPUTS)).astype(DTYPE)
    ys = np.eye(CLASSES, dtype=DTYPE)[rng.integers(0, CLASSES, BATCH)]
    params = [(rng.normal(size=(INPUTS, HIDDEN)) * 0.05).astype(DTYPE), np.zeros(HIDDEN, DTYPE),
              (rng.normal(size=(HIDDEN, CLASSES)) * 0.1).astype(DTYPE), np.zeros(CLASSES, DTYPE)]
    batched, single = symgraph_functions()

    def loop():
        per_example = [single(xs[i], ys[i], *params) for i in range(BATCH)]
        return [np.stack(parts) for parts in zip(*per_example)]

    for got, expected in zip(batched(xs, ys, *params), loop()):
        np.testing.assert_allclose(got, expected, rtol=2e-3, atol=1e-5)
    t_vmap = best_time(lambda: batched(xs, ys, *params), repeat)
    t_loop = best_time(loop, max(1, repeat // 2))
    print(f"per-example gradients, MLP {INPUTS}-{HIDDEN}-{CLASSES}, batch {BATCH}, {DTYPE}")
    print(f"  sg.vmap(sg.grad)       {t_vmap * 1e3:8.1f} ms")
    print(f"  loop over examples     {t_loop * 1e3:8.1f} ms   ratio loop / vmap {t_loop / t_vmap:6.2f}")
    try:
        jax_grad, as_jax = jax_function()
    except ImportError:
        print("  JAX is not installed")
        return
    jax_params = [as_jax(p) for p in params]
    jax_xs, jax_ys = as_jax(xs), as_jax(ys)
    t_jax = best_time(lambda: [g.block_until_ready() for g in jax_grad(jax_params, jax_xs, jax_ys)], repeat)
    print(f"  jax.vmap(jax.grad)     {t_jax * 1e3:8.1f} ms   ratio symgraph / jax {t_vmap / t_jax:6.2f}")


if __name__ == "__main__":
    main()
