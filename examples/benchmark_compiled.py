"""Compile an expression and time it against the NumPy a user would write by hand.

Prints the generated source, the compile report and the time per node; saves the profile as a bar
chart in examples/output/ when matplotlib is installed.

    python examples/benchmark_compiled.py
"""
import timeit

import numpy as np

import symgraph as sg
from _plotting import output_path, pyplot


def main(n=1_000_000, repeat=5):
    x_value = np.random.default_rng(0).uniform(-3, 3, n)
    x = sg.vector("x")
    compiled = sg.function([x], sg.exp(-x * x / 2) * sg.sin(3 * x) + sg.log1p(x * x) * sg.tanh(x))

    def by_hand(x):
        return np.exp(-x * x / 2) * np.sin(3 * x) + np.log1p(x * x) * np.tanh(x)

    np.testing.assert_allclose(compiled(x_value), by_hand(x_value), rtol=1e-12)
    numpy_seconds = min(timeit.repeat(lambda: by_hand(x_value), number=3, repeat=repeat)) / 3
    symgraph_seconds = min(timeit.repeat(lambda: compiled(x_value), number=3, repeat=repeat)) / 3
    print(f"{n:,} elements: NumPy by hand {numpy_seconds * 1e3:.2f} ms, symgraph {symgraph_seconds * 1e3:.2f} ms, "
          f"ratio {symgraph_seconds / numpy_seconds:.2f} (lower is better)")
    print("what the compiler made of it:\n" + compiled.source)
    print(compiled.report)
    unfused = sg.function([x], sg.exp(-x * x / 2) * sg.sin(3 * x) + sg.log1p(x * x) * sg.tanh(x),
                          mode=sg.Mode(exclude=["fusion"]))
    profile = unfused.profile(x_value, repeat=repeat)
    print("time per node without fusion:\n" + str(profile))
    save_profile_bars(profile)


def save_profile_bars(profile):
    plt = pyplot("the profile as a bar chart")
    if plt is None:
        return
    labels = [label for label, _, _ in profile.rows][::-1]
    milliseconds = [seconds * 1e3 for _, seconds, _ in profile.rows][::-1]
    path = output_path("profile_bars.png")
    plt.figure(figsize=(7, 0.35 * len(labels) + 1))
    plt.barh(labels, milliseconds)
    plt.xlabel("ms per call")
    plt.title("time per node (fusion off)")
    plt.tight_layout()
    plt.savefig(path, dpi=100)
    print(f"profile chart saved to {path}")


if __name__ == "__main__":
    main()
