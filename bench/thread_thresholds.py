"""Where a second thread starts to pay for each GEMM path: times tg.matmul with 1 and 2 threads over
growing sizes, with the thresholds lowered to 0 so both sides are measured, and prints the speedup.

The defaults in cpp/kernels/parallel_thresholds.cpp come from this. Run it on a quiet machine
(the speedups are meaningless while another process holds a core):

    python bench/thread_thresholds.py [--rounds 9]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, List, Tuple

import numpy as np

import tapegrad as tg
from tapegrad import _core

# (path, shape of A, shape of B) per size: GEMV (n = 1), the few-columns kernel (n = 10) and the
# blocked kernel (square).
CASES: List[Tuple[str, List[Tuple[Tuple[int, int], Tuple[int, int]]]]] = [
    ("gemv", [((m, 64), (64, 1)) for m in (1000, 2000, 4000, 8000, 16000, 32000)]),
    ("few columns", [((m, 784), (784, 10)) for m in (32, 64, 128, 256, 512)]),
    ("blocked", [((s, s), (s, s)) for s in (64, 96, 128, 160, 192, 256)]),
]


def time_per_call(f: Callable[[], object], min_s: float = 0.01) -> float:
    """Seconds per call of f, over a batch lasting at least min_s."""
    n, t0 = 0, time.perf_counter()
    while True:
        f()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_s:
            return elapsed / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=9, help="interleaved 1- and 2-thread samples")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    saved_threads, saved_thresholds = tg.config.num_threads(), _core._parallel_thresholds()
    print("defaults, in multiply-adds: blocked from {:.0f}, few columns from {:.0f}, GEMV from {:.0f}"
          .format(*saved_thresholds))
    _core._set_parallel_thresholds(0, 0, 0)
    try:
        for path, shapes in CASES:
            for sa, sb in shapes:
                a = tg.constant(rng.standard_normal(sa, dtype=np.float32))
                b = tg.constant(rng.standard_normal(sb, dtype=np.float32))
                samples = {1: [], 2: []}
                for _ in range(args.rounds):
                    for threads in (1, 2):
                        tg.config.set_num_threads(threads)
                        samples[threads].append(time_per_call(lambda: tg.matmul(a, b)))
                one, two = (statistics.median(samples[t]) for t in (1, 2))
                madds = sa[0] * sa[1] * sb[1]
                print(f"{path:12s} {sa[0]}x{sa[1]}.{sb[0]}x{sb[1]} ({madds:>10d} madds): "
                      f"1 thread {one * 1e6:8.1f} us, 2 threads {two * 1e6:8.1f} us, "
                      f"speedup {one / two:.2f}")
    finally:
        _core._set_parallel_thresholds(*saved_thresholds)
        tg.config.set_num_threads(saved_threads)


if __name__ == "__main__":
    main()
