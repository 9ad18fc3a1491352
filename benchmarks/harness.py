"""Timing and checking: every system's result is checked against the baseline before it is timed.

A workload builds a dict of systems; each system is a zero-argument callable (inputs bound) or a reason
string saying why it is not available. Times are medians over repeats of batches of calls.
"""
import statistics
import time

import numpy as np


def _batch_size(call, min_batch_seconds):
    """How many calls make one batch last at least `min_batch_seconds` (with the last batch's seconds)."""
    call()
    number = 1
    while True:
        elapsed = _time_batch(call, number)
        if elapsed >= min_batch_seconds or number >= 1 << 20:
            return number, elapsed
        number *= 2 if elapsed == 0 else max(2, int(min_batch_seconds / elapsed * 1.2))


def _time_batch(call, number):
    start = time.perf_counter()
    for _ in range(number):
        call()
    return time.perf_counter() - start


def median_seconds(call, repeat, min_batch_seconds):
    """Median seconds per call: calls are batched so one batch lasts at least `min_batch_seconds`."""
    number, elapsed = _batch_size(call, min_batch_seconds)
    samples = [elapsed / number] + [_time_batch(call, number) / number for _ in range(repeat - 1)]
    return statistics.median(samples)


def interleaved_medians(calls, repeat, min_batch_seconds):
    """{name: (median seconds per call, median ratio to the first call)} for the callables `calls`
    ({name: call}, the baseline first), timed in rounds of one batch each, so that a machine whose speed
    drifts during the run (a shared host) slows every system alike and the per-round ratios stay fair.

    Example:
        >>> result = interleaved_medians({"a": lambda: sum(range(100)), "b": lambda: sum(range(200))}, 3, 0.001)
        >>> result["a"][1], result["b"][1] > 1
        (1.0, True)
    """
    numbers = {name: _batch_size(call, min_batch_seconds)[0] for name, call in calls.items()}
    samples = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            samples[name].append(_time_batch(call, numbers[name]) / numbers[name])
    baseline = samples[next(iter(calls))]
    return {name: (statistics.median(times), statistics.median(t / b for t, b in zip(times, baseline)))
            for name, times in samples.items()}


def results_agree(expected, actual, rtol=1e-6, atol=1e-8):
    """True when `actual` matches `expected` (arrays or sequences of arrays) to the given tolerances."""
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return False
        return all(results_agree(e, a, rtol, atol) for e, a in zip(expected, actual))
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    return actual.shape == expected.shape and bool(np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True))


class Row:
    """One measured (workload, system) pair."""

    __slots__ = ("workload", "system", "seconds", "ratio", "status")

    def __init__(self, workload, system, seconds=None, ratio=None, status="ok"):
        self.workload = workload
        self.system = system
        self.seconds = seconds
        self.ratio = ratio
        self.status = status

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}
