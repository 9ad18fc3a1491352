"""The benchmark workloads: each builds its inputs, the hand-written NumPy baseline and the other systems.

`build(quick)` returns (baseline_callable, {system_name: callable or "reason it is unavailable"}).
A callable takes no arguments and returns the result that is checked against the baseline's.
"""
import importlib

import numpy as np

import symgraph as sg


def optional(module_name):
    """The imported module, or None when it is not installed (the `bench` extra adds them)."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    if module_name == "jax":
        module.config.update("jax_enable_x64", True)
    return module


def _jax_numpy():
    jax = optional("jax")
    return (jax, importlib.import_module("jax.numpy")) if jax else (None, None)


def _pytensor():
    pytensor = optional("pytensor")
    return (pytensor, importlib.import_module("pytensor.tensor")) if pytensor else (None, None)


def _blocked(function, *args):
    """A JAX call that waits for its (possibly nested) result."""
    jax = optional("jax")

    def call():
        return jax.block_until_ready(function(*args))

    return call


# ---------------------------------------------------------------- element-wise chains

def ew_compute(quick):
    n = 400_000 if quick else 4_000_000
    x_value = np.random.default_rng(0).uniform(-3, 3, n)

    def numpy_version(x):
        return np.exp(-x * x / 2) * np.sin(3 * x) + np.log1p(x * x) * np.tanh(x)

    x = sg.vector("x")
    compiled = sg.function([x], sg.exp(-x * x / 2) * sg.sin(3 * x) + sg.log1p(x * x) * sg.tanh(x))
    systems = {"symgraph": lambda: compiled(x_value)}
    ne = optional("numexpr")
    systems["numexpr"] = (lambda: ne.evaluate("exp(-x*x/2)*sin(3*x) + log1p(x*x)*tanh(x)", local_dict={"x": x_value})) \
        if ne else "numexpr not installed"
    jax, jnp = _jax_numpy()
    if jax:
        jitted = jax.jit(lambda x: jnp.exp(-x * x / 2) * jnp.sin(3 * x) + jnp.log1p(x * x) * jnp.tanh(x))
        x_jax = jnp.asarray(x_value)
        systems["jax"] = _blocked(jitted, x_jax)
    else:
        systems["jax"] = "jax not installed"
    pytensor, pt = _pytensor()
    if pytensor:
        xt = pt.vector("x", dtype="float64")
        pf = pytensor.function([xt], pt.exp(-xt * xt / 2) * pt.sin(3 * xt) + pt.log1p(xt * xt) * pt.tanh(xt))
        systems["pytensor"] = lambda: pf(x_value)
    else:
        systems["pytensor"] = "pytensor not installed"
    return (lambda: numpy_version(x_value)), systems


def ew_memory(quick):
    n = 1_000_000 if quick else 10_000_000
    rng = np.random.default_rng(1)
    a_v, b_v, c_v, d_v = (rng.uniform(0.5, 1.5, n) for _ in range(4))

    def numpy_version(a, b, c, d):
        return ((a * b + c) * d - a) / (b + 2.0)

    a, b, c, d = (sg.vector(name) for name in "abcd")
    compiled = sg.function([a, b, c, d], ((a * b + c) * d - a) / (b + 2.0))
    systems = {"symgraph": lambda: compiled(a_v, b_v, c_v, d_v)}
    ne = optional("numexpr")
    systems["numexpr"] = (lambda: ne.evaluate("((a*b + c)*d - a)/(b + 2.0)",
                                              local_dict={"a": a_v, "b": b_v, "c": c_v, "d": d_v})) \
        if ne else "numexpr not installed"
    jax, jnp = _jax_numpy()
    if jax:
        jitted = jax.jit(numpy_version)
        systems["jax"] = _blocked(jitted, *(jnp.asarray(v) for v in (a_v, b_v, c_v, d_v)))
    else:
        systems["jax"] = "jax not installed"
    pytensor, pt = _pytensor()
    if pytensor:
        at, bt, ct, dt = (pt.vector(name, dtype="float64") for name in "abcd")
        pf = pytensor.function([at, bt, ct, dt], ((at * bt + ct) * dt - at) / (bt + 2.0))
        systems["pytensor"] = lambda: pf(a_v, b_v, c_v, d_v)
    else:
        systems["pytensor"] = "pytensor not installed"
    return (lambda: numpy_version(a_v, b_v, c_v, d_v)), systems


def ew_reduce(quick):
    """A reduction of an element-wise chain: the mean squared error of two 1e7 float64 vectors."""
    n = 1_000_000 if quick else 10_000_000
    rng = np.random.default_rng(5)
    a_v, b_v = (rng.standard_normal(n) for _ in range(2))

    def numpy_version(a, b):
        return np.mean((a - b) ** 2)

    a, b = sg.vector("a"), sg.vector("b")
    compiled = sg.function([a, b], sg.mean((a - b) ** 2))
    systems = {"symgraph": lambda: compiled(a_v, b_v)}
    ne = optional("numexpr")
    systems["numexpr"] = (lambda: ne.evaluate("sum((a - b)**2)", local_dict={"a": a_v, "b": b_v}) / n) \
        if ne else "numexpr not installed"
    jax, jnp = _jax_numpy()
    if jax:
        systems["jax"] = _blocked(jax.jit(lambda a, b: jnp.mean((a - b) ** 2)), jnp.asarray(a_v), jnp.asarray(b_v))
    else:
        systems["jax"] = "jax not installed"
    pytensor, pt = _pytensor()
    if pytensor:
        at, bt = (pt.vector(name, dtype="float64") for name in "ab")
        pf = pytensor.function([at, bt], pt.mean((at - bt) ** 2))
        systems["pytensor"] = lambda: pf(a_v, b_v)
    else:
        systems["pytensor"] = "pytensor not installed"
    return (lambda: numpy_version(a_v, b_v)), systems


def ew_softmax(quick):
    """Softmax over rows of standardized scores: a kernel with row-vector operands feeding a softmax."""
    rows = 400 if quick else 4000
    rng = np.random.default_rng(6)
    x_v = rng.standard_normal((rows, 1000))
    mu_v, sigma_v = rng.standard_normal(1000), rng.uniform(0.5, 2.0, 1000)

    def numpy_version(x, mu, sigma):
        z = (x - mu) / sigma
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    x, mu, sigma = sg.matrix("x"), sg.vector("mu"), sg.vector("sigma")
    compiled = sg.function([x, mu, sigma], sg.softmax((x - mu) / sigma, axis=1))
    systems = {"symgraph": lambda: compiled(x_v, mu_v, sigma_v)}
    jax, jnp = _jax_numpy()
    if jax:
        jitted = jax.jit(lambda x, mu, sigma: jax.nn.softmax((x - mu) / sigma, axis=1))
        systems["jax"] = _blocked(jitted, *(jnp.asarray(v) for v in (x_v, mu_v, sigma_v)))
    else:
        systems["jax"] = "jax not installed"
    pytensor, pt = _pytensor()
    if pytensor:
        xt, mut, sigmat = pt.matrix("x", dtype="float64"), pt.vector("mu", dtype="float64"), pt.vector("s", dtype="float64")
        pf = pytensor.function([xt, mut, sigmat], pt.special.softmax((xt - mut) / sigmat, axis=1))
        systems["pytensor"] = lambda: pf(x_v, mu_v, sigma_v)
    else:
        systems["pytensor"] = "pytensor not installed"
    return (lambda: numpy_version(x_v, mu_v, sigma_v)), systems


# ---------------------------------------------------------------- call overhead

def call_overhead(quick):
    rng = np.random.default_rng(2)
    x_v, y_v, z_v = (rng.standard_normal(10) for _ in range(3))

    def numpy_version(x, y, z):
        return x * y + z

    x, y, z = sg.vector("x"), sg.vector("y"), sg.vector("z")
    checked = sg.function([x, y, z], x * y + z)
    trusted = sg.function([x, y, z], x * y + z, trust_input=True)
    systems = {
        "symgraph": lambda: checked(x_v, y_v, z_v),
        "symgraph trust_input": lambda: trusted(x_v, y_v, z_v),
    }
    jax, jnp = _jax_numpy()
    if jax:
        systems["jax"] = _blocked(jax.jit(numpy_version), *(jnp.asarray(v) for v in (x_v, y_v, z_v)))
    else:
        systems["jax"] = "jax not installed"
    pytensor, pt = _pytensor()
    if pytensor:
        xt, yt, zt = (pt.vector(n, dtype="float64") for n in "xyz")
        pf = pytensor.function([xt, yt, zt], xt * yt + zt)
        systems["pytensor"] = lambda: pf(x_v, y_v, z_v)
    else:
        systems["pytensor"] = "pytensor not installed"
    return (lambda: numpy_version(x_v, y_v, z_v)), systems


# ---------------------------------------------------------------- networks with gradients

def _jax_loss_and_grads(jax, loss_fn, params, *data):
    """A call of jit(value_and_grad(loss_fn)) returning [loss, *grads], like the other systems."""
    step = jax.jit(jax.value_and_grad(loss_fn))

    def call():
        loss, grads = jax.block_until_ready(step(params, *data))
        return [loss] + list(grads)

    return call


def _mlp_data(sizes, batch, seed):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((m, n)) / np.sqrt(m) for m, n in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(n) for n in sizes[1:]]
    x = rng.standard_normal((batch, sizes[0]))
    labels = rng.integers(0, sizes[-1], batch)
    return weights, biases, x, labels


def _numpy_softmax_xent_mlp(x, labels, w1, b1, w2, b2):
    """Hand-written backprop of mean softmax cross-entropy through one tanh hidden layer."""
    h = np.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    z_max = z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z - z_max).sum(axis=1, keepdims=True)) + z_max
    log_probs = z - log_norm
    n = x.shape[0]
    loss = -log_probs[np.arange(n), labels].mean()
    dz = np.exp(log_probs)
    dz[np.arange(n), labels] -= 1
    dz /= n
    dw2 = h.T @ dz
    db2 = dz.sum(axis=0)
    dh = (dz @ w2.T) * (1 - h * h)
    dw1 = x.T @ dh
    db1 = dh.sum(axis=0)
    return [loss, dw1, db1, dw2, db2]


def symgraph_mlp_step():
    """Loss and gradients of a one-hidden-layer tanh MLP with softmax cross-entropy, as sg variables."""
    x, labels = sg.matrix("x"), sg.vector("labels", dtype="int64")
    w1, b1, w2, b2 = sg.matrix("w1"), sg.vector("b1"), sg.matrix("w2"), sg.vector("b2")
    h = sg.tanh(x @ w1 + b1)
    log_probs = sg.log_softmax(h @ w2 + b2, axis=1)
    loss = -log_probs[sg.arange(x.shape[0]), labels].mean()
    params = [w1, b1, w2, b2]
    return [x, labels] + params, [loss] + sg.grad(loss, params)


def run_mlp(quick):
    batch = 128 if quick else 512
    weights, biases, x_v, y_v = _mlp_data([784, 256, 10], batch, 3)
    args = [x_v, y_v, weights[0], biases[0], weights[1], biases[1]]
    inputs, outputs = symgraph_mlp_step()
    compiled = sg.function(inputs, outputs)
    systems = {"symgraph": lambda: compiled(*args)}
    jax, jnp = _jax_numpy()
    if jax:
        def loss_fn(params, x, y):
            w1, b1, w2, b2 = params
            z = jnp.tanh(x @ w1 + b1) @ w2 + b2
            return -jax.nn.log_softmax(z, axis=1)[jnp.arange(x.shape[0]), y].mean()

        params = [jnp.asarray(a) for a in args[2:]]
        systems["jax"] = _jax_loss_and_grads(jax, loss_fn, params, jnp.asarray(x_v), jnp.asarray(y_v))
    else:
        systems["jax"] = "jax not installed"
    pytensor, pt = _pytensor()
    if pytensor:
        xt, yt = pt.matrix("x", dtype="float64"), pt.vector("y", dtype="int64")
        w1t, b1t, w2t, b2t = pt.matrix("w1"), pt.vector("b1"), pt.matrix("w2"), pt.vector("b2")
        z = pt.tanh(xt @ w1t + b1t) @ w2t + b2t
        lsm = z - pt.logsumexp(z, axis=1, keepdims=True)
        loss = -lsm[pt.arange(xt.shape[0]), yt].mean()
        pf = pytensor.function([xt, yt, w1t, b1t, w2t, b2t], [loss] + pytensor.grad(loss, [w1t, b1t, w2t, b2t]))
        systems["pytensor"] = lambda: pf(*args)
    else:
        systems["pytensor"] = "pytensor not installed"
    return (lambda: _numpy_softmax_xent_mlp(*args)), systems


def _numpy_deep_tanh(x, weights):
    """Hand-written loss 0.5*mean(out**2) of a deep tanh MLP and its weight gradients."""
    activations = [x]
    for w in weights:
        activations.append(np.tanh(activations[-1] @ w))
    out = activations[-1]
    loss = 0.5 * np.mean(out * out)
    delta = out / out.size
    grads = []
    for w, a_in, a_out in zip(reversed(weights), reversed(activations[:-1]), reversed(activations[1:])):
        delta = delta * (1 - a_out * a_out)
        grads.append(a_in.T @ delta)
        delta = delta @ w.T
    return [loss] + grads[::-1]


def grad_deep(quick):
    depth, width, batch = 30, 64, 64
    rng = np.random.default_rng(4)
    weights_v = [rng.standard_normal((width, width)) / np.sqrt(width) for _ in range(depth)]
    x_v = rng.standard_normal((batch, width))
    x = sg.matrix("x")
    weights = [sg.matrix(f"w{i}") for i in range(depth)]
    h = x
    for w in weights:
        h = sg.tanh(h @ w)
    loss = 0.5 * sg.mean(h * h)
    compiled = sg.function([x] + weights, [loss] + sg.grad(loss, weights))
    systems = {"symgraph": lambda: compiled(x_v, *weights_v)}
    jax, jnp = _jax_numpy()
    if jax:
        def loss_fn(ws, x):
            h = x
            for w in ws:
                h = jnp.tanh(h @ w)
            return 0.5 * jnp.mean(h * h)

        systems["jax"] = _jax_loss_and_grads(jax, loss_fn, [jnp.asarray(w) for w in weights_v], jnp.asarray(x_v))
    else:
        systems["jax"] = "jax not installed"
    pytensor, pt = _pytensor()
    if pytensor:
        xt = pt.matrix("x")
        wts = [pt.matrix(f"w{i}") for i in range(depth)]
        ht = xt
        for w in wts:
            ht = pt.tanh(ht @ w)
        loss_t = 0.5 * pt.mean(ht * ht)
        pf = pytensor.function([xt] + wts, [loss_t] + pytensor.grad(loss_t, wts))
        systems["pytensor"] = lambda: pf(x_v, *weights_v)
    else:
        systems["pytensor"] = "pytensor not installed"
    return (lambda: _numpy_deep_tanh(x_v, weights_v)), systems


# ---------------------------------------------------------------- Jacobians

def jacobian(quick):
    n = 300
    rng = np.random.default_rng(5)
    w_v = rng.standard_normal((n, n)) / np.sqrt(n)
    b_v = rng.standard_normal(n)
    x_v = rng.standard_normal(n)

    def numpy_version(x):
        pre = w_v @ x + b_v
        return (1 - np.tanh(pre) ** 2)[:, None] * w_v

    x = sg.vector("x")
    w, b = sg.constant(w_v), sg.constant(b_v)
    compiled = sg.function([x], sg.jacobian(sg.tanh(w @ x + b), x))
    row_scaling = sg.function([x], sg.jacobian(sg.tanh(w @ x + b), x), mode=sg.Mode(include=["identity_scaled_product"]))
    systems = {"symgraph": lambda: compiled(x_v), "symgraph +row scaling": lambda: row_scaling(x_v)}
    jax, jnp = _jax_numpy()
    if jax:
        wj, bj = jnp.asarray(w_v), jnp.asarray(b_v)
        jac = jax.jit(jax.jacrev(lambda x: jnp.tanh(wj @ x + bj)))
        systems["jax"] = _blocked(jac, jnp.asarray(x_v))
    else:
        systems["jax"] = "jax not installed"
    return (lambda: numpy_version(x_v)), systems


# ---------------------------------------------------------------- linear algebra

def _numpy_solve_and_grads(a, b):
    """Hand-written loss 0.5*|solve(a, b)|^2 and its gradients: b's by the adjoint solve, a's its outer product."""
    x = np.linalg.solve(a, b)
    grad_b = np.linalg.solve(a.T, x)
    return [0.5 * np.dot(x, x), -np.outer(grad_b, x), grad_b]


def linalg_solve(quick):
    n = 200 if quick else 500
    rng = np.random.default_rng(6)
    a_v = rng.standard_normal((n, n)) + n ** 0.5 * np.eye(n)
    b_v = rng.standard_normal(n)
    a, b = sg.matrix("a"), sg.vector("b")
    x = sg.linalg.solve(a, b)
    loss = 0.5 * sg.sum(x * x)
    compiled = sg.function([a, b], [loss] + sg.grad(loss, [a, b]))
    systems = {"symgraph": lambda: compiled(a_v, b_v)}
    jax, jnp = _jax_numpy()
    if jax:
        def loss_fn(params):
            x = jnp.linalg.solve(*params)
            return 0.5 * jnp.sum(x * x)

        step = jax.jit(jax.value_and_grad(loss_fn))
        params = (jnp.asarray(a_v), jnp.asarray(b_v))

        def jax_call():
            value, grads = jax.block_until_ready(step(params))
            return [value] + list(grads)

        systems["jax"] = jax_call
    else:
        systems["jax"] = "jax not installed"
    pytensor, pt = _pytensor()
    if pytensor:
        at, bt = pt.matrix("a"), pt.vector("b")
        xt = pt.linalg.solve(at, bt)
        loss_t = 0.5 * pt.sum(xt * xt)
        pf = pytensor.function([at, bt], [loss_t] + pytensor.grad(loss_t, [at, bt]))
        systems["pytensor"] = lambda: pf(a_v, b_v)
    else:
        systems["pytensor"] = "pytensor not installed"
    return (lambda: _numpy_solve_and_grads(a_v, b_v)), systems


WORKLOADS = {
    "ew_compute": (ew_compute, "exp(-x*x/2)*sin(3x) + log1p(x*x)*tanh(x), 4e6 float64"),
    "ew_memory": (ew_memory, "((a*b + c) * d - a) / (b + 2.0), four 1e7 float64 inputs"),
    "ew_reduce": (ew_reduce, "mean((a - b) ** 2), two 1e7 float64 inputs"),
    "ew_softmax": (ew_softmax, "softmax((x - mu) / sigma, axis=1), x 4000x1000 float64"),
    "run_mlp": (run_mlp, "loss + 4 gradients, 784-256-10 tanh MLP, batch 512"),
    "call_overhead": (call_overhead, "x*y+z on length-10 vectors"),
    "grad_deep": (grad_deep, "30-layer width-64 tanh MLP, loss + all gradients"),
    "jacobian": (jacobian, "Jacobian of tanh(W x + b), R^300 -> R^300"),
    "linalg_solve": (linalg_solve, "0.5*|solve(A, b)|^2 and its gradients, A 500x500 float64"),
}
