"""The Theano Deep Learning Tutorials' code paths, run through `symgraph.theano`.

Each model is written the way a Theano user writes it (shared parameters and datasets, `givens` with
minibatch slicing, `updates` lists, `T.grad`, `theano.scan`, `RandomStreams`) on small generated data. Each
test checks that the training cost decreases and that the result agrees with the same model written in
plain symgraph (`sg.*`) from the same initial values and seeds.
"""
import numpy as np
import pytest

import symgraph as sg
import symgraph.theano as theano
import symgraph.theano.tensor as T
from symgraph.theano.sandbox.rng_mrg import MRG_RandomStreams
from symgraph.theano.tensor.shared_randomstreams import RandomStreams
from symgraph.theano.tensor.signal import pool


@pytest.fixture(autouse=True, params=["FAST_RUN", "FAST_COMPILE"])
def mode(request):
    """Every tutorial compiles in both of Theano's modes (through theano.config.mode)."""
    theano.config.mode = request.param
    yield request.param
    theano.config.mode = "FAST_RUN"


@pytest.fixture(params=["float64", "float32"])
def floatX(request):
    before = theano.config.floatX
    theano.config.floatX = request.param
    yield request.param
    theano.config.floatX = before


def classification_data(n=120, n_in=6, n_out=3, seed=0):
    """Separable-ish classes: inputs around one random centre per class."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(n_out, size=n)
    centres = rng.randn(n_out, n_in) * 2
    return centres[labels] + rng.randn(n, n_in), labels


def shared_dataset(x, y, dtype):
    """The tutorials' `shared_dataset`: data in shared variables, labels cast to int32 symbolically."""
    shared_x = theano.shared(np.asarray(x, dtype=dtype), borrow=True)
    shared_y = theano.shared(np.asarray(y, dtype=dtype), borrow=True)
    return shared_x, T.cast(shared_y, "int32")


def binary_data(n=40, n_visible=8, seed=0):
    """Binary vectors made of two noisy prototypes."""
    rng = np.random.RandomState(seed)
    prototypes = rng.rand(2, n_visible) > 0.5
    flips = rng.rand(n, n_visible) < 0.1
    return (prototypes[rng.randint(2, size=n)] ^ flips).astype(np.float64)


def init_weights(rng, n_in, n_out, dtype):
    bound = np.sqrt(6.0 / (n_in + n_out))
    return np.asarray(rng.uniform(-bound, bound, size=(n_in, n_out)), dtype=dtype)


def assert_decreased(costs):
    assert costs[-1] < costs[0], f"the cost did not decrease: {costs[0]} -> {costs[-1]}"


def assert_agree(values, expected, dtype="float64"):
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    for got, want in zip(values, expected):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


# ---------------------------------------------------------------- logistic regression by SGD

class LogisticRegression:
    def __init__(self, input, n_in, n_out, W=None):
        floatX = theano.config.floatX
        W = np.zeros((n_in, n_out), dtype=floatX) if W is None else W
        self.W = theano.shared(value=W, name="W", borrow=True)
        self.b = theano.shared(value=np.zeros((n_out,), dtype=floatX), name="b", borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))


def sgd_train(cost, params, inputs, givens_for, n_batches, epochs, learning_rate, extra_outputs=()):
    """The tutorials' training loop: one compiled step per minibatch index, `updates` a list."""
    index = T.lscalar()
    gparams = [T.grad(cost, param) for param in params]
    updates = [(param, param - learning_rate * gparam) for param, gparam in zip(params, gparams)]
    train_model = theano.function(inputs=[index], outputs=[cost, *extra_outputs], updates=updates,
                                  givens=givens_for(index))
    return [float(np.mean([train_model(i)[0] for i in range(n_batches)])) for _ in range(epochs)]


def minibatch_givens(pairs, batch_size):
    def givens_for(index):
        return {var: data[index * batch_size:(index + 1) * batch_size] for var, data in pairs}
    return givens_for


def plain_sgd(cost, params, inputs, arrays, batch_size, epochs, learning_rate):
    """The same loop in plain symgraph: a step compiled on explicit inputs, minibatches sliced in NumPy."""
    grads = sg.grad(cost, params)
    step = sg.function(inputs, cost, updates=[(p, p - learning_rate * g) for p, g in zip(params, grads)])
    n_batches = len(arrays[0]) // batch_size
    for _ in range(epochs):
        for i in range(n_batches):
            step(*(a[i * batch_size:(i + 1) * batch_size] for a in arrays))
    return [p.get_value() for p in params]


def test_logistic_regression_sgd_with_givens_minibatches(floatX):
    data_x, data_y = classification_data()
    train_set_x, train_set_y = shared_dataset(data_x, data_y, floatX)
    x, y = T.matrix("x"), T.ivector("y")
    classifier = LogisticRegression(input=x, n_in=6, n_out=3)
    cost = classifier.negative_log_likelihood(y)
    batch_size, learning_rate = 20, np.asarray(0.13, dtype=floatX)
    costs = sgd_train(cost, classifier.params, [x, y],
                      minibatch_givens([(x, train_set_x), (y, train_set_y)], batch_size),
                      n_batches=6, epochs=5, learning_rate=learning_rate)
    assert_decreased(costs)
    assert classifier.W.get_value().dtype == floatX
    test_model = theano.function([], classifier.errors(y), givens={x: train_set_x, y: train_set_y})
    assert float(test_model()) < 0.2

    px, py = sg.matrix("x", dtype=floatX), sg.vector("y", dtype="int32")
    W, b = sg.shared(np.zeros((6, 3), dtype=floatX)), sg.shared(np.zeros(3, dtype=floatX))
    p = sg.softmax(px @ W + b, axis=-1)
    nll = -sg.mean(sg.log(p)[sg.arange(py.shape[0]), py])
    expected = plain_sgd(nll, [W, b], [px, py], [data_x.astype(floatX), data_y.astype("int32")],
                         batch_size, 5, learning_rate)
    assert_agree([classifier.W.get_value(), classifier.b.get_value()], expected, floatX)


# ---------------------------------------------------------------- the MLP

class HiddenLayer:
    def __init__(self, rng, input, n_in, n_out, activation=T.tanh):
        W_values = init_weights(rng, n_in, n_out, theano.config.floatX)
        if activation == T.nnet.sigmoid:
            W_values *= 4
        self.W = theano.shared(value=W_values, name="W", borrow=True)
        self.b = theano.shared(value=np.zeros((n_out,), dtype=theano.config.floatX), name="b", borrow=True)
        lin_output = T.dot(input, self.W) + self.b
        self.output = lin_output if activation is None else activation(lin_output)
        self.params = [self.W, self.b]


