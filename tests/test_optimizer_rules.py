"""Optimizer update rules: every optimizer's trajectory over several steps against its TensorFlow
rule written out in float64 numpy (slots included), against torch.optim where the rules coincide,
and the same bits on every instruction set and for any kernel thread count.

torch.optim comparisons:
- Momentum: torch's ``SGD(momentum=m, nesterov=...)`` is TF's ``ApplyMomentum`` with a constant
  learning rate (torch's first step sets the buffer to the gradient; TF's accumulator starts at
  zero, giving the same value). Compared.
- Adam: torch adds epsilon to ``sqrt(v) / sqrt(1 - beta2**t)``, TF to ``sqrt(v)`` with the bias
  correction folded into the step size. The rules coincide when epsilon is negligible: compared
  with epsilon = 1e-300, and a test pins that they differ where epsilon matters.
- RMSProp: torch's RMSprop starts the mean square at zeros (TF: ones) and adds epsilon outside the
  square root (TF: inside). No equivalent setting; not compared.
"""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _core

SHAPES = [(3, 4), (5,), ()]
STEPS = 6


# ---------------------------------------------------------------------------------------------
# The rules in float64 numpy, in the order of operations of TensorFlow's kernels
# ---------------------------------------------------------------------------------------------

def momentum_rule(momentum, use_nesterov):
    def step(var, g, s, lr, t):
        s["momentum"] = s["momentum"] * momentum + g
        if use_nesterov:
            return var - (g * lr + s["momentum"] * momentum * lr)
        return var - s["momentum"] * lr
    return step


def adam_rule(beta1, beta2, epsilon):
    def step(var, g, s, lr, t):
        alpha = lr * np.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
        s["m"] = s["m"] + (g - s["m"]) * (1.0 - beta1)
        s["v"] = s["v"] + (g * g - s["v"]) * (1.0 - beta2)
        return var - (s["m"] * alpha) / (np.sqrt(s["v"]) + epsilon)
    return step


def rmsprop_rule(decay, momentum, epsilon, centered):
    def step(var, g, s, lr, t):
        s["rms"] = s["rms"] + (g * g - s["rms"]) * (1.0 - decay)
        if centered:
            s["mg"] = s["mg"] + (g - s["mg"]) * (1.0 - decay)
            denom = (s["rms"] - s["mg"] * s["mg"]) + epsilon
        else:
            denom = s["rms"] + epsilon
        s["momentum"] = s["momentum"] * momentum + (g * lr) / np.sqrt(denom)
        return var - s["momentum"]
    return step


def schedule(t):
    """The callable learning rate's value at step t (1-based): a decaying schedule."""
    return 0.05 / (1.0 + 0.5 * (t - 1))


# id: (make optimizer from a learning rate, rule, slots with initial values, learning rate)
CASES = {
    "momentum": (lambda lr: tg.Momentum(lr, 0.9), momentum_rule(0.9, False), {"momentum": 0.0}, 0.05),
    "momentum_nesterov": (lambda lr: tg.Momentum(lr, 0.7, use_nesterov=True), momentum_rule(0.7, True),
                          {"momentum": 0.0}, 0.05),
    "momentum_nesterov_callable_lr": (lambda lr: tg.Momentum(lr, 0.7, use_nesterov=True),
                                      momentum_rule(0.7, True), {"momentum": 0.0}, schedule),
    "adam": (lambda lr: tg.Adam(lr), adam_rule(0.9, 0.999, 1e-8), {"m": 0.0, "v": 0.0}, 0.01),
    "adam_callable_lr": (lambda lr: tg.Adam(lr, beta1=0.8, beta2=0.99, epsilon=1e-6),
                         adam_rule(0.8, 0.99, 1e-6), {"m": 0.0, "v": 0.0}, schedule),
    "rmsprop": (lambda lr: tg.RMSProp(lr), rmsprop_rule(0.9, 0.0, 1e-10, False),
                {"rms": 1.0, "momentum": 0.0}, 0.01),
    "rmsprop_momentum": (lambda lr: tg.RMSProp(lr, decay=0.8, momentum=0.5, epsilon=1e-6),
                         rmsprop_rule(0.8, 0.5, 1e-6, False), {"rms": 1.0, "momentum": 0.0}, 0.01),
    "rmsprop_centered": (lambda lr: tg.RMSProp(lr, decay=0.9, momentum=0.3, centered=True),
                         rmsprop_rule(0.9, 0.3, 1e-10, True), {"rms": 1.0, "momentum": 0.0, "mg": 0.0}, 0.01),
    "rmsprop_centered_callable_lr": (lambda lr: tg.RMSProp(lr, centered=True), rmsprop_rule(0.9, 0.0, 1e-10, True),
                                     {"rms": 1.0, "momentum": 0.0, "mg": 0.0}, schedule),
    "gradient_descent_callable_lr": (lambda lr: tg.GradientDescent(lr), lambda var, g, s, lr, t: var - lr * g,
                                     {}, schedule),
}


