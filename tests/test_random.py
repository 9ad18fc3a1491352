"""Random draws: functional draws against NumPy's Generator, RandomStream state handling, gradients,
rewrites that must not fold or merge draws, batching, pickling, threads and errors."""
import pickle
import threading

import numpy as np
import pytest
import scipy.stats

import symgraph as sg

MODES = [None, "fast_compile"]
SEED = 1234


def numpy_generator(seed=SEED):
    return np.random.default_rng(seed)


def draw_value(build, mode=None, inputs=(), values=()):
    """Compile and run the sample of `build(key)` for a fresh key of SEED."""
    _, sample = build(sg.random.key(SEED))
    return sg.function(list(inputs), sample, mode=mode)(*values)


# ---------------------------------------------------------------- exact equality with NumPy

EXACT_CASES = [
    ("normal", lambda k: sg.random.normal(k, 1.5, 2.0, size=(3, 4)), lambda g: g.normal(1.5, 2.0, size=(3, 4))),
    ("normal_broadcast", lambda k: sg.random.normal(k, [0.0, 10.0, 20.0], [[1.0], [2.0]]),
     lambda g: g.normal([0.0, 10.0, 20.0], [[1.0], [2.0]])),
    ("standard_normal32", lambda k: sg.random.standard_normal(k, size=5, dtype="float32"),
     lambda g: g.standard_normal(5, dtype=np.float32)),
    ("uniform", lambda k: sg.random.uniform(k, -2.0, 3.0, size=7), lambda g: g.uniform(-2.0, 3.0, size=7)),
    ("uniform_default", lambda k: sg.random.uniform(k, size=(2, 2)), lambda g: g.uniform(size=(2, 2))),
    ("binomial", lambda k: sg.random.binomial(k, [3, 10], 0.3, size=(4, 2)), lambda g: g.binomial([3, 10], 0.3, size=(4, 2))),
    ("bernoulli", lambda k: sg.random.bernoulli(k, 0.25, size=9), lambda g: g.binomial(1, 0.25, size=9)),
    ("integers", lambda k: sg.random.integers(k, 3, 17, size=6), lambda g: g.integers(3, 17, size=6)),
    ("integers_int32_endpoint", lambda k: sg.random.integers(k, 5, size=6, dtype="int32", endpoint=True),
     lambda g: g.integers(5, size=6, dtype=np.int32, endpoint=True)),
    ("choice", lambda k: sg.random.choice(k, 10, size=4), lambda g: g.choice(10, size=4)),
    ("choice_array_p", lambda k: sg.random.choice(k, np.array([1.5, 2.5, 3.5], np.float32), size=(2, 3),
                                                  p=[0.2, 0.3, 0.5]),
     lambda g: g.choice(np.array([1.5, 2.5, 3.5], np.float32), size=(2, 3), p=[0.2, 0.3, 0.5])),
    ("choice_no_replace", lambda k: sg.random.choice(k, 8, size=8, replace=False),
     lambda g: g.choice(8, size=8, replace=False)),
    ("choice_scalar", lambda k: sg.random.choice(k, 4), lambda g: g.choice(4)),
    ("permutation_int", lambda k: sg.random.permutation(k, 9), lambda g: g.permutation(9)),
    ("permutation_array", lambda k: sg.random.permutation(k, np.arange(12).reshape(4, 3)),
     lambda g: g.permutation(np.arange(12).reshape(4, 3))),
    ("multinomial", lambda k: sg.random.multinomial(k, 10, [0.2, 0.3, 0.5]), lambda g: g.multinomial(10, [0.2, 0.3, 0.5])),
    ("multinomial_rows", lambda k: sg.random.multinomial(k, [[4], [9]], [[0.5, 0.5], [0.9, 0.1]]),
     lambda g: g.multinomial([[4], [9]], [[0.5, 0.5], [0.9, 0.1]])),
    ("multinomial_size", lambda k: sg.random.multinomial(k, [3, 5], np.array([0.25, 0.75], np.float32), size=(4, 2)),
     lambda g: g.multinomial([3, 5], np.array([0.25, 0.75], np.float32), size=(4, 2))),
    ("multinomial_size_zero", lambda k: sg.random.multinomial(k, 3, [0.5, 0.5], size=0),
     lambda g: g.multinomial(3, [0.5, 0.5], size=0)),
    ("multinomial_empty_size", lambda k: sg.random.multinomial(k, 3, [0.5, 0.5], size=()),
     lambda g: g.multinomial(3, [0.5, 0.5], size=())),
    ("size_zero", lambda k: sg.random.normal(k, size=(0, 3)), lambda g: g.normal(size=(0, 3))),
    ("size_one", lambda k: sg.random.uniform(k, size=1), lambda g: g.uniform(size=1)),
    ("scalar", lambda k: sg.random.normal(k), lambda g: np.asarray(g.normal())),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, build, reference", EXACT_CASES, ids=[c[0] for c in EXACT_CASES])
def test_draws_equal_numpy_generator_exactly(name, build, reference, mode):
    result = draw_value(build, mode)
    expected = np.asarray(reference(numpy_generator()))
    assert result.dtype == expected.dtype
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("mode", MODES)
def test_symbolic_parameters_and_sizes(mode):
    x = sg.matrix("x")
    n = sg.scalar("n", dtype="int64")
    loc = sg.vector("loc")
    key_out, sample = sg.random.normal(sg.random.key(SEED), loc, 0.5, size=(x.shape[0], 3))
    assert sample.type.shape == (None, 3)
    _, ints = sg.random.integers(key_out, n, size=(n,))
    f = sg.function([x, loc, n], [sample, ints], mode=mode)
    got_sample, got_ints = f(np.zeros((2, 5)), [1.0, 2.0, 3.0], 4)
    generator = numpy_generator()
    np.testing.assert_array_equal(got_sample, generator.normal([1.0, 2.0, 3.0], 0.5, size=(2, 3)))
    np.testing.assert_array_equal(got_ints, generator.integers(4, size=4))


def test_next_key_continues_the_generator():
    key = sg.random.key(SEED)
    key, first = sg.random.normal(key, size=3)
    key, second = sg.random.uniform(key, size=2)
    _, third = sg.random.integers(key, 100, size=2)
    got = sg.function([], [first, second, third])()
    generator = numpy_generator()
    expected = [generator.normal(size=3), generator.uniform(size=2), generator.integers(100, size=2)]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_key_accepts_a_generator_without_advancing_it():
    generator = numpy_generator()
    generator.normal(size=5)
    _, sample = sg.random.normal(generator, size=3)
    expected_after = generator.bit_generator.state
    np.testing.assert_array_equal(sample.eval(), generator.normal(size=3))
    assert sg.random.key(numpy_generator(9)).tolist() == sg.random.key(9).tolist()
    assert expected_after != generator.bit_generator.state


def test_key_as_a_function_input():
    key = sg.vector("key", dtype="uint64")
    next_key, sample = sg.random.uniform(key, size=2)
    f = sg.function([key], [next_key, sample])
    state = sg.random.key(SEED)
    state, a = f(state)
    _, b = f(state)
    generator = numpy_generator()
    np.testing.assert_array_equal(np.concatenate([a, b]), generator.uniform(size=4))


def test_categorical_matches_probabilities(rng):
    p = np.array([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]])
    key = sg.vector("key", dtype="uint64")
    next_key, index = sg.random.categorical(key, np.broadcast_to(p, (20000, 2, 3)))
    assert index.type == sg.TensorType("int64", (20000, 2))
    counts = sg.function([key], index)(sg.random.key(3))
    for row in range(2):
        frequencies = np.bincount(counts[:, row], minlength=3) / counts.shape[0]
        np.testing.assert_allclose(frequencies, p[row], atol=0.015)
    _, unnormalized = sg.random.categorical(sg.random.key(0), [[0.0, 0.0, 5.0]])
    assert unnormalized.eval().tolist() == [2]


