"""Printing very deep graphs: the tree of `sg.debugprint` stops indenting past DEEPEST_INDENT levels and
prints the deeper sub-trees as trees of their own, so its text is linear in the depth of the graph."""
import re

import numpy as np

import symgraph as sg
from symgraph.inspect.listing import DEEPEST_INDENT


def chain(x, depth):
    y = x
    for i in range(depth):
        y = sg.sin(y) if i % 2 else y * 1.5
    return y


def test_tree_of_a_deep_chain_is_linear_in_its_depth():
    x = sg.vector("x")
    lines = sg.debugprint(chain(x, 3000)).splitlines()
    # each level indents by 3 characters: without the cap the deepest line alone would be 9,000 long
    assert max(len(line) for line in lines) <= 3 * (DEEPEST_INDENT + 2) + 40
    full = [line for line in lines if not line.endswith(("(see below)", "(see above)"))]
    assert len(full) == 1 + 3000 + 1500  # x, the operations and their constants, each printed in full once


def test_each_deferred_sub_tree_is_printed_once_under_its_id():
    x = sg.vector("x")
    lines = sg.debugprint(chain(x, 200)).splitlines()
    references = [re.search(r"\[id (\w+)\]", line).group(1) for line in lines if line.endswith("(see below)")]
    assert references, "a chain deeper than DEEPEST_INDENT defers its deeper sub-trees"
    roots = [re.search(r"\[id (\w+)\]", line).group(1) for line in lines if re.match(r"\w+ \[id \w+\]", line)]
    assert roots == references


def test_a_shared_sub_graph_past_the_deepest_indent_is_referenced_below_then_above():
    x = sg.vector("x")
    deep = chain(x, 2 * DEEPEST_INDENT)
    shared_part = sg.exp(deep)
    # the chain puts exp one level past the deepest indentation in the first tree
    lines = sg.debugprint([chain(shared_part, DEEPEST_INDENT + 1), shared_part + 1]).splitlines()
    exp_lines = [line for line in lines if "exp" in line]
    assert len(exp_lines) == 3
    assert exp_lines[0].endswith("(see below)")
    assert exp_lines[1].endswith("(see below)") and exp_lines[1].lstrip("│ ├└─").startswith("exp")
    assert exp_lines[2].startswith("exp [id") and "(see" not in exp_lines[2]


def test_tree_and_flat_listing_of_a_deep_compiled_function_agree_on_its_values():
    x = sg.vector("x")
    f = sg.function([x], chain(x, 400))
    text = sg.debugprint(f)
    assert max(len(line) for line in text.splitlines()) <= 3 * (DEEPEST_INDENT + 2) + 200
    value = np.array([0.3, -0.7])
    expected = value
    for i in range(400):
        expected = np.sin(expected) if i % 2 else expected * 1.5
    np.testing.assert_allclose(f(value), expected, rtol=1e-12)
