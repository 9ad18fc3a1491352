"""sg.function as users see it: calling conventions, outputs, shared state and updates, givens,
argument checking with its messages, output ownership, eval, and concurrent calls."""
import gc
import re
import sys
import threading
import weakref

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph as sg
from symgraph.graph.op import Op


# Input names that can be parameters of the generated entry point, and names that cannot (a builtin, a
# name the generated code binds itself, a name that is not an identifier): those get positional-only
# parameters, and keyword calls are bound by the Function.
PARAMETER_NAMES = [("x", "y"), ("min", "y"), ("np_subtract", "y"), ("x.0", "y")]


@pytest.mark.parametrize("trust_input", [False, True])
@pytest.mark.parametrize("names", PARAMETER_NAMES)
def test_positional_and_keyword_arguments(names, trust_input):
    x, y = sg.vector(names[0]), sg.vector(names[1])
    f = sg.function([x, y], x - y, trust_input=trust_input)
    assert f.source.startswith(f"def symgraph_fn(self, {names[0]}, y, *extra):" if names == ("x", "y") else
                               "def symgraph_fn(self, i0=MISSING, i1=MISSING, /, *extra, **kwargs):")
    a, b = np.array([1.0, 4.0]), np.array([3.0, 1.0])
    for call in (lambda: f(a, b), lambda: f(a, **{names[1]: b}), lambda: f(**{names[1]: b, names[0]: a})):
        np.testing.assert_array_equal(call(), [-2.0, 3.0])


@pytest.mark.parametrize(
    "outputs, check",
    [
        (lambda x: x * 2, lambda r: isinstance(r, np.ndarray) and r.tolist() == [2.0, 4.0]),
        (lambda x: [x * 2], lambda r: isinstance(r, list) and len(r) == 1 and r[0].tolist() == [2.0, 4.0]),
        (lambda x: (x * 2, x + 1), lambda r: isinstance(r, list) and [a.tolist() for a in r] == [[2.0, 4.0], [2.0, 3.0]]),
        (lambda x: None, lambda r: r is None),
        (lambda x: [], lambda r: r == []),
    ],
    ids=["single", "list", "tuple", "none", "empty"],
)
def test_output_structures(outputs, check):
    x = sg.vector("x")
    f = sg.function([x], outputs(x), on_unused_input="ignore")
    assert check(f([1.0, 2.0]))


def test_outputs_none_with_updates_returns_none_and_updates():
    counter = sg.shared(0, name="counter")
    f = sg.function([], None, updates=[(counter, counter + 1)])
    assert f() is None
    assert f() is None
    assert int(counter.get_value()) == 2


def test_shared_variables_are_implicit_inputs_read_at_each_call():
    w = sg.shared(np.array([1.0, 2.0]), name="w")
    x = sg.vector("x")
    f = sg.function([x], x * w)
    np.testing.assert_array_equal(f([3.0, 3.0]), [3.0, 6.0])
    w.set_value(np.array([10.0, 20.0]))
    np.testing.assert_array_equal(f([3.0, 3.0]), [30.0, 60.0])


@pytest.mark.parametrize("as_dict", [False, True], ids=["list", "dict"])
def test_updates_as_list_or_dict(as_dict):
    acc = sg.shared(np.zeros(2), name="acc")
    x = sg.vector("x")
    pairs = [(acc, acc + x)]
    f = sg.function([x], acc * 1, updates=dict(pairs) if as_dict else pairs)
    np.testing.assert_array_equal(f([1.0, 2.0]), [0.0, 0.0])
    np.testing.assert_array_equal(f([1.0, 2.0]), [1.0, 2.0])
    np.testing.assert_array_equal(acc.get_value(), [2.0, 4.0])


def test_updates_are_atomic_two_shared_variables_swap():
    a, b = sg.shared(np.array([1.0]), name="a"), sg.shared(np.array([2.0]), name="b")
    swap = sg.function([], [a + 0, b + 0], updates=[(a, b), (b, a)])
    before = swap()
    assert [v.tolist() for v in before] == [[1.0], [2.0]]
    assert (a.get_value().tolist(), b.get_value().tolist()) == ([2.0], [1.0])


