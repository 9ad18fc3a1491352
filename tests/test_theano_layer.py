"""`symgraph.theano`: each name against what Theano does, its accepted and refused arguments, and the
places where the layer follows Theano rather than NumPy."""
import io
import subprocess
import sys

import numpy as np
import pytest

import symgraph as sg
import symgraph.theano as theano
import symgraph.theano.tensor as T
from symgraph.theano.ifelse import ifelse
from symgraph.theano.sandbox.rng_mrg import MRG_RandomStreams
from symgraph.theano.tensor.shared_randomstreams import RandomStreams
from symgraph.theano.tensor.signal import pool

MODES = ["FAST_RUN", "FAST_COMPILE"]


@pytest.fixture
def float32():
    before = theano.config.floatX
    theano.config.floatX = "float32"
    yield
    theano.config.floatX = before


def test_the_layer_is_a_sub_package_not_a_top_level_name():
    code = "import sys, symgraph; print('symgraph.theano' in sys.modules, hasattr(symgraph, 'theano'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    assert result.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- typed constructors

@pytest.mark.parametrize("letter, dtype", [("b", "int8"), ("w", "int16"), ("i", "int32"), ("l", "int64"),
                                           ("f", "float32"), ("d", "float64"), ("c", "complex64"),
                                           ("z", "complex128")])
@pytest.mark.parametrize("kind, shape", [("scalar", ()), ("vector", (None,)), ("matrix", (None, None)),
                                         ("row", (1, None)), ("col", (None, 1)), ("tensor3", (None,) * 3),
                                         ("tensor4", (None,) * 4)])
def test_typed_constructors(letter, dtype, kind, shape):
    var = getattr(T, letter + kind)("v")
    assert (var.name, var.dtype, var.type.shape) == ("v", np.dtype(dtype), shape)


def test_untyped_constructors_use_floatx_and_take_a_dtype(float32):
    assert T.matrix("m").dtype == np.float32
    assert T.tensor3("t", dtype="int64").dtype == np.int64
    with pytest.raises(TypeError, match=r"T.imatrix: the dtype is int32; use T.matrix\(name, dtype\)"):
        T.imatrix("m", dtype="float64")


def test_plural_constructors_and_tensor_types():
    a, b = T.dmatrices("a", "b")
    assert (a.name, b.name, a.dtype, a.ndim) == ("a", "b", np.float64, 2)
    assert [v.dtype for v in T.fscalars(3)] == [np.float32] * 3
    assert [v.type.shape for v in T.lrows("r")] == [(1, None)]
    assert T.TensorType("int32", (False, True, False))("t").type == sg.TensorType("int32", (None, 1, None))
    assert T.tensor(broadcastable=(True,), name="u").type == sg.TensorType("float64", (1,))
    with pytest.raises(ValueError, match=r"T.TensorType: argument shape cannot be honoured"):
        T.TensorType("float64", (False,), shape=(3,))


@pytest.mark.parametrize("mode", MODES)
def test_broadcast_marks(mode):
    m = T.dmatrix("m")
    marked = T.addbroadcast(m, 0)
    assert marked.type.shape == (1, None)
    assert T.patternbroadcast(m, (False, True)).type.shape == (None, 1)
    assert T.unbroadcast(m, 0) is m
    assert T.shape_padleft(m, 2).type.shape == (1, 1, None, None)
    assert T.shape_padright(m).type.shape == (None, None, 1)
    f = theano.function([m], marked * 2, mode=mode)
    np.testing.assert_array_equal(f(np.ones((1, 3))), [[2.0, 2.0, 2.0]])
    with pytest.raises(ValueError, match=r"squeeze.*created at .*test_theano_layer.py"):
        f(np.ones((2, 3)))


def test_row_and_col_broadcast_like_theano():
    r, c = T.drow("r"), T.dcol("c")
    out = theano.function([r, c], r + c)([[1.0, 2.0]], [[10.0], [20.0]])
    np.testing.assert_array_equal(out, [[11.0, 12.0], [21.0, 22.0]])


# ---------------------------------------------------------------- where Theano and NumPy differ

@pytest.mark.parametrize("dtype, expected", [("int8", "float32"), ("int16", "float32"), ("uint8", "float32"),
                                             ("int32", "float64"), ("int64", "float64")])
def test_true_div_of_integers_follows_theano(dtype, expected):
    a, b = T.vector("a", dtype=dtype), T.vector("b", dtype=dtype)
    result = T.true_div(a, b)
    assert result.dtype == np.dtype(expected)
    out = theano.function([a, b], result)(np.array([1, 3], dtype=dtype), np.array([2, 2], dtype=dtype))
    assert out.dtype == np.dtype(expected)
    np.testing.assert_allclose(out, [0.5, 1.5])