class MLP:
    def __init__(self, rng, input, n_in, n_hidden, n_out):
        self.hiddenLayer = HiddenLayer(rng, input, n_in, n_hidden)
        self.logRegressionLayer = LogisticRegression(self.hiddenLayer.output, n_hidden, n_out)
        self.L1 = abs(self.hiddenLayer.W).sum() + abs(self.logRegressionLayer.W).sum()
        self.L2_sqr = (self.hiddenLayer.W ** 2).sum() + (self.logRegressionLayer.W ** 2).sum()
        self.negative_log_likelihood = self.logRegressionLayer.negative_log_likelihood
        self.params = self.hiddenLayer.params + self.logRegressionLayer.params


def test_mlp_with_l1_l2_regularisation():
    data_x, data_y = classification_data(seed=1)
    train_set_x, train_set_y = shared_dataset(data_x, data_y, "float64")
    x, y = T.matrix("x"), T.ivector("y")
    classifier = MLP(np.random.RandomState(1234), x, n_in=6, n_hidden=10, n_out=3)
    initial = [p.get_value() for p in classifier.params]
    cost = classifier.negative_log_likelihood(y) + 0.0001 * classifier.L1 + 0.0001 * classifier.L2_sqr
    costs = sgd_train(cost, classifier.params, [x, y],
                      minibatch_givens([(x, train_set_x), (y, train_set_y)], 20),
                      n_batches=6, epochs=5, learning_rate=0.1)
    assert_decreased(costs)

    px, py = sg.matrix("x"), sg.vector("y", dtype="int32")
    W1, b1, W2, b2 = (sg.shared(v) for v in initial)
    p = sg.softmax(sg.tanh(px @ W1 + b1) @ W2 + b2)
    penalty = 0.0001 * (sg.abs(W1).sum() + sg.abs(W2).sum()) + 0.0001 * ((W1 ** 2).sum() + (W2 ** 2).sum())
    nll = -sg.mean(sg.log(p)[sg.arange(py.shape[0]), py]) + penalty
    expected = plain_sgd(nll, [W1, b1, W2, b2], [px, py], [data_x, data_y.astype("int32")], 20, 5, 0.1)
    assert_agree([p.get_value() for p in classifier.params], expected)


# ---------------------------------------------------------------- LeNet (small)

class LeNetConvPoolLayer:
    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        fan_in = np.prod(filter_shape[1:])
        fan_out = filter_shape[0] * np.prod(filter_shape[2:]) // np.prod(poolsize)
        W_bound = np.sqrt(6.0 / (fan_in + fan_out))
        self.W = theano.shared(np.asarray(rng.uniform(low=-W_bound, high=W_bound, size=filter_shape),
                                          dtype=theano.config.floatX), borrow=True)
        self.b = theano.shared(np.zeros((filter_shape[0],), dtype=theano.config.floatX), borrow=True)
        conv_out = T.nnet.conv2d(input=input, filters=self.W, filter_shape=filter_shape,
                                 input_shape=image_shape)
        pooled_out = pool.pool_2d(input=conv_out, ws=poolsize, ignore_border=True)
        self.output = T.tanh(pooled_out + self.b.dimshuffle("x", 0, "x", "x"))
        self.params = [self.W, self.b]


def test_lenet_conv_pool_layers():
    rng = np.random.RandomState(23455)
    n, batch_size = 24, 8
    labels = rng.randint(2, size=n)
    images = rng.randn(n, 1, 8, 8) * 0.3
    images[labels == 1, :, 2:6, 2:6] += 1.0
    train_set_x, train_set_y = shared_dataset(images.reshape(n, 64), labels, "float64")
    x, y = T.matrix("x"), T.ivector("y")
    layer0_input = x.reshape((batch_size, 1, 8, 8))
    layer0 = LeNetConvPoolLayer(rng, layer0_input, filter_shape=(3, 1, 3, 3), image_shape=(batch_size, 1, 8, 8))
    layer1 = HiddenLayer(rng, T.flatten(layer0.output, 2), n_in=3 * 3 * 3, n_out=8)
    layer2 = LogisticRegression(layer1.output, n_in=8, n_out=2)
    params = layer2.params + layer1.params + layer0.params
    initial = [p.get_value() for p in params]
    cost = layer2.negative_log_likelihood(y)
    costs = sgd_train(cost, params, [x, y], minibatch_givens([(x, train_set_x), (y, train_set_y)], batch_size),
                      n_batches=3, epochs=6, learning_rate=0.1)
    assert_decreased(costs)

    px, py = sg.matrix("x"), sg.vector("y", dtype="int32")
    W2, b2, W1, b1, W0, b0 = (sg.shared(v) for v in initial)
    # Theano's conv2d is a true convolution: cross-correlation with flipped filters.
    conv = sg.conv2d(px.reshape((batch_size, 1, 8, 8)), sg.flip(W0, axis=(2, 3)))
    hidden = sg.tanh(sg.max_pool(conv, (2, 2)) + b0[None, :, None, None]).reshape((batch_size, -1))
    p = sg.softmax(sg.tanh(hidden @ W1 + b1) @ W2 + b2)
    nll = -sg.mean(sg.log(p)[sg.arange(py.shape[0]), py])
    expected = plain_sgd(nll, [W2, b2, W1, b1, W0, b0], [px, py], [images.reshape(n, 64), labels.astype("int32")],
                         batch_size, 6, 0.1)
    assert_agree([p.get_value() for p in params], expected)


# ---------------------------------------------------------------- denoising and stacked autoencoders

class dA:
    def __init__(self, numpy_rng, theano_rng, input, n_visible, n_hidden, W=None, bhid=None):
        floatX = theano.config.floatX
        if W is None:
            W = theano.shared(value=init_weights(numpy_rng, n_visible, n_hidden, floatX) * 4, name="W", borrow=True)
        if bhid is None:
            bhid = theano.shared(value=np.zeros(n_hidden, dtype=floatX), name="b", borrow=True)
        self.W, self.b, self.W_prime = W, bhid, W.T
        self.b_prime = theano.shared(value=np.zeros(n_visible, dtype=floatX), name="b'", borrow=True)
        self.theano_rng, self.x = theano_rng, input
        self.params = [self.W, self.b, self.b_prime]

    def get_corrupted_input(self, input, corruption_level):
        return self.theano_rng.binomial(size=input.shape, n=1, p=1 - corruption_level,
                                        dtype=theano.config.floatX) * input

    def get_hidden_values(self, input):
        return T.nnet.sigmoid(T.dot(input, self.W) + self.b)

    def get_reconstructed_input(self, hidden):
        return T.nnet.sigmoid(T.dot(hidden, self.W_prime) + self.b_prime)

    def get_cost_updates(self, corruption_level, learning_rate):
        tilde_x = self.get_corrupted_input(self.x, corruption_level)
        z = self.get_reconstructed_input(self.get_hidden_values(tilde_x))
        L = -T.sum(self.x * T.log(z) + (1 - self.x) * T.log(1 - z), axis=1)
        cost = T.mean(L)
        gparams = T.grad(cost, self.params)
        return cost, [(param, param - learning_rate * gparam) for param, gparam in zip(self.params, gparams)]