def trajectory_inputs(rng, dtype):
    inits = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return inits, grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_follows_the_tensorflow_rule(case, dtype, rng):
    make, rule, slot_init, lr = CASES[case]
    inits, grads = trajectory_inputs(rng, dtype)
    calls = []

    def counted_schedule():
        calls.append(1)
        return schedule(len(calls))

    opt = make(counted_schedule if callable(lr) else lr)
    variables = [tg.Variable(x, name=f"rule_{i}") for i, x in enumerate(inits)]
    ref_vars = [x.astype(np.float64) for x in inits]
    ref_slots = [{k: np.full(s, v, np.float64) for k, v in slot_init.items()} for s in SHAPES]
    tol = dict(rtol=1e-13, atol=1e-15) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for t in range(1, STEPS + 1):
        opt.apply_gradients(zip(grads[t - 1], variables))
        step_lr = schedule(t) if callable(lr) else lr
        for i in range(len(SHAPES)):
            ref_vars[i] = rule(ref_vars[i], grads[t - 1][i].astype(np.float64), ref_slots[i], step_lr, t)
        assert opt.iterations == t
        for i, v in enumerate(variables):
            assert v.dtype == dtype and v.shape == SHAPES[i]
            np.testing.assert_allclose(v.numpy(), ref_vars[i], **tol, err_msg=f"{case} step {t} variable {i}")
            for name, want in ref_slots[i].items():
                slot = opt.get_slot(v, name)
                assert slot.dtype == dtype and slot.shape == SHAPES[i] and not slot.trainable
                np.testing.assert_allclose(slot.numpy(), want, **tol, err_msg=f"{case} step {t} slot {name}")
    if callable(lr):
        assert len(calls) == STEPS  # called once per update
    assert [s.name for s in opt.variables()] == [
        f"rule_{i}/{opt.name}/{name}:0" for i in range(len(SHAPES)) for name in slot_init]


def test_float64_trajectories_agree_to_the_last_bit(rng):
    """The kernels keep TensorFlow's order of operations: in float64 a numpy replica written the
    same way agrees exactly (IEEE operations, no contraction)."""
    for case in ("momentum_nesterov", "adam", "rmsprop_centered"):
        make, rule, slot_init, lr = CASES[case]
        x = rng.standard_normal((7, 3))
        var, opt = tg.Variable(x), make(lr)
        ref, slots = x.copy(), {k: np.full(x.shape, v) for k, v in slot_init.items()}
        for t in range(1, STEPS + 1):
            g = rng.standard_normal(x.shape)
            opt.apply_gradients([(g, var)])
            ref = rule(ref, g, slots, lr, t)
        assert var.numpy().tobytes() == ref.tobytes(), case


def test_optimizers_reduce_a_quadratic():
    """A sanity check on the meaning: each optimizer brings a quadratic's minimizer close."""
    target = np.array([1.0, -2.0, 3.0])
    for opt in [tg.GradientDescent(0.1), tg.Momentum(0.05, 0.9), tg.Momentum(0.05, 0.9, use_nesterov=True),
                tg.Adam(0.1), tg.RMSProp(0.05), tg.RMSProp(0.02, momentum=0.5, centered=True)]:
        v = tg.Variable(np.zeros(3))
        for _ in range(300):
            opt.minimize(lambda: tg.reduce_sum(tg.square(v - target)))
        np.testing.assert_allclose(v.numpy(), target, atol=0.05, err_msg=repr(opt))


# ---------------------------------------------------------------------------------------------
# torch.optim where the rules coincide
# ---------------------------------------------------------------------------------------------

def torch_trajectory(make_torch, inits, grads):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(x, requires_grad=True) for x in inits]
    opt = make_torch(params)
    for step in grads:
        for p, g in zip(params, step):
            p.grad = torch.tensor(g)
        opt.step()
    return [p.detach().numpy() for p in params]


def tapegrad_trajectory(opt, inits, grads):
    variables = [tg.Variable(x) for x in inits]
    for step in grads:
        opt.apply_gradients(zip(step, variables))
    return [v.numpy() for v in variables]


@pytest.mark.parametrize("nesterov", [False, True], ids=["plain", "nesterov"])
def test_momentum_matches_torch_sgd(nesterov, rng):
    torch = pytest.importorskip("torch")
    inits, grads = trajectory_inputs(rng, np.float64)
    want = torch_trajectory(
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=nesterov, foreach=False), inits, grads)
    got = tapegrad_trajectory(tg.Momentum(0.05, 0.9, use_nesterov=nesterov), inits, grads)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_adam_matches_torch_where_epsilon_is_negligible(rng):
    torch = pytest.importorskip("torch")
    inits, grads = trajectory_inputs(rng, np.float64)
    want = torch_trajectory(
        lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-300, foreach=False), inits, grads)
    got = tapegrad_trajectory(tg.Adam(0.01, epsilon=1e-300), inits, grads)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-13)


