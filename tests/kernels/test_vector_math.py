"""The vector math (cpp/kernels/simd/vec_math.h): a reduced, seeded accuracy sweep per function
and dtype held to its ulp bound, every instruction set bitwise equal to the scalar reference, and
the IEEE edge values exact. The full sweep (10^7 values, with numpy beside) is
bench/vector_math_accuracy.py, whose sampling and ulp measure this reuses."""

import math
import os
import sys

import numpy as np
import pytest

import tapegrad as tg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "bench"))
import vector_math_accuracy as sweep  # noqa: E402

N = 200_000
CASES = [(np.float32, name) for name in sweep.F32] + [(np.float64, name) for name in sweep.F64]
ISAS = [isa for isa in ("scalar", "avx2", "avx512") if isa in tg.config.available_isas()]


@pytest.fixture
def restore_isa():
    before = tg.config.isa()
    yield
    tg.config.set_isa(before)


def _run(name, x, isa):
    tg.config.set_isa(isa)
    return getattr(tg, name)(tg.constant(x)).numpy()


def _bits(y):
    return y.view(np.uint32 if y.dtype == np.float32 else np.uint64)


def _table(dtype):
    return sweep.F32 if dtype == np.float32 else sweep.F64


@pytest.mark.parametrize("dtype,name", CASES, ids=[f"{n}-{np.dtype(d).name}" for d, n in CASES])
def test_sweep_within_ulp_bound_and_same_bits_on_every_isa(dtype, name, restore_isa):
    domain, bound = _table(dtype)[name]
    x = sweep.samples(N, dtype, domain, seed=1234)
    # an odd length, so every vector width leaves a tail for the scalar code
    x = np.concatenate([x, x[: (9 - x.size) % 64]])
    reference = _run(name, x, "scalar")
    err = sweep.ulp_errors(reference, x, name)
    held = np.abs(x) <= sweep.TRIG_LIMIT if name in ("sin", "cos") else np.ones(x.shape, bool)
    worst = np.argmax(np.where(held, err, 0))
    assert err[held].max() <= bound, f"{name} {np.dtype(dtype).name}: {err[worst]:.3f} ulp at x={x[worst]!r}"
    for isa in ISAS:
        y = _run(name, x, isa)
        diff = np.flatnonzero(_bits(y) != _bits(reference))
        assert diff.size == 0, f"{name} on {isa} differs from scalar at x={x[diff[:5]]!r}"


# (function, input, expected) checked bit for bit (the sign of zeros included), both dtypes
# unless the function has a float32 body only.
INF, NAN = math.inf, math.nan
EDGES = {
    "exp": [(-INF, 0.0), (INF, INF), (NAN, NAN), (0.0, 1.0), (-0.0, 1.0), (1e4, INF), (-1e4, 0.0)],
    "log": [(0.0, -INF), (-0.0, -INF), (-1.0, NAN), (-INF, NAN), (INF, INF), (NAN, NAN), (1.0, 0.0)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (-INF, -1.0), (INF, INF), (NAN, NAN), (-200.0, -1.0), (200.0, INF)],
    "log1p": [(0.0, 0.0), (-0.0, -0.0), (-1.0, -INF), (-2.0, NAN), (-INF, NAN), (INF, INF), (NAN, NAN)],
    "tanh": [(0.0, 0.0), (-0.0, -0.0), (INF, 1.0), (-INF, -1.0), (NAN, NAN), (50.0, 1.0), (-50.0, -1.0)],
    "sigmoid": [(0.0, 0.5), (-0.0, 0.5), (INF, 1.0), (-INF, 0.0), (NAN, NAN), (-200.0, 0.0), (200.0, 1.0)],
    "sin": [(0.0, 0.0), (-0.0, -0.0), (INF, NAN), (-INF, NAN), (NAN, NAN)],
    "cos": [(0.0, 1.0), (-0.0, 1.0), (INF, NAN), (-INF, NAN), (NAN, NAN)],
}
EDGE_CASES = [(d, n) for d, n in CASES]


@pytest.mark.parametrize("dtype,name", EDGE_CASES, ids=[f"{n}-{np.dtype(d).name}" for d, n in EDGE_CASES])
def test_edge_values_are_ieee(dtype, name, restore_isa):
    x = np.array([v for v, _ in EDGES[name]], dtype=dtype)
    want = np.array([v for _, v in EDGES[name]], dtype=dtype)
    for isa in ISAS:
        # repeated to a full vector and a tail, so both the SIMD body and the scalar code see them
        y = _run(name, np.tile(x, 7), isa).reshape(7, -1)
        for row in y:
            same = (row == want) & (np.signbit(row) == np.signbit(want)) | (np.isnan(row) & np.isnan(want))
            assert same.all(), f"{name} on {isa}: {x[~same]} -> {row[~same]}, want {want[~same]}"


def test_subnormal_results_and_arguments(restore_isa):
    tiny32 = np.finfo(np.float32).smallest_subnormal
    tiny64 = np.finfo(np.float64).smallest_subnormal
    for isa in ISAS:
        # e^x for x just above the underflow threshold gives the nearest subnormal
        assert _run("exp", np.array([-103.0], np.float32), isa)[0] == np.float32(np.exp(-103.0))
        assert _run("exp", np.array([-745.0], np.float64), isa)[0] == np.exp(-745.0)
        assert _run("log", np.array([tiny32], np.float32), isa)[0] == np.float32(np.log(float(tiny32)))
        assert _run("log", np.array([tiny64], np.float64), isa)[0] == np.float64(np.log(np.longdouble(tiny64)))
        # odd functions return a subnormal argument unchanged
        for name in ("expm1", "log1p", "tanh", "sin"):
            assert _run(name, np.array([tiny32, -tiny32], np.float32), isa).tolist() == [tiny32, -tiny32]


def test_sin_cos_large_lanes_in_a_vector_keep_the_scalar_bits(restore_isa):
    # one lane beyond the polynomial's range (C library) among covered lanes, in every position
    base = np.linspace(-50, 50, 64, dtype=np.float32)
    for pos in range(16):
        x = base.copy()
        x[pos] = 3e7
        for name in ("sin", "cos"):
            ref = _run(name, x, "scalar")
            for isa in ISAS:
                assert np.array_equal(_bits(_run(name, x, isa)), _bits(ref))

