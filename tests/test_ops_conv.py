"""Convolution, pooling and the neural-net losses against direct loop implementations (and JAX when
installed): 1-d/2-d/3-d, strides, dilation, groups, every padding kind, NHWC, float32, unknown sizes, both
compile modes; gradients, second derivatives, forward mode, batching, and every error."""
import itertools

import numpy as np
import pytest

import symgraph as sg

from op_testing import assert_jvp_matches_finite_differences, symbolic_like

MODES = [None, "fast_compile"]


def naive_conv(x, w, strides, padding, dilation, groups):
    """Cross-correlation by explicit loops over every output element (channels-first, explicit padding)."""
    nd = w.ndim - 2
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    out_channels, per_group, kernel = w.shape[0], w.shape[1], w.shape[2:]
    out_sizes = [(xp.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // strides[i] + 1 for i in range(nd)]
    y = np.zeros((x.shape[0], out_channels) + tuple(out_sizes), dtype=np.result_type(x, w))
    per_out_group = out_channels // groups
    for n, o in itertools.product(range(x.shape[0]), range(out_channels)):
        group = o // per_out_group
        for position in itertools.product(*map(range, out_sizes)):
            total = 0.0
            for c, tap in itertools.product(range(per_group), itertools.product(*map(range, kernel))):
                source = tuple(position[i] * strides[i] + tap[i] * dilation[i] for i in range(nd))
                total += xp[(n, group * per_group + c) + source] * w[(o, c) + tap]
            y[(n, o) + position] = total
    return y


def naive_pool(x, window, strides, padding, reduce, count_include_pad=True):
    """Pooling over the trailing axes by explicit loops; `reduce` is "max" or "avg"."""
    nd = len(window)
    lead = x.shape[:-nd]
    sizes = x.shape[-nd:]
    out_sizes = [(sizes[i] + sum(padding[i]) - window[i]) // strides[i] + 1 for i in range(nd)]
    y = np.zeros(lead + tuple(out_sizes))
    for index in itertools.product(*map(range, lead)):
        for position in itertools.product(*map(range, out_sizes)):
            values, count = [], 0
            for tap in itertools.product(*map(range, window)):
                source = [position[i] * strides[i] + tap[i] - padding[i][0] for i in range(nd)]
                count += 1
                if all(0 <= s < n for s, n in zip(source, sizes)):
                    values.append(x[index + tuple(source)])
            if reduce == "max":
                y[index + position] = max(values)
            else:
                y[index + position] = sum(values) / (count if count_include_pad else len(values))
    return y


CONV_CASES = [
    # (x shape, w shape, stride, padding, dilation, groups)
    ((2, 3, 9), (4, 3, 3), 1, "valid", 1, 1),
    ((2, 4, 10), (6, 2, 4), 2, "same", 1, 2),
    ((1, 2, 7), (2, 2, 2), 3, ((2, 1),), 2, 1),
    ((2, 3, 7, 6), (4, 3, 3, 2), 1, "same", 1, 1),
    ((2, 4, 8, 7), (4, 1, 3, 3), (2, 1), "same", (1, 2), 4),
    ((1, 2, 6, 6), (3, 2, 2, 3), 2, "full", 1, 1),
    ((2, 2, 5, 6), (2, 2, 3, 3), 1, 1, 2, 1),
    ((1, 6, 9, 8), (6, 3, 2, 2), (3, 2), ((0, 2), (1, 0)), 1, 2),
    ((1, 2, 5, 4, 6), (3, 2, 2, 3, 2), 1, "valid", 1, 1),
    ((2, 2, 6, 5, 5), (2, 1, 3, 2, 3), (2, 1, 2), "same", (1, 2, 1), 2),
    ((1, 1, 4, 4), (1, 1, 4, 4), 1, "valid", 1, 1),
]


def _case_id(case):
    return f"{len(case[0]) - 2}d-s{case[2]}-p{case[3]}-d{case[4]}-g{case[5]}".replace(" ", "")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CONV_CASES, ids=_case_id)
def test_conv_matches_a_direct_loop(case, mode, rng):
    x_shape, w_shape, stride, padding, dilation, groups = case
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    for static in (True, False):
        X, W = symbolic_like(x, static, "x"), symbolic_like(w, static, "w")
        y = sg.conv(X, W, stride, padding, dilation, groups)
        value = sg.function([X, W], y, mode=mode)(x, w)
        pads = sg.conv(symbolic_like(x, True), symbolic_like(w, True), stride, padding, dilation, groups).owner.op.padding
        nd = w.ndim - 2
        expected = naive_conv(x, w, stride if isinstance(stride, tuple) else (stride,) * nd, pads,
                              dilation if isinstance(dilation, tuple) else (dilation,) * nd, groups)
        np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-10)
        if static:
            assert y.type.shape == expected.shape
        else:
            assert all(s is None or s == e for s, e in zip(y.type.shape, expected.shape))


def test_same_padding_keeps_size_with_stride_one_and_gives_ceil_with_strides():
    x, w = sg.tensor("x", shape=(1, 1, 10, 7)), sg.tensor("w", shape=(1, 1, 4, 3))
    assert sg.conv(x, w, padding="same").type.shape == (1, 1, 10, 7)
    assert sg.conv(x, w, stride=3, padding="same").type.shape == (1, 1, 4, 3)
    # TensorFlow's SAME puts the odd padding element at the end.
    assert sg.conv(x, w, padding="same").owner.op.padding == ((1, 2), (1, 1))
    unknown = sg.tensor("u", shape=(1, 1, None, None))
    kernel = np.ones((1, 1, 4, 3))
    y = sg.conv(unknown, kernel, stride=3, padding="same")
    assert y.type.shape == (1, 1, None, None)
    value = np.random.default_rng(1).standard_normal((1, 1, 10, 7))
    expected = naive_conv(value, kernel, (3, 3), ((1, 2), (1, 1)), (1, 1), 1)
    np.testing.assert_allclose(sg.function([unknown], y)(value), expected)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_conv_dtypes_follow_numpy(dtype, rng):
    x = (rng.standard_normal((1, 2, 5, 5)) * 3).astype(dtype)
    w = (rng.standard_normal((3, 2, 2, 2)) * 3).astype(dtype)
    result = sg.function([X := symbolic_like(x), W := symbolic_like(w)], sg.conv(X, W))(x, w)
    assert result.dtype == np.dtype(dtype)
    np.testing.assert_allclose(result, naive_conv(x, w, (1, 1), ((0, 0), (0, 0)), (1, 1), 1), rtol=1e-5)


@pytest.mark.parametrize("nd, spelled", [(1, "NWC"), (2, "NHWC"), (3, "NDHWC")])
def test_channels_last_equals_channels_first_moved(nd, spelled, rng):
    x = rng.standard_normal((2, 3) + (5,) * nd)
    w = rng.standard_normal((4, 3) + (2,) * nd)
    first = sg.conv(sg.constant(x), sg.constant(w), stride=2, padding="same").eval()
    last = sg.conv(sg.constant(np.moveaxis(x, 1, -1)), sg.constant(w), stride=2, padding="same", data_format=spelled).eval()
    np.testing.assert_allclose(last, np.moveaxis(first, 1, -1), rtol=1e-12)
    pooled = sg.max_pool(sg.constant(np.moveaxis(x, 1, -1)), 2, data_format="NHWC").eval()
    np.testing.assert_array_equal(pooled, np.moveaxis(sg.max_pool(sg.constant(x), 2).eval(), 1, -1))


def test_conv2d_accepts_theano_argument_names(rng):
    x, w = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3))
    expected = sg.conv(sg.constant(x), sg.constant(w), stride=2, padding=1, dilation=1).eval()
    theano = sg.conv2d(sg.constant(x), sg.constant(w), border_mode="half", subsample=(2, 2), filter_dilation=(1, 1)).eval()
    np.testing.assert_allclose(theano, expected)
    full = sg.conv2d(sg.constant(x), sg.constant(w), border_mode="full")
    assert full.type.shape == (2, 4, 9, 9)
    assert sg.nnet.conv2d is sg.conv2d and sg.nnet.conv is sg.conv
    with pytest.raises(sg.ShapeError, match="conv2d: filters must have rank 4"):
        sg.conv2d(sg.tensor("x", shape=(1, 1, 4)), sg.tensor("w", shape=(1, 1, 2)))


