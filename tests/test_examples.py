"""Every example runs as a user would run it (`python examples/NAME.py`) and prints what it promises."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXPECTED_OUTPUT = {
    "quickstart.py": ["generated source", "def symgraph_fn"],
    "train_mlp.py": ["epoch  1", "test accuracy"],
    "backprop.py": ["softmax(z) - onehot(y)", "W with inactive rows zeroed", "equals J_outer @ J_inner: True"],
    "jacobian_hessian.py": ["Jacobian of", "Hessian", "forward and reverse mode agree"],
    "benchmark_compiled.py": ["ratio", "nodes:"],
    "rnn_char.py": ["step  300", "trained 300 steps", "sample:"],
    "denoising_autoencoder.py": ["epoch 15", "loss decreased: True", "replaying the stream gives the same loss: True"],
    "out_of_core.py": ["step 5: loss", "loss decreased: True", "w is a NumPy array after the updates: ndarray",
                       "numpy and dask backends agree: True"],
    "lenet.py": ["epoch 1: mean training loss", "training loss went down from", ": True", "test accuracy"],
}


def test_every_example_is_listed():
    # modules whose names start with "_" are helpers the examples share, not examples
    found = sorted(name for name in os.listdir(os.path.join(ROOT, "examples"))
                   if name.endswith(".py") and not name.startswith("_"))
    assert found == sorted(EXPECTED_OUTPUT)


@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUT))
def test_example_runs(name, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name)], capture_output=True, text=True,
                            timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for text in EXPECTED_OUTPUT[name]:
        assert text in result.stdout, f"{name} did not print {text!r}:\n{result.stdout[-2000:]}"
