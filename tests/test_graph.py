"""The graph IR as users see it: interning, immutability, creation sites, types and constructors,
constants and shared variables, very deep graphs, pickling, and safety of generated source."""
import inspect
import io
import os
import pickle
import subprocess
import sys
import tokenize

import numpy as np
import pytest

import symgraph as sg

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(sg.__file__)))


def test_same_op_on_same_inputs_is_the_same_node():
    x, y = sg.vector("x"), sg.vector("y")
    assert (x + y).owner is (x + y).owner
    assert sg.exp(x) is sg.exp(x)
    assert (x + 1) is (x + 1.0), "a weak 1 on a float64 tensor is the float64 constant 1.0"
    assert (x + 1).owner.inputs[1] is sg.constant(1.0)
    assert (x + y) is not (y + x)
    assert sg.exp(x) is not sg.exp(y)
    assert sg.exp(x) is not sg.sin(x)


def test_nodes_record_ops_inputs_and_outputs():
    x, y = sg.vector("x"), sg.vector("y")
    z = sg.arctan2(x, y)
    assert z.owner.op.name == "arctan2"
    assert z.owner.inputs == (x, y)
    assert z.owner.outputs == (z,)
    assert z.index == 0


def graph_snapshot(outputs):
    """Everything a user could observe about a graph: per node its op, inputs, outputs, their types and names."""
    return [
        (node.op, tuple(node.inputs), tuple(node.outputs), tuple((v.type, v.name) for v in node.inputs + node.outputs))
        for node in sg.graph.toposort(outputs)
    ]


def test_compiling_does_not_change_the_users_graph():
    x, y = sg.vector("x"), sg.vector("y")
    w = sg.shared(np.ones(2), name="w")
    shared_part = sg.exp(x * 1) + 0
    outputs = [shared_part * y + shared_part, (x + y) * 0 + sg.log(sg.exp(y)), sg.constant(2.0) * 3 + w]
    before = graph_snapshot(outputs)
    sg.function([x, y], outputs, updates=[(w, w + shared_part)])
    sg.function([x], outputs[0], givens={y: x * 2})
    sg.optimize(outputs)
    assert graph_snapshot(outputs) == before
    assert [(v.type, v.name) for v in (x, y, w)] == [(x.type, "x"), (y.type, "y"), (w.type, "w")]


def test_creation_site_is_this_file_and_line():
    x = sg.vector("x")
    line = inspect.currentframe().f_lineno + 1
    z = sg.tanh(x) * 7.25
    site = z.owner.site
    assert (site.filename, site.lineno, site.function) == (__file__, line, "test_creation_site_is_this_file_and_line")
    assert str(site) == f"{__file__}:{line} in test_creation_site_is_this_file_and_line"


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (0, 1, 5)])
def test_shape_is_a_symbolic_int64_vector(shape):
    x = sg.tensor("x", shape=(None,) * len(shape))
    assert x.shape.type == sg.TensorType("int64", (len(shape),))
    result = sg.function([x], x.shape)(np.zeros(shape))
    assert result.dtype == np.int64
    assert tuple(result) == shape


@pytest.mark.parametrize(
    "make, dtype, shape",
    [
        (lambda: sg.scalar("s"), "float64", ()),
        (lambda: sg.vector("v", "int32"), "int32", (None,)),
        (lambda: sg.matrix("m", "bool", shape=(None, 3)), "bool", (None, 3)),
        (lambda: sg.tensor("t", "float32", shape=(2, None, 0)), "float32", (2, None, 0)),
        (lambda: sg.tensor("t", np.int64, shape=[np.int64(3)]), "int64", (3,)),
        (lambda: sg.tensor(dtype="i4", shape=()), "int32", ()),
    ],
)
def test_input_constructors(make, dtype, shape):
    x = make()
    assert (x.dtype, x.type.shape, x.ndim) == (np.dtype(dtype), shape, len(shape))
    assert x.owner is None