def plain_dae_cost(x, W, b, b_prime, stream, corruption_level):
    corrupted = sg.cast(stream.binomial(1, 1 - corruption_level, size=x.shape), x.dtype) * x
    z = sg.sigmoid(sg.sigmoid(corrupted @ W + b) @ W.T + b_prime)
    return sg.mean(-sg.sum(x * sg.log(z) + (1 - x) * sg.log(1 - z), axis=1))


def test_denoising_autoencoder_with_random_corruption():
    data = binary_data()
    train_set_x = theano.shared(data, borrow=True)
    index, x = T.lscalar(), T.matrix("x")
    da = dA(np.random.RandomState(123), RandomStreams(seed=2 ** 30), x, n_visible=8, n_hidden=5)
    initial = [p.get_value() for p in da.params]
    cost, updates = da.get_cost_updates(corruption_level=0.3, learning_rate=0.1)
    batch_size = 10
    train_da = theano.function([index], cost, updates=updates,
                               givens={x: train_set_x[index * batch_size:(index + 1) * batch_size]})
    costs = [np.mean([train_da(i) for i in range(4)]) for _ in range(15)]
    assert_decreased(costs)

    px = sg.matrix("x")
    W, b, b_prime = (sg.shared(v) for v in initial)
    plain = plain_dae_cost(px, W, b, b_prime, sg.RandomStream(seed=2 ** 30), 0.3)
    expected = plain_sgd(plain, [W, b, b_prime], [px], [data], batch_size, 15, 0.1)
    assert_agree([p.get_value() for p in da.params], expected)


class SdA:
    def __init__(self, numpy_rng, n_ins, hidden_layers_sizes, n_outs):
        self.sigmoid_layers, self.dA_layers, self.params = [], [], []
        theano_rng = RandomStreams(numpy_rng.randint(2 ** 30))
        self.x, self.y = T.matrix("x"), T.ivector("y")
        for i, size in enumerate(hidden_layers_sizes):
            input_size = n_ins if i == 0 else hidden_layers_sizes[i - 1]
            layer_input = self.x if i == 0 else self.sigmoid_layers[-1].output
            sigmoid_layer = HiddenLayer(numpy_rng, layer_input, input_size, size, activation=T.nnet.sigmoid)
            self.sigmoid_layers.append(sigmoid_layer)
            self.params.extend(sigmoid_layer.params)
            self.dA_layers.append(dA(numpy_rng, theano_rng, layer_input, input_size, size,
                                     W=sigmoid_layer.W, bhid=sigmoid_layer.b))
        self.logLayer = LogisticRegression(self.sigmoid_layers[-1].output, hidden_layers_sizes[-1], n_outs)
        self.params.extend(self.logLayer.params)
        self.finetune_cost = self.logLayer.negative_log_likelihood(self.y)

    def pretraining_functions(self, train_set_x, batch_size):
        index = T.lscalar("index")
        corruption_level, learning_rate = T.scalar("corruption"), T.scalar("lr")
        functions = []
        for da in self.dA_layers:
            cost, updates = da.get_cost_updates(corruption_level, learning_rate)
            functions.append(theano.function(
                inputs=[index, corruption_level, learning_rate],
                outputs=cost, updates=updates,
                givens={self.x: train_set_x[index * batch_size:(index + 1) * batch_size]}))
        return functions


def test_stacked_denoising_autoencoder_pretrain_then_finetune():
    data_x, data_y = classification_data(n=60, n_in=8, n_out=2, seed=3)
    data_x = 1 / (1 + np.exp(-data_x))
    train_set_x, train_set_y = shared_dataset(data_x, data_y, "float64")
    sda = SdA(np.random.RandomState(89677), n_ins=8, hidden_layers_sizes=[6, 4], n_outs=2)
    for layer, pretrain in enumerate(sda.pretraining_functions(train_set_x, batch_size=20)):
        costs = [np.mean([pretrain(i, 0.1 + 0.1 * layer, 0.1) for i in range(3)]) for _ in range(15)]
        assert_decreased(costs)
    finetune = sgd_train(sda.finetune_cost, sda.params, [sda.x, sda.y],
                         minibatch_givens([(sda.x, train_set_x), (sda.y, train_set_y)], 20),
                         n_batches=3, epochs=10, learning_rate=0.1)
    assert_decreased(finetune)

    px, py = sg.matrix("x"), sg.vector("y", dtype="int32")
    W1, b1, W2, b2, W3, b3 = (sg.constant(p.get_value()) for p in sda.params)
    p = sg.softmax(sg.sigmoid(sg.sigmoid(px @ W1 + b1) @ W2 + b2) @ W3 + b3)
    nll = -sg.mean(sg.log(p)[sg.arange(py.shape[0]), py])
    score = theano.function([], sda.finetune_cost, givens={sda.x: train_set_x, sda.y: train_set_y})
    assert_agree([score()], [sg.function([px, py], nll)(data_x, data_y.astype("int32"))])


# ---------------------------------------------------------------- RBM (CD-k with Gibbs sampling in scan) and DBN