def test_update_of_a_shared_from_itself():
    s = sg.shared(np.array([1.0, 2.0]), name="s")
    same = sg.function([], None, updates=[(s, s)])
    same()
    np.testing.assert_array_equal(s.get_value(), [1.0, 2.0])
    double = sg.function([], None, updates=[(s, s * 2)])
    double()
    double()
    np.testing.assert_array_equal(s.get_value(), [4.0, 8.0])


def test_update_with_a_safe_dtype_is_cast_to_the_shared_dtype():
    s = sg.shared(np.zeros(2), name="s")
    i = sg.vector("i", "int32")
    sg.function([i], None, updates=[(s, i)])(np.array([1, 2], np.int32))
    assert s.get_value().dtype == np.float64
    np.testing.assert_array_equal(s.get_value(), [1.0, 2.0])


@pytest.mark.parametrize(
    "make_update, error, message",
    [
        (lambda s, x: [(x, x + 1)], TypeError, "target of an update must be a shared variable"),
        (lambda s, x: [(s, sg.cast(x, "float64"))], TypeError, r"shared variable s.*float64.*int32"),
        (lambda s, x: [(s, sg.matrix("m", "int32"))], TypeError, r"shared variable s.*rank"),
        (lambda s, x: [(s, s + 1), (s, s + 2)], ValueError, "s is updated twice"),
        (lambda s, x: [(s,)], TypeError, "pairs"),
    ],
)
def test_bad_updates_are_rejected(make_update, error, message):
    s = sg.shared(np.zeros(2, np.int32), name="s")
    x = sg.vector("x", "int32")
    with pytest.raises(error, match=message):
        sg.function([x], x, updates=make_update(s, x))


def test_a_call_that_raises_applies_no_update():
    a, b = sg.shared(np.zeros(2), name="a"), sg.shared(np.zeros(2), name="b")
    x = sg.vector("x")
    f = sg.function([x], x, updates=[(a, a + 1), (b, b + x)])
    with pytest.raises(ValueError):
        f(np.ones(3))
    with pytest.raises(TypeError):
        f("not numbers")
    np.testing.assert_array_equal(a.get_value(), [0.0, 0.0])
    np.testing.assert_array_equal(b.get_value(), [0.0, 0.0])


def test_returned_output_does_not_alias_the_updated_shared_value():
    s = sg.shared(np.zeros(2), name="s")
    f = sg.function([], s + 1, updates=[(s, s + 1)])
    out = f()
    out[:] = 100.0
    np.testing.assert_array_equal(s.get_value(), [1.0, 1.0])


def test_two_updates_from_one_expression_do_not_share_storage():
    a, b = sg.shared(np.zeros(2), name="a"), sg.shared(np.zeros(2), name="b")
    new = a + 1
    sg.function([], None, updates=[(a, new), (b, new)])()
    a.get_value(borrow=True)[:] = 7.0
    np.testing.assert_array_equal(b.get_value(), [1.0, 1.0])


def test_givens_replace_variables_and_values():
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x], x + y, givens={y: x * 3})
    np.testing.assert_array_equal(f([1.0, 2.0]), [4.0, 8.0])
    g = sg.function([x], x + y, givens=[(y, [10.0, 20.0])])
    np.testing.assert_array_equal(g([1.0, 2.0]), [11.0, 22.0])
    w = sg.shared(np.ones(2), name="w")
    h = sg.function([x], x * w, givens={w: x})
    np.testing.assert_array_equal(h([2.0, 3.0]), [4.0, 9.0])


def test_givens_with_an_incompatible_type_is_a_type_error():
    x, m = sg.vector("x"), sg.matrix("m")
    with pytest.raises(TypeError, match="incompatible"):
        sg.function([m], x * 2, givens={x: m})


def test_unused_input_raises_by_default_naming_it():
    x, y = sg.vector("x"), sg.vector("unused_y")
    with pytest.raises(ValueError, match="input unused_y is not used"):
        sg.function([x, y], x * 2)


