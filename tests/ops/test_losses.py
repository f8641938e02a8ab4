"""The losses' semantics beyond the op table: TensorFlow's documented values, stability at logits
of +-1e4, the sparse and dense forms agreeing on one-hot labels, which inputs take a gradient, the
fused first derivative giving the bits of the ops it replaces, and results independent of the
thread count."""

import numpy as np
import pytest

import tapegrad as tg

SPARSE = tg.nn.sparse_softmax_cross_entropy_with_logits
DENSE = tg.nn.softmax_cross_entropy_with_logits
SIGMOID = tg.nn.sigmoid_cross_entropy_with_logits
DTYPES = [np.float32, np.float64]


def _grads(f, *arrays, dtype):
    """f's value and its gradients with respect to every float input (watched constants)."""
    ts = [tg.constant(np.asarray(a, dtype)) if np.asarray(a).dtype.kind == "f" else tg.constant(a)
          for a in arrays]
    with tg.GradientTape() as tape:
        for t in ts:
            if t.dtype.kind == "f":
                tape.watch(t)
        y = f(*ts)
    return y, tape.gradient(y, ts)


def test_tensorflow_documented_values():
    # the examples of tf.nn.softmax_cross_entropy_with_logits and tf.nn.sigmoid_cross_entropy_with_logits
    got = DENSE(labels=[[1.0, 0.0, 0.0], [0.0, 0.8, 0.2]], logits=[[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]])
    np.testing.assert_allclose(got.numpy(), [0.16984604, 0.82474494], rtol=1e-6)
    got = SIGMOID(labels=[0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5], logits=[1.0, -1.0, 0.0, 1.0, -1.0, 0.0, 0.0])
    np.testing.assert_allclose(got.numpy(), [1.3132617, 0.3132617, 0.6931472, 0.3132617, 1.3132617, 0.6931472,
                                             0.6931472], rtol=1e-6)
    got = SPARSE(labels=np.array([0, 1]), logits=[[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]])
    np.testing.assert_allclose(got.numpy(), [0.16984604, 0.02474492], rtol=1e-5)
    assert float(tg.nn.l2_loss([1.0, 2.0, 3.0])) == 7.0
    assert got.dtype == np.float32 and got.shape == (2,)