class RBM:
    def __init__(self, input, n_visible, n_hidden, numpy_rng, theano_rng, W=None, hbias=None):
        floatX = theano.config.floatX
        if W is None:
            W = theano.shared(value=init_weights(numpy_rng, n_visible, n_hidden, floatX) * 4, name="W", borrow=True)
        if hbias is None:
            hbias = theano.shared(value=np.zeros(n_hidden, dtype=floatX), name="hbias", borrow=True)
        self.vbias = theano.shared(value=np.zeros(n_visible, dtype=floatX), name="vbias", borrow=True)
        self.input, self.W, self.hbias, self.theano_rng = input, W, hbias, theano_rng
        self.params = [self.W, self.hbias, self.vbias]

    def free_energy(self, v_sample):
        wx_b = T.dot(v_sample, self.W) + self.hbias
        vbias_term = T.dot(v_sample, self.vbias)
        hidden_term = T.sum(T.log(1 + T.exp(wx_b)), axis=1)
        return -hidden_term - vbias_term

    def propup(self, vis):
        pre_sigmoid_activation = T.dot(vis, self.W) + self.hbias
        return [pre_sigmoid_activation, T.nnet.sigmoid(pre_sigmoid_activation)]

    def sample_h_given_v(self, v0_sample):
        pre_sigmoid_h1, h1_mean = self.propup(v0_sample)
        h1_sample = self.theano_rng.binomial(size=h1_mean.shape, n=1, p=h1_mean, dtype=theano.config.floatX)
        return [pre_sigmoid_h1, h1_mean, h1_sample]

    def propdown(self, hid):
        pre_sigmoid_activation = T.dot(hid, self.W.T) + self.vbias
        return [pre_sigmoid_activation, T.nnet.sigmoid(pre_sigmoid_activation)]

    def sample_v_given_h(self, h0_sample):
        pre_sigmoid_v1, v1_mean = self.propdown(h0_sample)
        v1_sample = self.theano_rng.binomial(size=v1_mean.shape, n=1, p=v1_mean, dtype=theano.config.floatX)
        return [pre_sigmoid_v1, v1_mean, v1_sample]

    def gibbs_hvh(self, h0_sample):
        pre_sigmoid_v1, v1_mean, v1_sample = self.sample_v_given_h(h0_sample)
        pre_sigmoid_h1, h1_mean, h1_sample = self.sample_h_given_v(v1_sample)
        return [pre_sigmoid_v1, v1_mean, v1_sample, pre_sigmoid_h1, h1_mean, h1_sample]

    def get_cost_updates(self, lr=0.1, k=1):
        pre_sigmoid_ph, ph_mean, ph_sample = self.sample_h_given_v(self.input)
        ([pre_sigmoid_nvs, nv_means, nv_samples, pre_sigmoid_nhs, nh_means, nh_samples], updates) = theano.scan(
            self.gibbs_hvh, outputs_info=[None, None, None, None, None, ph_sample], n_steps=k, name="gibbs_hvh")
        chain_end = nv_samples[-1]
        cost = T.mean(self.free_energy(self.input)) - T.mean(self.free_energy(chain_end))
        gparams = T.grad(cost, self.params, consider_constant=[chain_end])
        for gparam, param in zip(gparams, self.params):
            updates[param] = param - gparam * T.cast(lr, dtype=theano.config.floatX)
        monitoring_cost = self.get_reconstruction_cost(pre_sigmoid_nvs[-1])
        return monitoring_cost, updates

    def get_reconstruction_cost(self, pre_sigmoid_nv):
        return T.mean(T.sum(self.input * T.log(T.nnet.sigmoid(pre_sigmoid_nv))
                            + (1 - self.input) * T.log(1 - T.nnet.sigmoid(pre_sigmoid_nv)), axis=1))


def plain_rbm_cd(v, W, hbias, vbias, stream, k):
    """CD-k in plain symgraph: the same draws in the same order as `RBM.get_cost_updates`."""
    def sample(mean):
        return sg.cast(stream.binomial(1, mean, size=mean.shape), mean.dtype)

    def free_energy(x):
        return -sg.sum(sg.log(1 + sg.exp(x @ W + hbias)), axis=1) - x @ vbias

    def gibbs(h):
        pre_v = h @ W.T + vbias
        v_sample = sample(sg.sigmoid(pre_v))
        return pre_v, v_sample, sample(sg.sigmoid(v_sample @ W + hbias))

    h0 = sample(sg.sigmoid(v @ W + hbias))
    (pre_vs, v_samples, _), _ = sg.scan(gibbs, outputs_info=[None, None, h0], n_steps=k)
    chain_end = v_samples[-1]
    cost = sg.mean(free_energy(v)) - sg.mean(free_energy(chain_end))
    grads = sg.grad(cost, [W, hbias, vbias], consider_constant=[chain_end])
    p = sg.sigmoid(pre_vs[-1])
    monitor = sg.mean(sg.sum(v * sg.log(p) + (1 - v) * sg.log(1 - p), axis=1))
    return monitor, grads


def train_rbm(rbm, train_set_x, x, batch_size, epochs, k=1, lr=0.1):
    index = T.lscalar()
    cost, updates = rbm.get_cost_updates(lr=lr, k=k)
    train = theano.function([index], cost, updates=updates,
                            givens={x: train_set_x[index * batch_size:(index + 1) * batch_size]}, name="train_rbm")
    n_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    return [float(np.mean([train(i) for i in range(n_batches)])) for _ in range(epochs)]


def test_rbm_contrastive_divergence_with_gibbs_scan():
    data = binary_data(n=40, n_visible=8, seed=4)
    train_set_x, x = theano.shared(data, borrow=True), T.matrix("x")
    rbm = RBM(x, n_visible=8, n_hidden=4, numpy_rng=np.random.RandomState(123), theano_rng=RandomStreams(99))
    initial = [p.get_value() for p in rbm.params]
    # The monitoring cost is the log-likelihood of the reconstruction: it rises as the RBM learns.
    monitor = train_rbm(rbm, train_set_x, x, batch_size=10, epochs=12, k=2)
    assert_decreased([-m for m in monitor])

    v = sg.matrix("v")
    W, hbias, vbias = (sg.shared(p) for p in initial)
    plain_monitor, grads = plain_rbm_cd(v, W, hbias, vbias, sg.RandomStream(99), k=2)
    step = sg.function([v], plain_monitor, updates=[(p, p - 0.1 * g) for p, g in zip([W, hbias, vbias], grads)])
    expected = [float(np.mean([step(data[i * 10:(i + 1) * 10]) for i in range(4)])) for _ in range(12)]
    assert_agree(monitor, expected)
    assert_agree([p.get_value() for p in rbm.params], [W.get_value(), hbias.get_value(), vbias.get_value()])


class DBN:
    def __init__(self, numpy_rng, n_ins, hidden_layers_sizes, n_outs):
        theano_rng = RandomStreams(numpy_rng.randint(2 ** 30))
        self.x, self.y = T.matrix("x"), T.ivector("y")
        self.sigmoid_layers, self.rbm_layers, self.params = [], [], []
        for i, size in enumerate(hidden_layers_sizes):
            input_size = n_ins if i == 0 else hidden_layers_sizes[i - 1]
            layer_input = self.x if i == 0 else self.sigmoid_layers[-1].output
            sigmoid_layer = HiddenLayer(numpy_rng, layer_input, input_size, size, activation=T.nnet.sigmoid)
            self.sigmoid_layers.append(sigmoid_layer)
            self.params.extend(sigmoid_layer.params)
            self.rbm_layers.append(RBM(layer_input, input_size, size, numpy_rng, theano_rng,
                                       W=sigmoid_layer.W, hbias=sigmoid_layer.b))
        self.logLayer = LogisticRegression(self.sigmoid_layers[-1].output, hidden_layers_sizes[-1], n_outs)
        self.params.extend(self.logLayer.params)
        self.finetune_cost = self.logLayer.negative_log_likelihood(self.y)


