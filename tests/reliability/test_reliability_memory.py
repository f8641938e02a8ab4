"""Nothing leaks over a long training run.

30,000 training steps of a two-layer Dense model, each step using both implicit gradients
(``implicit_value_and_gradients`` + ``GradientDescent.apply_gradients``) and a persistent
``GradientTape`` asked for three gradients (and every 50th step a nested tape for a second
derivative). Checked:

* the engine's live tensor and tape counts and the allocator's live bytes are the same at the
  same point of the loop at every checkpoint (no per-step growth), and return to their starting
  values once the model is dropped;
* the process's resident memory stays flat after warm-up: a bound of a few MiB, never a time.

The RSS bound is skipped under AddressSanitizer (its quarantine and shadow memory grow by design);
the count checks run everywhere.
"""

import gc
import os

import numpy as np
import pytest

import tapegrad as tg
from sanitizer_env import under_asan
from tapegrad import _core

STEPS = 30_000
WARMUP = 3_000
CHECK_EVERY = 1_000
RSS_BOUND_MIB = 2.0




def _rss_bytes():
    """Resident set size of this process, from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _engine_counts():
    stats = _core.allocator_stats()
    return {"tensors": _core.live_tensors(), "tapes": _core.live_tapes(), "live_bytes": stats["live_bytes"]}


def _init(rng):
    def init(shape, dtype):
        return (rng.standard_normal(shape) * 0.3).astype(dtype)
    return init


class _Model:
    """Two Dense layers and the two ways of training them."""

    def __init__(self, seed, dtype=np.float32):
        rng = np.random.default_rng(seed)
        self.x = tg.constant(rng.standard_normal((32, 8)), dtype=dtype)
        self.y = tg.constant(rng.standard_normal((32, 1)), dtype=dtype)
        self.l1 = tg.Dense(16, kernel_initializer=_init(rng), name=f"leak_l1_{seed}")
        self.l2 = tg.Dense(1, kernel_initializer=_init(rng), name=f"leak_l2_{seed}")
        self.opt = tg.GradientDescent(1e-3)
        self.value_and_grads = tg.implicit_value_and_gradients(self.loss)

    def loss(self, x, y):
        return tg.reduce_mean(tg.square(self.l2(self.l1(x)) - y))

    def step(self, i):
        # implicit gradients
        loss, grads_and_vars = self.value_and_grads(self.x, self.y)
        self.opt.apply_gradients(grads_and_vars)
        # a persistent tape asked several times, with a watched constant as an extra source
        variables = self.l1.variables + self.l2.variables
        with tg.GradientTape(persistent=True) as tape:
            tape.watch(self.x)
            loss2 = tg.reduce_mean(tg.square(self.l2(self.l1(self.x)) - self.y))
            reg = tg.reduce_sum(tg.square(self.l1.kernel)) * 1e-4
        grads = tape.gradient(loss2, variables)
        gx = tape.gradient(loss2, self.x)
        greg = tape.gradient(reg, [self.l1.kernel, self.l2.kernel], unconnected_gradients="zero")
        assert gx is not None and greg[1] is not None
        self.opt.apply_gradients(zip(grads, variables))
        if i % 50 == 0:
            # nested tapes: a second derivative, and a tape discarded without gradient()
            x = tg.constant(1.5)
            with tg.GradientTape() as outer:
                outer.watch(x)
                with tg.GradientTape() as inner:
                    inner.watch(x)
                    z = x * x * x
                dz = inner.gradient(z, x)
            d2z = outer.gradient(dz, x)
            assert float(d2z) == pytest.approx(9.0)
            with tg.GradientTape() as unused:
                _ = self.l1(self.x)
            del unused
        return float(loss)


def test_long_training_run_does_not_leak():
    gc.collect()
    start = _engine_counts()
    check_rss = _rss_bytes() is not None and not under_asan()

    model = _Model(seed=1)
    first_loss = last_loss = None  # no per-step list: it would grow the RSS itself
    at_checkpoint = None
    rss_base = None
    rss_samples = []
    for i in range(STEPS):
        last_loss = model.step(i)
        if first_loss is None:
            first_loss = last_loss
        if (i + 1) % CHECK_EVERY == 0 and i + 1 >= WARMUP:
            counts = _engine_counts()
            if at_checkpoint is None:
                at_checkpoint = counts
                gc.collect()
                rss_base = _rss_bytes() if check_rss else None
            else:
                assert counts == at_checkpoint, (
                    f"engine state grows during training: step {i + 1}: {counts}, "
                    f"step {WARMUP}: {at_checkpoint}")
                if check_rss:
                    rss_samples.append((i + 1, _rss_bytes()))

    assert np.isfinite(last_loss) and last_loss < first_loss, f"the model did not train: {first_loss} -> {last_loss}"

    if check_rss:
        step, worst = max(rss_samples, key=lambda s: s[1])
        growth_mib = (worst - rss_base) / 2 ** 20
        assert growth_mib <= RSS_BOUND_MIB, (
            f"resident memory grew by {growth_mib:.2f} MiB between step {WARMUP} and step {step} "
            f"(bound {RSS_BOUND_MIB} MiB); samples (step, MiB): "
            f"{[(s, round(r / 2 ** 20, 1)) for s, r in rss_samples]}")

    del model
    gc.collect()
    end = _engine_counts()
    assert end == start, f"engine objects left behind after training: start {start}, end {end}"


def test_failed_ops_and_gradients_leak_nothing():
    """Errors thrown from the engine (mid-op, mid-gradient, mid-update) free what they made."""
    gc.collect()
    start = _engine_counts()
    v = tg.Variable(np.ones((4, 3), np.float32), name="leak_v")
    w = tg.Variable(np.ones((3,), np.float32), name="leak_w")
    x = tg.constant(np.ones((5, 4), np.float32))
    opt = tg.GradientDescent(0.1)
    for _ in range(2_000):
        with tg.GradientTape(persistent=True) as tape:
            y = tg.matmul(x, v) + w
            with pytest.raises(ValueError):
                tg.matmul(y, x)
            with pytest.raises(TypeError):
                tg.add(y, np.ones((5, 3)))  # float64 array is strong: dtype mismatch
            with pytest.raises(ValueError):
                tg.reshape(y, (7, -1))
        with pytest.raises(ValueError):
            tape.gradient(y, v, output_gradients=np.ones((3, 5), np.float32))
        g = tape.gradient(y, [v, w])
        with pytest.raises(ValueError):
            opt.apply_gradients([(g[0], v), (tg.constant(np.ones(4, np.float32)), w)])
        with pytest.raises(RuntimeError):
            with tg.GradientTape() as once:
                once.watch(x)
                z = x * 2.0
            once.gradient(z, x)
            once.gradient(z, x)
        del tape, g, y, z, once
    np.testing.assert_array_equal(v.numpy(), np.ones((4, 3)))
    del v, w, x, opt  # the optimizer holds its step counter and learning rate in the engine
    gc.collect()
    assert _engine_counts() == start