def test_multinomial_with_symbolic_sizes_streams_and_errors():
    n, p = sg.scalar("n", dtype="int64"), sg.matrix("p")
    next_key, by_rows = sg.random.multinomial(sg.random.key(SEED), n, p)
    _, sized = sg.random.multinomial(next_key, 2, [0.5, 0.5], size=(n,))
    assert by_rows.type == sg.TensorType("int64", (None, None)) and sized.type == sg.TensorType("int64", (None, 2))
    pvals = np.full((3, 4), 0.25)
    rows, counts = sg.function([n, p], [by_rows, sized])(5, pvals)
    generator = numpy_generator()
    np.testing.assert_array_equal(rows, generator.multinomial(5, pvals))
    np.testing.assert_array_equal(counts, generator.multinomial(2, [0.5, 0.5], size=(5,)))
    stream = sg.random.RandomStream(seed=2)
    f = sg.function([], stream.multinomial(4, [0.5, 0.5], size=3))
    first = f()
    assert first.sum(axis=1).tolist() == [4, 4, 4] and not all(np.array_equal(first, f()) for _ in range(5))
    stream.seed(2)
    np.testing.assert_array_equal(f(), first)
    assert sg.grad(sg.sum(sg.cast(sg.random.multinomial(0, 3, p)[1], "float64") * p), p).eval({p: pvals}).shape == (3, 4)
    with pytest.raises(TypeError, match=r"multinomial: n must be an integer"):
        sg.random.multinomial(0, 2.5, [0.5, 0.5])
    with pytest.raises(sg.ShapeError, match=r"multinomial: pvals must have at least one axis"):
        sg.random.multinomial(0, 2, 0.5)
    with pytest.raises(sg.ShapeError, match=r"multinomial: parameters of types int64\[\], float64\[2\] do not broadcast"):
        sg.random.multinomial(0, 2, [[0.5, 0.5]] * 2, size=(3,))
    with pytest.raises(ValueError, match=r"sum\(pvals\[:-1\]\) > 1.0 \[while computing node multinomial"):
        sg.random.multinomial(0, 2, [0.9, 0.9, 0.1])[1].eval()


