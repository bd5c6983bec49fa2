"""``Stepper.why`` on deep chains: linear in the depth.

A chain x → ·0.99999 → ·0.99999 → … of depth D (one path of D edges). Reported: the
median of 5 calls of ``why("x")`` (count and sum by dynamic programming, the one path
built once) at D = 12,500, 25,000, 50,000 and the ratio per doubling (≈ 2 when linear;
the quadratic version it replaced took 21 s at D = 50,000, ratio ≈ 4).
Run: ``python3 bench/bench_why.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodiff import Value  # noqa: E402
from viz.stepper import Stepper  # noqa: E402


def chain(depth: int) -> Value:
    y = x = Value(0.3, "x", param=True)
    for _ in range(depth):
        y = y * 0.99999
    return y


def main() -> None:
    previous = None
    for depth in (12_500, 25_000, 50_000):
        s = Stepper(chain(depth))
        s.why("x")  # warm up
        times = []
        for _ in range(5):
            t = time.perf_counter()
            s.why("x")
            times.append(time.perf_counter() - t)
        median = statistics.median(times)
        ratio = f"  ×{median / previous:.2f} for twice the depth" if previous else ""
        print(f"depth {depth:>6}: why {median * 1e3:7.1f} ms{ratio}")
        previous = median


if __name__ == "__main__":
    main()
