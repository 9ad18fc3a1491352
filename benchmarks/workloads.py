"""The benchmark workloads: each builds its inputs, the hand-written NumPy baseline and the other systems.

`build(quick)` returns (baseline_callable, {system_name: callable or "reason it is unavailable"}).
A callable takes no arguments and returns the result that is checked against the baseline's.
"""
import importlib
import warnings

import numpy as np

import symgraph as sg
from .dask_backend import dask_chain, dask_mse


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


def _symgraph_numba(inputs, outputs, *args):
    """The "symgraph-numba" system: the graph compiled by the Numba backend (its kernels compile in
    sg.function, before timing), or why it is unavailable."""
    try:
        compiled = sg.function(inputs, outputs, backend="numba")
    except sg.BackendUnavailableError:
        return "numba not installed"
    return lambda: compiled(*args)


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
    expression = sg.exp(-x * x / 2) * sg.sin(3 * x) + sg.log1p(x * x) * sg.tanh(x)
    compiled = sg.function([x], expression)
    systems = {"symgraph": lambda: compiled(x_value), "symgraph-numba": _symgraph_numba([x], expression, x_value)}
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
    expression = ((a * b + c) * d - a) / (b + 2.0)
    compiled = sg.function([a, b, c, d], expression)
    systems = {"symgraph": lambda: compiled(a_v, b_v, c_v, d_v),
               "symgraph-numba": _symgraph_numba([a, b, c, d], expression, a_v, b_v, c_v, d_v)}
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
    systems = {"symgraph": lambda: compiled(a_v, b_v),
               "symgraph-numba": _symgraph_numba([a, b], sg.mean((a - b) ** 2), a_v, b_v)}
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
    systems = {"symgraph": lambda: compiled(x_v, mu_v, sigma_v),
               "symgraph-numba": _symgraph_numba([x, mu, sigma], sg.softmax((x - mu) / sigma, axis=1),
                                                 x_v, mu_v, sigma_v)}
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
    systems = {"symgraph": lambda: compiled(*args), "symgraph-numba": _symgraph_numba(inputs, outputs, *args)}
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

def _layer_jacobian(n):
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


def jacobian(quick):
    return _layer_jacobian(300)


def jacobian_1000(quick):
    return _layer_jacobian(1000)


def jacobian_mlp3(quick):
    """The Jacobian of a 3-layer tanh MLP (width 300) w.r.t. its input, against the hand-chained closed form
    J = diag(s3) W3 diag(s2) W2 diag(s1) W1, computed as row scalings and two matrix products."""
    n = 300
    rng = np.random.default_rng(6)
    weights_v = [rng.standard_normal((n, n)) / np.sqrt(n) for _ in range(3)]
    x_v = rng.standard_normal(n)

    def numpy_version(x):
        h = x
        jac = None
        for w in weights_v:
            h = np.tanh(w @ h)
            jac = w if jac is None else w @ jac
            jac = (1 - h * h)[:, None] * jac
        return jac

    x = sg.vector("x")
    h = x
    for w in weights_v:
        h = sg.tanh(sg.constant(w) @ h)
    compiled = sg.function([x], sg.jacobian(h, x))
    np.testing.assert_allclose(compiled(x_v), numpy_version(x_v), rtol=1e-9, atol=1e-12)
    systems = {"symgraph": lambda: compiled(x_v)}
    jax, jnp = _jax_numpy()
    if jax:
        ws = [jnp.asarray(w) for w in weights_v]

        def mlp(x):
            for w in ws:
                x = jnp.tanh(w @ x)
            return x

        systems["jax"] = _blocked(jax.jit(jax.jacrev(mlp)), jnp.asarray(x_v))
    else:
        systems["jax"] = "jax not installed"
    return (lambda: numpy_version(x_v)), systems


# ---------------------------------------------------------------- loops

def _rnn_data(quick):
    steps, batch, n_in, hidden = (20 if quick else 100), 32, 128, 128
    rng = np.random.default_rng(6)
    return [rng.standard_normal((steps, batch, n_in)), rng.standard_normal((n_in, hidden)) / np.sqrt(n_in),
            rng.standard_normal((hidden, hidden)) / np.sqrt(hidden), np.zeros(hidden), np.zeros((batch, hidden))]