@pytest.mark.parametrize("static", [True, False])
def test_vmap_of_multinomial_draws_once_without_a_fallback(static):
    stream = sg.random.RandomStream(seed=4)
    ns = sg.tensor("ns", dtype="int64", shape=(3,) if static else (None,))
    ps = sg.tensor("ps", shape=(3, 4) if static else (None, None))
    by_p = sg.vmap(lambda p: stream.multinomial(50, p))(ps)
    by_n = sg.vmap(lambda n: stream.multinomial(n, [0.5, 0.5], size=(2,)))(ns)
    by_both = sg.vmap(lambda n, p: stream.multinomial(n, p))(ns, ps)
    f = sg.function([ns, ps], [by_p, by_n, by_both])
    assert f.report.batching_fallbacks == []
    p_value = np.array([[0.0, 1.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.5], [0.25] * 4])
    counts_p, counts_n, counts_both = f([1, 5, 9], p_value)
    assert counts_p.shape == (3, 4) and counts_n.shape == (3, 2, 2) and counts_both.shape == (3, 4)
    assert counts_p.sum(axis=1).tolist() == [50] * 3 and counts_p[0].tolist() == [0, 50, 0, 0]
    assert counts_p[1, 1:3].tolist() == [0, 0]
    assert counts_n.sum(axis=2).tolist() == [[1, 1], [5, 5], [9, 9]]
    assert counts_both.sum(axis=1).tolist() == [1, 5, 9] and counts_both[0].tolist() == [0, 1, 0, 0]


# ---------------------------------------------------------------- moments and Kolmogorov-Smirnov

def test_normal_and_uniform_moments_and_ks():
    rng = sg.random.RandomStream(seed=11)
    normal = rng.normal(2.0, 3.0, size=20000)
    uniform = rng.uniform(-1.0, 4.0, size=20000)
    a, b = sg.function([], [normal, uniform])()
    assert abs(a.mean() - 2.0) < 0.1 and abs(a.std() - 3.0) < 0.1
    assert abs(b.mean() - 1.5) < 0.05 and b.min() >= -1.0 and b.max() < 4.0
    assert scipy.stats.kstest(a, "norm", args=(2.0, 3.0)).pvalue > 1e-3
    assert scipy.stats.kstest(b, "uniform", args=(-1.0, 5.0)).pvalue > 1e-3


