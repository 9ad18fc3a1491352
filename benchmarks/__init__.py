"""symgraph's benchmark suite: `python -m benchmarks [--quick]` prints medians and ratios to hand-written NumPy."""