def test_adam_adds_epsilon_after_the_bias_correction_unlike_torch(rng):
    """With gradients near epsilon the two rules part: tapegrad follows TensorFlow's."""
    torch = pytest.importorskip("torch")
    inits = [np.zeros(4)]
    grads = [[1e-8 * rng.standard_normal(4)] for _ in range(3)]
    torch_result = torch_trajectory(lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-8, foreach=False), inits,
                                    grads)[0]
    got = tapegrad_trajectory(tg.Adam(0.01, epsilon=1e-8), inits, grads)[0]
    ref, slots = inits[0].copy(), {"m": np.zeros(4), "v": np.zeros(4)}
    for t, (g,) in enumerate(grads, start=1):
        ref = adam_rule(0.9, 0.999, 1e-8)(ref, g, slots, 0.01, t)
    np.testing.assert_allclose(got, ref, rtol=1e-13)
    assert np.max(np.abs(got - torch_result) / np.abs(torch_result)) > 0.1


# ---------------------------------------------------------------------------------------------
# Same bits on every instruction set and for any thread count
# ---------------------------------------------------------------------------------------------

def run_all_optimizers(dtype, n=1037, steps=3):
    """The bytes of every optimizer's variable and slots after a few steps on an odd-sized vector."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal(n).astype(dtype)
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(steps)]
    out = []
    for make in [lambda: tg.GradientDescent(0.1), lambda: tg.Momentum(0.1, 0.9, use_nesterov=True),
                 lambda: tg.Adam(0.01), lambda: tg.RMSProp(0.01, momentum=0.5),
                 lambda: tg.RMSProp(0.01, momentum=0.5, centered=True)]:
        opt, v = make(), tg.Variable(x)
        for g in grads:
            opt.apply_gradients([(g, v)])
        out.append(v.numpy().tobytes() + b"".join(s.numpy().tobytes() for s in opt.variables()))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_same_bits_on_every_isa(dtype):
    old = tg.config.isa()
    try:
        results = {}
        for isa in tg.config.available_isas():
            tg.config.set_isa(isa)
            results[isa] = run_all_optimizers(dtype)
    finally:
        tg.config.set_isa(old)
    first = next(iter(results.values()))
    for isa, r in results.items():
        # GradientDescent (index 0) uses the kernel set's axpy, which may contract into FMA; the
        # other optimizers' loops never do (kernels/optimizer_loops.h).
        assert r[1:] == first[1:], isa


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_same_bits_for_any_thread_count(dtype):
    saved, old = _core._parallel_thresholds(), tg.config.num_threads()
    try:
        tg.config.set_num_threads(1)
        want = run_all_optimizers(dtype)
        _core._set_parallel_thresholds(saved["gemm_madds"], saved["few_columns_madds"], saved["gemv_madds"], 0)
        for n in (2, 3, 5, 8):
            tg.config.set_num_threads(n)
            assert run_all_optimizers(dtype) == want, f"{n} threads"
    finally:
        _core._set_parallel_thresholds(saved["gemm_madds"], saved["few_columns_madds"], saved["gemv_madds"],
                                       saved["elementwise"])
        tg.config.set_num_threads(old)


SLOT_DECAY = [
    (lambda: tg.Adam(learning_rate=1e-3), "m"),
    (lambda: tg.Momentum(learning_rate=1e-3, momentum=0.9), "momentum"),
    (lambda: tg.RMSProp(learning_rate=1e-3, momentum=0.9), "momentum"),
    (lambda: tg.RMSProp(learning_rate=1e-3, momentum=0.9, centered=True), "mg"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make,slot", SLOT_DECAY, ids=["adam", "momentum", "rmsprop", "centered"])
def test_decaying_slots_never_hold_subnormals(make, slot, dtype):
    """A slot decaying under zero gradients (a unit that never fires) never enters the subnormal
    range, where arithmetic is slow: the updates flush subnormal results to zero, as TensorFlow's
    and XLA's CPU kernels do (a decay term that would be subnormal is zero, so the slot stays at
    the bottom of the normal range or reaches zero). The mode stays inside the updates: numpy and
    tapegrad's ops still produce subnormals afterwards."""
    tiny = np.finfo(dtype).tiny
    var = tg.Variable(np.ones(40, dtype))
    opt = make()
    opt.apply_gradients([(tg.constant(np.linspace(1e-3, 1.0, 40).astype(dtype)), var)])
    zero = tg.constant(np.zeros(40, dtype))
    steps = 1000 if dtype == np.float32 else 7500  # 0.9^steps takes 1e-4 below the smallest normal
    for step in range(steps):
        opt.apply_gradients([(zero, var)])
        if step % 10 == 9:
            values = opt.get_slot(var, slot).numpy()
            assert np.all((values == 0) | (np.abs(values) >= tiny)), f"a subnormal {slot} after {step + 1} steps"
    assert np.all(np.abs(opt.get_slot(var, slot).numpy()) < tiny * 1e10)  # it decayed all the way
    assert np.all(np.isfinite(var.numpy()))
    assert dtype(tiny) / dtype(16) != 0  # numpy, same thread: subnormals as usual
    assert float((tg.constant(dtype(tiny)) / dtype(16)).numpy()) != 0