def test_unused_input_warn_and_ignore():
    x, y = sg.vector("x"), sg.vector("unused_y")
    with pytest.warns(UserWarning, match="unused_y") as record:
        f = sg.function([x, y], x * 2, on_unused_input="warn")
    assert record[0].filename == __file__
    np.testing.assert_array_equal(f([1.0], [5.0]), [2.0])
    g = sg.function([x, y], x * 2, on_unused_input="ignore")
    np.testing.assert_array_equal(g([1.0], [5.0]), [2.0])
    with pytest.raises(ValueError, match="on_unused_input"):
        sg.function([x, y], x * 2, on_unused_input="sometimes")


def test_output_needing_a_variable_that_is_not_an_input_fails_at_compile_time():
    x, hidden = sg.vector("x"), sg.vector("hidden_h")
    with pytest.raises(ValueError, match="need variable hidden_h"):
        sg.function([x], x + hidden)


@pytest.mark.parametrize("mode", [None, "fast_compile", sg.Mode(include=["unsafe"])])
@pytest.mark.parametrize("build", [lambda x, t: x + t.shape[0], lambda x, t: x + t * 0])
def test_a_missing_input_is_an_error_even_where_rewrites_remove_its_use(mode, build):
    x, t = sg.vector("x"), sg.tensor("t", shape=(3,))
    with pytest.raises(ValueError, match=r"need variable t:float64\[3\]"):
        sg.function([x], build(x, t), mode=mode)


@pytest.mark.parametrize(
    "make_inputs, error, message",
    [
        (lambda x: [x, x], ValueError, "input x is listed twice"),
        (lambda x: [sg.constant(1.0)], TypeError, "is a constant"),
        (lambda x: [sg.shared(np.ones(2), name="sv")], TypeError, "sv.*shared variable"),
        (lambda x: [np.ones(2)], TypeError, "symbolic variable"),
    ],
)
def test_bad_inputs_are_rejected(make_inputs, error, message):
    x = sg.vector("x")
    with pytest.raises(error, match=message):
        sg.function(make_inputs(x), x, on_unused_input="ignore")


def test_non_variable_output_is_rejected():
    with pytest.raises(TypeError, match="output"):
        sg.function([], [np.ones(2)])


def test_trust_input_skips_the_checks():
    x = sg.vector("x", "float32")
    f = sg.function([x], x * 2, trust_input=True)
    np.testing.assert_array_equal(f(np.array([1.0, 2.0], np.float32)), [2.0, 4.0])
    f(np.array([1.0, 2.0]))  # would be a lossy-dtype TypeError without trust_input
    with pytest.raises(TypeError, match="float32"):
        sg.function([x], x * 2)(np.array([1.0, 2.0]))


@pytest.mark.parametrize("mode", ["fast_run", "fast_compile"])
def test_source_is_valid_python(mode):
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], sg.exp(x) * y, mode=mode)
    compile(f.source, "<test>", "exec")
    assert f.source.startswith("def ")


def test_unfused_source_calls_numpy():
    x, y = sg.vector("x"), sg.vector("y")
    f = sg.function([x, y], sg.exp(x) * y, mode="fast_compile")
    assert "np_exp(" in f.source and "np_multiply(" in f.source


def test_eval_without_and_with_values():
    x = sg.vector("x")
    assert float((sg.constant(2.0) * 3).eval()) == 6.0
    np.testing.assert_array_equal((x * 2).eval({x: [1.0, 2.0]}), [2.0, 4.0])
    s = sg.shared(np.array([1.0]), name="s")
    doubled = s * 2
    np.testing.assert_array_equal(doubled.eval(), [2.0])
    s.set_value(np.array([5.0]))
    np.testing.assert_array_equal(doubled.eval(), [10.0])


