"""Dense: lazy build, variable names, shapes and dtypes, initializers, activations, and its
gradients (closed form and finite differences)."""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tapegrad as tg
from gradcheck import randn

PROPERTY = settings(max_examples=int(os.environ.get("TAPEGRAD_PROPERTY_EXAMPLES", "100")), deadline=None,
                    database=None, suppress_health_check=list(HealthCheck))
float_dtype = st.sampled_from([np.float32, np.float64])


def _val(x):
    return np.array(np.asarray(x), dtype=np.float64)


_DENSE_NAME = re.compile(r"^dense(?:_(\d+))?/(kernel|bias):0$")


def _layer_index(var):
    m = _DENSE_NAME.match(var.name)
    assert m, f"unexpected Dense variable name {var.name!r}"
    return int(m.group(1) or 0), m.group(2)


def test_dense_lazy_build_and_variables():
    layer = tg.Dense(units=3)
    assert layer.variables == []
    assert layer.trainable_variables == []
    x = np.ones((4, 5), np.float32)
    y = layer(x)
    assert tuple(y.shape) == (4, 3)
    assert len(layer.variables) == 2
    kernel, bias = layer.variables
    assert kernel is layer.kernel and bias is layer.bias
    assert kernel.shape == (5, 3) and bias.shape == (3,)
    assert kernel.dtype == np.float32 and bias.dtype == np.float32
    assert [v is w for v, w in zip(layer.trainable_variables, [kernel, bias])] == [True, True]
    idx_k, kind_k = _layer_index(kernel)
    idx_b, kind_b = _layer_index(bias)
    assert (kind_k, kind_b) == ("kernel", "bias") and idx_k == idx_b
    np.testing.assert_array_equal(bias.numpy(), np.zeros(3))  # default bias_initializer="zeros"
    np.testing.assert_allclose(_val(y), x @ kernel.numpy() + bias.numpy(), rtol=1e-6)


def test_dense_next_layer_name_increments():
    l1 = tg.Dense(1)
    l2 = tg.Dense(1)
    x = np.ones((2, 2), np.float32)
    l1(x)
    l2(x)
    i1, _ = _layer_index(l1.kernel)
    i2, _ = _layer_index(l2.kernel)
    assert i2 == i1 + 1
    assert l2.bias.name == l2.kernel.name.replace("kernel", "bias")