def test_discrete_moments():
    rng = sg.random.RandomStream(seed=12)
    b = rng.binomial(10, 0.3, size=20000)
    i = rng.integers(0, 6, size=20000)
    got_b, got_i = sg.function([], [b, i])()
    assert abs(got_b.mean() - 3.0) < 0.05 and abs(got_b.var() - 2.1) < 0.1
    assert sorted(set(got_i.tolist())) == list(range(6))


# ---------------------------------------------------------------- streams

def test_stream_draws_advance_and_differ():
    rng = sg.random.RandomStream(seed=SEED)
    a, b = rng.normal(size=3), rng.normal(size=3)
    f = sg.function([], [a, b])
    first_a, first_b = f()
    second_a, _ = f()
    assert not np.array_equal(first_a, first_b)  # two draws are never merged
    assert not np.array_equal(first_a, second_a)  # a call advances the state
    # draw 0 is the stream of SeedSequence(seed, spawn_key=(0,)), continued from call to call
    generator = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(0,)))
    np.testing.assert_array_equal(np.concatenate([first_a, second_a]), generator.normal(size=6))


@pytest.mark.parametrize("mode", MODES)
def test_identical_draws_are_not_merged(mode):
    rng = sg.random.RandomStream(seed=0)
    a, b = rng.normal(size=3), rng.normal(size=3)
    f = sg.function([], a - b, mode=mode)
    assert np.all(f() != 0)
    assert sum(node.op.name == "standard_normal" for node in f.graph.nodes) == 2


def test_seed_and_set_state_reproduce_a_run():
    rng = sg.random.RandomStream(seed=5)
    f = sg.function([], [rng.uniform(size=4), rng.integers(0, 1000, size=4)])
    saved = rng.get_state()
    run1 = [f() for _ in range(3)]
    rng.set_state(saved)
    run2 = [f() for _ in range(3)]
    rng.seed(5)
    run3 = [f() for _ in range(3)]
    for a, b, c in zip(run1, run2, run3):
        for x, y, z in zip(a, b, c):
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(x, z)
    rng.seed(6)
    assert not np.array_equal(f()[0], run1[0][0])
    with pytest.raises(ValueError, match="expected 2 states, got 1"):
        rng.set_state(saved[:1])


def test_eval_advances_the_stream():
    rng = sg.random.RandomStream(seed=0)
    x = rng.normal(size=2)
    assert not np.array_equal(x.eval(), x.eval())


def test_explicit_update_replaces_the_automatic_one():
    rng = sg.random.RandomStream(seed=0)
    x = rng.normal(size=2)
    (state,) = rng.state_variables
    frozen = sg.function([], x, updates=[(state, state)])
    assert np.array_equal(frozen(), frozen())


def test_function_pickles_with_its_generator_state():
    rng = sg.random.RandomStream(seed=3)
    x = sg.vector("x")
    f = sg.function([x], x + rng.normal(size=3))
    f([0.0, 0.0, 0.0])
    clone = pickle.loads(pickle.dumps(f))
    for _ in range(2):
        np.testing.assert_array_equal(f([1.0, 2.0, 3.0]), clone([1.0, 2.0, 3.0]))


