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


# =============================================================================================
# Momentum, Adam, RMSProp: slots, iterations, learning rates (update rules: test_optimizer_rules)
# =============================================================================================

ALL = {
    "gradient_descent": lambda lr=0.1: tg.GradientDescent(lr),
    "momentum": lambda lr=0.1: tg.Momentum(lr, 0.9),
    "adam": lambda lr=0.1: tg.Adam(lr),
    "rmsprop": lambda lr=0.1: tg.RMSProp(lr, momentum=0.5),
    "rmsprop_centered": lambda lr=0.1: tg.RMSProp(lr, centered=True),
}


def test_slots_are_created_on_first_use_named_after_the_variable():
    kernel = tg.Variable(np.ones((2, 3), np.float32), name="dense/kernel")
    bias = tg.Variable(np.zeros(3, np.float32), name="dense/bias")
    unused = tg.Variable(1.0, name="unused")
    opt = tg.Adam(0.01)
    assert opt.variables() == [] and opt.get_slot_names() == [] and opt.get_slot(kernel, "m") is None
    opt.apply_gradients([(np.ones((2, 3), np.float32), kernel), (None, unused)])
    assert [v.name for v in opt.variables()] == ["dense/kernel/Adam/m:0", "dense/kernel/Adam/v:0"]
    opt.apply_gradients([(np.ones((2, 3), np.float32), kernel), (np.ones(3, np.float32), bias)])
    assert [v.name for v in opt.variables()] == ["dense/kernel/Adam/m:0", "dense/kernel/Adam/v:0",
                                                  "dense/bias/Adam/m:0", "dense/bias/Adam/v:0"]
    assert opt.get_slot_names() == ["m", "v"]
    assert opt.get_slot(bias, "v") is opt.variables()[3]
    assert opt.get_slot(unused, "m") is None and opt.get_slot(kernel, "nope") is None
    assert opt.get_slot(np.ones(3), "m") is None
    for slot in opt.variables():
        assert not slot.trainable
    np.testing.assert_array_equal(unused.numpy(), 1.0)


def test_slot_names_and_initial_values_follow_tensorflow():
    v = tg.Variable(np.zeros(2), name="w")
    zero_grad = [(np.zeros(2), v)]
    opt = tg.RMSProp(0.1, centered=True)
    opt.apply_gradients(zero_grad)
    assert opt.get_slot_names() == ["mg", "momentum", "rms"]
    # rms starts at ones and decays towards the zero gradient's square; the others stay zero
    np.testing.assert_array_equal(opt.get_slot(v, "rms").numpy(), [0.9, 0.9])
    np.testing.assert_array_equal(opt.get_slot(v, "mg").numpy(), [0.0, 0.0])
    assert [s.name for s in opt.variables()] == ["w/RMSProp/rms:0", "w/RMSProp/momentum:0", "w/RMSProp/mg:0"]
    assert tg.RMSProp(0.1).get_slot_names() == []
    opt = tg.Momentum(0.1, 0.5, name="Mom")
    opt.apply_gradients(zero_grad)
    assert opt.get_slot_names() == ["momentum"] and opt.variables()[0].name == "w/Mom/momentum:0"
    opt = tg.GradientDescent(0.1)
    opt.apply_gradients(zero_grad)
    assert opt.variables() == [] and opt.get_slot_names() == []


@pytest.mark.parametrize("kind", list(ALL))
def test_iterations_count_successful_updates(kind):
    v = tg.Variable([1.0, 2.0])
    opt = ALL[kind]()
    assert opt.iterations == 0
    opt.apply_gradients([(tg.constant([1.0, 1.0]), v)])
    opt.minimize(lambda: tg.reduce_sum(v * v))
    with pytest.raises(ValueError):
        opt.apply_gradients([(tg.constant([1.0, 1.0, 1.0]), v)])
    with pytest.raises(ValueError):
        opt.apply_gradients([(None, v)])
    assert opt.iterations == 2


@pytest.mark.parametrize("kind", list(ALL))
def test_minimize_with_and_without_var_list(kind):
    a = tg.Variable(1.0)
    b = tg.Variable(1.0)
    opt = ALL[kind]()
    loss = opt.minimize(lambda: a * b * 2.0, var_list=[a])
    assert float(loss) == pytest.approx(2.0)
    assert a.numpy().item() < 1.0 and b.numpy().item() == 1.0
    opt.minimize(lambda: a * b * 2.0)
    assert b.numpy().item() < 1.0
    assert opt.iterations == 2


@pytest.mark.parametrize("kind", list(ALL))
def test_update_is_copy_on_write_for_variables_and_slots(kind):
    v = tg.Variable([1.0, 2.0])
    opt = ALL[kind]()
    opt.apply_gradients([(tg.constant([1.0, 1.0]), v)])
    held = v.read_value()
    held_slots = [(s, s.read_value(), s.numpy().copy()) for s in opt.variables()]
    before = held.numpy().copy()
    opt.apply_gradients([(tg.constant([1.0, -1.0]), v)])
    np.testing.assert_array_equal(held.numpy(), before)
    assert not np.array_equal(v.numpy(), before)
    for slot, value, copy in held_slots:
        np.testing.assert_array_equal(value.numpy(), copy)