def test_dbn_greedy_pretraining_then_finetuning():
    data_x, data_y = classification_data(n=40, n_in=8, n_out=2, seed=5)
    data_x = (data_x > 0).astype(np.float64)
    train_set_x, train_set_y = shared_dataset(data_x, data_y, "float64")
    dbn = DBN(np.random.RandomState(123), n_ins=8, hidden_layers_sizes=[6, 4], n_outs=2)
    for rbm in dbn.rbm_layers:
        monitor = train_rbm(rbm, train_set_x, dbn.x, batch_size=10, epochs=6, k=1)
        assert np.all(np.isfinite(monitor))
    finetune = sgd_train(dbn.finetune_cost, dbn.params, [dbn.x, dbn.y],
                         minibatch_givens([(dbn.x, train_set_x), (dbn.y, train_set_y)], 10),
                         n_batches=4, epochs=10, learning_rate=0.1)
    assert_decreased(finetune)

    px, py = sg.matrix("x"), sg.vector("y", dtype="int32")
    W1, b1, W2, b2, W3, b3 = (sg.constant(p.get_value()) for p in dbn.params)
    p = sg.softmax(sg.sigmoid(sg.sigmoid(px @ W1 + b1) @ W2 + b2) @ W3 + b3)
    nll = -sg.mean(sg.log(p)[sg.arange(py.shape[0]), py])
    score = theano.function([], dbn.finetune_cost, givens={dbn.x: train_set_x, dbn.y: train_set_y})
    assert_agree([score()], [sg.function([px, py], nll)(data_x, data_y.astype("int32"))])


# ---------------------------------------------------------------- HMC (leapfrog in scan, RandomStreams)

def kinetic_energy(vel):
    return 0.5 * (vel ** 2).sum(axis=1)


def hamiltonian(pos, vel, energy_fn):
    return energy_fn(pos) + kinetic_energy(vel)


def metropolis_hastings_accept(energy_prev, energy_next, s_rng):
    ediff = energy_prev - energy_next
    return (T.exp(ediff) - s_rng.uniform(size=energy_prev.shape)) >= 0


def simulate_dynamics(initial_pos, initial_vel, stepsize, n_steps, energy_fn):
    def leapfrog(pos, vel, step):
        dE_dpos = T.grad(energy_fn(pos).sum(), pos)
        new_vel = vel - step * dE_dpos
        new_pos = pos + step * new_vel
        return [new_pos, new_vel], {}

    initial_energy = energy_fn(initial_pos)
    dE_dpos = T.grad(initial_energy.sum(), initial_pos)
    vel_half_step = initial_vel - 0.5 * stepsize * dE_dpos
    pos_full_step = initial_pos + stepsize * vel_half_step
    (all_pos, all_vel), scan_updates = theano.scan(
        leapfrog, outputs_info=[dict(initial=pos_full_step), dict(initial=vel_half_step)],
        non_sequences=[stepsize], n_steps=n_steps - 1)
    final_pos, final_vel = all_pos[-1], all_vel[-1]
    assert not scan_updates
    energy = energy_fn(final_pos)
    final_vel = final_vel - 0.5 * stepsize * T.grad(energy.sum(), final_pos)
    return final_pos, final_vel


def hmc_move(s_rng, positions, energy_fn, stepsize, n_steps):
    initial_vel = s_rng.normal(size=positions.shape)
    final_pos, final_vel = simulate_dynamics(positions, initial_vel, stepsize, n_steps, energy_fn)
    accept = metropolis_hastings_accept(hamiltonian(positions, initial_vel, energy_fn),
                                        hamiltonian(final_pos, final_vel, energy_fn), s_rng)
    return accept, final_pos


def hmc_updates(positions, stepsize, avg_acceptance_rate, final_pos, accept, target_acceptance_rate,
                stepsize_inc, stepsize_dec, stepsize_min, stepsize_max, avg_acceptance_slowness):
    accept_matrix = accept.dimshuffle(0, *(("x",) * (final_pos.ndim - 1)))
    new_positions = T.switch(accept_matrix, final_pos, positions)
    _new_stepsize = T.switch(avg_acceptance_rate > target_acceptance_rate,
                             stepsize * stepsize_inc, stepsize * stepsize_dec)
    new_stepsize = T.clip(_new_stepsize, stepsize_min, stepsize_max)
    new_acceptance_rate = T.add(avg_acceptance_slowness * avg_acceptance_rate,
                                (1.0 - avg_acceptance_slowness) * accept.mean(dtype=avg_acceptance_rate.dtype))
    return [(positions, new_positions), (stepsize, new_stepsize), (avg_acceptance_rate, new_acceptance_rate)]


def gaussian_energy(mu, cov_inv):
    def energy(x):
        centred = x - mu
        return 0.5 * (T.dot(centred, cov_inv) * centred).sum(axis=1)
    return energy


def hmc_sampler(initial_pos, energy_fn, seed, n_steps=5):
    positions = theano.shared(initial_pos)
    stepsize = theano.shared(np.float64(0.25))
    avg_acceptance_rate = theano.shared(np.float64(0.9))
    s_rng = RandomStreams(seed)
    accept, final_pos = hmc_move(s_rng, positions, energy_fn, stepsize, n_steps)
    updates = hmc_updates(positions, stepsize, avg_acceptance_rate, final_pos, accept, target_acceptance_rate=0.9,
                          stepsize_inc=1.02, stepsize_dec=0.98, stepsize_min=0.001, stepsize_max=0.25,
                          avg_acceptance_slowness=0.9)
    return theano.function([], [], updates=updates), positions, stepsize


def test_hmc_samples_a_gaussian():
    rng = np.random.RandomState(123)
    mu = np.array([1.0, -2.0])
    cov = np.array([[1.0, 0.5], [0.5, 1.0]])
    energy_fn = gaussian_energy(theano.shared(mu), theano.shared(np.linalg.inv(cov)))
    initial = rng.randn(8, 2) * 3 + 5
    simulate, positions, stepsize = hmc_sampler(initial, energy_fn, seed=7)
    score = theano.function([], T.mean(energy_fn(positions)))
    energies = [float(score())]
    samples = []
    for _ in range(60):
        simulate()
        samples.append(positions.get_value())
        energies.append(float(score()))
    # From a far start, the energy of the chains drops to the typical set, whose mean energy is d/2 = 1.
    assert_decreased(energies)
    assert np.mean(energies[-20:]) < 3
    np.testing.assert_allclose(np.concatenate(samples[20:]).mean(axis=0), mu, atol=0.5)

    # The same sampler in plain symgraph: the same draws in the same order, so the same chains.
    inv = sg.constant(np.linalg.inv(cov))

    def energy(x):
        return 0.5 * sg.sum(((x - mu) @ inv) * (x - mu), axis=1)

    pos, step, rate = sg.shared(initial), sg.shared(np.float64(0.25)), sg.shared(np.float64(0.9))
    stream = sg.RandomStream(7)
    vel0 = stream.normal(size=pos.shape)
    vel = vel0 - 0.5 * step * sg.grad(energy(pos).sum(), pos)
    start = pos + step * vel

    def leapfrog(p, v, s):
        v = v - s * sg.grad(energy(p).sum(), p)
        return p + s * v, v

    (ps, vs), _ = sg.scan(leapfrog, outputs_info=[start, vel], non_sequences=[step], n_steps=4)
    end_pos = ps[-1]
    end_vel = vs[-1] - 0.5 * step * sg.grad(energy(end_pos).sum(), end_pos)
    before = energy(pos) + 0.5 * (vel0 ** 2).sum(axis=1)
    after = energy(end_pos) + 0.5 * (end_vel ** 2).sum(axis=1)
    accept = sg.exp(before - after) - stream.uniform(size=before.shape) >= 0
    new_step = sg.clip(sg.where(rate > 0.9, step * 1.02, step * 0.98), 0.001, 0.25)
    plain = sg.function([], [], updates=[(pos, sg.where(accept[:, None], end_pos, pos)), (step, new_step),
                                         (rate, 0.9 * rate + 0.1 * sg.mean(accept))])
    for _ in range(60):
        plain()
    assert_agree([positions.get_value(), stepsize.get_value()], [pos.get_value(), step.get_value()])