def test_eval_compiles_once_per_variable_and_set_of_inputs(monkeypatch):
    function_module = sys.modules["symgraph.function"]
    compiled = []

    class CountingFunction(function_module.Function):
        def __init__(self, *args, **kwargs):
            compiled.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(function_module, "Function", CountingFunction)
    x, y = sg.vector("x"), sg.vector("y")
    expression = x * 2 + 1
    for value in ([1.0], [2.0, 3.0], [4.0]):
        np.testing.assert_array_equal(expression.eval({x: value}), np.array(value) * 2 + 1)
    assert len(compiled) == 1
    expression.eval({x: [1.0], y: [0.0]})
    assert len(compiled) == 2


def test_eval_cache_does_not_keep_the_graph_alive():
    x = sg.vector("x")
    expression = sg.exp(x) * 3
    expression.eval({x: [0.0]})
    alive = weakref.ref(expression)
    del expression
    gc.collect()
    assert alive() is None


def test_eval_rejects_non_variable_keys():
    x = sg.vector("x")
    with pytest.raises(TypeError, match="eval"):
        (x * 2).eval({"x": [1.0]})


@pytest.mark.parametrize(
    "dtype, shape, value, error, message",
    [
        ("float32", (None,), np.ones(2), TypeError, r"input 0 \('x'\).*float32.*float64"),
        ("int32", (None,), np.ones(2, np.int64), TypeError, r"'x'.*int32.*int64"),
        ("bool", (None,), np.array([0, 1]), TypeError, r"'x'.*bool.*int64"),
        ("float32", (), 1e300, TypeError, r"'x'.*float32"),
        ("int32", (), 3.5, TypeError, r"'x'.*int32.*3\.5"),
        ("int32", (), 2**40, TypeError, r"'x'.*int32.*1099511627776"),
        ("int64", (), 2**64, TypeError, r"'x'.*int64.*18446744073709551616"),
        ("float32", (), 2**200, TypeError, r"'x'.*float32"),
        ("float64", (), 2**2000, TypeError, r"'x'.*float64"),
        ("int32", (), np.int64(3), TypeError, r"'x'.*int32.*int64"),
        ("float64", (None,), np.ones((2, 2)), TypeError, r"'x'.*1-d.*2-d"),
        ("float64", (None,), 1.0, TypeError, r"'x'.*1-d.*0-d"),
        ("float64", (), [1.0], TypeError, r"'x'.*0-d.*1-d"),
        ("float64", (None, 3), np.ones((2, 4)), ValueError, r"'x'.*size 3 in dimension 1"),
        ("float64", (None,), "a string", TypeError, r"'x'.*str"),
        ("float64", (None,), None, TypeError, r"'x'.*None"),
        ("float64", (None,), {"a": 1}, TypeError, r"'x'.*dict"),
        ("float64", (None,), ["a", "b"], TypeError, r"'x'"),
        ("float64", (None,), [1.0, [2.0]], TypeError, r"'x'"),
    ],
)
def test_argument_checking_messages_name_the_input(dtype, shape, value, error, message):
    x = sg.tensor("x", dtype, shape)
    f = sg.function([x], x * 1)
    with pytest.raises(error, match=message):
        f(value)


@pytest.mark.parametrize(
    "dtype, shape, value, expected",
    [
        ("float64", (None,), np.array([1, 2], np.int32), [1.0, 2.0]),
        ("float64", (None,), np.array([1, 2], np.int64), [1.0, 2.0]),
        ("float32", (), 0.1, np.float32(0.1)),
        ("float32", (None,), [1.5, 2], [1.5, 2.0]),
        ("int32", (), 3, 3),
        ("int32", (None,), [1, -2], [1, -2]),
        ("int64", (), True, 1),
        ("float64", (None, 2), [[1, 2], [3, 4]], [[1.0, 2.0], [3.0, 4.0]]),
        ("float32", (), np.float32(2.5), 2.5),
        ("float64", (None,), [], np.zeros(0)),
        ("float64", (None,), np.arange(6.0)[::2], [0.0, 2.0, 4.0]),
        ("float64", (), 2**64, 2.0**64),  # beyond 64-bit ints, as NumPy converts it
        ("float32", (None,), [-(2**70), 1], [-(2.0**70), 1.0]),
    ],
)
def test_safe_conversions_are_accepted(dtype, shape, value, expected):
    x = sg.tensor("x", dtype, shape)
    result = sg.function([x], x * 1)(value)
    assert result.dtype == dtype
    np.testing.assert_array_equal(result, expected)