@pytest.mark.parametrize("kind", list(ALL))
def test_gradient_sharing_storage_with_its_variable(kind):
    """A gradient that is the variable's own value (or a view of it) is read as it was."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3))
    v, w = tg.Variable(x), tg.Variable(x)
    opt_v, opt_w = ALL[kind](), ALL[kind]()
    for _ in range(3):
        opt_v.apply_gradients([(v.read_value(), v)])
        opt_w.apply_gradients([(w.numpy().copy(), w)])
    np.testing.assert_array_equal(v.numpy(), w.numpy())
    u = tg.Variable(x)
    opt_u = ALL[kind]()
    opt_u.apply_gradients([(tg.reshape(tg.reshape(u.read_value(), [6]), [2, 3]), u)])
    opt_w2, w2 = ALL[kind](), tg.Variable(x)
    opt_w2.apply_gradients([(x, w2)])
    np.testing.assert_array_equal(u.numpy(), w2.numpy())


@pytest.mark.parametrize("kind", list(ALL))
def test_callable_learning_rate_is_called_once_per_update(kind):
    calls = []

    def lr():
        calls.append(1)
        return np.float32(0.5) if len(calls) == 1 else tg.constant(0.25, dtype=tg.float64)

    a, b = tg.Variable([1.0]), tg.Variable([2.0])
    opt = ALL[kind](lr)
    assert opt.learning_rate is lr
    opt.apply_gradients([(tg.constant([1.0]), a), (tg.constant([1.0]), b)])
    opt.apply_gradients([(tg.constant([1.0]), a)])
    assert len(calls) == 2
    opt.learning_rate = 0.1
    assert opt.learning_rate == 0.1


def test_gradient_descent_with_a_callable_learning_rate():
    v = tg.Variable([1.0, 2.0])
    rates = iter([0.5, 0.25])
    opt = tg.GradientDescent(lambda: next(rates))
    opt.apply_gradients([(tg.constant([1.0, 1.0]), v)])
    opt.apply_gradients([(tg.constant([1.0, 1.0]), v)])
    np.testing.assert_allclose(v.numpy(), [0.25, 1.25])


def test_same_variable_twice_gets_two_updates():
    v = tg.Variable([1.0])
    w = tg.Variable([1.0])
    opt_v, opt_w = tg.Momentum(0.1, 0.9), tg.Momentum(0.1, 0.9)
    opt_v.apply_gradients([(tg.constant([1.0]), v), (tg.constant([2.0]), v)])
    opt_w.apply_gradients([(tg.constant([1.0]), w)])
    opt_w.apply_gradients([(tg.constant([2.0]), w)])
    np.testing.assert_array_equal(v.numpy(), w.numpy())
    assert len(opt_v.variables()) == 1


def test_slots_are_not_trained_by_implicit_gradients():
    v = tg.Variable([1.0, 2.0])
    opt = tg.Adam(0.1)
    opt.minimize(lambda: tg.reduce_sum(v * v))
    m = opt.get_slot(v, "m")
    _, gv = tg.implicit_value_and_gradients(lambda: tg.reduce_sum(v * m))()
    assert [var.name for _, var in gv] == [v.name]


def test_optimizer_reprs_and_properties():
    assert repr(tg.Momentum(0.1, 0.9)) == "<tapegrad.Momentum learning_rate=0.1 momentum=0.9 use_nesterov=False>"
    adam = tg.Adam()
    assert (adam.learning_rate, adam.beta1, adam.beta2, adam.epsilon, adam.name) == (0.001, 0.9, 0.999, 1e-8, "Adam")
    rms = tg.RMSProp(0.01)
    assert (rms.decay, rms.momentum, rms.epsilon, rms.centered, rms.name) == (0.9, 0.0, 1e-10, False, "RMSProp")
    assert "centered=False" in repr(rms)
    assert repr(tg.GradientDescent(0.5)) == "<tapegrad.GradientDescent learning_rate=0.5>"
    for cls in (tg.GradientDescent, tg.Momentum, tg.Adam, tg.RMSProp):
        assert issubclass(cls, tg.Optimizer)


def test_mixed_dtypes_in_one_update():
    a = tg.Variable(np.ones(3, np.float32))
    b = tg.Variable(np.ones(3, np.float64))
    opt = tg.Adam(0.1)
    opt.apply_gradients([(np.ones(3, np.float32), a), (np.ones(3, np.float64), b)])
    assert opt.get_slot(a, "m").dtype == np.float32 and opt.get_slot(b, "v").dtype == np.float64
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


@pytest.mark.parametrize("kind", ["momentum", "rmsprop_centered"])
def test_variable_lists_that_change_between_calls_keep_each_variables_slots(kind):
    """Reordered, shrunk and grown lists of variables: each variable's update uses its own slots
    (per-variable rules, so a separate optimizer per variable gives the same values)."""
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal(s) for s in [(2,), (3,), (2, 2)]]
    shared = [tg.Variable(x) for x in xs]
    alone = [tg.Variable(x) for x in xs]
    opt, opts = ALL[kind](), [ALL[kind]() for _ in xs]
    for order in [[0, 1], [0, 1], [1, 0], [2, 0], [0, 1, 2], [0, 1, 2], [1]]:
        grads = {i: rng.standard_normal(xs[i].shape) for i in order}
        opt.apply_gradients([(grads[i], shared[i]) for i in order])
        for i in order:
            opts[i].apply_gradients([(grads[i], alone[i])])
        for a, b in zip(shared, alone):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
