"""Timing and checking: every system's result is checked against the baseline before it is timed.

A workload builds a dict of systems; each system is a zero-argument callable (inputs bound) or a reason
string saying why it is not available. Times are medians over repeats of batches of calls.
"""
import statistics
import time

import numpy as np


def median_seconds(call, repeat, min_batch_seconds):
    """Median seconds per call: calls are batched so one batch lasts at least `min_batch_seconds`."""
    call()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            call()
        elapsed = time.perf_counter() - start
        if elapsed >= min_batch_seconds or number >= 1 << 20:
            break
        number *= 2 if elapsed == 0 else max(2, int(min_batch_seconds / elapsed * 1.2))
    samples = [elapsed / number]
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(number):
            call()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


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