# Names the generated code uses itself (globals, locals, builtins), and names that are not identifiers.
RISKY_NAMES = ["np", "MISSING", "ndarray", "asarray", "owned", "locate", "self", "extra", "exc", "kwargs", "a",
               "v0", "v0_t0", "i0", "i1", "s0", "out0", "new0", "np_add", "np_multiply", "c_0", "check_x_1",
               "dtype_float64_0", "blocked_kernel_0", "container_0", "len", "sum", "tuple", "symgraph_fn",
               "x.0", "", "for", "σ", "ﬁ", "_", "match"]


def _names_with(risky, position):
    names = ["p", "q", "r"]
    names[position] = risky
    return names


@pytest.mark.parametrize("with_shared", [False, True])
@pytest.mark.parametrize("trust_input", [False, True])
@pytest.mark.parametrize("names", [_names_with(risky, position) for risky in RISKY_NAMES for position in (0, 2)])
def test_risky_input_names_compile_to_a_function_called_by_position_and_by_name(names, trust_input, with_shared):
    _check_called_by_position_and_by_name(names, trust_input, with_shared)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=4), min_size=3, max_size=3), st.booleans(), st.booleans())
def test_any_input_names_compile_to_a_function_called_by_position_and_by_name(names, trust_input, with_shared):
    _check_called_by_position_and_by_name(names, trust_input, with_shared)


def _check_called_by_position_and_by_name(names, trust_input, with_shared):
    inputs = [sg.vector(name) for name in names]
    x, y, z = inputs
    w = sg.shared(np.array([0.5, 2.0]), name=names[0])
    outputs = [x * y + z * (w if with_shared else 1.0), sg.exp(y) - x]
    f = sg.function(inputs, outputs, trust_input=trust_input)
    values = [np.array([1.0, -2.0]), np.array([0.25, 3.0]), np.array([-1.0, 4.0])]
    scale = w.get_value() if with_shared else 1.0
    expected = [values[0] * values[1] + values[2] * scale, np.exp(values[1]) - values[0]]
    for result, want in zip(f(*values), expected):
        np.testing.assert_allclose(result, want, rtol=1e-15)
    if len(set(names)) == 3:
        by_name = f(**dict(zip(names, values)))
        for result, want in zip(by_name, expected):
            np.testing.assert_allclose(result, want, rtol=1e-15)


@pytest.mark.parametrize(
    "call, keyword_message, positional_message",
    [
        (lambda f: f([1.0]), r"'f'\(\) missing 1 required positional argument: 'y'",
         r"'f' is missing a value for input 1 \('y'\)"),
        (lambda f: f(), r"missing 2 required positional arguments: '\w+' and 'y'",
         r"missing a value for input 0 \('\w+'\), input 1 \('y'\)"),
        (lambda f: f([1.0], [2.0], [3.0]), "'f' takes 2 argument", "'f' takes 2 argument"),
        (lambda f: f([1.0], z=[2.0]), "unexpected keyword argument 'z'", "unexpected keyword argument 'z'"),
        (lambda f: f([1.0], y=[2.0], **{f.inputs[0].name: [2.0]}), "multiple values for argument 'x'",
         "multiple values for input 'min'"),
    ],
)
@pytest.mark.parametrize("names", [("x", "y"), ("min", "y")])
def test_calling_convention_errors(call, keyword_message, positional_message, names):
    x, y = sg.vector(names[0]), sg.vector(names[1])
    f = sg.function([x, y], x + y, name="f")
    with pytest.raises(TypeError, match=keyword_message if names == ("x", "y") else positional_message):
        call(f)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_outputs_are_ndarrays_of_the_declared_dtype_also_when_0d(dtype):
    s = sg.scalar("s", dtype)
    outputs = [s, s * s, s > s, sg.constant(1, dtype=dtype)]
    results = sg.function([s], outputs)(np.ones((), dtype))
    for output, result in zip(outputs, results):
        assert type(result) is np.ndarray
        assert result.dtype == output.dtype
        assert result.shape == ()


