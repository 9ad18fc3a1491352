"""Differential fuzzing of symgraph on random graphs.

Hypothesis draws random well-typed graphs (`strategies.graph_cases`, one operation family per function in
`op_draws`); each graph is evaluated node by node with every op's NumPy `perform` (`interpreter.evaluate`,
the oracle), step by step by NumPy/SciPy themselves, and by compiled functions in several modes; smooth
graphs are also differentiated (`sg.grad`, `sg.jvp`) and checked against finite differences
(`properties`). `tests/test_fuzz.py` runs a fixed, derandomized budget in CI. For a longer run with
random seeds, from the repository root:

    python -m tests.fuzz --minutes 10            # both properties, 10 minutes of wall-clock time
    python -m tests.fuzz --minutes 1 --property gradient --seed 1234

It prints a summary (examples run per property) and every distinct falsifying example as a runnable
reproducer, with the seed of its batch (`--seed` with the same `--batch` replays it).

Where NumPy/SciPy themselves are not the reference, the NumPy spellings say so (see `case.py`): SciPy's
special functions give NumPy's float type (float16 for bools), softmax and logsumexp of integers are
computed in floats, `np.dot` with a 0-d operand is `np.multiply`, `**` of two tensors is `np.power` and `** 2` is
`np.square` (NumPy's operator on arrays: bools square into int8, where a NumPy bool scalar gives int64),
and reductions take no int axis of a 0-d array.
"""