def test_default_dtype_is_float_x():
    previous = sg.config.floatX
    try:
        sg.config.floatX = "float32"
        assert sg.vector("x").dtype == "float32"
    finally:
        sg.config.floatX = previous
    assert sg.vector("x").dtype == previous


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: sg.tensor("t", "object", shape=()), TypeError, r"sg.tensor\('t'\).*object"),
        (lambda: sg.tensor("t", "str", shape=()), TypeError, r"sg.tensor\('t'\).*not supported"),
        (lambda: sg.tensor("t", "float33", shape=()), TypeError, r"sg.tensor\('t'\).*float33"),
        (lambda: sg.tensor("t", shape=(-1,)), ValueError, r"sg.tensor\('t'\).*negative size"),
        (lambda: sg.tensor("t", shape=(1.5,)), TypeError, r"sg.tensor\('t'\).*int or None"),
        (lambda: sg.tensor("t", shape=3), TypeError, r"sg.tensor\('t'\).*int or None"),
        (lambda: sg.tensor("t"), TypeError, "needs a shape"),
        (lambda: sg.vector("v", shape=(2, 3)), ValueError, "rank-1 input needs a shape of length 1"),
        (lambda: sg.vector("v", shape=(-2,)), ValueError, "negative size"),
        (lambda: sg.vector(3), TypeError, "name must be a str"),
    ],
)
def test_input_constructor_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_constant_is_a_read_only_copy():
    source = np.array([1.0, 2.0])
    c = sg.constant(source, name="c")
    source[0] = 99.0
    assert c.data.tolist() == [1.0, 2.0]
    assert not c.data.flags.writeable
    assert (c.name, c.dtype, c.type.shape) == ("c", np.float64, (2,))
    assert sg.constant([1, 2], dtype="float32").dtype == np.float32


@pytest.mark.parametrize("value", [None, "text", {"a": 1}, object()])
def test_constant_of_a_non_number_is_a_type_error(value):
    with pytest.raises(TypeError, match="sg.constant"):
        sg.constant(value)


def test_constant_of_a_variable_is_a_type_error():
    with pytest.raises(TypeError, match="symbolic variable"):
        sg.constant(sg.vector("x"))


def test_shared_get_value_and_set_value_copy_unless_borrowed():
    source = np.array([1.0, 2.0])
    w = sg.shared(source, name="w")
    source[0] = 99.0
    value = w.get_value()
    value[1] = 99.0
    assert w.get_value().tolist() == [1.0, 2.0]
    new = np.array([5.0, 6.0, 7.0])
    w.set_value(new)
    new[0] = 0.0
    assert w.get_value().tolist() == [5.0, 6.0, 7.0], "set_value copies; sizes may change"
    w.get_value(borrow=True)[0] = -1.0
    assert w.get_value()[0] == -1.0


@pytest.mark.parametrize(
    "value, dtype",
    [(np.array([1, 2], np.int32), np.float64), ([1, 2], np.float64), (np.array([True]), np.float64)],
)
def test_shared_set_value_accepts_safe_conversions(value, dtype):
    w = sg.shared(np.zeros(2), name="w")
    w.set_value(value)
    assert w.get_value().dtype == dtype
    np.testing.assert_array_equal(w.get_value(), np.asarray(value, dtype))


@pytest.mark.parametrize(
    "initial, value, message",
    [
        (np.zeros(2), np.ones(2, np.complex128), r"shared variable w.*float64.*complex128"),
        (np.zeros(2, np.int32), np.ones(2), r"shared variable w.*int32.*float64"),
        (np.zeros(2, np.float32), np.ones(2), r"shared variable w.*float32.*float64"),
        (np.zeros(2), np.ones((2, 2)), r"shared variable w.*1-d.*2-d"),
        (np.zeros(2), "text", r"shared variable w"),
    ],
)
def test_shared_set_value_rejects_lossy_dtype_and_wrong_rank(initial, value, message):
    w = sg.shared(initial, name="w")
    with pytest.raises(TypeError, match=message):
        w.set_value(value)
    np.testing.assert_array_equal(w.get_value(), initial)


@pytest.mark.parametrize("value", ["text", None])
def test_shared_of_a_non_number_is_a_type_error(value):
    with pytest.raises(TypeError, match="sg.shared"):
        sg.shared(value)


@pytest.mark.parametrize("value, dtype", [(3, "int64"), (3.0, "float64"), (True, "bool"), (np.zeros(2, "float32"), "float32")])
def test_shared_dtype_follows_numpy(value, dtype):
    assert sg.shared(value).dtype == dtype


def test_pickled_graph_keeps_shared_subgraphs_and_names():
    x = sg.vector("x")
    common = sg.exp(x)
    common.name = "common"
    outputs = [common * 2, common + 1]
    x2, first, second = pickle.loads(pickle.dumps([x, *outputs]))
    assert x2 is not x and x2.name == "x" and x2.type == x.type
    assert first.owner.inputs[0] is second.owner.inputs[0]
    assert first.owner.inputs[0].name == "common"
    value = np.array([0.0, 1.0])
    np.testing.assert_array_equal(sg.function([x2], [first, second])(value), sg.function([x], outputs)(value))


def test_pickled_constant_stays_read_only():
    c = pickle.loads(pickle.dumps(sg.constant([1.0, 2.0], name="c")))
    assert not c.data.flags.writeable
    assert c.data.tolist() == [1.0, 2.0] and c.name == "c"


