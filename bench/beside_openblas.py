"""tapegrad's parallel kernels right after a numpy matmul, in the same process.

numpy's OpenBLAS threads keep spinning for about 0.1 s after each call (OpenBLAS's thread
timeout), so in that window tapegrad's second thread shares a core with one of them. This times
each kernel three ways, in interleaved rounds:

  - alone:        tapegrad on N threads, after a pause long enough for OpenBLAS's threads to sleep;
  - after numpy:  tapegrad on N threads, starting right after a numpy matmul;
  - one thread:   tapegrad on 1 thread, alone (what a busy second core should cost at worst);

and prints the medians, the ratios, and the pool's stall count (jobs that waited for a thread
the OS had not scheduled, see cpp/core/thread_pool.cpp). Figures to compare, never a test:

    python bench/beside_openblas.py [--threads 2] [--rounds 7]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, List, Tuple

import numpy as np

import tapegrad as tg
from tapegrad import _core

PAUSE_S = 0.3        # longer than OpenBLAS's spin after a call (2^28 cycles, ~0.09 s at 3 GHz)
BATCH_S = 0.01       # each timing: back-to-back calls for this long, inside the spin window


def cases(rng: np.random.Generator) -> List[Tuple[str, Callable[[], object]]]:
    def const(*shape: int) -> tg.Tensor:
        return tg.constant(rng.standard_normal(shape).astype(np.float32))

    a512, b512 = const(512, 512), const(512, 512)
    a1k, b1k = const(1024, 1024), const(1024, 1024)
    x_gemv, w_gemv = const(10000, 64), const(64, 1)
    x_few, w_few = const(256, 784), const(784, 10)
    v = const(10 ** 7)
    return [
        ("matmul 512³ (blocked, dynamic schedule, small blocks)", lambda: tg.matmul(a512, b512)),
        ("matmul 1024³ (blocked, dynamic schedule)", lambda: tg.matmul(a1k, b1k)),
        ("matmul 10000×64·64×1 (GEMV)", lambda: tg.matmul(x_gemv, w_gemv)),
        ("matmul 256×784·784×10 (few columns)", lambda: tg.matmul(x_few, w_few)),
        ("square, 10⁷ floats", lambda: tg.square(v)),
        ("reduce_mean, 10⁷ floats", lambda: tg.reduce_mean(v)),
    ]


def calls_us(f: Callable[[], object]) -> Tuple[float, float]:
    """Median and mean time of one call, over back-to-back calls for BATCH_S: the median is
    the usual call, the mean adds what the rare long ones (a stalled thread) cost."""
    times: List[float] = []
    end = time.perf_counter() + BATCH_S
    while True:
        t0 = time.perf_counter()
        f()
        t1 = time.perf_counter()
        times.append((t1 - t0) * 1e6)
        if t1 >= end:
            return statistics.median(times), statistics.fmean(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="tapegrad's threads (default 2)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    args = parser.parse_args()
    if args.threads < 2:
        parser.error("--threads must be at least 2: the question is what a second thread does")

    rng = np.random.default_rng(0)
    blas_a = rng.standard_normal((512, 512)).astype(np.float32)
    blas_b = rng.standard_normal((512, 512)).astype(np.float32)
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"numpy {np.__version__}: {blas}; tapegrad {args.threads} threads, ISA {tg.config.isa()}")

    old_threads = tg.config.num_threads()
    count_stalls = getattr(_core, "_thread_stalls", lambda: 0)  # 0 on a build without the counter
    stalls_before = count_stalls()
    rows = []
    try:
        for name, f in cases(rng):
            alone: List[Tuple[float, float]] = []
            after: List[Tuple[float, float]] = []
            single: List[Tuple[float, float]] = []
            f()  # warm: allocator cache, pages
            for _ in range(args.rounds):
                tg.config.set_num_threads(args.threads)
                time.sleep(PAUSE_S)
                alone.append(calls_us(f))
                np.dot(blas_a, blas_b)
                after.append(calls_us(f))
                tg.config.set_num_threads(1)
                time.sleep(PAUSE_S)
                single.append(calls_us(f))
            rows.append((name, [statistics.median(c[i] for c in phase) for phase in (alone, after, single)
                                for i in (0, 1)]))
            print(f"  {name}: done", flush=True)
    finally:
        tg.config.set_num_threads(old_threads)
    stalls = count_stalls() - stalls_before

    print()
    print("Per call, median / mean (µs), each the median over the rounds:\n")
    print(f"| kernel | alone, {args.threads} threads | right after numpy | 1 thread "
          f"| after / 1 thread (medians) | after / 1 thread (means) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (al_med, al_mean, af_med, af_mean, si_med, si_mean) in rows:
        print(f"| {name} | {al_med:,.1f} / {al_mean:,.1f} | {af_med:,.1f} / {af_mean:,.1f} "
              f"| {si_med:,.1f} / {si_mean:,.1f} | {af_med / si_med:.2f} | {af_mean / si_mean:.2f} |")
    print(f"\n{args.rounds} rounds of {BATCH_S * 1e3:.0f} ms of calls per cell. "
          f"Pool stalls during the run: {stalls}.")


if __name__ == "__main__":
    main()