def test_true_div_of_floats_is_the_division_operator():
    x, y = T.fvector("x"), T.fvector("y")
    assert T.true_div(x, y).dtype == np.float32
    assert T.true_div(T.ivector("i"), x).dtype == np.float64


@pytest.mark.parametrize("mode", MODES)
def test_int_div_floors_like_python(mode):
    a, b = T.ivector("a"), T.ivector("b")
    out = theano.function([a, b], T.int_div(a, b), mode=mode)(np.array([7, -7], np.int32), np.array([2, 2], np.int32))
    np.testing.assert_array_equal(out, [3, -4])
    assert out.dtype == np.int32


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "bool"])
def test_mean_of_integers_is_float64(dtype, float32):
    v = T.vector("v", dtype=dtype)
    out = theano.function([v], T.mean(v))(np.array([1, 0, 1], dtype=dtype))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, 2 / 3)


def test_python_floats_are_floatx_under_float32(float32):
    x = T.fvector("x")
    assert (x * 0.5).dtype == np.float32
    assert T.constant(0.5).dtype == np.float32
    assert T.as_tensor_variable(1.5).dtype == np.float32
    assert T.alloc(0.0, 2).dtype == np.float32
    assert T.constant(np.float64(0.5)).dtype == np.float64  # a NumPy value keeps its dtype, as in Theano
    assert (T.fvector("a") + T.dvector("b")).dtype == np.float64


def test_constant_checks_ndim():
    assert T.constant([1.0, 2.0], ndim=1).ndim == 1
    with pytest.raises(ValueError, match=r"T.constant: the value has rank 1, not ndim=2"):
        T.constant([1.0, 2.0], ndim=2)
    with pytest.raises(ValueError, match=r"T.as_tensor_variable: .* has rank 1, not ndim=0"):
        T.as_tensor_variable(T.dvector("v"), ndim=0)


# ---------------------------------------------------------------- config

def test_floatx_is_symgraph_floatx(float32):
    assert sg.config.floatX == "float32"
    assert sg.vector("v").dtype == np.float32


def test_config_refuses_what_it_cannot_honour():
    with pytest.raises(ValueError, match=r"theano.config.device: symgraph runs on the CPU"):
        theano.config.device = "cuda0"
    with pytest.raises(ValueError, match=r"theano.config.mode: symgraph has the modes"):
        theano.config.mode = "DebugMode"
    with pytest.raises(ValueError, match=r"theano.config.compute_test_value"):
        theano.config.compute_test_value = "raise"
    with pytest.raises(AttributeError, match=r"theano.config has no setting 'openmp'"):
        theano.config.openmp = True
    with pytest.raises(AttributeError, match=r"theano.config has no setting 'blas'"):
        theano.config.blas
    with pytest.raises(ValueError, match=r"config.floatX must be a float dtype"):
        theano.config.floatX = "int32"
    theano.config.exception_verbosity = "high"  # accepted: symgraph's errors always name the node
    theano.config.device = "cpu"


def test_config_mode_is_the_default_mode_of_function():
    x = T.dvector("x")
    theano.config.mode = "FAST_COMPILE"
    try:
        fast_compile = theano.function([x], T.exp(x) * 2 + 1)
    finally:
        theano.config.mode = "FAST_RUN"
    fast_run = theano.function([x], T.exp(x) * 2 + 1)
    assert fast_compile.report.nodes_after > fast_run.report.nodes_after
    np.testing.assert_allclose(fast_compile([0.0]), fast_run([0.0]))


# ---------------------------------------------------------------- function and shared

def test_function_accepts_arguments_that_change_nothing():
    x = T.dvector("x")
    w = theano.shared(np.ones(2), name="w", borrow=True, strict=True, allow_downcast=True, broadcastable=(False,))
    f = theano.function([x], T.dot(x, w), mode="FAST_COMPILE", accept_inplace=True, rebuild_strict=True,
                        allow_input_downcast=False, profile=False, name="dot", updates=[(w, w * 2)])
    assert float(f([1.0, 2.0])) == 3.0
    assert float(f([1.0, 2.0])) == 6.0


@pytest.mark.parametrize("argument, value, match", [
    ("no_default_updates", True, "random states always advance"),
    ("rebuild_strict", False, "givens must keep each variable's type"),
    ("profile", True, r"f.profile\(\*args\)"),
    ("allow_input_downcast", True, r"\.astype\(theano.config.floatX\)"),
    ("mode", "DebugMode", "the modes are"),
])
def test_function_refuses_arguments_it_cannot_honour(argument, value, match):
    x = T.dvector("x")
    with pytest.raises(ValueError, match=rf"theano.function: argument {argument}={value!r} cannot be honoured.*{match}"):
        theano.function([x], x, **{argument: value})


