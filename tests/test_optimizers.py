"""GradientDescent: apply_gradients (all or nothing), minimize, learning rates, copy-on-write updates."""

import numpy as np
import pytest

import tapegrad as tg


def test_sgd_apply_gradients_and_skips_none():
    a = tg.Variable([1.0, 2.0])
    b = tg.Variable([[3.0]])
    opt = tg.GradientDescent(learning_rate=0.5)
    opt.apply_gradients([(None, a), (tg.constant([[2.0]]), b)])
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])
    np.testing.assert_allclose(b.numpy(), [[2.0]])


def test_sgd_accepts_any_iterable_and_numpy_grads():
    a = tg.Variable([1.0, 2.0])
    b = tg.Variable(5.0)
    opt = tg.GradientDescent(0.1)
    opt.apply_gradients(zip([np.array([1.0, 1.0], np.float32), tg.constant(10.0)], [a, b]))
    np.testing.assert_allclose(a.numpy(), [0.9, 1.9], rtol=1e-6)
    assert b.numpy().item() == pytest.approx(4.0)


def test_sgd_all_none_raises():
    a = tg.Variable(1.0, name="lonely")
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        tg.GradientDescent(0.1).apply_gradients([(None, a)])
    assert a.numpy().item() == 1.0


@pytest.mark.parametrize("bad", ["shape", "dtype", "not_a_variable"])
def test_sgd_bad_pair_changes_nothing(bad):
    a = tg.Variable([1.0, 2.0], name="first")
    b = tg.Variable([3.0, 4.0], name="second")
    c = tg.Variable([5.0, 6.0], name="third")
    good = tg.constant([1.0, 1.0])
    if bad == "shape":
        pair = (tg.constant([1.0, 1.0, 1.0]), b)
    elif bad == "dtype":
        pair = (tg.constant([1.0, 1.0], dtype=tg.float64), b)
    else:
        pair = (good, np.array([3.0, 4.0], np.float32))
    with pytest.raises((ValueError, TypeError)) as exc:
        tg.GradientDescent(0.1).apply_gradients([(good, a), pair, (good, c)])
    if bad != "not_a_variable":
        assert "second" in str(exc.value)
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(b.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(c.numpy(), [5.0, 6.0])


def test_sgd_update_is_copy_on_write():
    v = tg.Variable([1.0, 2.0])
    t = v.read_value()
    view = v.numpy()
    tg.GradientDescent(1.0).apply_gradients([(tg.constant([1.0, 1.0]), v)])
    np.testing.assert_array_equal(v.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(view, [1.0, 2.0])


def test_sgd_minimize():
    v = tg.Variable(5.0)
    opt = tg.GradientDescent(0.1)
    loss = opt.minimize(lambda: tg.square(v - 3.0))
    assert float(loss) == pytest.approx(4.0)
    assert v.numpy().item() == pytest.approx(5.0 - 0.1 * 2 * 2.0)
    for _ in range(200):
        opt.minimize(lambda: tg.square(v - 3.0))
    assert v.numpy().item() == pytest.approx(3.0, abs=1e-4)


def test_sgd_minimize_var_list_restricts_updates():
    a = tg.Variable(1.0)
    b = tg.Variable(1.0)
    tg.GradientDescent(0.5).minimize(lambda: a * b * 2.0, var_list=[a])
    assert a.numpy().item() == pytest.approx(0.0)
    assert b.numpy().item() == pytest.approx(1.0)


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_sgd_bad_learning_rate(lr):
    with pytest.raises(ValueError):
        tg.GradientDescent(lr)


def test_sgd_learning_rate_type():
    with pytest.raises(TypeError):
        tg.GradientDescent("fast")


def test_one_gradient_step_moves_towards_the_true_parameters(rng):
    """The demo's step: one gradient step on y = 3x + 2 + noise moves w and b towards 3 and 2."""
    x = rng.standard_normal((1000, 1)).astype(np.float32)
    y = (3 * x + 2 + rng.standard_normal((1000, 1))).astype(np.float32)
    wb = tg.Dense(units=1, kernel_initializer=lambda s, d: np.full(s, 1.5, d))
    loss_fn = lambda i, l, layer: tg.reduce_mean(tg.square(layer(i) - l))  # noqa: E731
    vg = tg.implicit_value_and_gradients(loss_fn)
    opt = tg.GradientDescent(learning_rate=0.1)
    loss0, gv = vg(x, y, wb)
    w, b = wb.variables
    w0, b0 = w.numpy().item(), b.numpy().item()
    opt.apply_gradients(gv)
    assert w.numpy().item() == pytest.approx(w0 - 0.1 * float(gv[0][0]), rel=1e-6)
    assert b.numpy().item() == pytest.approx(b0 - 0.1 * float(gv[1][0]), rel=1e-6, abs=1e-7)
    assert abs(w.numpy().item() - 3) < abs(w0 - 3) and abs(b.numpy().item() - 2) < abs(b0 - 2)
    loss1, _ = vg(x, y, wb)
    assert float(loss1) < float(loss0)


def test_sgd_step_does_not_change_values_saved_by_a_tape():
    v = tg.Variable([1.0, 2.0])
    opt = tg.GradientDescent(0.5)
    with tg.GradientTape(persistent=True) as tape:
        y = tg.reduce_sum(v * v)
    g1 = tape.gradient(y, v)
    opt.apply_gradients([(g1, v)])  # v -> [0, 0]
    np.testing.assert_array_equal(v.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(np.asarray(tape.gradient(y, v)), [2.0, 4.0])
    np.testing.assert_allclose(np.asarray(g1), [2.0, 4.0])
