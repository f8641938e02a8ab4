"""The tape's streaming gradient (``_Tape.gradient_streaming``): each source's gradient is reported
once, as soon as no entry still to be walked can add to it, with the same bits as ``gradient``."""

import numpy as np
import pytest

import tapegrad as tg


def _mlp(rng, sizes, batch):
    tg.random.set_seed(int(rng.integers(1 << 30)))
    layers = [tg.Dense(n, activation="relu") for n in sizes[:-1]] + [tg.Dense(sizes[-1])]
    model = tg.Sequential(layers)
    x = tg.constant(rng.standard_normal((batch, 7)).astype(np.float32))
    return model, x


def _streamed(loss_fn, sources):
    events = []
    with tg.GradientTape() as tape:
        loss = loss_fn()
    grads = tape._tape.gradient_streaming(loss, sources, lambda i, g: events.append((i, g)))
    return grads, events


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streaming_reports_each_source_once_with_the_bits_of_gradient(seed):
    rng = np.random.default_rng(seed)
    model, x = _mlp(rng, (int(rng.integers(3, 9)), int(rng.integers(3, 9)), 4), int(rng.integers(1, 6)))

    def loss_fn():
        return tg.reduce_sum(model(x) ** 2)

    loss_fn()  # builds the variables
    variables = model.trainable_variables
    with tg.GradientTape() as tape:
        loss = loss_fn()
    expected = tape.gradient(loss, variables)
    grads, events = _streamed(loss_fn, variables)
    assert sorted(i for i, _ in events) == list(range(len(variables)))
    for i, g in events:
        assert g is grads[i]
        np.testing.assert_array_equal(np.asarray(g), np.asarray(expected[i]))


def test_streaming_reports_the_last_layer_first():
    model, x = _mlp(np.random.default_rng(3), (5, 6, 3), 4)

    def loss_fn():
        return tg.reduce_sum(model(x))

    loss_fn()
    variables = model.trainable_variables  # kernel, bias of layer 1, 2, 3
    _, events = _streamed(loss_fn, variables)
    layer_of = [i // 2 for i, _ in events]
    assert layer_of == sorted(layer_of, reverse=True), layer_of
    assert layer_of[0] == 2 and layer_of[-1] == 0


def test_streaming_waits_for_every_read_of_a_variable():
    # v is read at the start and at the end: its gradient is final only after the first read's
    # entry is walked, so it comes after w's (read once, in between).
    v = tg.Variable([1.0, 2.0])
    w = tg.Variable([3.0, 4.0])

    def loss_fn():
        a = v * 2.0
        b = a * w
        return tg.reduce_sum(b * v)

    _, events = _streamed(loss_fn, [v, w])
    assert [i for i, _ in events] == [1, 0]
    # d/dv sum(2 v^2 w) = 4 v w ; d/dw = 2 v^2
    np.testing.assert_allclose(np.asarray(events[0][1]), [2.0, 8.0])
    np.testing.assert_allclose(np.asarray(events[1][1]), [12.0, 32.0])


def test_streaming_unconnected_and_target_sources():
    x = tg.constant(2.0)
    u = tg.constant(5.0)
    with tg.GradientTape() as tape:
        tape.watch([x, u])
        y = x * x
    events = []
    grads = tape._tape.gradient_streaming(y, [u, y, x], lambda i, g: events.append((i, g)))
    assert grads[0] is None
    assert float(grads[1]) == 1.0 and float(grads[2]) == 4.0
    assert sorted(i for i, _ in events) == [0, 1, 2]
    assert dict(events)[0] is None


def test_streaming_runs_python_callbacks_during_gil_releasing_kernels():
    # Large matmuls release the GIL; the callback must take it back to run.
    rng = np.random.default_rng(4)
    a = tg.Variable(rng.standard_normal((256, 256)).astype(np.float32))
    b = tg.Variable(rng.standard_normal((256, 256)).astype(np.float32))
    with tg.GradientTape() as tape:
        loss = tg.reduce_sum(tg.matmul(tg.matmul(a, b), b))
    seen = []
    grads = tape._tape.gradient_streaming(loss, [a, b], lambda i, g: seen.append(np.asarray(g).sum()))
    assert len(seen) == 2 and all(np.isfinite(seen))
    assert grads[0].shape == (256, 256)


def test_streaming_callback_errors_propagate():
    x = tg.Variable(1.0)
    with tg.GradientTape() as tape:
        y = x * 3.0

    def boom(i, g):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        tape._tape.gradient_streaming(y, [x], boom)


def test_streaming_rejects_a_non_callable():
    x = tg.Variable(1.0)
    with tg.GradientTape() as tape:
        y = x * 3.0
    with pytest.raises(TypeError, match="^GradientTape.gradient: on_final must be a callable"):
        tape._tape.gradient_streaming(y, [x], 3)
