"""Where a second thread starts to pay: times each GEMM path (tg.matmul) and the elementwise ops
and sums with 1 and 2 threads over growing sizes, with every threshold lowered to 0 so both sides
are measured, and prints the speedup.

The defaults in cpp/kernels/parallel_thresholds.cpp (GEMM) and cpp/core/thread_pool.cpp
(elementwise) come from this. Run it on a quiet machine
(the speedups are meaningless while another process holds a core):

    python bench/thread_thresholds.py [--rounds 9]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, Dict, List, Tuple

import numpy as np

import tapegrad as tg
from tapegrad import _core

# (path, shape of A, shape of B) per size: GEMV (n = 1), the few-columns kernel (n = 10) and the
# blocked kernel (square).
GEMM_CASES: List[Tuple[str, List[Tuple[Tuple[int, int], Tuple[int, int]]]]] = [
    ("gemv", [((m, 64), (64, 1)) for m in (1000, 2000, 4000, 8000, 16000, 32000)]),
    ("few columns", [((m, 784), (784, 10)) for m in (32, 64, 128, 256, 512)]),
    ("blocked", [((s, s), (s, s)) for s in (64, 96, 128, 160, 192, 256)]),
]
ELEMENTWISE_SIZES = [1 << e for e in (13, 14, 15, 16, 17, 18)]
ELEMENTWISE_OPS: List[Tuple[str, Callable]] = [
    ("square", tg.square), ("add", lambda x: x + x), ("reduce_sum", tg.reduce_sum)]


def time_per_call(f: Callable[[], object], min_s: float = 0.01) -> float:
    """Seconds per call of f, over a batch lasting at least min_s."""
    n, t0 = 0, time.perf_counter()
    while True:
        f()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_s:
            return elapsed / n


def speedup(f: Callable[[], object], rounds: int) -> Tuple[float, float]:
    """Median seconds per call of f with 1 and with 2 threads, sampled alternately."""
    samples: Dict[int, List[float]] = {1: [], 2: []}
    for _ in range(rounds):
        for threads in (1, 2):
            tg.config.set_num_threads(threads)
            samples[threads].append(time_per_call(f))
    return statistics.median(samples[1]), statistics.median(samples[2])


def report(label: str, one: float, two: float) -> None:
    print(f"{label:48s} 1 thread {one * 1e6:8.1f} us, 2 threads {two * 1e6:8.1f} us, "
          f"speedup {one / two:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=9, help="interleaved 1- and 2-thread samples")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    saved_threads, saved = tg.config.num_threads(), _core._parallel_thresholds()
    print("defaults: " + ", ".join(f"{k} {v:.0f}" for k, v in saved.items()))
    _core._set_parallel_thresholds(0, 0, 0, 0)
    try:
        for path, shapes in GEMM_CASES:
            for sa, sb in shapes:
                a = tg.constant(rng.standard_normal(sa, dtype=np.float32))
                b = tg.constant(rng.standard_normal(sb, dtype=np.float32))
                madds = sa[0] * sa[1] * sb[1]
                report(f"{path} {sa[0]}x{sa[1]}.{sb[0]}x{sb[1]} ({madds} madds)",
                       *speedup(lambda: tg.matmul(a, b), args.rounds))
        for name, op in ELEMENTWISE_OPS:
            for n in ELEMENTWISE_SIZES:
                x = tg.constant(rng.standard_normal(n, dtype=np.float32))
                report(f"{name} of {n} floats", *speedup(lambda: op(x), args.rounds))
    finally:
        _core._set_parallel_thresholds(saved["gemm_madds"], saved["few_columns_madds"],
                                       saved["gemv_madds"], saved["elementwise"])
        tg.config.set_num_threads(saved_threads)


if __name__ == "__main__":
    main()