def test_two_threads_never_share_a_state():
    rng = sg.random.RandomStream(seed=8)
    f = sg.function([], rng.integers(0, 2 ** 62, size=1))
    results = [[], []]

    def work(bucket):
        for _ in range(200):
            bucket.append(int(f()[0]))

    threads = [threading.Thread(target=work, args=(bucket,)) for bucket in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drawn = sorted(results[0] + results[1])
    generator = np.random.default_rng(np.random.SeedSequence(8, spawn_key=(0,)))
    assert drawn == sorted(int(generator.integers(0, 2 ** 62)) for _ in range(400))


# ---------------------------------------------------------------- gradients

def test_reparameterized_gradients_match_finite_differences(rng):
    def loss(loc, scale, low, high):
        key, z = sg.random.normal(sg.random.key(0), loc, scale, size=(4, 3))
        _, u = sg.random.uniform(key, low, high, size=(4, 3))
        return (z * u).sum()

    sg.verify_grad(loss, [rng.normal(size=3), rng.uniform(0.5, 2, size=(4, 1)), rng.normal(size=3), rng.normal(size=3) + 3],
                   rng=rng)


def test_gradient_of_scale_is_the_noise_and_second_derivative():
    scale = sg.scalar("scale")
    _, x = sg.random.normal(sg.random.key(SEED), 0.0, scale, size=5)
    noise = numpy_generator().standard_normal(5)
    g = sg.grad((x ** 2).sum(), scale)
    np.testing.assert_allclose(g.eval({scale: 2.0}), 2 * 2.0 * (noise ** 2).sum())
    np.testing.assert_allclose(sg.grad(g, scale).eval({scale: 2.0}), 2 * (noise ** 2).sum())


def test_forward_mode_matches_reverse_mode(rng):
    loc = sg.vector("loc")
    _, x = sg.random.normal(sg.random.key(0), loc, 3.0)
    tangent = rng.normal(size=4)
    (forward,) = sg.jvp([x * x], [loc], [sg.constant(tangent)])
    point = rng.normal(size=4)
    jacobian = sg.jacobian(x * x, loc).eval({loc: point})
    np.testing.assert_allclose(forward.eval({loc: point}), jacobian @ tangent)


def test_discrete_draws_have_zero_gradients():
    p = sg.scalar("p")
    _, b = sg.random.binomial(sg.random.key(0), 10, p, size=4)
    g = sg.grad(sg.cast(b, "float64").sum() * p, p)
    assert float(g.eval({p: 0.5})) == float(b.eval({p: 0.5}).sum())


def test_dropout_keeps_expectation_and_gradient():
    x = sg.vector("x")
    rng = sg.random.RandomStream(seed=2)
    y = sg.dropout(x, 0.25, rng)
    f = sg.function([x], [y, sg.grad(y.sum(), x)])
    values, gradient = f(np.ones(40000))
    assert set(np.unique(values).tolist()) == {0.0, 4 / 3}
    assert abs(values.mean() - 1.0) < 0.02
    np.testing.assert_array_equal(gradient, values)
    assert sg.dropout(x, 0.0, rng) is x


# ---------------------------------------------------------------- rewrites and batching

@pytest.mark.parametrize("mode", MODES)
def test_constant_draws_are_not_folded(mode):
    _, sample = sg.random.normal(sg.random.key(0), size=3)
    optimized = sg.optimize(sample * 2.0, mode=mode)
    assert not isinstance(optimized, sg.Constant)
    assert any(getattr(node.op, "pure", True) is False
               for node in sg.function([], optimized).graph.nodes)


def test_vectorized_draws_are_independent_per_entry():
    from symgraph.autodiff.vectorize import vectorize

    x, xs = sg.vector("x"), sg.matrix("xs")
    rng = sg.random.RandomStream(seed=0)
    noisy = x + rng.normal(size=x.shape)
    perm = rng.permutation(4) + sg.cast(x.sum(), "int64") * 0
    batched_noisy, batched_perm = vectorize([noisy, perm], {x: xs}, xs.shape[0], independent_draws=sg.random.is_draw)
    f = sg.function([xs], [batched_noisy, batched_perm])
    a, perms = f(np.zeros((3, 5)))
    assert a.shape == (3, 5) and len({tuple(row) for row in a}) == 3
    assert perms.shape == (3, 4) and all(sorted(row) == [0, 1, 2, 3] for row in perms.tolist())
    shared_noise, = vectorize([x + rng.normal(size=5)], {x: xs}, xs.shape[0])
    rows = shared_noise.eval({xs: np.zeros((3, 5))})
    assert np.array_equal(rows[0], rows[1])  # without independent_draws the sample is shared


def test_printing_names_the_draw():
    _, sample = sg.random.integers(sg.random.key(0), 5, size=(2,), endpoint=True)
    assert "integers{size=(2,), int64, endpoint=True}" in sg.debugprint(sample)


# ---------------------------------------------------------------- errors

def test_errors_name_the_draw():
    with pytest.raises(TypeError, match="normal: a generator state must be a uint64 vector"):
        sg.random.normal(sg.vector("k"))
    with pytest.raises(TypeError, match="standard_normal: dtype must be float64 or float32"):
        sg.random.standard_normal(0, dtype="int32")
    with pytest.raises(sg.ShapeError, match=r"normal: parameters of types float64\[3\].* do not broadcast to size \(2,\)"):
        sg.random.normal(0, np.zeros(3), size=2)
    with pytest.raises(sg.ShapeError, match=r"binomial: parameters of types .* do not broadcast"):
        sg.random.binomial(0, [1, 2, 3], 0.5, size=(2,))
    with pytest.raises(ValueError, match="integers: negative dimensions"):
        sg.random.integers(0, 5, size=-1)
    with pytest.raises(TypeError, match="integers: dtype must be an integer dtype"):
        sg.random.integers(0, 5, dtype="float64")
    with pytest.raises(TypeError, match="binomial: n must be an integer"):
        sg.random.binomial(0, 1.5, 0.5)
    with pytest.raises(sg.ShapeError, match="choice: a must be 1-d"):
        sg.random.choice(0, np.zeros((2, 2)))
    with pytest.raises(TypeError, match="expected a generator state"):
        sg.random.uniform("seed")
    with pytest.raises(TypeError, match="dropout: rng must be a sg.random.RandomStream"):
        sg.dropout(sg.vector("x"), 0.5, None)
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\)"):
        sg.dropout(sg.vector("x"), 1.0, sg.random.RandomStream(0))