def test_an_input_returned_as_output_is_a_copy():
    x = sg.vector("x")
    value = np.array([1.0, 2.0])
    result = sg.function([x], x)(value)
    result[0] = 99.0
    np.testing.assert_array_equal(value, [1.0, 2.0])


def test_shared_and_constant_outputs_are_copies():
    s, c = sg.shared(np.array([1.0, 2.0]), name="s"), sg.constant([3.0, 4.0])
    shared_result, constant_result = sg.function([], [s, c])()
    shared_result[0] = constant_result[0] = 99.0
    np.testing.assert_array_equal(s.get_value(), [1.0, 2.0])
    np.testing.assert_array_equal(c.data, [3.0, 4.0])


def test_an_output_listed_twice_gives_two_arrays():
    x = sg.vector("x")
    doubled = x * 2
    first, second = sg.function([x], [doubled, doubled])([1.0])
    first[0] = 99.0
    assert second[0] == 2.0


class ReversedView(Op):
    """An op whose NumPy implementation returns a view of its input, as transposes and reshapes do."""

    def output_types(self, x):
        return [x]

    def perform(self, x):
        return x[::-1]


def test_outputs_and_updates_never_share_memory_with_arguments_or_shared_values():
    x = sg.vector("x")
    state = sg.shared(np.array([1.0, 2.0]), name="state")
    copy_of_x = sg.shared(np.zeros(2), name="copy_of_x")
    from_input, from_shared = sg.function([x], [ReversedView()(x), ReversedView()(state)],
                                          updates=[(copy_of_x, ReversedView()(x))])(value := np.array([3.0, 4.0]))
    from_input[:] = from_shared[:] = 0.0
    value[:] = -1.0
    np.testing.assert_array_equal(state.get_value(), [1.0, 2.0])
    np.testing.assert_array_equal(copy_of_x.get_value(), [4.0, 3.0])


def test_ops_that_hand_their_operand_on_return_copies_of_arguments_and_shared_values():
    x, y = sg.vector("x"), sg.vector("y")
    value = np.array([1.0, 2.0])
    state = sg.shared(np.array([1.0, 2.0]), name="state")
    other = sg.shared(np.zeros(2), name="other")
    assert sg.function([x], sg.stop_gradient(x))(value) is not value
    assert sg.function([x, y], sg.grad(None, x, known_grads={x: y}))(value, value) is not value
    returned = sg.function([], sg.ifelse(sg.constant(True), state, 2 * state))()
    returned[0] = 99.0
    sg.function([x], None, updates={state: sg.stop_gradient(x), other: sg.stop_gradient(x)})(value)
    value[1] = -1.0
    np.testing.assert_array_equal(state.get_value(), [1.0, 2.0])
    assert not np.shares_memory(state.get_value(borrow=True), other.get_value(borrow=True))


@pytest.mark.parametrize("name", ["class", "np", "len", "owned", "asarray", "np_exp", "symgraph_fn", "9 lives"])
def test_any_function_name_compiles_and_runs(name):
    x = sg.vector("x")
    f = sg.function([x], [sg.exp(x).sum() + 1, x[::-1]], name=name)
    total, reversed_x = f([0.0, 1.0])
    np.testing.assert_allclose(total, 2 + np.e)
    np.testing.assert_array_equal(reversed_x, [1.0, 0.0])
    assert f.name == name and f"Function {name} " in repr(f)


def test_an_output_never_shares_memory_with_another_output():
    x = sg.vector("x")
    doubled = x * 2
    view, base = sg.function([x], [ReversedView()(doubled), doubled])([1.0, 2.0])
    assert not np.shares_memory(view, base)


