"""Kernel threads: a product, sum or elementwise result has the same bits for any kernel thread
count (the pool grown and shrunk between jobs, every parallel split at tiny sizes with the
thresholds at 0, the dynamic GEMM schedule with its threads preempted)."""

import os
import threading

import numpy as np
import pytest

import tapegrad as tg


def test_thread_count_changes_between_parallel_kernels():
    """Growing and shrinking the pool between jobs: workers added after earlier jobs take part in
    the next one only, and every count gives the single-threaded bytes."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal((300, 200)).astype(np.float32)
    b = rng.standard_normal((200, 260)).astype(np.float32)
    v = rng.standard_normal((5000, 64)).astype(np.float32)
    w = rng.standard_normal((64, 1)).astype(np.float32)
    # C of 2.3 MB written once (k = 40): non-temporal stores, in every thread's rows
    s = rng.standard_normal((1100, 40)).astype(np.float32)
    t = rng.standard_normal((40, 528)).astype(np.float32)
    # 520 rows, k = 500: one K block on the avx512 float kernel
    u = rng.standard_normal((520, 500)).astype(np.float32)
    w2 = rng.standard_normal((500, 64)).astype(np.float32)
    # 3900 columns, K blocks of 352: the wide loop order on one avx512 float thread (a B panel
    # of 352 x 3072 floats would pass 4 MiB), the usual order in each thread's narrower share
    x = rng.standard_normal((128, 700)).astype(np.float32)
    y = rng.standard_normal((700, 3900)).astype(np.float32)
    old = tg.config.num_threads()
    try:
        tg.config.set_num_threads(1)
        want_ab = tg.matmul(a, b).numpy().tobytes()
        want_vw = tg.matmul(v, w).numpy().tobytes()
        want_st = tg.matmul(s, t).numpy().tobytes()
        want_uw = tg.matmul(u, w2).numpy().tobytes()
        want_xy = tg.matmul(x, y).numpy().tobytes()
        for n in (2, 3, 5, 2, 7, 1, 4):
            tg.config.set_num_threads(n)
            for _ in range(3):
                assert tg.matmul(a, b).numpy().tobytes() == want_ab, f"{n} threads"
                assert tg.matmul(v, w).numpy().tobytes() == want_vw, f"{n} threads"
                assert tg.matmul(s, t).numpy().tobytes() == want_st, f"{n} threads"
                assert tg.matmul(u, w2).numpy().tobytes() == want_uw, f"{n} threads"
                assert tg.matmul(x, y).numpy().tobytes() == want_xy, f"{n} threads"
    finally:
        tg.config.set_num_threads(old)


def test_dynamic_gemm_schedule_when_threads_are_preempted():
    """More kernel threads than cores, with the cores also busy sorting in other Python threads:
    kernel threads are preempted in the middle of a step, so blocks are taken from other threads'
    ranges and finish out of order. Every product must still be the single-threaded bytes (each
    block waits for its own previous K block and for its step's shared packing)."""
    rng = np.random.default_rng(8)
    shapes = [((1000, 800), (800, 100)),  # along M: A blocks of MC rows, three K blocks
              ((250, 300), (300, 90)),    # along M with smaller blocks
              ((96, 700), (700, 900))]    # along N: A shared, blocks of B's columns
    mats = [(rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32))
            for sa, sb in shapes]
    stop = threading.Event()

    def hog():
        x = np.random.default_rng(0).random(200_000)
        while not stop.is_set():
            np.sort(x)  # releases the GIL: a core busy outside tapegrad

    hogs = [threading.Thread(target=hog) for _ in range(2)]
    old = tg.config.num_threads()
    try:
        tg.config.set_num_threads(1)
        want = [tg.matmul(a, b).numpy().tobytes() for a, b in mats]
        tg.config.set_num_threads((os.cpu_count() or 2) + 3)
        for h in hogs:
            h.start()
        for _ in range(40):
            for (a, b), w in zip(mats, want):
                assert tg.matmul(a, b).numpy().tobytes() == w
    finally:
        stop.set()
        for h in hogs:
            h.join()
        tg.config.set_num_threads(old)


def test_every_parallel_path_at_tiny_sizes_matches_one_thread():
    """With every threshold at 0, tiny and odd shapes go through the parallel splits (slices of
    zero or one unit per thread included) and must give the single-threaded bytes."""
    from tapegrad import _core
    rng = np.random.default_rng(6)
    cases = [((1, 1), (1, 1)), ((5, 3), (3, 1)), ((7, 70), (70, 1)), ((4, 80), (80, 3)),
             ((2, 64), (64, 10)), ((7, 9), (9, 17)), ((13, 40), (40, 33)), ((1, 300), (300, 5)),
             # the blocked kernel's dynamic schedule along N (shared A) and along M (shared B),
             # with blocks that have no rows or columns, and with several A and K blocks
             ((20, 50), (50, 40)), ((50, 40), (40, 20)), ((200, 300), (300, 208)),
             ((300, 300), (300, 100)),
             # 550 rows per thread on two threads, C no wider than an avx512 tile: halves that read A
             # in place (on more threads, the dynamic schedule); 1100 columns: the dynamic one
             ((1100, 20), (20, 30)), ((20, 30), (30, 1100)),
             # one micro-tile wide: one thread reads A in place, several pack it
             ((12, 2000), (2000, 16))]
    mats = [(rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32))
            for sa, sb in cases]
    # 200_003 floats: a full sum in four 64 Ki chunks, the only size here where sums split
    vecs = [tg.constant(rng.standard_normal(n).astype(np.float32))
            for n in (1, 2, 17, 33, 1000, 200_003)]

    def results():
        out = [tg.matmul(a, b).numpy().tobytes() for a, b in mats]
        for v in vecs:
            out += [tg.square(v).numpy().tobytes(), (v + v).numpy().tobytes(),
                    tg.reduce_sum(v).numpy().tobytes()]
        return out

    saved, old = _core._parallel_thresholds(), tg.config.num_threads()
    try:
        tg.config.set_num_threads(1)
        want = results()
        _core._set_parallel_thresholds(0, 0, 0, 0)
        for n in (2, 3, 5):
            tg.config.set_num_threads(n)
            assert results() == want, f"{n} threads"
    finally:
        _core._set_parallel_thresholds(saved["gemm_madds"], saved["few_columns_madds"],
                                       saved["gemv_madds"], saved["elementwise"])
        tg.config.set_num_threads(old)
    for (a, b), got in zip(mats, want):
        np.testing.assert_allclose(np.frombuffer(got, np.float32).reshape(a.shape[0], b.shape[1]),
                                   a.astype(np.float64) @ b, rtol=1e-5, atol=1e-6 * a.shape[1])


def test_set_parallel_thresholds_rejects_negative_sizes():
    from tapegrad import _core
    with pytest.raises(ValueError, match="_set_parallel_thresholds"):
        _core._set_parallel_thresholds(-1, 0, 0, 0)