INVALID_PARAMETER_CASES = [
    ("normal", lambda k, v: sg.random.normal(k, 0.0, v, size=2), [1.0, -1.0], ValueError, "normal: scale < 0"),
    ("uniform", lambda k, v: sg.random.uniform(k, v, [1.0, 1.0]), [0.0, 2.0], ValueError, r"uniform: high - low < 0"),
    ("uniform_infinite", lambda k, v: sg.random.uniform(k, 0.0, v, size=2), [1.0, np.inf], OverflowError,
     "uniform: high - low range exceeds valid bounds"),
    ("categorical", lambda k, v: sg.random.categorical(k, v), [0.5, -0.5], ValueError,
     "categorical: probabilities are not non-negative"),
]


@pytest.mark.parametrize("name, build, bad, error, message", INVALID_PARAMETER_CASES,
                         ids=[case[0] for case in INVALID_PARAMETER_CASES])
def test_invalid_parameters_raise_numpys_errors(name, build, bad, error, message):
    v = sg.vector("v")
    _, sample = build(sg.random.key(0), v)
    f = sg.function([v], sample)
    with pytest.raises(error, match=message):
        f(bad)
    with pytest.raises(error, match=message):  # a constant parameter is refused when the draw is built or run
        build(sg.random.key(0), np.array(bad))[1].eval()
    with pytest.raises(error, match=message):  # batched parameters are checked too
        sg.vmap(lambda row: build(sg.random.key(0), row)[1])(sg.constant([bad, bad])).eval()


def test_valid_edge_parameters_follow_numpy():
    s, low = sg.scalar("s"), sg.vector("low")
    r = sg.RandomStream(0)
    assert np.isnan(r.normal(0.0, s, size=2).eval({s: np.nan})).all()  # NumPy lets a NaN scale through
    np.testing.assert_array_equal(r.uniform(low, 1.0).eval({low: [1.0, 1.0]}), [1.0, 1.0])
    with pytest.raises(ValueError, match="normal: scale < 0"):
        r.normal(0.0, -1.0, size=2)
    with pytest.raises(ValueError, match="categorical: the probabilities of a row sum to 0"):
        r.categorical([[0.5, 0.5], [0.0, 0.0]]).eval()


@pytest.mark.parametrize("population", [0, np.zeros(0, np.float32), np.arange(5.0)], ids=["int", "empty", "array"])
def test_permutation_of_a_constant_population_equals_numpy(population):
    _, perm = sg.random.permutation(sg.random.key(SEED), population)
    value, expected = perm.eval(), numpy_generator().permutation(population)
    assert value.dtype == expected.dtype
    np.testing.assert_array_equal(value, expected)


def test_two_draws_on_one_shared_state_are_refused():
    state = sg.shared(sg.random.key(0), name="my_state")
    _, a = sg.random.normal(state, size=2)
    _, b = sg.random.uniform(state, size=2)
    with pytest.raises(ValueError, match="two draws consume the generator state my_state"):
        sg.function([], [a, b])