def test_outputs_are_writeable_even_when_computed_from_constants():
    result = sg.function([], ReversedView()(sg.constant([1.0, 2.0])), mode="fast_compile")()
    result[0] = 5.0
    np.testing.assert_array_equal(result, [5.0, 1.0])


def test_inputs_are_never_modified_and_results_never_reused(rng):
    x, y = sg.matrix("x"), sg.matrix("y")
    f = sg.function([x, y], [sg.exp(x) * y + x, sg.tanh(x - y) / 2, x * 1])
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    a_before, b_before = a.copy(), b.copy()
    first = f(a, b)
    kept = [r.copy() for r in first]
    second = f(b, a)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)
    for previous, copy in zip(first, kept):
        np.testing.assert_array_equal(previous, copy)
    assert all(not np.shares_memory(p, n) for p in first for n in second)


def test_repr_and_name():
    x = sg.vector("x")
    f = sg.function([x], x * 2, name="double")
    assert "double" in repr(f)
    with pytest.raises(TypeError, match="compiled function 'double' takes 1 argument"):
        f([1.0], [2.0])


def run_in_threads(work, n_threads=4):
    errors = []
    barrier = threading.Barrier(n_threads)

    def target(index):
        try:
            barrier.wait()
            work(index)
        except Exception as exc:  # reported to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.usefixtures("frequent_thread_switches")
def test_one_function_called_from_four_threads_gives_right_answers():
    x = sg.vector("x")
    f = sg.function([x], sg.sin(x) * 2 + x)

    def work(index):
        for step in range(200):
            value = np.full(50, index + step / 200)
            np.testing.assert_allclose(f(value), np.sin(value) * 2 + value, rtol=1e-15)

    run_in_threads(work)


