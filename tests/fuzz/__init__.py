"""Differential fuzzing of symgraph on random graphs.

Hypothesis draws random well-typed graphs (`strategies.graph_cases`); each is evaluated node by node with
every op's NumPy `perform` (`interpreter.evaluate`, the oracle), by NumPy itself, and by compiled
functions in several modes, and smooth ones are differentiated and checked against finite differences
(`properties`). `tests/test_fuzz.py` runs a fixed, derandomized budget in CI. For a longer run with
random seeds, from the repository root:

    python -m tests.fuzz --minutes 10            # both properties, 10 minutes of wall-clock time
    python -m tests.fuzz --minutes 1 --property gradient --seed 1234

It prints a summary (examples run per property) and every falsifying example, as a runnable reproducer.
"""