# ---------------------------------------------------------------- LSTM on IMDB-like sequences

def ortho_weight(rng, ndim):
    u, _, _ = np.linalg.svd(rng.randn(ndim, ndim))
    return u.astype(theano.config.floatX)


def init_lstm_params(rng, n_words, dim_proj, ydim):
    params = {"Wemb": (0.01 * rng.rand(n_words, dim_proj)).astype(theano.config.floatX),
              "lstm_W": np.concatenate([ortho_weight(rng, dim_proj) for _ in range(4)], axis=1),
              "lstm_U": np.concatenate([ortho_weight(rng, dim_proj) for _ in range(4)], axis=1),
              "lstm_b": np.zeros((4 * dim_proj,)).astype(theano.config.floatX),
              "U": 0.01 * rng.randn(dim_proj, ydim).astype(theano.config.floatX),
              "b": np.zeros((ydim,)).astype(theano.config.floatX)}
    return params


def init_tparams(params):
    return {name: theano.shared(value, name=name) for name, value in params.items()}


def _slice(_x, n, dim):
    if _x.ndim == 3:
        return _x[:, :, n * dim:(n + 1) * dim]
    return _x[:, n * dim:(n + 1) * dim]


def lstm_layer(tparams, state_below, dim_proj, mask):
    nsteps = state_below.shape[0]
    n_samples = state_below.shape[1]

    def _step(m_, x_, h_, c_):
        preact = T.dot(h_, tparams["lstm_U"]) + x_
        i = T.nnet.sigmoid(_slice(preact, 0, dim_proj))
        f = T.nnet.sigmoid(_slice(preact, 1, dim_proj))
        o = T.nnet.sigmoid(_slice(preact, 2, dim_proj))
        c = T.tanh(_slice(preact, 3, dim_proj))
        c = f * c_ + i * c
        c = m_[:, None] * c + (1. - m_)[:, None] * c_
        h = o * T.tanh(c)
        h = m_[:, None] * h + (1. - m_)[:, None] * h_
        return h, c

    state_below = T.dot(state_below, tparams["lstm_W"]) + tparams["lstm_b"]
    rval, updates = theano.scan(_step, sequences=[mask, state_below],
                                outputs_info=[T.alloc(0., n_samples, dim_proj), T.alloc(0., n_samples, dim_proj)],
                                name="lstm_layers", n_steps=nsteps)
    return rval[0]


def build_lstm_model(tparams, dim_proj, trng, use_noise):
    x, mask, y = T.matrix("x", dtype="int64"), T.matrix("mask", dtype=theano.config.floatX), T.vector("y", dtype="int64")
    n_timesteps, n_samples = x.shape[0], x.shape[1]
    emb = tparams["Wemb"][x.flatten()].reshape([n_timesteps, n_samples, dim_proj])
    proj = lstm_layer(tparams, emb, dim_proj, mask)
    proj = (proj * mask[:, :, None]).sum(axis=0)
    proj = proj / mask.sum(axis=0)[:, None]
    proj = T.switch(use_noise, proj * trng.binomial(proj.shape, p=0.5, n=1, dtype=proj.dtype), proj * 0.5)
    pred = T.nnet.softmax(T.dot(proj, tparams["U"]) + tparams["b"])
    off = 1e-8
    cost = -T.log(pred[T.arange(n_samples), y] + off).mean()
    return x, mask, y, cost


def sequence_data(rng, n=16, maxlen=6, n_words=10):
    """Sequences whose label is whether word 1 occurs more often than word 2, padded with a mask."""
    lengths = rng.randint(2, maxlen + 1, size=n)
    x = np.zeros((maxlen, n), dtype=np.int64)
    mask = np.zeros((maxlen, n))
    for j, length in enumerate(lengths):
        x[:length, j] = rng.randint(1, n_words, size=length)
        mask[:length, j] = 1
    y = ((x == 1).sum(axis=0) > (x == 2).sum(axis=0)).astype(np.int64)
    return x, mask, y


def test_lstm_sentiment_classifier_with_masked_scan_and_dropout():
    rng = np.random.RandomState(123)
    dim_proj = 4
    params = init_lstm_params(rng, n_words=10, dim_proj=dim_proj, ydim=2)
    tparams = init_tparams(params)
    use_noise = theano.shared(np.asarray(0., dtype=theano.config.floatX))
    x, mask, y, cost = build_lstm_model(tparams, dim_proj, MRG_RandomStreams(1234), use_noise)
    grads = T.grad(cost, wrt=list(tparams.values()))
    lr = T.scalar(name="lr")
    f_train = theano.function([x, mask, y, lr], cost,
                              updates=[(p, p - lr * g) for p, g in zip(tparams.values(), grads)], name="sgd")
    f_cost = theano.function([x, mask, y], cost)
    data_x, data_mask, data_y = sequence_data(rng)
    use_noise.set_value(1.)
    costs = [f_cost(data_x, data_mask, data_y)]
    for _ in range(30):
        f_train(data_x, data_mask, data_y, 0.5)
    use_noise.set_value(0.)
    costs.append(f_cost(data_x, data_mask, data_y))
    assert_decreased(costs)

    # The noiseless forward pass in plain symgraph, at the trained parameters.
    p = {name: sg.constant(var.get_value()) for name, var in tparams.items()}
    px, pmask = sg.matrix("x", dtype="int64"), sg.matrix("mask")

    def step(m, x_t, h, c):
        pre = h @ p["lstm_U"] + x_t
        gates = [pre[:, k * dim_proj:(k + 1) * dim_proj] for k in range(4)]
        c_new = sg.sigmoid(gates[1]) * c + sg.sigmoid(gates[0]) * sg.tanh(gates[3])
        c_new = sg.where(m[:, None] > 0, c_new, c)
        h_new = sg.where(m[:, None] > 0, sg.sigmoid(gates[2]) * sg.tanh(c_new), h)
        return h_new, c_new

    below = p["Wemb"][px] @ p["lstm_W"] + p["lstm_b"]
    zeros = sg.zeros((px.shape[1], dim_proj))
    (hs, _), _ = sg.scan(step, sequences=[pmask, below], outputs_info=[zeros, zeros])
    pooled = (hs * pmask[:, :, None]).sum(axis=0) / pmask.sum(axis=0)[:, None] * 0.5
    pred = sg.softmax(pooled @ p["U"] + p["b"])
    py = sg.vector("y", dtype="int64")
    plain_cost = -sg.mean(sg.log(pred[sg.arange(px.shape[1]), py] + 1e-8))
    assert_agree([costs[-1]], [sg.function([px, pmask, py], plain_cost)(data_x, data_mask, data_y)])


