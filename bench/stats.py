"""Small helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import sys


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return (
        f"p50 {percentile(ms, 50):7.2f} ms  p95 {percentile(ms, 95):7.2f} ms  "
        f"mean {statistics.fmean(ms):7.2f} ms  n={len(ms)}"
    )


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
