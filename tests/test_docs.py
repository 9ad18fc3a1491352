"""The documentation is complete and its examples run.

Every public name has a docstring with an example, every docstring example in the package passes as a
doctest, and `docs/reference.md` names every public name and its examples give the values it shows.
"""
import doctest
import importlib
import pkgutil
import re
import types
from pathlib import Path

import numpy as np
import pytest

import symgraph as sg

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference.md"
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Public names whose example lives elsewhere, with the reason.
WITHOUT_OWN_EXAMPLE = {
    "Function": "built by sg.function, whose docstring carries the example",
}

# The Variable attributes of API.md ("name" and "type" are slots: the Variable class docstring covers them).
VARIABLE_MEMBERS = (
    "dtype ndim shape T eval sum mean prod max min argmax argmin std var reshape transpose dot astype "
    "flatten squeeze clip"
).split()


def public_names():
    return sorted(
        name for name in dir(sg)
        if not name.startswith("_") and not isinstance(getattr(sg, name), types.ModuleType)
    )


def package_modules():
    return sorted(info.name for info in pkgutil.walk_packages(sg.__path__, "symgraph."))


def reference_text():
    return REFERENCE.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", public_names())
def test_public_name_has_docstring_with_example(name):
    doc = getattr(sg, name).__doc__ or ""
    if name in WITHOUT_OWN_EXAMPLE:
        assert doc.strip(), f"sg.{name} has no docstring"
        return
    assert "Example" in doc and ">>>" in doc, f"sg.{name} has no runnable example in its docstring"


@pytest.mark.parametrize("member", VARIABLE_MEMBERS)
def test_variable_member_has_docstring_with_example(member):
    doc = getattr(sg.Variable, member).__doc__ or ""
    assert "Example" in doc and ">>>" in doc, f"Variable.{member} has no runnable example in its docstring"


def test_exceptions_are_public_names():
    assert set(WITHOUT_OWN_EXAMPLE) <= set(public_names())


@pytest.mark.parametrize("module_name", package_modules())
def test_module_doctests_pass(module_name, capsys):
    module = importlib.import_module(module_name)
    results = doctest.testmod(module, optionflags=DOCTEST_FLAGS, report=False)
    report = capsys.readouterr().out
    assert results.failed == 0, f"{results.failed} doctest failure(s) in {module_name}:\n{report}"


def test_the_package_has_many_doctests():
    finder = doctest.DocTestFinder()
    examples = sum(
        len(test.examples) for name in package_modules() for test in finder.find(importlib.import_module(name))
    )
    assert examples >= 600


def test_reference_names_every_public_name():
    text = reference_text()
    missing = [name for name in public_names() if not re.search(rf"\bsg\.{name}\b", text)]
    assert not missing, f"docs/reference.md does not mention: {missing}"


def test_reference_names_every_variable_member():
    text = reference_text()
    missing = [m for m in VARIABLE_MEMBERS + ["name", "type"] if not re.search(rf"`[^`]*\.{m}\b", text)]
    assert not missing, f"docs/reference.md does not show: {missing}"


def fenced_doctests():
    """(line number, block text) of every ```python block of the reference that holds a `>>>` prompt."""
    text = reference_text()
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        if ">>>" in match.group(1):
            blocks.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return blocks


def example_rows():
    """(line number, example, value) of every row of the reference's tables whose last columns are example, value."""
    rows = []
    in_table = False
    for number, line in enumerate(reference_text().splitlines(), start=1):
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells[-2:] == ["example", "value"]:
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and not set(cells[0]) <= set("-: "):
            example, value = (cell.strip("`").replace("\\|", "|") for cell in cells[-2:])
            rows.append((number, example, value))
    return rows


def test_reference_has_examples():
    assert len(fenced_doctests()) >= 20
    assert len(example_rows()) >= 100


def test_reference_doctests_pass():
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    failures = []
    for line, block in fenced_doctests():
        test = parser.get_doctest(block, {"np": np, "sg": sg}, f"reference.md:{line}", str(REFERENCE), line)
        output = []
        with np.errstate(all="ignore"):  # examples with NaN and inf results would print NumPy warnings
            result = runner.run(test, out=output.append)
        if result.failed:
            failures.append("".join(output))
    assert not failures, "\n".join(failures)


def table_namespace():
    return {"np": np, "sg": sg, "nan": np.nan, "inf": np.inf}


@pytest.mark.parametrize("line, example, value", example_rows(), ids=lambda item: str(item)[:40])
def test_reference_table_example_gives_its_value(line, example, value):
    result = eval(example, table_namespace())
    if isinstance(result, sg.Variable):
        result = result.eval()
    if not isinstance(result, (np.ndarray, np.generic, bool, int, float)):
        assert repr(result) == value, f"line {line}: {example} gives {result!r}"
        return
    result = np.asarray(result)
    expected = np.asarray(eval(value, table_namespace()))
    assert result.shape == expected.shape, f"line {line}: {example} has shape {result.shape}"
    assert result.dtype.kind == expected.dtype.kind, f"line {line}: {example} has dtype {result.dtype}"
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-12, err_msg=f"line {line}: {example}")
    else:
        np.testing.assert_array_equal(result, expected, err_msg=f"line {line}: {example}")