def test_pickled_shared_variable_keeps_its_value():
    w = sg.shared(np.array([1.0, 2.0]), name="w")
    w2 = pickle.loads(pickle.dumps(w))
    assert w2.name == "w" and w2.get_value().tolist() == [1.0, 2.0]
    w2.set_value(np.zeros(2))
    assert w.get_value().tolist() == [1.0, 2.0]


def make_stateful_function():
    x = sg.vector("x")
    total = sg.shared(np.zeros(2), name="total")
    total.set_value(np.array([10.0, 20.0]))
    return sg.function([x], total * x, updates=[(total, total + x)], name="accumulate"), total


def test_pickled_function_in_process_keeps_shared_state():
    f, total = make_stateful_function()
    f2, total2 = pickle.loads(pickle.dumps((f, total)))
    np.testing.assert_array_equal(f2([1.0, 2.0]), [10.0, 40.0])
    np.testing.assert_array_equal(total2.get_value(), [11.0, 22.0])
    np.testing.assert_array_equal(total.get_value(), [10.0, 20.0])
    np.testing.assert_array_equal(f([1.0, 2.0]), [10.0, 40.0])


def test_pickled_function_in_a_fresh_process_gives_the_same_results(tmp_path):
    f, _ = make_stateful_function()
    pickle_path, result_path = tmp_path / "f.pkl", tmp_path / "out.npy"
    pickle_path.write_bytes(pickle.dumps(f))
    script = (
        "import pickle, sys, numpy as np\n"
        "f = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "np.save(sys.argv[2], np.stack([f([1.0, 2.0]), f([1.0, 2.0])]))\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", script, str(pickle_path), str(result_path)], check=True, env=env,
                   capture_output=True, timeout=60)
    expected = np.stack([f([1.0, 2.0]), f([1.0, 2.0])])
    np.testing.assert_array_equal(np.load(result_path), expected)


def test_pickled_function_holds_each_node_once_however_many_outputs_share_it(monkeypatch):
    from symgraph.graph import serialize

    x = sg.vector("x")
    values = [x]
    for step in range(300):
        values.append(sg.tanh(values[-1]) if step % 2 else values[-1] * 0.5)
    f = sg.function([x], values[1:])
    rebuilt = []
    original = serialize._rebuild_nodes

    def counting(records, leaves):
        rebuilt.append(len(records))
        return original(records, leaves)

    monkeypatch.setattr(serialize, "_rebuild_nodes", counting)
    g = pickle.loads(pickle.dumps(f))
    # one record per node: pickling each output with its own ancestry would rebuild 300 * 301 / 2
    assert rebuilt == [300]
    value = np.linspace(-1.0, 1.0, 5)
    for got, expected in zip(g(value), f(value)):
        np.testing.assert_array_equal(got, expected)


def test_pickled_function_with_updates_as_a_dict_and_givens_keeps_them():
    x, y = sg.vector("x"), sg.vector("y")
    total = sg.shared(np.zeros(2), name="total")
    f = sg.function([x], [sg.exp(y) * 2, sg.exp(y) + total], updates={total: total + sg.exp(y)},
                    givens={y: x * 3})
    g = pickle.loads(pickle.dumps(f))
    first, second = g([0.0, 1.0])
    np.testing.assert_allclose(first, 2 * np.exp([0.0, 3.0]))
    np.testing.assert_allclose(second, np.exp([0.0, 3.0]))
    np.testing.assert_allclose(g([0.0, 1.0])[1], 2 * np.exp([0.0, 3.0]))
    np.testing.assert_array_equal(total.get_value(), [0.0, 0.0])


@pytest.mark.parametrize("name", ['x); import os #', "a\nprint('injected')", "\u2028evil", "'''", "x\\"])
def test_hostile_names_never_reach_the_source_unescaped(name):
    x = sg.vector(name)
    y = sg.exp(x) + 1
    y.name = name
    f = sg.function([x], y, name=name)
    code = [t for t in tokenize.generate_tokens(io.StringIO(f.source).readline) if t.type != tokenize.COMMENT]
    assert all(name not in token.string for token in code), "names may appear in comments only"
    assert not {"import", "os", "print", "injected", "evil"} & {t.string for t in code if t.type == tokenize.NAME}
    compile(f.source, "<check>", "exec")
    np.testing.assert_allclose(f(**{name: [0.0]}), [2.0])


def test_truth_value_of_a_variable_is_a_type_error():
    x = sg.vector("x")
    with pytest.raises(TypeError, match="truth value"):
        bool(x)
    with pytest.raises(TypeError, match="truth value"):
        if x > 0:
            pass


def test_equality_is_identity():
    x, y = sg.vector("x"), sg.vector("x")
    assert x == x and x != y and not (x == y)
    assert (x == 1) is False
    assert len({x, y, x}) == 2
    assert isinstance(sg.eq(x, y), sg.Variable)