def test_function_on_unused_input_defaults_to_raise():
    x, y = T.dvector("x"), T.dvector("y")
    with pytest.raises(ValueError, match="y"):
        theano.function([x, y], x)
    assert theano.function([x, y], x, on_unused_input="ignore")([1.0], [2.0])[0] == 1.0


def test_shared_refuses_a_broadcastable_pattern_of_another_rank():
    with pytest.raises(ValueError, match=r"theano.shared: argument broadcastable=\(False,\).*rank 2"):
        theano.shared(np.ones((2, 2)), broadcastable=(False,))


def test_run_time_errors_name_the_node_and_the_users_line():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = theano.function([x, y], T.dot(x, y))
    with pytest.raises(ValueError, match=r"(?s)matmul.*test_theano_layer.py"):
        f(np.ones((2, 3)), np.ones((2, 3)))


def test_givens_with_minibatch_slicing_of_a_shared_dataset():
    data = theano.shared(np.arange(12.0).reshape(6, 2))
    index, x = T.lscalar("index"), T.dmatrix("x")
    f = theano.function([index], x.sum(axis=0), givens={x: data[index * 2:(index + 1) * 2]})
    np.testing.assert_array_equal(f(1), [10.0, 12.0])


# ---------------------------------------------------------------- tensor names

def test_theano_aliases_are_symgraph_functions():
    assert (T.sqr, T.sgn, T.neg, T.mul, T.sub, T.pow, T.inv, T.abs_) == (
        sg.square, sg.sign, sg.negative, sg.multiply, sg.subtract, sg.power, sg.reciprocal, sg.abs)
    assert (T.switch, T.cast, T.dot, T.tanh, T.grad) == (sg.switch, sg.cast, sg.dot, sg.tanh, theano.grad)
    assert T.nnet.sigmoid is sg.sigmoid and T.nnet.binary_crossentropy is sg.binary_crossentropy


