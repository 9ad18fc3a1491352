"""The README's Python blocks run as written, in order, and its first lines are the two commands."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        return handle.read()


def test_readme_opens_with_the_install_and_test_commands():
    first_block = re.search(r"```bash\n(.*?)```", _readme(), re.S).group(1).strip().splitlines()
    assert first_block == [
        'python -m pip install . && python examples/train_mlp.py',
        'python -m pip install ".[test]" && python -m pytest',
    ]


def test_readme_python_blocks_run(capsys):
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", _readme(), re.S):
        exec(compile(block, "README.md", "exec"), namespace)
    assert "tanh((x @ w) + b)" == namespace["sg"].pprint(namespace["y"])