@pytest.mark.parametrize("dtype", DTYPES)
def test_huge_logits_give_finite_values_and_gradients(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]])
    labels = np.array([1, 2, 0])
    onehot = np.eye(3)[labels]

    loss, (_, g) = _grads(lambda z, x: SPARSE(labels=z, logits=x), labels, logits, dtype=dtype)
    np.testing.assert_allclose(loss.numpy(), [2e4, np.log(3), np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(g.numpy(), [[1, -1, 0], [1 / 3, 1 / 3, -2 / 3], [-0.5, 0.5, 0]], atol=1e-6)

    loss, (gz, gx) = _grads(lambda z, x: DENSE(labels=z, logits=x), onehot, logits, dtype=dtype)
    np.testing.assert_allclose(loss.numpy(), [2e4, np.log(3), np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(gx.numpy(), g.numpy(), atol=1e-6)
    np.testing.assert_allclose(gz.numpy()[0], [0.0, 2e4, 1e4], rtol=1e-6)

    x = np.array([1e4, -1e4, 0.0, 1e4])
    z = np.array([0.0, 1.0, 0.5, 1.0])
    loss, (gz, gx) = _grads(lambda a, b: SIGMOID(labels=a, logits=b), z, x, dtype=dtype)
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, np.log(2), 0.0], rtol=1e-6)
    np.testing.assert_allclose(gx.numpy(), [1.0, -1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(gz.numpy(), -x)
    for t in (loss, gx, gz):
        assert np.all(np.isfinite(t.numpy()))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_and_dense_agree_on_one_hot_labels(dtype):
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((2, 7, 9)) * 4
    labels = rng.integers(0, 9, size=(2, 7))
    onehot = np.eye(9)[labels]
    sparse, (_, g_sparse) = _grads(lambda z, x: SPARSE(labels=z, logits=x), labels, logits, dtype=dtype)
    dense, (_, g_dense) = _grads(lambda z, x: DENSE(labels=z, logits=x), onehot, logits, dtype=dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(sparse.numpy(), dense.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(g_sparse.numpy(), g_dense.numpy(), rtol=tol, atol=tol)
    # the class axis elsewhere: the same rows read along axis 1
    moved, (_, g_moved) = _grads(lambda z, x: DENSE(labels=z, logits=x, axis=1), np.swapaxes(onehot, 1, 2),
                                 np.swapaxes(logits, 1, 2), dtype=dtype)
    np.testing.assert_array_equal(moved.numpy(), dense.numpy())
    np.testing.assert_array_equal(g_moved.numpy(), np.swapaxes(g_dense.numpy(), 1, 2))


def test_which_inputs_take_a_gradient():
    labels = tg.constant(np.array([1, 0]))
    logits = tg.constant(np.array([[0.5, -1.0], [2.0, 0.0]]))
    with tg.GradientTape() as tape:
        with pytest.warns(UserWarning, match="not differentiable"):
            tape.watch(labels)  # an integer tensor is never differentiated
        tape.watch(logits)
        loss = SPARSE(labels, logits)
    g_labels, g_logits = tape.gradient(loss, [labels, logits])
    assert g_labels is None and g_logits is not None

    # dense labels: d/dlabels = -log_softmax(logits), as TensorFlow's v2 op
    probs = tg.constant(np.array([[0.3, 0.7], [0.9, 0.1]]))
    with tg.GradientTape() as tape:
        tape.watch(probs)
        loss = DENSE(labels=probs, logits=logits)
    np.testing.assert_allclose(tape.gradient(loss, probs).numpy(), -tg.nn.log_softmax(logits).numpy(), rtol=1e-12)


FUSED_CASES = {
    "sparse": lambda z, x: SPARSE(tg.argmax(z, axis=-1), x),
    "dense": lambda z, x: DENSE(z, x),
    "dense_axis0_strided": lambda z, x: DENSE(z, x, axis=0),
    "sigmoid": lambda z, x: SIGMOID(z, x),
}


@pytest.mark.parametrize("case", list(FUSED_CASES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_first_derivative_has_the_bits_of_the_ops(case, dtype):
    """Without a recording tape a loss's gradient is one fused pass; under an outer tape it is the
    recorded ops (internal factor ops, or sigmoid, then a product with g). Same bits."""
    loss_fn = FUSED_CASES[case]
    rng = np.random.default_rng(11)
    logits = tg.constant(rng.standard_normal((33, 70)).astype(dtype) * 3)
    labels = tg.constant(rng.uniform(0, 1, (33, 70)).astype(dtype))
    weights = tg.constant(rng.standard_normal(70 if case == "dense_axis0_strided" else 33).astype(dtype))
    if case == "sigmoid":
        weights = tg.constant(rng.standard_normal((33, 70)).astype(dtype))

    def first_derivative():
        with tg.GradientTape() as inner:
            inner.watch(logits)
            inner.watch(labels)
            loss = tg.reduce_sum(loss_fn(labels, logits) * weights)
        return inner.gradient(loss, [logits, labels], unconnected_gradients="zero")

    fused = [g.numpy() for g in first_derivative()]
    with tg.GradientTape() as outer:
        outer.watch(logits)
        outer.watch(labels)
        recorded = first_derivative()
        curvature = tg.reduce_sum(recorded[0] * recorded[0])
    assert outer.gradient(curvature, logits) is not None  # the ops were recorded
    for got, want in zip(fused, recorded):
        np.testing.assert_array_equal(got, want.numpy())


def test_third_derivative_through_the_sparse_loss():
    rng = np.random.default_rng(2)
    x = tg.constant(rng.standard_normal((2, 3)))
    labels = np.array([2, 0])
    eps = 1e-5

    def second(xv):
        t = tg.constant(xv)
        with tg.GradientTape() as t2:
            t2.watch(t)
            with tg.GradientTape() as t1:
                t1.watch(t)
                loss = tg.reduce_sum(SPARSE(labels, t * t))
            g1 = tg.reduce_sum(tf_square(t1.gradient(loss, t)))
        return t2.gradient(g1, t)

    def tf_square(t):
        return t * t

    xv = x.numpy()
    t = tg.constant(xv)
    with tg.GradientTape() as t3:
        t3.watch(t)
        with tg.GradientTape() as t2:
            t2.watch(t)
            with tg.GradientTape() as t1:
                t1.watch(t)
                loss = tg.reduce_sum(SPARSE(labels, t * t))
            g1 = tg.reduce_sum(tf_square(t1.gradient(loss, t)))
        g2 = tg.reduce_sum(t2.gradient(g1, t))
    g3 = t3.gradient(g2, t).numpy()
    want = np.zeros_like(xv)
    for j in np.ndindex(*xv.shape):
        plus, minus = xv.copy(), xv.copy()
        plus[j] += eps
        minus[j] -= eps
        want[j] = (np.sum(second(plus).numpy()) - np.sum(second(minus).numpy())) / (2 * eps)
    np.testing.assert_allclose(g3, want, rtol=1e-5, atol=1e-6)


def test_results_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(8)
    logits = tg.constant(rng.standard_normal((257, 301)).astype(np.float32))
    labels = tg.constant(rng.integers(0, 301, size=257))
    probs = tg.nn.softmax(tg.constant(rng.standard_normal((257, 301)).astype(np.float32)))
    big = tg.constant(rng.standard_normal(300_001).astype(np.float32))

    def everything():
        with tg.GradientTape(persistent=True) as tape:
            tape.watch(logits)
            tape.watch(probs)
            tape.watch(big)
            outs = [SPARSE(labels, logits), DENSE(probs, logits), DENSE(probs, logits, axis=0),
                    SIGMOID(probs, logits), tg.nn.l2_loss(big)]
        grads = [tape.gradient(o, [logits, probs, big], unconnected_gradients="zero") for o in outs]
        return [o.numpy().tobytes() for o in outs] + [g.numpy().tobytes() for gs in grads for g in gs]

    old = tg.config.num_threads()
    try:
        tg.config.set_num_threads(1)
        want = everything()
        for n in (2, 3, 5):
            tg.config.set_num_threads(n)
            assert everything() == want, f"{n} threads"
    finally:
        tg.config.set_num_threads(old)


def test_label_errors_name_the_label_and_the_class_count():
    with pytest.raises(ValueError, match=r"^sparse_softmax_cross_entropy_with_logits: label 7 at position 3 "
                                         r"is outside \[0, 5\)"):
        SPARSE(labels=np.array([0, 1, 2, 7]), logits=np.zeros((4, 5), np.float32))
    with pytest.raises(TypeError, match="^sparse_softmax_cross_entropy_with_logits: labels must be int32 or int64"):
        SPARSE(labels=[0.0, 1.0], logits=np.zeros((2, 5), np.float32))


def test_labels_in_any_integer_form():
    """As TensorFlow converts them: Python ints and lists of ints, numpy integer arrays and
    scalars; the logits from Python floats are float32."""
    logits = [[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]]
    want = SPARSE(tg.constant(np.array([0, 1], np.int32)), tg.constant(np.array(logits, np.float32))).numpy()
    for labels in ([0, 1], (0, 1), np.array([0, 1], np.uint8), np.array([0, 1])):
        got = SPARSE(labels=labels, logits=logits)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got.numpy(), want)
    for label in (1, np.int64(1), np.int32(1)):
        np.testing.assert_array_equal(SPARSE(label, logits[1]).numpy(), want[1])
    # the logits keep a float64 array's dtype; labels never take the logits' dtype
    assert SPARSE([0, 1], np.array(logits)).dtype == np.float64


def test_l2_loss_accumulates_float32_in_double():
    x = np.full(1 << 20, 0.1, np.float32)
    want = np.sum(x.astype(np.float64) ** 2) / 2
    assert float(tg.nn.l2_loss(x)) == np.float32(want)
