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
