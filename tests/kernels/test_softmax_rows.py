"""The softmax row loops (kernels/softmax_rows.h) behind softmax, log_softmax, the softmax
cross-entropies and the sigmoid cross-entropy: the same bits on every instruction set and for any thread count, the bits of the
exp op for every exponential, float32 accuracy against float64."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _core

SPARSE = tg.nn.sparse_softmax_cross_entropy_with_logits
DENSE = tg.nn.softmax_cross_entropy_with_logits
SIGMOID = tg.nn.sigmoid_cross_entropy_with_logits


def _inputs(dtype, classes):
    rng = np.random.default_rng(11)
    # 257 classes: sixteen whole lane groups and a tail; 10 and 5: rows shorter than the 16 lanes,
    # all tail; 300 rows pass the parallel threshold (with 257 classes)
    logits = rng.standard_normal((300, classes)) * 3
    logits[1] *= 60  # lanes below exp's normal range: the general exponential
    logits[2, ::7] = -np.inf
    logits[3] = 0.0
    logits[3, ::2] = -0.0
    logits[4, :] = -1e30
    labels = rng.integers(0, classes, size=300)
    probs = rng.random((300, classes))
    probs /= probs.sum(axis=1, keepdims=True)
    return (tg.constant(logits.astype(dtype)), tg.constant(labels),
            tg.constant(probs.astype(dtype)), tg.constant((rng.standard_normal((7, 300, 3)) * 4).astype(dtype)))


def _everything(dtype, classes):
    logits, labels, probs, strided = _inputs(dtype, classes)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        tape.watch(probs)
        tape.watch(strided)
        outs = [tg.nn.softmax(logits), tg.nn.log_softmax(logits), tg.nn.softmax(strided, axis=1),
                tg.nn.log_softmax(strided, axis=1), SPARSE(labels, logits), DENSE(probs, logits),
                DENSE(probs, logits, axis=0), SIGMOID(probs, logits)]
    finite = [tg.nn.softmax(strided, axis=1), SPARSE(labels, logits), DENSE(probs, logits),
              SIGMOID(probs, logits)]
    grads = [tape.gradient(o, [logits, probs, strided], unconnected_gradients="zero") for o in finite]
    return [o.numpy().tobytes() for o in outs] + [g.numpy().tobytes() for gs in grads for g in gs]


@pytest.mark.parametrize("classes", [257, 10, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_instruction_set_and_thread_count_gives_the_same_bits(dtype, classes):
    saved_isa, saved_threads = _core.isa(), tg.config.num_threads()
    try:
        tg.config.set_num_threads(1)
        _core.select_isa("scalar")
        want = _everything(dtype, classes)
        for isa in _core.available_isas():
            _core.select_isa(isa)
            for n in (1, 2, 3):
                tg.config.set_num_threads(n)
                got = _everything(dtype, classes)
                for k, (g, w) in enumerate(zip(got, want)):
                    assert g == w, f"{isa}, {n} threads: result {k} differs from the scalar reference"
    finally:
        _core.select_isa(saved_isa)
        tg.config.set_num_threads(saved_threads)


@pytest.mark.parametrize("dtype,low", [(np.float32, -103.0), (np.float64, -744.0)])
def test_softmax_exponentials_have_the_bits_of_exp(dtype, low):
    # a row whose maximum is 0 and whose other exponentials sum to nothing next to 1: softmax is
    # exp itself, on both sides of exp's normal range (subnormal results included)
    rng = np.random.default_rng(12)
    x = np.concatenate([[0.0], rng.uniform(low, -60.0, 1000)]).astype(dtype)
    x[1:200] = rng.uniform(-85.0, -60.0, 199)  # whole vectors in the normal range
    saved = _core.isa()
    try:
        for isa in _core.available_isas():
            _core.select_isa(isa)
            want = tg.exp(x).numpy()
            got = tg.nn.softmax(x[None, :]).numpy()[0]
            assert got.tobytes() == want.tobytes(), isa
    finally:
        _core.select_isa(saved)


@pytest.mark.parametrize("shape,axis", [((64, 1000), -1), ((3, 4097), -1), ((500, 6), 0)])
def test_float32_softmax_is_accurate(shape, axis):
    x = np.random.default_rng(13).standard_normal(shape).astype(np.float32) * 5
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis=axis, keepdims=True))
    want = e / e.sum(axis=axis, keepdims=True)
    got = tg.nn.softmax(x, axis=axis).numpy().astype(np.float64)
    assert np.max(np.abs(got - want) / want) < 4e-6
    log_want = np.log(want)
    log_got = tg.nn.log_softmax(x, axis=axis).numpy().astype(np.float64)
    assert np.max(np.abs(log_got - log_want)) < 4e-6 * np.max(np.abs(log_want))


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-14)])
def test_sigmoid_cross_entropy_is_accurate(dtype, tol):
    rng = np.random.default_rng(14)
    x = np.concatenate([rng.standard_normal(1000) * 8, [0.0, -0.0, 30.0, -30.0, 1e-8, -1e-8]]).astype(dtype)
    z = rng.random(x.size).astype(dtype)
    x64, z64 = x.astype(np.float64), z.astype(np.float64)
    want = np.maximum(x64, 0) - x64 * z64 + np.log1p(np.exp(-np.abs(x64)))
    got = SIGMOID(labels=z, logits=x).numpy().astype(np.float64)
    assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1.0)) < tol


def _exponentials_and_total(x):
    """A row's exponentials and their sum, written out in numpy with the kernels' operations: the
    row's peak, exp of the shifted row by tapegrad's exp op, the sum in 16 lanes (element j in
    lane j % 16) folded by a pairwise tree."""
    zero = x.dtype.type(0)
    best = x[0]
    for v in x:
        best = v if v > best else best
    peak = best + zero if np.isfinite(best) else zero
    e = tg.exp(x - peak).numpy()
    lanes = np.zeros(16, x.dtype)
    for j in range(x.size):
        lanes[j % 16] += e[j]
    width = 8
    while width >= 1:
        lanes[:width] += lanes[width:2 * width]
        width //= 2
    return e, lanes[0]


def _sparse_gradient_row(x, label):
    """One row of the gradient of a sum of sparse softmax cross-entropies: e * (1 / total), less 1
    at the label."""
    one = x.dtype.type(1)
    e, total = _exponentials_and_total(x)
    inverse = one / total
    out = e * inverse
    out[label] = e[label] * inverse - one
    return out


@pytest.mark.parametrize("classes", [1, 5, 10, 15, 16, 21])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_short_rows_side_by_side_give_the_bits_of_the_row_loops(dtype, classes):
    """Rows shorter than the 16 lanes go a vector of rows at a time (SoftmaxRowLoops::narrow_rows),
    longer ones one by one; the cross-entropy's gradient and softmax must give the operations
    written out row by row, with rows of -inf, NaN and huge values among them, in whole and
    partial blocks of rows."""
    rng = np.random.default_rng(15)
    x = (rng.standard_normal((37, classes)) * 4).astype(dtype)
    x[1] *= 60
    x[2, ::3] = -np.inf
    x[3, 0] = np.nan
    x[4, -1] = np.nan
    x[5] = -np.inf
    x[6] = 3e38 if dtype == np.float32 else 1e300
    labels = rng.integers(0, classes, size=37)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        want = np.stack([_sparse_gradient_row(row, label) for row, label in zip(x, labels)])
        want_softmax = np.stack([e / total for e, total in map(_exponentials_and_total, x)])
    saved = _core.isa()
    try:
        for isa in _core.available_isas():
            _core.select_isa(isa)
            logits = tg.constant(x)
            with tg.GradientTape() as tape:
                tape.watch(logits)
                loss = tg.reduce_sum(SPARSE(tg.constant(labels), logits))
            got = tape.gradient(loss, logits).numpy()
            assert got.tobytes() == want.tobytes(), isa
            assert tg.nn.softmax(logits).numpy().tobytes() == want_softmax.tobytes(), isa
    finally:
        _core.select_isa(saved)