# ---------------------------------------------------------------- RNN-SLU (Elman network over word windows)

def contextwin(sentence, window):
    padded = window // 2 * [-1] + list(sentence) + window // 2 * [-1]
    return [padded[i:i + window] for i in range(len(sentence))]


class RNNSLU:
    def __init__(self, nh, nc, ne, de, cs, rng):
        floatX = theano.config.floatX
        self.emb = theano.shared(name="embeddings", value=0.2 * rng.uniform(-1.0, 1.0, (ne + 1, de)).astype(floatX))
        self.wx = theano.shared(name="wx", value=0.2 * rng.uniform(-1.0, 1.0, (de * cs, nh)).astype(floatX))
        self.wh = theano.shared(name="wh", value=0.2 * rng.uniform(-1.0, 1.0, (nh, nh)).astype(floatX))
        self.w = theano.shared(name="w", value=0.2 * rng.uniform(-1.0, 1.0, (nh, nc)).astype(floatX))
        self.bh = theano.shared(name="bh", value=np.zeros(nh, dtype=floatX))
        self.b = theano.shared(name="b", value=np.zeros(nc, dtype=floatX))
        self.h0 = theano.shared(name="h0", value=np.zeros(nh, dtype=floatX))
        self.params = [self.emb, self.wx, self.wh, self.w, self.bh, self.b, self.h0]
        idxs = T.imatrix()
        x = self.emb[idxs].reshape((idxs.shape[0], de * cs))
        y_sentence = T.ivector("y_sentence")

        def recurrence(x_t, h_tm1):
            h_t = T.nnet.sigmoid(T.dot(x_t, self.wx) + T.dot(h_tm1, self.wh) + self.bh)
            s_t = T.nnet.softmax(T.dot(h_t, self.w) + self.b)
            return [h_t, s_t]

        [h, s], _ = theano.scan(fn=recurrence, sequences=x, outputs_info=[self.h0, None], n_steps=x.shape[0])
        p_y_given_x_sentence = s[:, 0, :]
        y_pred = T.argmax(p_y_given_x_sentence, axis=1)
        lr = T.scalar("lr")
        sentence_nll = -T.mean(T.log(p_y_given_x_sentence)[T.arange(x.shape[0]), y_sentence])
        sentence_gradients = T.grad(sentence_nll, self.params)
        sentence_updates = [(param, param - lr * g) for param, g in zip(self.params, sentence_gradients)]
        self.classify = theano.function(inputs=[idxs], outputs=y_pred)
        self.nll = theano.function(inputs=[idxs, y_sentence], outputs=sentence_nll)
        self.sentence_train = theano.function(inputs=[idxs, y_sentence, lr], outputs=sentence_nll,
                                              updates=sentence_updates)
        self.normalize = theano.function(
            inputs=[], updates={self.emb: self.emb / T.sqrt((self.emb ** 2).sum(axis=1)).dimshuffle(0, "x")})


def test_rnn_slu_elman_network():
    rng = np.random.RandomState(345)
    ne, nc, cs = 8, 3, 3
    sentences = [rng.randint(ne, size=rng.randint(3, 7)) for _ in range(6)]
    labels = [(s % nc).astype(np.int32) for s in sentences]
    windows = [np.asarray(contextwin(s, cs), dtype=np.int32) for s in sentences]
    rnn = RNNSLU(nh=6, nc=nc, ne=ne, de=4, cs=cs, rng=rng)
    initial = [p.get_value() for p in rnn.params]

    def total_nll():
        return float(np.mean([rnn.nll(w, y) for w, y in zip(windows, labels)]))

    costs = [total_nll()]
    for _ in range(8):
        for w, y in zip(windows, labels):
            rnn.sentence_train(w, y, 0.5)
            rnn.normalize()
        costs.append(total_nll())
    assert_decreased(costs)
    np.testing.assert_allclose(np.linalg.norm(rnn.emb.get_value(), axis=1), 1.0)

    emb, wx, wh, w, bh, b, h0 = (sg.shared(v) for v in initial)
    idxs, y = sg.matrix("idxs", dtype="int32"), sg.vector("y", dtype="int32")
    x = emb[idxs].reshape((idxs.shape[0], -1))
    (_, s), _ = sg.scan(lambda x_t, h: (lambda h_t: (h_t, sg.softmax(h_t @ w + b)))(sg.sigmoid(x_t @ wx + h @ wh + bh)),
                        sequences=[x], outputs_info=[h0, None])
    nll = -sg.mean(sg.log(s)[sg.arange(x.shape[0]), y])
    params = [emb, wx, wh, w, bh, b, h0]
    train = sg.function([idxs, y], nll, updates=[(p, p - 0.5 * g) for p, g in zip(params, sg.grad(nll, params))])
    normalize = sg.function([], None, updates=[(emb, emb / sg.sqrt((emb ** 2).sum(axis=1, keepdims=True)))])
    for _ in range(8):
        for wins, labs in zip(windows, labels):
            train(wins, labs)
            normalize()
    assert_agree([p.get_value() for p in rnn.params], [p.get_value() for p in params])


# ---------------------------------------------------------------- RNN-RBM (an RBM whose biases an RNN drives)