def test_conv_matches_jax(rng):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    x, w = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2))
    expected = jax.lax.conv_general_dilated(x, w, (2, 1), [(1, 1), (0, 1)], rhs_dilation=(1, 2), feature_group_count=2)
    result = sg.conv(sg.constant(x), sg.constant(w), (2, 1), ((1, 1), (0, 1)), (1, 2), 2).eval()
    np.testing.assert_allclose(result, np.asarray(expected), rtol=1e-10)
    same = jax.lax.conv_general_dilated(x, w[:, :, :, :1].repeat(2, 1)[:, :4], (3, 2), "SAME")
    np.testing.assert_allclose(
        sg.conv(sg.constant(x), sg.constant(w[:, :, :, :1].repeat(2, 1)[:, :4]), (3, 2), "same").eval(),
        np.asarray(same), rtol=1e-10)


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[4], CONV_CASES[7], CONV_CASES[9]], ids=_case_id)
def test_conv_gradients_match_finite_differences(case, rng):
    x_shape, w_shape, stride, padding, dilation, groups = case
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    sg.verify_grad(lambda a, b: sg.conv(a, b, stride, padding, dilation, groups), [x, w], rng=rng)
    assert_jvp_matches_finite_differences(lambda a, b: sg.conv(a, b, stride, padding, dilation, groups), [x, w], rng)