@pytest.fixture
def frequent_thread_switches():
    """Switch threads every microsecond, so that races show up within a few hundred calls."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_concurrent_updates_by_two_functions_are_not_lost():
    counter = sg.shared(0, name="counter")
    increment = sg.function([], None, updates=[(counter, counter + 1)])
    add_two = sg.function([], counter * 1, updates={counter: counter + 2})
    calls = 500

    def work(index):
        for _ in range(calls):
            (increment if index % 2 else add_two)()

    run_in_threads(work)
    assert int(counter.get_value()) == 2 * calls * 1 + 2 * calls * 2


def test_runtime_error_keeps_the_original_exception_type_and_message():
    x = sg.vector("x", "int64")
    f = sg.function([x], x ** sg.constant(-1))
    with pytest.raises(ValueError, match=re.escape("Integers to negative integer powers are not allowed")):
        f(np.array([2, 3]))


class _ArrayLike:
    def __array__(self, dtype=None, copy=None):
        return np.array([1.0, 2.0])


@pytest.mark.parametrize("value", [_ArrayLike(), memoryview(np.array([1.0, 2.0])), range(1, 3),
                                   np.array([1.0, 2.0]).view(np.recarray)],
                         ids=["__array__", "memoryview", "range", "ndarray subclass"])
def test_array_likes_and_ndarray_subclasses_are_converted_to_plain_arrays(value):
    x = sg.vector("x")
    result = sg.function([x], x * 2)(value)
    assert type(result) is np.ndarray
    np.testing.assert_array_equal(result, [2.0, 4.0])


def test_np_matrix_argument_computes_with_array_semantics():
    m = sg.matrix("m")
    f = sg.function([m], [m.sum(axis=1), sg.dot(m, m[0])])
    rows, product = f(np.matrix([[1.0, 2.0], [3.0, 4.0]]))
    assert rows.shape == (2,) and type(rows) is np.ndarray
    np.testing.assert_array_equal(rows, [3.0, 7.0])
    np.testing.assert_array_equal(product, [5.0, 11.0])


def test_masked_array_argument_is_refused_rather_than_losing_its_mask():
    x = sg.vector("x")
    with pytest.raises(TypeError, match=r"'x'.*masked arrays are not supported"):
        sg.function([x], x * 2)(np.ma.array([1.0, 2.0], mask=[0, 1]))


def test_intermediate_variable_as_an_input_cuts_the_graph_there_as_in_pytensor():
    x = sg.vector("x")
    h = x * 3
    out = sg.exp(h) + h
    expected = np.exp([0.0, 1.0]) + [0.0, 1.0]
    np.testing.assert_allclose(sg.function([h], out)([0.0, 1.0]), expected)
    np.testing.assert_allclose(out.eval({h: np.array([0.0, 1.0])}), expected)
    np.testing.assert_allclose(sg.function([x, h], out + x)([1.0, 1.0], [0.0, 1.0]), expected + 1)
    np.testing.assert_allclose(sg.function([h], sg.grad(out.sum(), h))([0.0, 1.0]), np.exp([0.0, 1.0]) + 1)
    with pytest.raises(ValueError, match="need variable x"):
        sg.function([h], out + x)


# ---------------------------------------------------------------------- argument objects the caller keeps

def test_a_pickled_function_keeps_updates_and_givens_given_as_iterators():
    a, b = sg.shared(np.array([0.0]), name="a"), sg.shared(np.array([0.0]), name="b")
    step = sg.function([], None, updates=zip([a, b], [a + 1, b + 2]))
    step()
    step_again, a_again, b_again = pickle.loads(pickle.dumps((step, a, b)))
    step_again()
    np.testing.assert_array_equal([a_again.get_value(), b_again.get_value()], [[2.0], [4.0]])
    x, y = sg.vector("x"), sg.vector("y")
    doubled = pickle.loads(pickle.dumps(sg.function([y], 2 * x, givens=zip([x], [y]))))
    np.testing.assert_array_equal(doubled([1.0, 2.0]), [2.0, 4.0])
    with_items, a_copy = pickle.loads(pickle.dumps((sg.function([], None, updates={a: a * 3}.items()), a)))
    with_items()
    np.testing.assert_array_equal(a_copy.get_value(), a.get_value() * 3)


def test_a_pickled_function_ignores_later_changes_to_the_callers_containers():
    a, b = sg.shared(np.array([0.0]), name="a"), sg.shared(np.array([0.0]), name="b")
    x = sg.vector("x")
    updates, outputs = {a: a + 1}, [x + 1]
    f = sg.function([x], outputs, updates=updates)
    updates.clear()
    updates[b] = b + 100
    outputs[0] = x * 100
    g, a_copy, b_copy = pickle.loads(pickle.dumps((f, a, b)))
    np.testing.assert_array_equal(g([1.0])[0], [2.0])
    np.testing.assert_array_equal([a_copy.get_value(), b_copy.get_value()], [[1.0], [0.0]])


def test_set_value_copies_array_likes_that_share_the_callers_memory():
    v = sg.shared(np.zeros((1, 2)), name="v")
    caller_matrix = np.matrix([[1.0, 2.0]])
    v.set_value(caller_matrix)
    caller_matrix[0, 0] = 42.0
    np.testing.assert_array_equal(v.get_value(), [[1.0, 2.0]])
    buffer = np.array([[1.0, 2.0]])
    v.set_value(memoryview(buffer))
    buffer[0, 0] = 42.0
    np.testing.assert_array_equal(v.get_value(), [[1.0, 2.0]])
    v.set_value(buffer, borrow=True)
    buffer[0, 1] = 7.0
    np.testing.assert_array_equal(v.get_value(borrow=True), [[42.0, 7.0]])


def test_keywords_cannot_name_one_of_two_inputs_with_the_same_name():
    first, second = sg.vector("p"), sg.vector("p")
    f = sg.function([first, second], first - second)
    with pytest.raises(TypeError, match="several inputs named 'p': pass them by position"):
        f(p=[1.0])
    np.testing.assert_array_equal(f([3.0], [1.0]), [2.0])


def test_optimize_refuses_what_is_not_a_variable():
    with pytest.raises(TypeError, match="sg.optimize: expected a symbolic variable or a list of them, got 3.0"):
        sg.optimize(3.0)
    with pytest.raises(TypeError, match="got 'x'"):
        sg.optimize([sg.vector("y"), "x"])