def test_dense_names_in_fresh_process():
    code = textwrap.dedent("""
        import numpy as np
        import tapegrad as tg
        a, b = tg.Dense(units=1, use_bias=True), tg.Dense(2)
        x = np.ones((3, 4), np.float32)
        a(x); b(x)
        print([v.name for v in a.variables + b.variables])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(["dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "dense_1/bias:0"])


def test_dense_given_name():
    layer = tg.Dense(2, name="my_head")
    layer(np.ones((1, 3), np.float32))
    assert [v.name for v in layer.variables] == ["my_head/kernel:0", "my_head/bias:0"]


def test_dense_without_bias():
    layer = tg.Dense(2, use_bias=False)
    y = layer(np.ones((3, 4), np.float32))
    assert len(layer.variables) == 1 and layer.variables[0] is layer.kernel
    np.testing.assert_allclose(_val(y), np.ones((3, 4)) @ layer.kernel.numpy(), rtol=1e-6)


def test_dense_wrong_last_dim_later_raises():
    layer = tg.Dense(2)
    layer(np.ones((4, 3), np.float32))
    kernel_before = layer.kernel.numpy().copy()
    with pytest.raises(ValueError) as exc:
        layer(np.ones((4, 7), np.float32))
    msg = str(exc.value)
    assert "3" in msg and "7" in msg
    assert layer.kernel.name.split("/")[0] in msg
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel_before)
    assert len(layer.variables) == 2


@pytest.mark.parametrize("shape", [(5,), ()])
def test_dense_rank_below_two_raises(shape):
    layer = tg.Dense(2)
    with pytest.raises(ValueError, match="Dense"):
        layer(np.ones(shape, np.float32))
    assert layer.variables == []


def test_dense_rank_three_input():
    layer = tg.Dense(4)
    x = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5) / 10
    y = layer(x)
    assert tuple(y.shape) == (2, 3, 4)
    assert layer.kernel.shape == (5, 4)
    np.testing.assert_allclose(_val(y), x @ layer.kernel.numpy() + layer.bias.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_activation_and_initializers():
    layer = tg.Dense(2, activation=tg.square, kernel_initializer="ones", bias_initializer="ones")
    y = layer(np.array([[1.0, 2.0]], np.float32))
    np.testing.assert_array_equal(layer.kernel.numpy(), np.ones((2, 2)))
    np.testing.assert_allclose(_val(y), [[16.0, 16.0]])

    layer = tg.Dense(3, kernel_initializer=lambda shape, dtype: np.full(shape, 0.5, dtype=dtype))
    layer(np.ones((1, 2), np.float32))
    np.testing.assert_array_equal(layer.kernel.numpy(), np.full((2, 3), 0.5))


def test_dense_unknown_initializer_and_bad_units():
    with pytest.raises(ValueError):
        tg.Dense(2, kernel_initializer="no_such_initializer")(np.ones((1, 2), np.float32))
    with pytest.raises(ValueError):
        tg.Dense(0)
    with pytest.raises((ValueError, TypeError)):
        tg.Dense(1.5)


def test_dense_dtype_follows_first_input_and_casts_later():
    layer = tg.Dense(2)
    y = layer(np.ones((1, 3), np.float64))
    assert layer.kernel.dtype == np.float64 and y.dtype == np.float64
    y2 = layer(np.ones((1, 3), np.float32))
    assert y2.dtype == np.float64
    layer = tg.Dense(2)
    layer(np.ones((1, 3), np.int64))
    assert layer.kernel.dtype == np.float32


def test_dense_gradients_match_closed_form(rng):
    """implicit_value_and_gradients of the demo's L2 loss through Dense, against the closed form."""
    x = rng.standard_normal((50, 1)).astype(np.float32)
    y = (3 * x + 2 + rng.standard_normal((50, 1))).astype(np.float32)
    wb = tg.Dense(units=1)

    def loss_fn(inputs, labels, layer):
        return tg.reduce_mean(tg.square(layer(inputs) - labels))

    value, gv = tg.implicit_value_and_gradients(loss_fn)(x, y, wb)
    w, b = wb.variables
    assert gv[0][1] is w and gv[1][1] is b
    w0, b0 = w.numpy().astype(np.float64), b.numpy().astype(np.float64)
    r = x.astype(np.float64) @ w0 + b0 - y
    assert float(value) == pytest.approx(np.mean(r ** 2), rel=1e-5)
    np.testing.assert_allclose(_val(gv[0][0]), 2 * x.T.astype(np.float64) @ r / 50, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(_val(gv[1][0]), [2 * np.mean(r)], rtol=1e-4, atol=1e-6)
    assert gv[0][0].dtype == np.float32


@PROPERTY
@given(shape=st.lists(st.integers(1, 3), min_size=2, max_size=2).map(tuple), seed=st.integers(0, 2 ** 32 - 1),
       units=st.integers(1, 3), dtype=float_dtype)
def test_property_dense_gradients(shape, seed, units, dtype):
    """Dense + implicit gradients against central differences of the same loss in float64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    y = rng.standard_normal((shape[0], units))
    k0 = rng.standard_normal((shape[-1], units))
    b0 = rng.standard_normal(units)
    layer = tg.Dense(units, kernel_initializer=lambda s, d: k0.astype(d), bias_initializer=lambda s, d: b0.astype(d),
                     name="prop_dense")

    def loss(inputs):
        return tg.reduce_mean(tg.square(layer(inputs) - y.astype(dtype)))
    value, gv = tg.implicit_value_and_gradients(loss)(x.astype(dtype))
    (gk, kv), (gb, bv) = gv
    assert kv is layer.kernel and bv is layer.bias and gk.dtype == dtype

    def np_loss(k, b):
        return np.mean(np.square(x @ k + b - y))
    assert float(value) == pytest.approx(np_loss(k0.astype(dtype).astype(np.float64),
                                                 b0.astype(dtype).astype(np.float64)), rel=1e-4)
    if dtype == np.float64:
        eps = 1e-6
        for g, base, which in ((gk, k0, "k"), (gb, b0, "b")):
            d = randn(rng, base.shape)
            plus = np_loss(k0 + eps * d, b0) if which == "k" else np_loss(k0, b0 + eps * d)
            minus = np_loss(k0 - eps * d, b0) if which == "k" else np_loss(k0, b0 - eps * d)
            fd = (plus - minus) / (2 * eps)
            assert float(np.sum(np.asarray(g) * d)) == pytest.approx(fd, rel=1e-6, abs=1e-8)