def test_conv_gradient_ops_are_differentiable_again(rng):
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((4, 2, 3, 2))

    def gradients(a, b):
        return sg.grad(sg.sum(sg.tanh(sg.conv(a, b, (2, 1), "same", 1, 2))), [a, b])

    sg.verify_grad(lambda a, b: gradients(a, b)[0], [x, w], rng=rng)
    sg.verify_grad(lambda a, b: gradients(a, b)[1], [x, w], rng=rng)
    assert_jvp_matches_finite_differences(lambda a, b: gradients(a, b)[0], [x, w], rng)
    assert_jvp_matches_finite_differences(lambda a, b: gradients(a, b)[1], [x, w], rng)


def test_conv_gradient_names_the_transposed_ops():
    x, w = sg.tensor("x", shape=(2, 3, 8, 8)), sg.tensor("w", shape=(4, 3, 3, 3))
    gx, gw = sg.grad(sg.sum(sg.conv(x, w, 2, 1)), [x, w])
    assert gx.type.shape == (2, 3, 8, 8) and gw.type.shape == (4, 3, 3, 3)
    names = {node["op"] for _, node in sg.to_networkx([gx, gw]).nodes(data=True) if node["kind"] == "apply"}
    assert {"conv_input_grad", "conv_kernel_grad"} <= names


def test_jacobian_and_hessian_of_conv(rng):
    x, w = rng.standard_normal((1, 2, 4, 3)), rng.standard_normal((2, 2, 2, 2))
    X, W = sg.tensor("x", shape=x.shape), sg.tensor("w", shape=w.shape)
    jacobian = sg.function([X, W], sg.jacobian(sg.conv(X, W, 1, "same"), X), on_unused_input="ignore")(x, w)
    eps = 1e-6
    numeric = np.zeros(jacobian.shape)
    f = sg.function([X, W], sg.conv(X, W, 1, "same"))
    for index in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        numeric[(Ellipsis,) + index] = (f(x + step, w) - f(x - step, w)) / (2 * eps)
    np.testing.assert_allclose(jacobian, numeric, atol=1e-6)
    hessian = sg.function([X, W], sg.hessian(sg.sum(sg.tanh(sg.conv(X, W))), W))(x, w)
    assert hessian.shape == w.shape * 2
    np.testing.assert_allclose(hessian.reshape(16, 16), hessian.reshape(16, 16).T, atol=1e-12)


