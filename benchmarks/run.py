"""Run the benchmark suite and print a table of medians and ratios to the hand-written NumPy baseline.

    python -m benchmarks            # full sizes
    python -m benchmarks --quick    # small sizes, fewer repeats
    python -m benchmarks --only ew_compute call_overhead --json results.json

Pinned to one core and one thread (the "one thread" figures; the Numba backend's loops then run serially):

    taskset -c 0 env NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        python -m benchmarks --only ew_memory ew_compute ew_reduce

Every system's result is checked against the baseline before it is timed; a wrong result is reported as
wrong and never timed. The systems of a workload are timed in turn, a batch each per round, and a ratio
is the median of the per-round ratios, so that drift of a shared machine's speed affects all alike. PyTensor, JAX and numexpr columns appear when installed (`pip install ".[bench]"`).
"""
import argparse
import json
import platform
import sys
import time

from .harness import Row, interleaved_medians, results_agree
from .workloads import WORKLOADS


def measure(name, builder, quick, repeat, min_batch):
    """Rows for one workload: the baseline first, then each system with its ratio to the baseline (the
    median of per-round ratios, all systems timed in turn in each round)."""
    try:
        baseline, systems = builder(quick)
    except Exception as exc:  # a workload that cannot even be built is reported, not hidden
        return [Row(name, "symgraph", status=f"failed to build: {type(exc).__name__}: {exc}")]
    expected = baseline()
    problems = {}
    timed = {"numpy": baseline}
    for system, call in systems.items():
        if isinstance(call, str):
            problems[system] = f"skipped: {call}"
            continue
        try:
            agrees = results_agree(expected, call())
        except Exception as exc:
            problems[system] = f"error: {type(exc).__name__}: {exc}"[:200]
            continue
        if agrees:
            timed[system] = call
        else:
            problems[system] = "WRONG RESULT (not timed)"
    medians = interleaved_medians(timed, repeat, min_batch)
    rows = [Row(name, "numpy", *medians["numpy"])]
    for system in systems:
        rows.append(Row(name, system, *medians[system]) if system in medians else Row(name, system, status=problems[system]))
    return rows


def compile_rows(quick):
    """Compile-time rows from benchmarks/compile_bench.py (when present)."""
    try:
        from . import compile_bench
    except ImportError:
        return []
    return [Row(r["workload"], r["system"], r.get("seconds"), r.get("ratio"), r.get("status", "ok"))
            for r in compile_bench.run(quick)]


HEADER = f"{'workload':<16} {'system':<22} {'median':>12} {'ratio':>8}  note\n" + "-" * 72


def format_row(row):
    if row.seconds is None:
        return f"{row.workload:<16} {row.system:<22} {'':>12} {'':>8}  {row.status}"
    ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
    return f"{row.workload:<16} {row.system:<22} {_format_seconds(row.seconds):>12} {ratio:>8}"


def _format_seconds(seconds):
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} us"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer repeats")
    parser.add_argument("--only", nargs="*", help="workload names to run (default: all)")
    parser.add_argument("--repeat", type=int, default=None, help="repeats per measurement (median is reported)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 7)
    min_batch = 0.02 if args.quick else 0.1
    names = args.only or list(WORKLOADS) + ["compile"]
    unknown = set(names) - set(WORKLOADS) - {"compile"}
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; known: {sorted(WORKLOADS) + ['compile']}")
    print(f"symgraph benchmarks, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
          f"{platform.machine()}, {'quick' if args.quick else 'full'} sizes, median of {repeat}")
    print(HEADER)
    rows = []
    for name in names:
        if name == "compile":
            new_rows = compile_rows(args.quick)
        else:
            new_rows = measure(name, WORKLOADS[name][0], args.quick, repeat, min_batch)
        for row in new_rows:
            print(format_row(row), flush=True)
        rows.extend(new_rows)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([r.as_dict() for r in rows], handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
