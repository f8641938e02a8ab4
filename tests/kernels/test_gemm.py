"""GEMM kernel paths: every path (blocked, in place, few columns, GEMV, outer product, streamed C,
the dynamic and fixed-halves multi-thread schedules) within the float64 product's error bound in
every transpose combination, and the same bits for any thread count or call order."""

import numpy as np
import pytest

import tapegrad as tg


def _np_matmul(ta, tb):
    def f(a, b):
        a = np.swapaxes(a, -1, -2) if ta else a
        b = np.swapaxes(b, -1, -2) if tb else b
        return np.matmul(a, b)
    return f


# Shapes that reach each GEMM path: the blocked kernel across its block edges (m past MC = 120,
# k past KC = 256 and not a multiple of the 8 rows packed at a time, n past NC = 3072 or not a
# multiple of the 16-wide tile), the in-place path (n <= 16, short k), the k-vectorized
# few-columns kernel (2 <= n < 16, k >= 64, B transposed in whole and masked register tiles),
# GEMV (n = 1) large enough to be split between threads, the outer product (k = 1), and a C
# large enough to be written with non-temporal stores; in every transpose combination.
KERNEL_PATH_SHAPES = [
    ("blocked_edges", 197, 261, 35),
    ("blocked_wide", 13, 300, 70),
    ("blocked_past_nc", 9, 20, 6500),  # n past NC = 3072 even when split between two threads
    ("blocked_past_kc", 30, 800, 45),  # k past KC (256 avx2, 384 avx512): later K blocks accumulate
    ("one_k_block", 520, 500, 40),  # avx512 float, 512 rows or more: k = 500 as one K block
    ("in_place_n16", 50, 40, 16),
    ("in_place_n32", 29, 40, 32),  # one whole avx512 float tile wide; two avx2 tiles
    ("few_columns", 31, 300, 10),
    ("few_columns_n2", 8, 65, 2),
    ("few_columns_n8", 5, 64, 8),  # B transposed in whole register tiles only
    ("few_columns_n15", 11, 71, 15),  # a full tile and a masked 7-column one, and a k tail
    ("few_columns_threaded", 256, 784, 10),  # zmm dot products on avx512 (k = 300 above: ymm)
    ("gemv_threaded", 17000, 64, 1),
    # GEMV k that the avx512 path gives the ymm kernel (k % 16 >= 8, and k < 16) and the zmm one
    # with a scalar tail
    ("gemv_k75", 300, 75, 1),
    ("gemv_k12", 500, 12, 1),
    ("gemv_k35", 400, 35, 1),
    ("streamed_c", 1100, 40, 528),  # C past 2 MiB written once (k <= KC): non-temporal stores
    ("outer", 40, 1, 33),
    # On several threads, the dynamic schedule (kernels/gemm/schedule.h): A blocks of MC rows, three K
    # blocks (each step's shared B buffer is reused two steps later); C at least as tall as wide
    # with few A blocks (smaller blocks); two B panels (n past NC); one micro-tile wide.
    ("dynamic_blocks", 1000, 800, 100),
    ("dynamic_small_blocks", 250, 300, 90),
    ("dynamic_past_nc", 960, 40, 3100),
    ("dynamic_n16", 700, 90, 16),
    # On two threads, C one micro-tile wide with 512+ rows per thread: fixed halves of rows, each
    # reading its own part of A in place (with A transposed, a column offset).
    ("fixed_halves", 1100, 40, 6),
] + [(f"small_{m}x{k}x{n}", m, k, n) for m, k, n in (
    # The small path (kernels/gemm/small.h): one K block, operands of 128 KiB or less, C up to 256
    # rows; B in place when its rows are whole micro-tiles wide (n = 128 is on every ISA), else
    # packed once.
    (32, 64, 128), (32, 128, 128), (128, 32, 128), (64, 32, 128),
    (29, 40, 96), (37, 100, 50), (7, 200, 40), (256, 32, 64))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tb", [False, True], ids=["b", "bT"])
@pytest.mark.parametrize("ta", [False, True], ids=["a", "aT"])
@pytest.mark.parametrize("case,m,k,n", KERNEL_PATH_SHAPES, ids=[c[0] for c in KERNEL_PATH_SHAPES])
def test_matmul_kernel_paths_match_float64(case, m, k, n, ta, tb, dtype, rng):
    _check_matmul_against_float64(case, m, k, n, ta, tb, dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tb", [False, True], ids=["b", "bT"])
@pytest.mark.parametrize("ta", [False, True], ids=["a", "aT"])
def test_matmul_wide_order_on_one_thread_matches_float64(ta, tb, dtype, rng):
    """On one avx512 float thread, a C this wide takes the wide loop order: the packed B panel
    of the usual order (a K block of 352 x 3072 columns) would pass 4 MiB. Two M blocks (72 + 56
    rows: the last tile takes the 8-row loop), B in panels of 1024 columns (the last partial),
    two K blocks accumulating; each panel (1.4 MiB) is past the size from which the tiles
    prefetch the next B micro-panel. Several threads split C into shares too narrow for the wide
    order (test_kernel_threads checks both give the same bits)."""
    saved = tg.config.num_threads()
    tg.config.set_num_threads(1)
    try:
        _check_matmul_against_float64("wide_order", 128, 700, 3900, ta, tb, dtype, rng)
    finally:
        tg.config.set_num_threads(saved)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tb", [False, True], ids=["b", "bT"])
@pytest.mark.parametrize("ta", [False, True], ids=["a", "aT"])
@pytest.mark.parametrize("threads", [1, 2])
def test_matmul_fixed_halves_match_float64(threads, ta, tb, dtype, rng):
    """The weight gradient of a wide layer with a small output: C one micro-tile wide and at
    least 512 rows per thread, split into fixed halves that each read A in place."""
    saved = tg.config.num_threads()
    tg.config.set_num_threads(threads)
    try:
        _check_matmul_against_float64("fixed_halves", 1100, 40, 6, ta, tb, dtype, rng)
    finally:
        tg.config.set_num_threads(saved)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case,m,k,n", [c for c in KERNEL_PATH_SHAPES if c[0].startswith("dynamic")],
                         ids=[c[0] for c in KERNEL_PATH_SHAPES if c[0].startswith("dynamic")])
def test_matmul_dynamic_schedule_same_bits_for_any_thread_count(case, m, k, n, dtype, rng):
    """Threads claim the dynamic schedule's items in whatever order the OS runs them; every C
    element must still be computed as on one thread (same tiles, K blocks in order)."""
    a = rng.standard_normal((k, m)).astype(dtype)  # transposed A: the packer that transposes
    b = rng.standard_normal((k, n)).astype(dtype)
    saved = tg.config.num_threads()
    try:
        tg.config.set_num_threads(1)
        want = tg.matmul(a, b, transpose_a=True).numpy().tobytes()
        for threads in (2, 3, 5):
            tg.config.set_num_threads(threads)
            for _ in range(2):
                assert tg.matmul(a, b, transpose_a=True).numpy().tobytes() == want, f"{threads} threads"
    finally:
        tg.config.set_num_threads(saved)
    _check_matmul_against_float64(case, m, k, n, True, False, dtype, rng)


# The small path's shapes, each beside a product with the same first rows and more of them
# (past the small path's 256): the blocked path's.
# C at most one vector wide (n <= 16) takes narrow tiles of up to 24 rows where the few-columns
# kernel does not (A transposed, k < 64, or n = 16).
SMALL_SHAPES = [(32, 64, 128), (32, 128, 128), (128, 32, 128), (29, 40, 96), (37, 100, 50),
                (7, 200, 40), (4, 300, 36), (256, 32, 64), (17, 384, 130),
                (128, 32, 10), (256, 32, 10), (200, 40, 16), (60, 100, 16), (100, 50, 7),
                (30, 300, 12), (9, 400, 16)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tb", [False, True], ids=["b", "bT"])
@pytest.mark.parametrize("ta", [False, True], ids=["a", "aT"])
@pytest.mark.parametrize("m,k,n", SMALL_SHAPES, ids=[f"{m}x{k}x{n}" for m, k, n in SMALL_SHAPES])
def test_small_path_gives_the_blocked_paths_bits(m, k, n, ta, tb, dtype, rng):
    """A small product (A and, where its rows allow, B read in place, kernels/gemm/small.h) and
    the first m rows of a 300-row product (packed, blocked) compute each C element with the same
    chain of multiply-adds: the same bits, on one thread and on two."""
    a = rng.standard_normal((k, 300) if ta else (300, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    small_a = np.ascontiguousarray(a[:, :m] if ta else a[:m])
    saved = tg.config.num_threads()
    try:
        for threads in (1, 2):
            tg.config.set_num_threads(threads)
            want = tg.matmul(a, b, transpose_a=ta, transpose_b=tb).numpy()[:m]
            got = tg.matmul(small_a, b, transpose_a=ta, transpose_b=tb).numpy()
            assert got.tobytes() == want.tobytes(), f"{threads} threads"
    finally:
        tg.config.set_num_threads(saved)


def _check_matmul_against_float64(case, m, k, n, ta, tb, dtype, rng):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    want = _np_matmul(ta, tb)(a.astype(np.float64), b.astype(np.float64))
    got = tg.matmul(a, b, transpose_a=ta, transpose_b=tb).numpy()
    assert got.dtype == dtype and got.shape == (m, n)
    # Error bound of a length-k dot product: k * eps * sum |a_i b_i|.
    scale = _np_matmul(ta, tb)(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(got - want) <= 2 * k * eps * scale + 1e-30), f"matmul[{case}] off the float64 product"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [67, 75])  # on avx512: zmm rows with a tail of 3, ymm rows
@pytest.mark.parametrize("m", [4000, 4001, 4003, 4005, 4007])
def test_gemv_alternating_direction_same_bits(m, k, dtype, rng):
    """On one thread the GEMV reads A last row to first on every other call (for L2 reuse);
    each call must give the same bits, every row included (m % 8 leaves 1-7 single rows, which
    the descending order takes first), and stay within the float64 product's error bound."""
    saved = tg.config.num_threads()
    tg.config.set_num_threads(1)
    try:
        a = rng.standard_normal((m, k)).astype(dtype)
        x = rng.standard_normal((k, 1)).astype(dtype)
        calls = [tg.matmul(a, x).numpy() for _ in range(3)]
    finally:
        tg.config.set_num_threads(saved)
    want = a.astype(np.float64) @ x.astype(np.float64)
    bound = 2 * k * np.finfo(dtype).eps * (np.abs(a).astype(np.float64) @ np.abs(x).astype(np.float64))
    for got in calls:
        assert np.all(np.abs(got - want) <= bound + 1e-30), "GEMV off the float64 product"
    assert np.array_equal(calls[0], calls[1]) and np.array_equal(calls[1], calls[2])



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [2, 15, 4096, 65536, 65537, 300001])
def test_dot_products_same_bits_for_any_thread_count(k, dtype, rng):
    """m == n == 1 with both operands contiguous (x^T y, x y^T, row @ column) is the dot path:
    fixed chunks above the parallel threshold, added in order, so every thread count gives the
    same bits; within the float64 product's error bound."""
    saved = tg.config.num_threads()
    x = rng.standard_normal((k, 1)).astype(dtype)
    y = rng.standard_normal((k, 1)).astype(dtype)
    try:
        tg.config.set_num_threads(1)
        want = tg.matmul(x, y, transpose_a=True).numpy().tobytes()
        assert tg.matmul(x.reshape(1, k), y).numpy().tobytes() == want
        assert tg.matmul(x.reshape(1, k), y.reshape(1, k), transpose_b=True).numpy().tobytes() == want
        for threads in (2, 3):
            tg.config.set_num_threads(threads)
            assert tg.matmul(x, y, transpose_a=True).numpy().tobytes() == want, f"{threads} threads"
    finally:
        tg.config.set_num_threads(saved)
    for ta, tb, a, b in [(True, False, x, y), (False, False, x.reshape(1, k), y)]:
        got = tg.matmul(a, b, transpose_a=ta, transpose_b=tb).numpy()
        exact = float(np.dot(x[:, 0].astype(np.float64), y[:, 0].astype(np.float64)))
        bound = 2 * k * np.finfo(dtype).eps * float(np.abs(x[:, 0].astype(np.float64)) @ np.abs(y[:, 0]))
        assert abs(float(got[0, 0]) - exact) <= bound + 1e-30


@pytest.mark.parametrize("k", [3, 4095, 4096, 65535, 65536, 200003])
def test_float32_dot_is_the_sum_of_the_rounded_products(k, rng):
    """A float32 dot product sums the multiply kernel's products in reduce_sum's order, bit for
    bit: tg.function fuses a dot as a multiply and a sum on that promise (on every ISA, as
    test_isa reruns this file)."""
    x = tg.constant(rng.standard_normal((k, 1)).astype(np.float32))
    y = tg.constant(rng.standard_normal((k, 1)).astype(np.float32))
    dot = tg.matmul(x, y, transpose_a=True).numpy()
    assert dot.tobytes() == tg.reduce_sum(x * y).numpy().reshape(1, 1).tobytes()
