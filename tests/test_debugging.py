"""tg.debugging: enable_check_numerics / disable_check_numerics and the check_numerics op."""
import numpy as np
import pytest

import tapegrad as tg


@pytest.fixture
def checking():
    tg.debugging.enable_check_numerics()
    try:
        yield
    finally:
        tg.debugging.disable_check_numerics()


def test_off_by_default_and_nan_flows_through():
    assert not tg.debugging.check_numerics_enabled()
    out = tg.log(tg.constant([-1.0, 1.0]))
    assert np.isnan(out.numpy()[0])


def test_forward_nan_names_the_op_the_shapes_and_the_pass(checking):
    assert tg.debugging.check_numerics_enabled()
    x = tg.constant(np.ones((2, 3), np.float32))
    y = tg.constant(np.full((2, 3), -1.0, np.float32))
    z = x + y  # finite: no error
    with pytest.raises(FloatingPointError) as info:
        tg.sqrt(z - 1.0)
    msg = str(info.value)
    assert msg.startswith("sqrt:"), msg
    assert "NaN" in msg and "forward pass" in msg and "(2, 3)" in msg


def test_forward_infinity_in_a_binary_op(checking):
    with pytest.raises(FloatingPointError) as info:
        tg.divide(tg.constant([1.0, 2.0]), tg.constant([[0.0], [1.0]]))
    msg = str(info.value)
    assert msg.startswith("divide:") and "infinity" in msg and "(2,)" in msg and "(2, 1)" in msg


def test_backward_nan_names_the_gradient_being_computed(checking):
    # sqrt'(0) = 1 / (2 sqrt(0)) is infinite although the forward value 0 is finite.
    x = tg.Variable([0.0, 4.0])
    with tg.GradientTape() as tape:
        y = tg.reduce_sum(tg.sqrt(x))
    with pytest.raises(FloatingPointError) as info:
        tape.gradient(y, [x])
    msg = str(info.value)
    assert "backward pass" in msg and "gradient of sqrt" in msg and "(2,)" in msg


def test_finite_training_step_passes_the_checks(checking):
    # Fused backward shortcuts (cross-entropy, softmax) and the optimizer run unchanged.
    model = tg.Sequential([tg.Dense(4, activation="relu"), tg.Dense(3)])
    opt = tg.Adam(0.01)
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    for _ in range(3):
        with tg.GradientTape() as tape:
            loss = tg.reduce_mean(tg.nn.sparse_softmax_cross_entropy_with_logits(
                labels=np.array([0, 1, 2, 1, 0]), logits=model(x)))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
    assert all(np.all(np.isfinite(v.numpy())) for v in model.variables)


def test_disable_restores_unchecked_behaviour():
    tg.debugging.enable_check_numerics()
    tg.debugging.disable_check_numerics()
    assert not tg.debugging.check_numerics_enabled()
    assert np.isinf(tg.divide(tg.constant(1.0), tg.constant(0.0)).numpy())


def test_integer_ops_and_finite_results_pass(checking):
    a = tg.constant(np.array([1, 2], np.int64))
    assert (a + a).numpy().tolist() == [2, 4]
    x = tg.Variable([1.0, 2.0])
    with tg.GradientTape() as tape:
        y = tg.reduce_sum(tg.square(x) * tg.log(x))
    (g,) = tape.gradient(y, [x])
    np.testing.assert_allclose(g.numpy(), 2 * np.array([1.0, 2.0]) * np.log([1.0, 2.0]) + [1.0, 2.0],
                               rtol=1e-6)


def test_compiled_replays_are_checked(checking):
    @tg.function
    def f(a, b):
        return tg.matmul(a, b)

    ok = np.ones((2, 2), np.float32)
    f(ok, ok)
    f(ok, ok)
    with pytest.raises(FloatingPointError) as info:
        f(np.full((2, 2), np.inf, np.float32), ok)
    assert str(info.value).startswith("matmul:") and "tg.function replay" in str(info.value)

    @tg.function
    def g(a):
        return tg.exp(a * 10.0) + 1.0  # one fused elementwise loop

    g(ok)
    g(ok)
    with pytest.raises(FloatingPointError) as info:
        g(ok * 10.0)
    assert "infinity" in str(info.value)


def test_check_numerics_op_is_identity_in_value_and_gradient():
    x = tg.Variable([1.0, 2.0, 3.0])
    with tg.GradientTape() as tape:
        y = tg.reduce_sum(tg.debugging.check_numerics(x * x, "squares") * 2.0)
    (g,) = tape.gradient(y, [x])
    np.testing.assert_array_equal(g.numpy(), 4.0 * np.array([1.0, 2.0, 3.0], np.float32))
    assert tg.debugging.check_numerics is tg.check_numerics


def test_check_numerics_op_names_the_message():
    with pytest.raises(ValueError) as info:
        tg.debugging.check_numerics(tg.constant([1.0, np.nan]), "after layer 3")
    msg = str(info.value)
    assert msg.startswith("check_numerics: after layer 3:") and "NaN" in msg