def build_rbm(v, W, bv, bh, k, rng):
    def gibbs_step(v):
        mean_h = T.nnet.sigmoid(T.dot(v, W) + bh)
        h = rng.binomial(size=mean_h.shape, n=1, p=mean_h, dtype=theano.config.floatX)
        mean_v = T.nnet.sigmoid(T.dot(h, W.T) + bv)
        v = rng.binomial(size=mean_v.shape, n=1, p=mean_v, dtype=theano.config.floatX)
        return mean_v, v

    chain, updates = theano.scan(lambda v: gibbs_step(v)[1], outputs_info=[v], n_steps=k)
    v_sample = chain[-1]
    mean_v = gibbs_step(v_sample)[0]
    monitor = T.nnet.binary_crossentropy(mean_v, v).sum() / v.shape[0]

    def free_energy(v):
        return -(v * bv).sum() - T.log(1 + T.exp(T.dot(v, W) + bh)).sum()

    cost = (free_energy(v) - free_energy(v_sample)) / v.shape[0]
    return v_sample, cost, monitor, updates


def shared_normal(rng, num_rows, num_cols, scale=1):
    return theano.shared(rng.normal(scale=scale / np.sqrt(num_rows + num_cols), size=(num_rows, num_cols)))


def shared_zeros(*shape):
    return theano.shared(np.zeros(shape, dtype=theano.config.floatX))


def build_rnnrbm(n_visible, n_hidden, n_hidden_recurrent, numpy_rng, rng, k=2):
    W = shared_normal(numpy_rng, n_visible, n_hidden, 0.01)
    bv, bh = shared_zeros(n_visible), shared_zeros(n_hidden)
    Wuh = shared_normal(numpy_rng, n_hidden_recurrent, n_hidden, 0.0001)
    Wuv = shared_normal(numpy_rng, n_hidden_recurrent, n_visible, 0.0001)
    Wvu = shared_normal(numpy_rng, n_visible, n_hidden_recurrent, 0.0001)
    Wuu = shared_normal(numpy_rng, n_hidden_recurrent, n_hidden_recurrent, 0.0001)
    bu = shared_zeros(n_hidden_recurrent)
    params = W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu
    v = T.matrix()
    u0 = T.zeros((n_hidden_recurrent,))

    def recurrence(v_t, u_tm1):
        bv_t = bv + T.dot(u_tm1, Wuv)
        bh_t = bh + T.dot(u_tm1, Wuh)
        u_t = T.tanh(bu + T.dot(v_t, Wvu) + T.dot(u_tm1, Wuu))
        return [u_t, bv_t, bh_t]

    (u_t, bv_t, bh_t), updates_train = theano.scan(
        lambda v_t, u_tm1, *_: recurrence(v_t, u_tm1), sequences=v, outputs_info=[u0, None, None],
        non_sequences=params)
    v_sample, cost, monitor, updates_rbm = build_rbm(v, W, bv_t[:], bh_t[:], k, rng)
    updates_train.update(updates_rbm)
    return v, v_sample, cost, monitor, params, updates_train


def test_rnn_rbm_sequence_model():
    sequence = binary_data(n=12, n_visible=6, seed=6)
    v, v_sample, cost, monitor, params, updates_train = build_rnnrbm(
        6, 5, 4, np.random.RandomState(0), RandomStreams(seed=42))
    initial = [p.get_value() for p in params]
    gradient = T.grad(cost, params, consider_constant=[v_sample])
    updates_train.update((p, p - 0.1 * g) for p, g in zip(params, gradient))
    train_function = theano.function([v], monitor, updates=updates_train)
    monitors = [float(train_function(sequence)) for _ in range(40)]
    assert_decreased([np.mean(monitors[:5]), np.mean(monitors[-5:])])

    # The same model in plain symgraph: the same draws in the same order.
    W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu = plain = [sg.shared(p) for p in initial]
    stream = sg.RandomStream(seed=42)
    pv = sg.matrix("v")

    def recurrence(v_t, u):
        return sg.tanh(bu + v_t @ Wvu + u @ Wuu), bv + u @ Wuv, bh + u @ Wuh

    (_, bv_t, bh_t), _ = sg.scan(recurrence, sequences=[pv], outputs_info=[sg.zeros(4), None, None])

    def gibbs(x):
        mean_h = sg.sigmoid(x @ W + bh_t)
        h = sg.cast(stream.binomial(1, mean_h, size=mean_h.shape), "float64")
        mean_v = sg.sigmoid(h @ W.T + bv_t)
        return mean_v, sg.cast(stream.binomial(1, mean_v, size=mean_v.shape), "float64")

    chain, _ = sg.scan(lambda x: gibbs(x)[1], outputs_info=[pv], n_steps=2)
    end = chain[-1]
    mean_v = gibbs(end)[0]
    plain_monitor = sg.binary_crossentropy(mean_v, pv).sum() / pv.shape[0]

    def free_energy(x):
        return -(x * bv_t).sum() - sg.softplus(x @ W + bh_t).sum()

    plain_cost = (free_energy(pv) - free_energy(end)) / pv.shape[0]
    grads = sg.grad(plain_cost, plain, consider_constant=[end])
    step = sg.function([pv], plain_monitor, updates=[(p, p - 0.1 * g) for p, g in zip(plain, grads)])
    expected = [float(step(sequence)) for _ in range(40)]
    assert_agree(monitors, expected)
    assert_agree([p.get_value() for p in params], [p.get_value() for p in plain])


# ---------------------------------------------------------------- against Theano's successor, where installed

def logistic_sgd_script(theano_module, tensor, softmax, data_x, data_y, steps=5):
    """The logistic regression tutorial's training loop, written once for any Theano-like module."""
    train_set_x = theano_module.shared(data_x)
    train_set_y = tensor.cast(theano_module.shared(data_y.astype("float64")), "int32")
    index, x, y = tensor.lscalar(), tensor.dmatrix("x"), tensor.ivector("y")
    W = theano_module.shared(np.zeros((data_x.shape[1], 3)))
    b = theano_module.shared(np.zeros(3))
    p_y_given_x = softmax(tensor.dot(x, W) + b)
    cost = -tensor.mean(tensor.log(p_y_given_x)[tensor.arange(y.shape[0]), y])
    g_W, g_b = tensor.grad(cost, [W, b])
    train = theano_module.function([index], cost, updates=[(W, W - 0.13 * g_W), (b, b - 0.13 * g_b)],
                                   givens={x: train_set_x[index * 20:(index + 1) * 20],
                                           y: train_set_y[index * 20:(index + 1) * 20]})
    costs = [float(train(i % 6)) for i in range(steps)]
    return costs, W.get_value(), b.get_value()


def test_logistic_regression_agrees_with_pytensor():
    pytensor = pytest.importorskip("pytensor")
    import pytensor.tensor as pt
    from pytensor.tensor.special import softmax as pt_softmax

    data_x, data_y = classification_data()
    ours = logistic_sgd_script(theano, T, T.nnet.softmax, data_x, data_y)
    theirs = logistic_sgd_script(pytensor, pt, lambda z: pt_softmax(z, axis=-1), data_x, data_y)
    assert_decreased(ours[0])
    for got, want in zip(ours, theirs):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
