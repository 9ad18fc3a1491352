"""`python -m tests.fuzz --minutes 10`: run the fuzz properties with random seeds for a wall-clock budget.

Runs batches of examples, each batch under a fresh seed, alternating properties, until the time is up;
then prints how many examples each property ran and every distinct failure with its falsifying example
(a runnable reproducer) and the seed that found it (`--seed` replays the batch from that seed).
"""
import argparse
import random
import sys
import time
import traceback
import warnings
from collections import Counter

from hypothesis import HealthCheck, given, seed, settings

from .properties import PROPERTIES


def _parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget (default 10)")
    parser.add_argument("--property", choices=sorted(PROPERTIES), action="append",
                        help="run only this property (repeatable; default: all)")
    parser.add_argument("--seed", type=int, help="the first batch's seed (default: random)")
    parser.add_argument("--batch", type=int, default=200, help="examples per batch (default 200)")
    return parser.parse_args(argv)


def _counting(body, counter, name):
    def counted(**kwargs):
        counter[name] += 1
        body(**kwargs)

    counted.__name__ = body.__name__
    return counted


def _run_batch(name, batch_seed, examples, counter):
    """Run `examples` examples of property `name` from `batch_seed`; the exception it failed with, or None."""
    body, strategies = PROPERTIES[name]
    test = given(**strategies())(_counting(body, counter, name))
    test = settings(max_examples=examples, deadline=None, database=None, print_blob=False,
                    suppress_health_check=list(HealthCheck))(test)
    try:
        seed(batch_seed)(test)()
    except Exception as exc:  # a falsifying example (or several): reported at the end
        return exc
    return None


def _signature(exc):
    """What makes two failures the same bug: the exception type and the first line of its message."""
    causes = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
    return tuple(sorted(f"{type(c).__name__}: {str(c).strip().splitlines()[0] if str(c).strip() else ''}"
                        for c in causes))


def main(argv=None):
    arguments = _parse_arguments(argv)
    warnings.simplefilter("ignore", RuntimeWarning)  # NaN and inf are expected, and compared
    names = arguments.property or sorted(PROPERTIES)
    rng = random.Random(arguments.seed)
    batch_seed = arguments.seed if arguments.seed is not None else rng.randrange(2**32)
    deadline = time.monotonic() + 60 * arguments.minutes
    counter = Counter()
    failures = {}
    batches = 0
    while time.monotonic() < deadline:
        name = names[batches % len(names)]
        exc = _run_batch(name, batch_seed, arguments.batch, counter)
        if exc is not None and _signature(exc) not in failures:
            failures[_signature(exc)] = (name, batch_seed, exc)
            print(f"[{name}, seed {batch_seed}] found: {' | '.join(_signature(exc))}", flush=True)
        batches += 1
        batch_seed = rng.randrange(2**32)
    elapsed = 60 * arguments.minutes + time.monotonic() - deadline
    print(f"\nfuzzed for {elapsed / 60:.1f} min, {batches} batches: "
          + ", ".join(f"{counter[n]} {n} examples" for n in names))
    for name, batch_seed, exc in failures.values():
        print(f"\n=== property {name}, seed {batch_seed} " + "=" * 40)
        print("".join(traceback.format_exception(exc)))
    print(f"{len(failures)} distinct failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