def test_chained_draws_advance_a_shared_key_to_the_end_of_the_chain():
    key = sg.shared(sg.random.key(SEED), name="key")
    k1, a = sg.random.normal(key, size=2)
    _, b = sg.random.integers(k1, 10, size=3)
    f = sg.function([], [a, b])
    generator = numpy_generator()
    for _ in range(3):  # each call continues where the previous one stopped
        first, second = f()
        np.testing.assert_array_equal(first, generator.normal(size=2))
        np.testing.assert_array_equal(second, generator.integers(10, size=3))


def test_a_chain_through_a_scan_advances_a_shared_key_past_the_scan():
    key = sg.shared(sg.random.key(SEED), name="key")
    k1, a = sg.random.normal(key, size=2)
    (_, steps), _ = sg.scan(lambda k: sg.random.uniform(k, size=2), outputs_info=[k1, None], n_steps=3)
    f = sg.function([], [a, steps])
    generator = numpy_generator()
    for _ in range(2):
        first, second = f()
        np.testing.assert_array_equal(first, generator.normal(size=2))
        np.testing.assert_array_equal(second, generator.uniform(size=(3, 2)))


def test_a_forked_or_recomputed_chain_of_a_shared_key_needs_an_explicit_update():
    key = sg.shared(sg.random.key(0), name="key")
    k1, a = sg.random.normal(key, size=2)
    k2, b = sg.random.normal(k1, size=2)
    _, c = sg.random.uniform(k1, size=2)
    with pytest.raises(ValueError, match=r"two draws consume the generator state .* \(a next state of the shared state key\)"):
        sg.function([], [a, b, c])
    first, second, third = sg.function([], [a, b, c], updates={key: k2})()
    np.testing.assert_array_equal(second, np.random.default_rng(0).normal(size=(2, 2))[1])
    (keys, _), _ = sg.scan(lambda k: sg.random.uniform(k, size=2), outputs_info=[key, None], n_steps=2)
    _, d = sg.random.normal(keys[-1], size=2)
    with pytest.raises(ValueError, match="computed from the shared state key but not as the next state of a draw"):
        sg.function([], d)


def test_bad_state_at_run_time_names_the_node():
    key = sg.vector("key", dtype="uint64")
    _, sample = sg.random.normal(key, size=2)
    f = sg.function([key], sample)
    with pytest.raises(ValueError, match=r"a random state must be 6 uint64 words.*standard_normal.*test_random.py"):
        f(np.zeros(3, dtype=np.uint64))


def test_dropout_with_a_symbolic_rate_of_one_gives_zeros():
    x, rate = sg.vector("x"), sg.scalar("rate")
    dropped = sg.dropout(x, rate, sg.random.RandomStream(0))
    f = sg.function([x, rate], [dropped, sg.grad(dropped.sum(), x)])
    values, gradient = f(np.ones(8), 1.0)
    np.testing.assert_array_equal(values, np.zeros(8))
    np.testing.assert_array_equal(gradient, np.zeros(8))
    assert set(f(np.ones(64), 0.5)[0].tolist()) == {0.0, 2.0}


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_dropout_keeps_the_float_type_of_its_input(dtype):
    x = sg.vector("x", dtype=dtype)
    dropped = sg.dropout(x, 0.5, sg.random.RandomStream(0))
    value = dropped.eval({x: np.ones(64, dtype)})
    assert dropped.dtype == dtype and value.dtype == dtype and set(value.tolist()) <= {0.0, 2.0}


def test_a_stream_pickles_with_the_functions_that_draw_from_it():
    rng = sg.random.RandomStream(seed=4)
    f = sg.function([], rng.normal(size=2))
    f()
    f_copy, rng_copy = pickle.loads(pickle.dumps((f, rng)))
    expected = f()
    np.testing.assert_array_equal(f_copy(), expected)  # the copy continues from the pickled state
    rng_copy.seed(4)
    first = f_copy()
    rng.seed(4)
    np.testing.assert_array_equal(f(), first)  # seeding the unpickled stream reaches the unpickled function
    assert rng_copy.state_variables[0] is not rng.state_variables[0]