def _numpy_rnn_bptt(xs, wx, wh, b, h0):
    """Hand-written forward pass and backpropagation through time of h_t = tanh(x_t wx + h_{t-1} wh + b),
    loss 0.5 * mean(h ** 2) over all steps; the input products of all steps are one matrix product each way."""
    steps, batch, n_in = xs.shape
    states = np.empty((steps + 1,) + h0.shape)
    states[0] = h0
    inputs = xs @ wx + b
    for t in range(steps):
        states[t + 1] = np.tanh(inputs[t] + states[t] @ wh)
    out = states[1:]
    loss = 0.5 * np.mean(out * out)
    d_out = out / out.size
    d_pre = np.empty_like(out)
    d_wh = np.zeros_like(wh)
    d_h = np.zeros_like(h0)
    for t in reversed(range(steps)):
        d_a = (d_h + d_out[t]) * (1 - states[t + 1] ** 2)
        d_pre[t] = d_a
        d_wh += states[t].T @ d_a
        d_h = d_a @ wh.T
    d_wx = xs.reshape(-1, n_in).T @ d_pre.reshape(-1, wh.shape[0])
    return [loss, d_wx, d_wh, d_pre.sum(axis=(0, 1))]


def symgraph_rnn_step():
    """Loss 0.5 * mean(h ** 2) of a tanh RNN over all steps and its gradients, written as a Theano user would."""
    xs, wx, wh, b, h0 = sg.tensor("xs", shape=(None, None, None)), sg.matrix("wx"), sg.matrix("wh"), sg.vector("b"), sg.matrix("h0")
    states, _ = sg.scan(lambda x_t, h: sg.tanh(x_t @ wx + h @ wh + b), sequences=xs, outputs_info=h0)
    loss = 0.5 * sg.mean(states ** 2)
    return [xs, wx, wh, b, h0], [loss] + sg.grad(loss, [wx, wh, b])


def rnn_bptt(quick):
    args = _rnn_data(quick)
    inputs, outputs = symgraph_rnn_step()
    compiled = sg.function(inputs, outputs)
    systems = {"symgraph": lambda: compiled(*args)}
    jax, jnp = _jax_numpy()
    if jax:
        def loss_fn(params, xs, h0):
            wx, wh, b = params
            _, states = jax.lax.scan(lambda h, x_t: (jnp.tanh(x_t @ wx + h @ wh + b),) * 2, h0, xs)
            return 0.5 * jnp.mean(states ** 2)

        params = [jnp.asarray(a) for a in args[1:4]]
        systems["jax"] = _jax_loss_and_grads(jax, loss_fn, params, jnp.asarray(args[0]), jnp.asarray(args[4]))
    else:
        systems["jax"] = "jax not installed"
    pytensor, pt = _pytensor()
    if pytensor:
        xst, wxt, wht, bt, h0t = pt.tensor3("xs"), pt.matrix("wx"), pt.matrix("wh"), pt.vector("b"), pt.matrix("h0")
        states_t = pytensor.scan(lambda x_t, h: pt.tanh(x_t @ wxt + h @ wht + bt), sequences=xst, outputs_info=h0t,
                                 return_updates=False)
        loss_t = 0.5 * pt.mean(states_t ** 2)
        pf = pytensor.function([xst, wxt, wht, bt, h0t], [loss_t] + pytensor.grad(loss_t, [wxt, wht, bt]))
        systems["pytensor"] = lambda: pf(*args)
    else:
        systems["pytensor"] = "pytensor not installed"
    return (lambda: _numpy_rnn_bptt(*args)), systems


# ---------------------------------------------------------------- a convolutional network with gradients

def _lenet_data(batch, seed):
    """LeNet-5-sized parameters (conv 5x5 1->6, conv 5x5 6->16, dense 256->120->10), inputs and labels."""
    rng = np.random.default_rng(seed)
    shapes = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (256, 120), (120,), (120, 10), (10,)]
    fan_in = [25, 1, 150, 1, 256, 1, 120, 1]
    params = [rng.standard_normal(shape) / np.sqrt(n) for shape, n in zip(shapes, fan_in)]
    return params, rng.standard_normal((batch, 1, 28, 28)), rng.integers(0, 10, batch)


def _numpy_conv_valid(x, w):
    """Valid cross-correlation by im2col: (N, C, H, W) with (O, C, k, k) -> (N, O, H-k+1, W-k+1)."""
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))
    return np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)


def _numpy_conv_backward(x, w, g):
    """(dx, dw) of _numpy_conv_valid for the output gradient g."""
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))
    dw = np.tensordot(g, windows, axes=([0, 2, 3], [0, 2, 3]))
    columns = np.tensordot(w, g, axes=([0], [1]))  # (C, k, k, N, H', W')
    dx = np.zeros((x.shape[1], x.shape[0]) + x.shape[2:])
    out_h, out_w = g.shape[2:]
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            dx[:, :, i:i + out_h, j:j + out_w] += columns[:, i, j]
    return dx.transpose(1, 0, 2, 3), dw


def _numpy_pool2(a):
    """2x2 max pooling (even sizes) and the mask of the first maximum of each window."""
    n, c, h, w = a.shape
    blocks = a.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    first = blocks.argmax(axis=-1)
    mask = np.arange(4) == first[..., None]
    return blocks.max(axis=-1), mask