@pytest.mark.parametrize("mode", MODES)
def test_reductions_take_theano_argument_order(mode):
    m = T.dmatrix("m")
    value = np.arange(6.0).reshape(2, 3) + 1
    f = theano.function([m], [T.sum(m, 0, "float32"), T.mean(m, 1, None, True), T.prod(m, None, acc_dtype="float64")],
                        mode=mode)
    total, mean, product = f(value)
    assert total.dtype == np.float32
    np.testing.assert_allclose(total, value.sum(axis=0))
    np.testing.assert_allclose(mean, value.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(product, value.prod())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape, ndim", [((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), 3), ((0, 3, 4), 2), ((1, 1), 2)])
def test_flatten_keeps_ndim_axes(mode, shape, ndim):
    x = sg.tensor("x", shape=(None,) * len(shape))
    value = np.arange(np.prod(shape), dtype=float).reshape(shape)
    out = theano.function([x], T.flatten(x, ndim), mode=mode)(value)
    np.testing.assert_array_equal(out, value.reshape(shape[:ndim - 1] + (int(np.prod(shape[ndim - 1:])),)))
    assert T.flatten(x, outdim=ndim).ndim == ndim


def test_flatten_and_reshape_check_ndim():
    with pytest.raises(ValueError, match=r"T.flatten: ndim=3 must be between 1 and the rank"):
        T.flatten(T.dmatrix("m"), 3)
    with pytest.raises(ValueError, match=r"T.reshape: newshape \(2, -1\) gives rank 2, not ndim=3"):
        T.reshape(T.dvector("v"), (2, -1), ndim=3)


@pytest.mark.parametrize("mode", MODES)
def test_dimshuffle_as_function_and_method(mode):
    b = T.dvector("b")
    f = theano.function([b], [b.dimshuffle("x", 0, "x", "x"), T.dimshuffle(b.dimshuffle(0, "x"), 1, 0)], mode=mode)
    four, row = f([1.0, 2.0])
    assert four.shape == (1, 2, 1, 1) and row.shape == (1, 2)
    c = T.dcol("c")
    assert c.dimshuffle(0).type.shape == (None,)
    assert theano.function([c], c.dimshuffle([0]), mode=mode)([[3.0], [4.0]]).tolist() == [3.0, 4.0]


def test_dimshuffle_errors():
    m = T.dmatrix("m")
    with pytest.raises(ValueError, match=r"dimshuffle: pattern \(0, 0\) must hold distinct axes"):
        m.dimshuffle(0, 0)
    with pytest.raises(ValueError, match=r"dimshuffle: pattern \(2, 'x'\)"):
        m.dimshuffle(2, "x")
    with pytest.raises(sg.ShapeError, match=r"squeeze: cannot squeeze axis 1 of size 3"):
        sg.tensor("t", shape=(2, 3)).dimshuffle(0)


def test_dimshuffle_gradient():
    sg.verify_grad(lambda v: v.dimshuffle("x", 0) * np.arange(3.0)[:, None], [np.array([1.0, 2.0])], rng=0)


# ---------------------------------------------------------------- nnet, pool

@pytest.mark.parametrize("mode", MODES)
def test_softmax_of_a_vector_is_a_row_as_in_theano(mode):
    v = T.dvector("v")
    f = theano.function([v], [T.nnet.softmax(v), T.nnet.logsoftmax(v)], mode=mode)
    soft, log_soft = f([0.0, np.log(3.0)])
    np.testing.assert_allclose(soft, [[0.25, 0.75]])
    np.testing.assert_allclose(log_soft, np.log([[0.25, 0.75]]))
    with pytest.raises(ValueError, match=r"T.nnet.softmax: expected a vector or a matrix"):
        T.nnet.softmax(T.tensor3("t"))


def test_relu_with_alpha_and_its_gradient():
    x = T.dvector("x")
    np.testing.assert_allclose(T.nnet.relu(x).eval({x: [-1.0, 2.0]}), [0.0, 2.0])
    sg.verify_grad(lambda v: T.nnet.relu(v, alpha=0.2), [np.array([-1.0, 0.5, 2.0])], rng=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("border_mode, scipy_mode", [("valid", "valid"), ("full", "full")])
def test_conv2d_flips_filters_like_theano(mode, dtype, border_mode, scipy_mode):
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.RandomState(0)
    image, kernel = rng.randn(1, 1, 5, 6).astype(dtype), rng.randn(1, 1, 3, 2).astype(dtype)
    x, w = T.tensor4("x", dtype=dtype), T.tensor4("w", dtype=dtype)
    out = theano.function([x, w], T.nnet.conv2d(x, w, border_mode=border_mode, input_shape=(1, 1, 5, 6),
                                                filter_shape=(1, 1, 3, 2)), mode=mode)(image, kernel)
    expected = signal.convolve2d(image[0, 0], kernel[0, 0], mode=scipy_mode)
    np.testing.assert_allclose(out[0, 0], expected, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)
    unflipped = theano.function([x, w], T.nnet.conv2d(x, w, border_mode=border_mode, filter_flip=False),
                                mode=mode)(image, kernel)
    np.testing.assert_allclose(unflipped[0, 0], signal.correlate2d(image[0, 0], kernel[0, 0], mode=scipy_mode),
                               rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)


def test_conv2d_gradient():
    sg.verify_grad(lambda x, w: T.nnet.conv2d(x, w, subsample=(2, 1)),
                   [np.random.RandomState(1).randn(1, 2, 5, 4), np.random.RandomState(2).randn(3, 2, 2, 2)], rng=0)


def _reference_pool(x, ws, stride, pad, mode):
    """Theano's pooling on NumPy: zero padding, whole windows (ignore_border=True)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    rows = (xp.shape[2] - ws[0]) // stride[0] + 1
    cols = (xp.shape[3] - ws[1]) // stride[1] + 1
    out = np.zeros(x.shape[:2] + (rows, cols))
    inside = np.pad(np.ones(x.shape[2:]), ((pad[0], pad[0]), (pad[1], pad[1])))
    for r in range(rows):
        for c in range(cols):
            window = xp[:, :, r * stride[0]:r * stride[0] + ws[0], c * stride[1]:c * stride[1] + ws[1]]
            count = inside[r * stride[0]:r * stride[0] + ws[0], c * stride[1]:c * stride[1] + ws[1]].sum()
            if mode == "max":
                out[:, :, r, c] = window.max(axis=(2, 3))
            elif mode == "average_inc_pad":
                out[:, :, r, c] = window.mean(axis=(2, 3))
            elif mode == "sum":
                out[:, :, r, c] = window.sum(axis=(2, 3))
            else:
                out[:, :, r, c] = window.sum(axis=(2, 3)) / count
    return out


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ws, stride, pad", [((2, 2), None, (0, 0)), ((3, 2), (1, 2), (0, 0)),
                                             ((2, 2), (2, 2), (1, 1))])
def test_pool_2d_against_numpy(mode, ws, stride, pad):
    value = np.random.RandomState(3).randn(2, 3, 5, 6) - 0.5
    x = T.tensor4("x")
    out = theano.function([x], pool.pool_2d(x, ws=ws, ignore_border=True, stride=stride, pad=pad, mode=mode))(value)
    np.testing.assert_allclose(out, _reference_pool(value, ws, stride or ws, pad, mode), rtol=1e-12)


def test_pool_2d_deprecated_names_and_gradient():
    value = np.random.RandomState(4).randn(1, 1, 4, 4)
    x = T.tensor4("x")
    old = pool.pool_2d(x, ds=(2, 2), st=(1, 1), padding=(0, 0), ignore_border=True)
    new = pool.pool_2d(x, ws=(2, 2), stride=(1, 1), pad=(0, 0), ignore_border=True)
    np.testing.assert_array_equal(old.eval({x: value}), new.eval({x: value}))
    sg.verify_grad(lambda v: pool.pool_2d(v, (2, 2), ignore_border=True, mode="average_exc_pad"), [value], rng=0)
    sg.verify_grad(lambda v: pool.pool_2d(v, (2, 2), stride=(1, 1), ignore_border=True, mode="sum"), [value], rng=0)



def _reference_partial_pool(x, ws, stride, mode):
    """Theano's pooling on NumPy with ignore_border=False: the last windows may hang over the border, and
    each takes the maximum or the mean of the inputs it covers (both average modes)."""
    def count(size, window, step):
        return (size - 1) // step + 1 if step >= window else max(0, (size - 1 - window + step) // step) + 1

    rows, cols = (count(n, w, s) for n, w, s in zip(x.shape[2:], ws, stride))
    reduce = {"max": np.max, "sum": np.sum}.get(mode, np.mean)
    out = np.zeros(x.shape[:2] + (rows, cols), dtype=x.dtype)
    for r in range(rows):
        for c in range(cols):
            window = x[:, :, r * stride[0]:r * stride[0] + ws[0], c * stride[1]:c * stride[1] + ws[1]]
            out[:, :, r, c] = reduce(window, axis=(2, 3))
    return out


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("shape, ws, stride", [((2, 3, 5, 7), (2, 2), None), ((1, 1, 5, 5), (3, 3), (2, 2)),
                                               ((1, 2, 4, 6), (2, 3), (3, 1)), ((1, 1, 1, 1), (2, 2), None),
                                               ((1, 1, 3, 3), (2, 2), (1, 1)), ((2, 1, 4, 4), (2, 2), None)])
def test_pool_2d_keeps_partial_windows_without_ignore_border(mode, shape, ws, stride):
    value = np.random.RandomState(5).randn(*shape)
    x = sg.tensor("x", shape=shape)
    y = pool.pool_2d(x, ws, ignore_border=False, stride=stride, mode=mode)
    expected = _reference_partial_pool(value, ws, stride or ws, mode)
    assert y.type.shape == expected.shape
    np.testing.assert_allclose(theano.function([x], y)(value), expected, rtol=1e-12)
    sg.verify_grad(lambda v: pool.pool_2d(v, ws, ignore_border=False, stride=stride, mode=mode), [value], rng=0)


@pytest.mark.parametrize("mode", ["max", "sum", "average_exc_pad"])
@pytest.mark.parametrize("ws, stride", [((2, 2), None), ((2, 3), (3, 4)), ((1, 1), None)])
def test_pool_2d_partial_windows_of_unknown_sizes(mode, ws, stride):
    x = T.tensor4("x")
    f = theano.function([x], pool.pool_2d(x, ws, ignore_border=False, stride=stride, mode=mode))
    for shape in [(1, 2, 5, 7), (2, 1, 4, 4), (1, 1, 1, 1), (0, 1, 3, 3), (1, 1, 6, 2)]:
        value = np.random.RandomState(6).randn(*shape)
        expected = _reference_partial_pool(value, ws, stride or ws, mode)
        got = f(value)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_pool_2d_ignore_border_defaults_to_false_as_in_theano():
    x = sg.tensor("x", shape=(1, 1, 3, 3), dtype="float32")
    y = pool.pool_2d(x, (2, 2))
    value = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    out = theano.function([x], y)(value)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[[[4, 5], [7, 8]]]])


def test_pool_2d_errors():
    x = sg.tensor("x", shape=(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"pool_2d: argument ignore_border=False cannot be honoured by symgraph "
                                         r"for input float64\[\?,\?,\?,\?\] with ws=\(3, 3\), stride=\(1, 1\): "
                                         r".*static sizes"):
        pool.pool_2d(T.tensor4("z"), (3, 3), stride=(1, 1))
    with pytest.raises(ValueError, match=r"pool_2d: argument pad=\(1, 1\) needs ignore_border=True"):
        pool.pool_2d(x, (2, 2), pad=(1, 1))
    with pytest.raises(ValueError, match=r"pool_2d: mode must be one of \['max', 'sum', 'average_inc_pad', "
                                         r"'average_exc_pad'\], got 'min'"):
        pool.pool_2d(x, (2, 2), ignore_border=True, mode="min")
    with pytest.raises(ValueError, match=r"pool_2d: ws must be an int or a pair"):
        pool.pool_2d(x, (2, 2, 2), ignore_border=True)


# ---------------------------------------------------------------- RandomStreams

@pytest.mark.parametrize("streams", [RandomStreams, MRG_RandomStreams])
def test_random_streams_signatures_and_dtypes(streams, float32):
    srng = streams(seed=234)
    m = T.fmatrix("m")
    draws = [srng.uniform(size=m.shape, low=-1.0, high=1.0), srng.normal(size=(3,), avg=5.0, std=0.1),
             srng.binomial(size=(50,), n=1, p=0.25), srng.binomial(size=m.shape, p=0.5, n=1, dtype="float32"),
             srng.random_integers(size=(40,), low=2, high=4), srng.choice(size=(5,), a=3),
             srng.permutation(n=4)]
    uniform, normal, coins, mask, integers, picks, perm = theano.function([m], draws)(np.zeros((2, 3), np.float32))
    assert uniform.dtype == normal.dtype == mask.dtype == np.float32
    assert coins.dtype == integers.dtype == picks.dtype == perm.dtype == np.int64
    assert uniform.shape == mask.shape == (2, 3) and np.all((-1 <= uniform) & (uniform < 1))
    assert abs(normal.mean() - 5.0) < 0.5
    assert set(np.unique(coins)) <= {0, 1} and set(np.unique(integers)) == {2, 3, 4}
    assert set(picks) <= {0, 1, 2} and sorted(perm) == [0, 1, 2, 3]


def test_random_streams_advance_and_reseed():
    srng = RandomStreams(seed=1)
    f = theano.function([], srng.normal((4,)))
    first, second = f(), f()
    assert not np.array_equal(first, second)
    srng.seed(1)
    np.testing.assert_array_equal(f(), first)
    assert len(srng.state_updates()) == 1


def test_random_streams_refuse_what_they_cannot_honour():
    srng = RandomStreams(seed=1)
    with pytest.raises(ValueError, match=r"RandomStreams.uniform: the draw has rank 2, not ndim=1"):
        srng.uniform((2, 2), ndim=1)
    with pytest.raises(ValueError, match=r"RandomStreams.permutation: argument size=\(3,\) cannot be honoured"):
        srng.permutation(size=(3,), n=4)
    assert srng.uniform((2, 2), ndim=2).ndim == 2


def test_random_streams_multinomial_is_numpys_multinomial():
    srng = RandomStreams(seed=11)
    pvals = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    rows, sized = srng.multinomial(n=7, pvals=pvals), srng.multinomial(size=(4,), n=3, pvals=[0.5, 0.5])
    default = srng.multinomial(size=(2,))
    f = theano.function([], [rows, sized, default])
    states = [np.random.default_rng(np.random.SeedSequence(srng.stream._entropy, spawn_key=(k,))) for k in range(3)]
    got_rows, got_sized, got_default = f()
    np.testing.assert_array_equal(got_rows, states[0].multinomial(7, pvals))
    np.testing.assert_array_equal(got_sized, states[1].multinomial(3, [0.5, 0.5], size=(4,)))
    np.testing.assert_array_equal(got_default, states[2].multinomial(1, [0.5, 0.5], size=(2,)))
    assert got_rows.dtype == got_sized.dtype == np.int64 and got_sized.shape == (4, 2)
    assert srng.multinomial(n=1, pvals=pvals, dtype="float32").dtype == np.float32
    with pytest.raises(ValueError, match=r"RandomStreams.multinomial: the draw has rank 2, not ndim=1"):
        srng.multinomial(n=1, pvals=pvals, ndim=1)


# ---------------------------------------------------------------- In, Out, batched_dot, hard_sigmoid

def test_in_gives_defaults_and_keyword_names():
    x, y, z = T.dscalars("x", "y", "z")
    f = theano.function([x, theano.In(y, value=1.0), theano.In(z, value=2.0, name="scale", mutable=True,
                                                             borrow=True, strict=True)], (x + y) * z)
    assert float(f(1.0)) == 4.0 and float(f(1.0, 2.0)) == 6.0 and float(f(1.0, scale=3.0)) == 6.0
    assert float(f(x=1.0, y=0.0, scale=1.0)) == 1.0
    assert "def " in f.source
    with pytest.raises(TypeError, match=r"theano.function is missing a value for input 0 \('x'\)"):
        f()
    with pytest.raises(TypeError, match=r"theano.function got an unexpected keyword argument 'z'"):
        f(1.0, z=2.0)
    with pytest.raises(TypeError, match=r"theano.function got multiple values for input 'x'"):
        f(1.0, x=2.0)
    with pytest.raises(TypeError, match=r"theano.function takes 3 argument\(s\), got 4"):
        f(1.0, 2.0, 3.0, 4.0)
    plain = theano.function([theano.In(x)], x + 1)
    assert isinstance(plain, sg.Function) and float(plain(1.0)) == 2.0


@pytest.mark.parametrize("argument, value", [("update", 1.0), ("implicit", True), ("shared", True),
                                             ("allow_downcast", True)])
def test_in_refuses_what_it_cannot_honour(argument, value):
    x = T.dscalar("x")
    with pytest.raises(ValueError, match=rf"theano.In: argument {argument}={value!r} cannot be honoured"):
        theano.In(x, **{argument: value})
    with pytest.raises(TypeError, match=r"theano.In: variable must be a symbolic variable, got 3"):
        theano.In(3)


def test_out_unwraps_outputs():
    x = T.dvector("x")
    single = theano.function([x], theano.Out(x * 2, borrow=True))
    several = theano.function([x], [theano.Out(x + 1), x - 1])
    np.testing.assert_array_equal(single([1.0]), [2.0])
    plus, minus = several([1.0])
    np.testing.assert_array_equal(plus, [2.0]) and np.testing.assert_array_equal(minus, [0.0])
    with pytest.raises(TypeError, match=r"theano.Out: variable must be a symbolic variable"):
        theano.Out([1.0])


def _numpy_batched_dot(a, b):
    if a.ndim == 1 or b.ndim == 1:
        return np.stack([a[i] * b[i] for i in range(len(a))])
    return np.stack([np.dot(a[i], b[i]) for i in range(len(a))])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("a_shape, b_shape", [((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4)), ((2, 4), (2, 4, 5)),
                                              ((2, 4), (2, 4)), ((2, 3, 4, 5), (2, 5, 6)),
                                              ((2, 3, 4), (2, 5, 4, 6)), ((3,), (3, 4)), ((3, 4), (3,)),
                                              ((1, 1, 1), (1, 1, 1))])
def test_batched_dot_against_numpy(dtype, a_shape, b_shape):
    rng = np.random.default_rng(0)
    a_value, b_value = rng.standard_normal(a_shape).astype(dtype), rng.standard_normal(b_shape).astype(dtype)
    a, b = sg.tensor("a", dtype, shape=(None,) * len(a_shape)), sg.tensor("b", dtype, shape=(None,) * len(b_shape))
    out = theano.function([a, b], T.batched_dot(a, b))(a_value, b_value)
    expected = _numpy_batched_dot(a_value, b_value)
    assert out.dtype == dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5 if dtype == "float32" else 1e-12)
    if dtype == "float64":
        sg.verify_grad(T.batched_dot, [a_value, b_value], rng=0)


def test_batched_dot_of_empty_batches_and_errors():
    a, b = sg.tensor("a", shape=(None, 3, 4)), sg.tensor("b", shape=(None, 4, 2))
    assert theano.function([a, b], T.batched_dot(a, b))(np.ones((0, 3, 4)), np.ones((0, 4, 2))).shape == (0, 3, 2)
    with pytest.raises(ValueError, match=r"T.batched_dot: both operands need a batch axis"):
        T.batched_dot(T.dscalar("s"), T.dvector("v"))
    with pytest.raises(sg.ShapeError, match=r"disagree on the size of axis"):
        T.batched_dot(sg.tensor("c", shape=(2, 3, 4)), sg.tensor("d", shape=(3, 4, 2)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hard_sigmoid_is_theanos(dtype):
    value = np.array([-np.inf, -3.0, -2.6, -1.0, 0.0, 0.5, 2.4, 4.0, np.inf, np.nan], dtype=dtype)
    x = sg.vector("x", dtype=dtype)
    y = T.nnet.hard_sigmoid(x)
    out, grad = theano.function([x], [y, T.grad(y.sum(), x)])(value)
    expected = np.clip(value * np.asarray(0.2, dtype) + np.asarray(0.5, dtype), 0, 1)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(grad[1:-1], np.where((value[1:-1] > -2.5) & (value[1:-1] < 2.5), 0.2, 0.0), rtol=1e-6)


# ---------------------------------------------------------------- scan, ifelse, gradient helpers, printing

@pytest.mark.parametrize("mode", MODES)
def test_scan_with_theano_arguments(mode):
    v = T.dvector("v")
    (sums,), updates = theano.scan(lambda x, acc: acc + x, sequences=v, outputs_info=T.constant(0.0),
                                   return_list=True, strict=True, allow_gc=False, mode="FAST_RUN")
    assert updates == {}
    np.testing.assert_array_equal(theano.function([v], sums, mode=mode)([1.0, 2.0, 3.0]), [1.0, 3.0, 6.0])
    with pytest.raises(ValueError, match=r"theano.scan: argument profile=True cannot be honoured"):
        theano.scan(lambda x: x, sequences=v, profile=True)


def test_scan_until_stops_the_loop():
    x = T.dscalar("x")
    values, _ = theano.scan(lambda v: (v * 2, theano.scan_module.until(v * 2 > 10)), outputs_info=x, n_steps=20)
    np.testing.assert_array_equal(theano.function([x], values)(3.0), [6.0, 12.0])


def test_ifelse_is_lazy_branching():
    a = T.dscalar("a")
    f = theano.function([a], ifelse(T.lt(a, 0), -a, T.sqrt(a)))
    assert (float(f(-4.0)), float(f(9.0))) == (4.0, 3.0)


def test_gradient_helpers():
    x = T.dvector("x")
    clipped = T.grad(T.sum(theano.gradient.grad_clip(x, -1.0, 1.0) * np.array([-5.0, 0.5])), x)
    scaled = T.grad(T.sum(theano.gradient.grad_scale(x, 3.0) ** 2), x)
    zeroed = T.grad(T.sum(x * theano.gradient.zero_grad(x)), x)
    detached = T.grad(T.sum(x * theano.gradient.disconnected_grad(x)), x)
    f = theano.function([x], [theano.gradient.grad_clip(x, -1.0, 1.0), clipped, scaled, zeroed, detached])
    forward, clipped_value, scaled_value, zeroed_value, detached_value = f([2.0, 3.0])
    np.testing.assert_array_equal(forward, [2.0, 3.0])
    np.testing.assert_array_equal(clipped_value, [-1.0, 0.5])
    np.testing.assert_array_equal(scaled_value, [12.0, 18.0])
    np.testing.assert_array_equal(zeroed_value, [2.0, 3.0])
    np.testing.assert_array_equal(detached_value, [2.0, 3.0])


def test_grad_of_grad_through_grad_scale():
    x = T.dscalar("x")
    g = T.grad(theano.gradient.grad_scale(x, 0.5) ** 3, x)
    assert float(T.grad(g, x).eval({x: 2.0})) == pytest.approx(0.25 * 6 * 2.0)  # scaled on each way back, as in Theano


def test_grad_signature_and_refused_arguments():
    x, y = T.dscalar("x"), T.dscalar("y")
    assert float(theano.grad(x * 2, x, add_names=False).eval({x: 1.0})) == 2.0
    assert float(theano.gradient.grad(x * 2, y, disconnected_inputs="ignore").eval({y: 1.0})) == 0.0
    with pytest.raises(ValueError, match=r"theano.grad: argument return_disconnected='None' cannot be honoured"):
        theano.grad(x * 2, x, return_disconnected="None")
    with pytest.raises(ValueError, match=r"theano.grad: argument null_gradients='return' cannot be honoured"):
        theano.grad(x * 2, x, null_gradients="return")
    jac = theano.gradient.jacobian(T.stack([x * y, x + y]), x)
    np.testing.assert_allclose(jac.eval({x: 2.0, y: 3.0}), [3.0, 1.0])


def test_verify_grad_with_theano_arguments():
    theano.gradient.verify_grad(lambda a, b: T.dot(a, b), [np.ones((2, 3)), np.ones(3)], n_tests=2,
                                rng=np.random.RandomState(0), mode="FAST_COMPILE")
    with pytest.raises(sg.GradientError):
        theano.gradient.verify_grad(lambda a: theano.gradient.grad_scale(a, 2.0).sum(), [np.ones(2)], rng=1)


def test_debugprint_prints_like_theano(capsys):
    x = T.dvector("x")
    text = theano.printing.debugprint(T.exp(x), file="str")
    assert text == sg.debugprint(T.exp(x))
    returned = theano.printing.debugprint(T.exp(x), print_type=True)
    assert capsys.readouterr().out.rstrip("\n") == text and returned is sys.stdout
    buffer = io.StringIO()
    assert theano.printing.debugprint(theano.function([x], T.exp(x)), file=buffer) is buffer
    assert "exp" in buffer.getvalue()
    assert theano.printing.pprint(T.tanh(x)) == "tanh(x)"


# ---------------------------------------------------------------- bugs the tutorials found in symgraph

def test_conv_with_a_kernel_of_unknown_size_has_an_unknown_output_size():
    w = sg.shared(np.ones((2, 1, 3, 3)))
    assert sg.conv2d(sg.tensor("x", shape=(4, 1, 8, 8)), w).type.shape == (4, None, None, None)


def test_scan_gradient_of_an_output_computed_from_the_new_state():
    # The reverse loop reads the shape of `h_t @ W` off the first step; it was computed from the stored h_t.
    W = sg.shared(np.random.RandomState(0).randn(3, 3) * 0.5)

    def cost(xs):
        (_, outs), _ = sg.scan(lambda x_t, h: (lambda h_t: (h_t, sg.exp(h_t @ W)))(sg.tanh(x_t + h @ W)),
                               sequences=[xs], outputs_info=[sg.zeros(3), None])
        return (outs ** 2).sum()

    sg.verify_grad(cost, [np.random.RandomState(1).randn(4, 3) * 0.3], rng=0)
