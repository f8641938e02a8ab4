"""The unary math ops beyond what the op table checks: TensorFlow's gradient conventions at the
kinks, IEEE edge values, stability at large arguments, the same bits on every instruction set,
and tg.nn."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _core

MATH = ["exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "reciprocal", "abs", "sign", "sin", "cos", "tanh",
        "sigmoid", "softplus", "floor", "round", "relu", "relu6"]


def _grad(op, x):
    x = tg.constant(x, dtype=tg.float64)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = op(x)
    return tape.gradient(y, x)


def test_floor_and_round_have_no_gradient_and_sign_a_zero_one():
    assert _grad(tg.floor, [1.5, -2.5]) is None
    assert _grad(tg.round, [1.5, -2.5]) is None
    assert _grad(tg.sign, [1.5, -2.5]).numpy().tolist() == [0.0, 0.0]


def test_kinks_take_tensorflows_gradient():
    x = [-1.0, 0.0, 3.0, 6.0, 7.0]
    assert _grad(tg.relu, x).numpy().tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert _grad(tg.relu6, x).numpy().tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert _grad(tg.abs, x).numpy().tolist() == [-1.0, 0.0, 1.0, 1.0, 1.0]


def test_round_is_half_to_even():
    assert tg.round([0.5, 1.5, 2.5, -0.5, -1.5]).numpy().tolist() == [0.0, 2.0, 2.0, -0.0, -2.0]


def test_ieee_edge_values():
    with np.errstate(all="ignore"):
        for name in MATH:
            x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 1e38, -1e38], np.float32)
            got = getattr(tg, name)(x).numpy()
            ref = {"rsqrt": lambda a: 1 / np.sqrt(a), "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
                   "softplus": lambda a: np.logaddexp(np.float32(0), a), "relu": lambda a: np.maximum(a, 0),
                   "relu6": lambda a: np.minimum(np.maximum(a, 0), 6), "reciprocal": np.reciprocal}.get(name, getattr(np, name, None))
            want = ref(x).astype(np.float32)
            # NaN where numpy gives NaN, infinities and zeros (with their sign) where it gives them.
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
            exact = np.isinf(want) | (want == 0)
            np.testing.assert_array_equal(got[exact], want[exact], err_msg=name)
            np.testing.assert_array_equal(np.signbit(got[exact]), np.signbit(want[exact]), err_msg=name)


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "tanh", "exp"])
def test_large_arguments_give_finite_values_and_gradients(name):
    x = tg.constant([-1e4, -50.0, 50.0, 1e4] if name != "exp" else [-1e4, -50.0, 50.0, 80.0], dtype=tg.float32)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = getattr(tg, name)(x)
    g = tape.gradient(y, x)
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(g.numpy())), (y, g)


def test_leaky_relu_elu_and_gelu_by_hand():
    x = [-2.0, 0.0, 3.0]
    assert tg.nn.leaky_relu(x).numpy().tolist() == pytest.approx([-0.4, 0.0, 3.0])
    assert _grad(lambda t: tg.nn.leaky_relu(t, alpha=0.1), x).numpy().tolist() == [0.1, 0.1, 1.0]  # alpha at 0
    assert tg.nn.elu([-1.0, 0.0, 2.0]).numpy().tolist() == pytest.approx([np.expm1(-1.0), 0.0, 2.0])
    assert _grad(tg.nn.elu, [-1.0, 2.0]).numpy().tolist() == pytest.approx([np.exp(-1.0), 1.0])
    g = tg.nn.gelu(tg.constant([-1.0, 0.5, 2.0], dtype=tg.float64)).numpy()
    assert g.tolist() == pytest.approx([-0.15865525393145707, 0.34573123063700656, 1.9544997361036416])
    a = tg.nn.gelu(tg.constant([-1.0, 0.5, 2.0], dtype=tg.float64), approximate=True).numpy()
    assert np.abs(a - g).max() < 2e-3  # the tanh form is close to the exact one
    assert _grad(tg.nn.gelu, [0.0]).numpy().tolist() == [0.5]  # Phi(0) + 0
    assert tg.erf([0.0, 1.0]).numpy().tolist() == pytest.approx([0.0, 0.8427007929497149])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_instruction_set_gives_the_same_bits(dtype):
    x = np.random.default_rng(7).standard_normal(1000).astype(dtype) * 4
    saved = _core.isa()
    try:
        results = {}
        for isa in _core.available_isas():
            _core.select_isa(isa)
            results[isa] = {name: getattr(tg, name)(np.abs(x) if name in ("log", "sqrt", "rsqrt") else x)
                            .numpy().tobytes() for name in MATH + ["elu", "erf", "gelu", "leaky_relu"]}
            results[isa]["gelu_tanh"] = tg.gelu(x, approximate=True).numpy().tobytes()
    finally:
        _core.select_isa(saved)
    first = next(iter(results.values()))
    for isa, got in results.items():
        assert got == first, f"{isa} differs from the scalar reference"


def test_nn_activations_are_the_ops():
    for name in ["relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "softplus", "tanh"]:
        assert getattr(tg.nn, name) is getattr(tg, name)
    assert tg.nn.relu([-1.0, 2.0]).numpy().tolist() == [0.0, 2.0]


def test_softmax_is_stable_and_its_gradients_finite_at_large_logits():
    z = tg.constant([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=tg.float32)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(z)
        p = tg.nn.softmax(z)
        lp = tg.nn.log_softmax(z)
        loss = tg.reduce_sum(lp * tg.constant([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    np.testing.assert_allclose(p.numpy(), [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    np.testing.assert_allclose(lp.numpy()[1], [-np.log(3.0)] * 3, rtol=1e-6)
    for g in (tape.gradient(p, z), tape.gradient(loss, z)):
        assert np.all(np.isfinite(g.numpy()))
    # d(sum log_softmax . onehot) = onehot - softmax
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), [[0.0, 0.0, 0.0], [-1 / 3, 2 / 3, -1 / 3]],
                               atol=1e-6)