# ---------------------------------------------------------------- pooling

POOL_CASES = [
    # (x shape, window, stride, padding)
    ((2, 3, 6, 6), 2, None, "valid"),
    ((1, 2, 7, 5), 3, 1, "same"),
    ((1, 2, 7, 8), (2, 3), (2, 2), "same"),
    ((2, 1, 5, 6), (3, 2), (1, 2), ((1, 1), (0, 1))),
    ((1, 2, 9), 3, 2, 1),
    ((1, 1, 4, 5, 4), 2, 1, "valid"),
    ((1, 1, 1, 1), 1, None, "valid"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pools_match_a_direct_loop(case, mode, rng):
    x_shape, window, stride, padding = case
    x = rng.standard_normal(x_shape)
    for static in (True, False):
        X = symbolic_like(x, static)
        ops = [sg.max_pool(X, window, stride, padding), sg.avg_pool(X, window, stride, padding),
               sg.avg_pool(X, window, stride, padding, count_include_pad=False)]
        values = sg.function([X], ops, mode=mode)(x)
        op = sg.max_pool(symbolic_like(x), window, stride, padding).owner.op
        args = (op.window, op.strides, op.padding)
        np.testing.assert_allclose(values[0], naive_pool(x, *args, "max"), rtol=1e-12)
        np.testing.assert_allclose(values[1], naive_pool(x, *args, "avg"), rtol=1e-12)
        np.testing.assert_allclose(values[2], naive_pool(x, *args, "avg", count_include_pad=False), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_max_pool_keeps_the_dtype(dtype, rng):
    x = (rng.standard_normal((1, 2, 4, 4)) * 5).astype(dtype)
    result = sg.max_pool(sg.constant(x), 2, padding=1).eval()
    assert result.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(result, naive_pool(x.astype("float64"), (2, 2), (2, 2), ((1, 1), (1, 1)), "max").astype(dtype))


@pytest.mark.parametrize("case", POOL_CASES[:5], ids=str)
def test_pool_gradients_match_finite_differences(case, rng):
    x_shape, window, stride, padding = case
    x = rng.permutation(np.arange(np.prod(x_shape), dtype="float64")).reshape(x_shape) / 7  # no ties
    for build in (lambda a: sg.max_pool(a, window, stride, padding), lambda a: sg.avg_pool(a, window, stride, padding),
                  lambda a: sg.avg_pool(a, window, stride, padding, count_include_pad=False)):
        sg.verify_grad(build, [x], rng=rng)
        assert_jvp_matches_finite_differences(build, [x], rng)


def test_max_pool_gradient_goes_to_the_first_maximum_and_adds_over_overlaps():
    x = sg.tensor("x", shape=(1, 1, 2, 3))
    value = np.array([[[[1.0, 5.0, 5.0], [0.0, 5.0, 2.0]]]])
    grad = sg.function([x], sg.grad(sg.sum(sg.max_pool(x, 2, stride=1)), x))(value)
    np.testing.assert_array_equal(grad, [[[[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_second_derivative_and_jacobian_through_max_pool(rng):
    x = rng.permutation(np.arange(32.0)).reshape(1, 2, 4, 4) / 5
    sg.verify_grad(lambda a: sg.grad(sg.sum(sg.max_pool(a, 2, stride=1) ** 3), a), [x], rng=rng)
    X = sg.tensor("x", shape=x.shape)
    jacobian = sg.function([X], sg.jacobian(sg.max_pool(X, 2), X))(x)
    assert jacobian.shape == (1, 2, 2, 2) + x.shape
    assert jacobian.sum() == 8 and set(np.unique(jacobian)) == {0.0, 1.0}


# ---------------------------------------------------------------- errors


def test_conv_errors_name_the_operation_and_operand_types():
    x, w = sg.tensor("x", shape=(2, 3, 8, 8)), sg.tensor("w", shape=(4, 3, 3, 3))
    with pytest.raises(sg.ShapeError, match=r"conv: the window \(extent 9\) is larger than the padded input \(size 8\).*float64\[2,3,8,8\]"):
        sg.conv(x, sg.tensor("k", shape=(4, 3, 9, 3)))
    with pytest.raises(sg.ShapeError, match=r"conv: the input has 3 channels but the kernel expects 2 x 1 groups = 2"):
        sg.conv(x, sg.tensor("k", shape=(4, 2, 3, 3)))
    with pytest.raises(sg.ShapeError, match="conv: groups=2 does not divide the 3 input channels"):
        sg.conv(x, sg.tensor("k", shape=(4, 1, 3, 3)), groups=2)
    with pytest.raises(sg.ShapeError, match="conv: groups=3 does not divide the 4 output channels"):
        sg.conv(x, sg.tensor("k", shape=(4, 1, 3, 3)), groups=3)
    with pytest.raises(ValueError, match="conv: padding must be 'valid', 'same', 'full', an int or"):
        sg.conv(x, w, padding="SAMEISH")
    with pytest.raises(ValueError, match="conv: padding must be .* got \\(1, 2, 3\\)"):
        sg.conv(x, w, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="conv: stride must be a positive int or 2 positive ints, got 0"):
        sg.conv(x, w, stride=0)
    with pytest.raises(ValueError, match="conv: groups must be a positive int"):
        sg.conv(x, w, groups=0)
    with pytest.raises(ValueError, match="conv: data_format must be one of"):
        sg.conv(x, w, data_format="CHWN")
    with pytest.raises(sg.ShapeError, match=r"conv: x .* and w .* must have the same rank.*float64\[2,3,8,8\] and float64\[4,3,3\]"):
        sg.conv(x, sg.tensor("k", shape=(4, 3, 3)))
    with pytest.raises(TypeError, match="conv: operands must be integer or float tensors"):
        sg.conv(sg.tensor("b", shape=(1, 3, 4, 4), dtype="bool"), w)


def test_pool_errors_name_the_operation():
    x = sg.tensor("x", shape=(1, 2, 4, 4))
    with pytest.raises(sg.ShapeError, match=r"max_pool: the window \(extent 5\) is larger than the padded input"):
        sg.max_pool(x, 5)
    with pytest.raises(sg.ShapeError, match=r"avg_pool: a window over 3 spatial axes needs an operand of rank 5.*float64\[1,2,4,4\]"):
        sg.avg_pool(x, (2, 2, 2))
    with pytest.raises(ValueError, match="max_pool: window must be a positive int or 2 positive ints"):
        sg.max_pool(x, (2, 0))
    with pytest.raises(ValueError, match="avg_pool: padding must be"):
        sg.avg_pool(x, 2, padding="half")


def test_run_time_size_errors_name_the_node_and_the_user_line():
    x, w = sg.tensor("x", shape=(1, None, None, None)), sg.tensor("w", shape=(1, None, None, None))
    f = sg.function([x, w], sg.conv(x, w))
    with pytest.raises(sg.ShapeError, match=r"(?s)conv: the window \(extent 5\) is larger than the padded input.*test_ops_conv.py"):
        f(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 5, 5)))
    with pytest.raises(sg.ShapeError, match=r"(?s)conv: the input has 2 channels but the kernel expects 1 x 1.*test_ops_conv.py"):
        f(np.zeros((1, 2, 3, 3)), np.zeros((1, 1, 2, 2)))


# ---------------------------------------------------------------- one_hot and losses


@pytest.mark.parametrize("mode", MODES)
def test_one_hot_matches_numpy(mode):
    labels = sg.tensor("y", dtype="int32", shape=(None, None))
    n = sg.scalar("n", dtype="int64")
    value = np.array([[0, 3], [2, 5]], dtype="int32")
    result = sg.function([labels, n], sg.one_hot(labels, n), mode=mode)(value, 4)
    np.testing.assert_array_equal(result, (value[..., None] == np.arange(4)).astype("float64"))
    assert result.dtype == np.float64
    assert sg.one_hot(sg.constant([1]), 3, dtype="float32").eval().dtype == np.float32
    assert sg.one_hot(sg.vector("v", dtype="int64", shape=(5,)), 3).type.shape == (5, 3)
    with pytest.raises(TypeError, match=r"one_hot: labels must have an integer dtype, got float64\[\?\]"):
        sg.one_hot(sg.vector("f"), 3)


@pytest.mark.parametrize("mode", MODES)
def test_binary_crossentropy_and_its_logits_form(mode, rng):
    z = rng.standard_normal((3, 4)) * 3
    t = rng.random((3, 4))
    p = 1 / (1 + np.exp(-z))
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    Z, T = sg.matrix("z"), sg.matrix("t")
    from_probabilities, from_logits = sg.function(
        [Z, T], [sg.binary_crossentropy(sg.sigmoid(Z), T), sg.binary_crossentropy(Z, T, from_logits=True)], mode=mode)(z, t)
    np.testing.assert_allclose(from_probabilities, expected, rtol=1e-10)
    np.testing.assert_allclose(from_logits, expected, rtol=1e-10)
    extreme = sg.function([Z, T], sg.binary_crossentropy(Z, T, from_logits=True))(np.array([[-800.0, 800.0]]), np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(extreme, [[800.0, 800.0]])
    sg.verify_grad(lambda a: sg.binary_crossentropy(a, t, from_logits=True), [z], rng=rng)


def test_categorical_crossentropy_from_logits_accepts_labels_and_probabilities(rng):
    z = rng.standard_normal((4, 5)) * 50
    labels = np.array([0, 4, 2, 2])
    log_probs = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(1, keepdims=True)
    Z = sg.matrix("z")
    by_label = sg.function([Z], sg.categorical_crossentropy(Z, labels, from_logits=True))(z)
    by_one_hot = sg.function([Z], sg.categorical_crossentropy(Z, sg.one_hot(sg.constant(labels), 5), from_logits=True))(z)
    np.testing.assert_allclose(by_label, -log_probs[np.arange(4), labels], rtol=1e-10)
    np.testing.assert_allclose(by_one_hot, by_label, rtol=1e-10)
    assert np.all(np.isfinite(by_label))


@pytest.mark.parametrize("images, kernels", [(0, 3), (2, 0), (1, 1)])
def test_empty_and_single_batches_and_kernel_sets(images, kernels, rng):
    x, w = rng.standard_normal((images, 2, 5, 5)), rng.standard_normal((kernels, 2, 3, 3))
    X, W = sg.tensor("x", shape=(None, 2, 5, 5)), sg.tensor("w", shape=(None, 2, 3, 3))
    y = sg.conv(X, W, 2, "same")
    pooled = sg.max_pool(X, 2) * 1.0
    averaged = sg.avg_pool(X, 2, 1, 1, count_include_pad=False)
    cost = sg.sum(y * y) + sg.sum(pooled) + sg.sum(averaged)
    value, gx, gw = sg.function([X, W], [y] + sg.grad(cost, [X, W]))(x, w)
    np.testing.assert_allclose(value, naive_conv(x, w, (2, 2), ((1, 1), (1, 1)), (1, 1), 1), atol=1e-12)
    assert gx.shape == x.shape and gw.shape == w.shape
    if images == 0:
        np.testing.assert_array_equal(gw, np.zeros_like(w))


# ---------------------------------------------------------------- batching over kernels

_KERNEL_BATCH_CASES = [dict(stride=1, padding="valid", dilation=1, groups=1),
                       dict(stride=2, padding="same", dilation=1, groups=2),
                       dict(stride=1, padding=((1, 0), (0, 2)), dilation=(2, 1), groups=2)]


@pytest.mark.parametrize("params", _KERNEL_BATCH_CASES)
def test_jacobian_of_conv_wrt_its_kernel_has_no_fallback(params, rng):
    x, w = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 2 if params["groups"] == 2 else 4, 2, 3))
    X, W = sg.tensor("x", shape=x.shape), sg.tensor("w", shape=w.shape)
    f = sg.function([X, W], sg.jacobian(sg.conv(X, W, **params), W))
    assert f.report.batching_fallbacks == []
    jacobian = f(x, w)
    # The convolution is linear in w: its Jacobian applied to w gives the convolution back.
    y = naive_conv(x, w, *_naive_params(x, w, params))
    assert jacobian.shape == y.shape + w.shape
    np.testing.assert_allclose(np.tensordot(jacobian, w, axes=w.ndim), y, atol=1e-12)
    np.testing.assert_allclose(np.tensordot(jacobian, np.ones_like(w), axes=w.ndim),
                               naive_conv(x, np.ones_like(w), *_naive_params(x, w, params)), atol=1e-12)


def _naive_params(x, w, params):
    """`sg.conv`'s parameters resolved for `naive_conv` (explicit (lo, hi) paddings)."""
    from symgraph.ops.convolution import resolve_padding
    nd = w.ndim - 2
    stride = (params["stride"],) * nd if isinstance(params["stride"], int) else params["stride"]
    dilation = (params["dilation"],) * nd if isinstance(params["dilation"], int) else params["dilation"]
    spans = tuple(d * (k - 1) + 1 for d, k in zip(dilation, w.shape[2:]))
    return stride, resolve_padding(params["padding"], x.shape[2:], spans, stride, "conv"), dilation, params["groups"]


@pytest.mark.parametrize("params", _KERNEL_BATCH_CASES)
@pytest.mark.parametrize("images_batched", [False, True])
def test_vmap_over_kernels_matches_a_loop(params, images_batched, rng):
    groups = params["groups"]
    xs = rng.standard_normal((3, 2, 4, 5, 6) if images_batched else (2, 4, 5, 6))
    ws = rng.standard_normal((3, 4, 4 // groups, 2, 3))
    cotangent = rng.standard_normal((2, 4, 6, 6))
    X, W = sg.tensor("x", shape=xs.shape), sg.tensor("w", shape=ws.shape)

    def per_kernel(x, w):
        y = sg.conv(x, w, **params)
        gy = sg.constant(cotangent[(slice(None),) * 2 + tuple(slice(0, n) for n in (y.type.shape[2:]))])
        gx, gw = sg.grad(sg.sum(y * gy), [x, w])
        return y, gx, gw

    outputs = sg.vmap(per_kernel, in_axes=(0 if images_batched else None, 0))(X, W)
    f = sg.function([X, W], outputs)
    assert f.report.batching_fallbacks == []
    batched = f(xs, ws)
    x_single, w_single = sg.tensor("x1", shape=xs.shape[-4:]), sg.tensor("w1", shape=ws.shape[1:])
    single = sg.function([x_single, w_single], per_kernel(x_single, w_single))
    for entry in range(3):
        expected = single(xs[entry] if images_batched else xs, ws[entry])
        for got, want in zip(batched, expected):
            np.testing.assert_allclose(got[entry], want, atol=1e-12)


def test_vmap_over_kernels_with_a_symbolic_batch_size(rng):
    x, ws = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 2, 3, 3))
    X, W = sg.tensor("x", shape=(None, 2, None, None)), sg.tensor("w", shape=(None, 2, 2, 3, 3))
    f = sg.function([X, W], sg.vmap(lambda w: sg.conv(X, w, 1, "same"), in_axes=0)(W))
    assert f.report.batching_fallbacks == []
    result = f(x, ws)
    for entry in range(3):
        np.testing.assert_allclose(result[entry], naive_conv(x, ws[entry], (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
                                   atol=1e-12)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int64", "bool"])
def test_avg_pool_of_integers_averages_in_float64_as_mean_does(dtype):
    values = np.array([[[100, 100, 120, 50, 1, 0]]]).astype(dtype)
    x = sg.tensor("x", dtype=dtype, shape=(None, None, None))
    pooled = sg.avg_pool(x, 2)
    got = pooled.eval({x: values})
    assert pooled.dtype == "float64"
    np.testing.assert_allclose(got, values.reshape(1, 1, 3, 2).mean(axis=-1))


def test_one_hot_refuses_a_negative_number_of_classes():
    with pytest.raises(ValueError, match="one_hot: num_classes must be non-negative, got -1"):
        sg.one_hot(sg.constant([0, 1]), -1)