def _numpy_unpool2(g, mask):
    n, c, h, w, _ = mask.shape
    return (mask * g[..., None]).reshape(n, c, h, w, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * h, 2 * w)


def _numpy_lenet(x, labels, w1, b1, w2, b2, w3, b3, w4, b4):
    """Hand-written forward and backward pass of the LeNet workload: [loss, 8 gradients]."""
    a1 = np.maximum(_numpy_conv_valid(x, w1) + b1[:, None, None], 0)
    p1, m1 = _numpy_pool2(a1)
    a2 = np.maximum(_numpy_conv_valid(p1, w2) + b2[:, None, None], 0)
    p2, m2 = _numpy_pool2(a2)
    flat = p2.reshape(len(x), -1)
    h = np.maximum(flat @ w3 + b3, 0)
    z = h @ w4 + b4
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(x)
    loss = -log_probs[np.arange(n), labels].mean()
    dz = np.exp(log_probs)
    dz[np.arange(n), labels] -= 1
    dz /= n
    dw4, db4 = h.T @ dz, dz.sum(axis=0)
    dh = (dz @ w4.T) * (h > 0)
    dw3, db3 = flat.T @ dh, dh.sum(axis=0)
    da2 = _numpy_unpool2((dh @ w3.T).reshape(p2.shape), m2) * (a2 > 0)
    dp1, dw2 = _numpy_conv_backward(p1, w2, da2)
    da1 = _numpy_unpool2(dp1, m1) * (a1 > 0)
    _, dw1 = _numpy_conv_backward(x, w1, da1)
    return [loss, dw1, da1.sum(axis=(0, 2, 3)), dw2, da2.sum(axis=(0, 2, 3)), dw3, db3, dw4, db4]


def symgraph_lenet_step():
    """Loss and gradients of the LeNet workload as sg variables."""
    x, labels = sg.tensor("x", shape=(None, 1, 28, 28)), sg.vector("labels", dtype="int64")
    w1, w2 = sg.tensor("w1", shape=(6, 1, 5, 5)), sg.tensor("w2", shape=(16, 6, 5, 5))
    w3, w4 = sg.matrix("w3"), sg.matrix("w4")
    b1, b2, b3, b4 = (sg.vector(name) for name in ("b1", "b2", "b3", "b4"))
    a1 = sg.max_pool(sg.relu(sg.conv(x, w1) + b1[:, None, None]), 2)
    a2 = sg.max_pool(sg.relu(sg.conv(a1, w2) + b2[:, None, None]), 2)
    h = sg.relu(a2.reshape((x.shape[0], 256)) @ w3 + b3)
    loss = sg.categorical_crossentropy(h @ w4 + b4, labels, from_logits=True).mean()
    params = [w1, b1, w2, b2, w3, b3, w4, b4]
    return [x, labels] + params, [loss] + sg.grad(loss, params)


