"""Reductions: float32 sums as accurate as numpy's pairwise sum, and the fused backward shortcuts
of square and the reductions giving the bits of their recordable rules."""

import numpy as np
import pytest

import tapegrad as tg


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_reduction_accuracy(dtype, rng):
    """float32 sums of 10^6 positive values must stay accurate (no naive running sum)."""
    x = rng.random(1_000_003).astype(dtype) + np.asarray(0.1, dtype)
    ref = np.sum(x.astype(np.float64))
    t = tg.constant(x)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert float(tg.reduce_sum(t)) == pytest.approx(ref, rel=rtol)
    assert float(tg.reduce_mean(t)) == pytest.approx(ref / x.size, rel=rtol)
    m = x[:1_000_000].reshape(1000, 1000)
    np.testing.assert_allclose(np.asarray(tg.reduce_sum(m, axis=0)), m.astype(np.float64).sum(axis=0), rtol=rtol)
    np.testing.assert_allclose(np.asarray(tg.reduce_mean(m, axis=1)), m.astype(np.float64).mean(axis=1), rtol=rtol)
    big = x[:200_000].reshape(200_000, 1)
    np.testing.assert_allclose(np.asarray(tg.reduce_sum(big, axis=0)), [big.astype(np.float64).sum()], rtol=rtol)


@pytest.mark.parametrize("values", ["positive", "mixed_sign"])
def test_float32_sum_of_ten_million_at_least_as_accurate_as_numpy(values, rng):
    """The accuracy bar: float32 sums over 10^7 elements at least as accurate as numpy's pairwise
    sum. Error against the float64 sum; half a float32 ulp of the result is the best any float32
    answer can do (both land there for positive values)."""
    n = 10_000_000
    x = (rng.random(n, dtype=np.float32) + np.float32(0.1) if values == "positive"
         else rng.standard_normal(n, dtype=np.float32))
    ref = np.sum(x.astype(np.float64))
    floor = float(np.spacing(np.abs(np.float32(ref)))) / 2
    t = tg.constant(x)
    err_sum = abs(float(tg.reduce_sum(t)) - ref)
    assert err_sum <= max(abs(float(np.sum(x)) - ref), floor) * (1 + 1e-6)
    err_mean = abs(float(tg.reduce_mean(t)) - ref / n)
    np_err_mean = abs(float(np.mean(x)) - ref / n)
    assert err_mean <= max(np_err_mean, float(np.spacing(np.abs(np.float32(ref / n)))) / 2) * (1 + 1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [7, 1000, 300_001])  # the largest is split between threads
def test_fused_backward_shortcuts_match_recordable_rules(size, dtype, rng):
    """With no tape recording the backward pass, square's and the reductions' rules take one-pass
    shortcuts (2 x g in one kernel, a scaled fill); under a recording outer tape they use the
    recordable formulas. Both must give the same bits."""
    x = tg.constant(rng.standard_normal(size).astype(dtype))
    w = tg.constant(rng.standard_normal(size).astype(dtype))

    def grads():
        with tg.GradientTape() as tape:
            tape.watch(x)
            loss = tg.reduce_mean(tg.square(x * w)) + tg.reduce_sum(tg.square(x))
        return tape.gradient(loss, x).numpy()

    fused = grads()
    with tg.GradientTape() as outer:
        outer.watch(x)
        recorded = grads()
    want = (2 * (x.numpy().astype(np.float64) * w.numpy()) * w.numpy() / size
            + 2 * x.numpy().astype(np.float64))
    np.testing.assert_allclose(fused, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert np.array_equal(fused, recorded)