def _pytensor_lenet(args):
    """The PyTensor LeNet step, or why it is unavailable. PyTensor 2.x and later have no conv2d or pool_2d, so
    there it is written as their users now write it: `pytensor.tensor.signal.convolve2d` broadcast over
    (example, output channel, input channel) and summed over input channels, with the kernel flipped (a
    convolution, not a cross-correlation), and 2x2 max pooling as a reshape and a max."""
    pytensor, pt = _pytensor()
    if not pytensor:
        return "pytensor not installed"
    try:
        from pytensor.tensor.conv import conv2d as pt_conv2d
        from pytensor.tensor.signal import pool_2d
    except ImportError:
        pt_conv2d = pool_2d = None
    if pt_conv2d is None:
        try:
            from pytensor.tensor.signal import convolve2d
        except ImportError:
            return f"pytensor {pytensor.__version__} has neither conv2d nor signal.convolve2d"

        def conv_pool(a, w):
            a = convolve2d(a[:, None], w[None, :, :, ::-1, ::-1], mode="valid").sum(axis=2)
            n, c, h, wd = a.shape
            return a, lambda r: r.reshape((n, c, h // 2, 2, wd // 2, 2)).max(axis=(3, 5))
    else:
        def conv_pool(a, w):
            return pt_conv2d(a, w, filter_flip=False), lambda r: pool_2d(r, (2, 2), ignore_border=True)
    xt, yt = pt.tensor4("x", dtype="float64"), pt.vector("y", dtype="int64")
    ws = [pt.tensor4("w1"), pt.vector("b1"), pt.tensor4("w2"), pt.vector("b2"),
          pt.matrix("w3"), pt.vector("b3"), pt.matrix("w4"), pt.vector("b4")]

    def block(a, w, b):
        convolved, pool = conv_pool(a, w)
        return pool(pt.maximum(convolved + b.dimshuffle("x", 0, "x", "x"), 0))

    a = block(block(xt, ws[0], ws[1]), ws[2], ws[3]).flatten(2)
    z = pt.maximum(a @ ws[4] + ws[5], 0) @ ws[6] + ws[7]
    loss = -(z - pt.logsumexp(z, axis=1, keepdims=True))[pt.arange(xt.shape[0]), yt].mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Numba's notice that the blockwise convolution runs in object mode
        pf = pytensor.function([xt, yt] + ws, [loss] + pytensor.grad(loss, ws))
    return lambda: pf(*args)


def lenet(quick):
    batch = 16 if quick else 64
    params, x_v, y_v = _lenet_data(batch, 5)
    args = [x_v, y_v] + params
    inputs, outputs = symgraph_lenet_step()
    compiled = sg.function(inputs, outputs)
    systems = {"symgraph": lambda: compiled(*args)}
    jax, jnp = _jax_numpy()
    if jax:
        def loss_fn(ps, x, y):
            w1, b1, w2, b2, w3, b3, w4, b4 = ps

            def block(a, w, b):
                a = jax.lax.conv_general_dilated(a, w, (1, 1), "VALID") + b[:, None, None]
                a = jax.nn.relu(a)
                return jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

            a = block(block(x, w1, b1), w2, b2).reshape(x.shape[0], -1)
            z = jax.nn.relu(a @ w3 + b3) @ w4 + b4
            return -jax.nn.log_softmax(z, axis=1)[jnp.arange(x.shape[0]), y].mean()

        systems["jax"] = _jax_loss_and_grads(jax, loss_fn, [jnp.asarray(p) for p in params], jnp.asarray(x_v), jnp.asarray(y_v))
    else:
        systems["jax"] = "jax not installed"
    systems["pytensor"] = _pytensor_lenet(args)
    return (lambda: _numpy_lenet(*args)), systems


def _numpy_conv_kernel_jacobian(x, kernel_shape):
    """The Jacobian of a stride-1 "same" cross-correlation with respect to its kernel, written out: output
    channel o depends on kernel o only, through the input window at each output position."""
    out_channels, channels, kh, kw = kernel_shape
    padded = np.pad(x, ((0, 0), (0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3)).transpose(0, 2, 3, 1, 4, 5)
    jac = np.zeros((x.shape[0], out_channels) + x.shape[2:] + tuple(kernel_shape))
    for o in range(out_channels):
        jac[:, o, :, :, o] = windows
    return jac


def conv_kernel_jacobian(quick):
    rng = np.random.default_rng(8)
    x_v = rng.standard_normal((4 if quick else 8, 3, 16, 16))
    w_v = rng.standard_normal((4, 3, 3, 3))
    x, w = sg.tensor("x", shape=x_v.shape), sg.tensor("w", shape=w_v.shape)
    compiled = sg.function([x, w], sg.jacobian(sg.conv(x, w, 1, "same"), w))
    systems = {"symgraph": lambda: compiled(x_v, w_v)}
    jax, jnp = _jax_numpy()
    if jax:
        def conv(kernel, images):
            return jax.lax.conv_general_dilated(images, kernel, (1, 1), "SAME")

        systems["jax"] = _blocked(jax.jit(jax.jacrev(conv)), jnp.asarray(w_v), jnp.asarray(x_v))
    else:
        systems["jax"] = "jax not installed"
    return (lambda: _numpy_conv_kernel_jacobian(x_v, w_v.shape)), systems


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
    "jacobian_1000": (jacobian_1000, "Jacobian of tanh(W x + b), R^1000 -> R^1000"),
    "jacobian_mlp3": (jacobian_mlp3, "Jacobian of a 3-layer width-300 tanh MLP w.r.t. its input"),
    "rnn_bptt": (rnn_bptt, "100-step tanh RNN, hidden 128, batch 32: loss + BPTT gradients"),
    "lenet": (lenet, "LeNet-5 conv net (28x28, batch 64, float64): loss + 8 gradients"),
    "conv_kernel_jacobian": (conv_kernel_jacobian, "Jacobian of conv(x, w, 'same') w.r.t. w, x 8x3x16x16, w 4x3x3x3"),
    "linalg_solve": (linalg_solve, "0.5*|solve(A, b)|^2 and its gradients, A 500x500 float64"),
    "dask_mse": (dask_mse, "mean((a - b)**2) on dask arrays, two 5e7 float64 inputs (Dask backend)"),
    "dask_chain": (dask_chain, "exp(-a*a)*tanh(b) + (a - b)/(1 + b*b) on dask arrays, two 5e7 float64 (Dask backend)"),
}
