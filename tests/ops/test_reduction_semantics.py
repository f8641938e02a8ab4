"""reduce_max/min ties, argmax/argmin, any/all, logsumexp stability and nn.moments, worked out by
hand."""

import numpy as np

import tapegrad as tg


def test_max_and_min_share_the_gradient_among_ties():
    x = tg.constant([[1.0, 5.0, 5.0], [2.0, -1.0, 2.0]], dtype=tg.float64)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        top = tg.reduce_max(x, axis=1)
        low = tg.reduce_min(x)
    assert top.numpy().tolist() == [5.0, 2.0] and float(low) == -1.0
    assert tape.gradient(top, x).numpy().tolist() == [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]]
    assert tape.gradient(low, x).numpy().tolist() == [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def test_max_propagates_nan_and_empty_reductions_give_the_identity():
    assert np.isnan(float(tg.reduce_max([1.0, np.nan, 3.0])))
    assert tg.reduce_max(tg.zeros([0, 2]), axis=0).numpy().tolist() == [-np.inf, -np.inf]
    assert tg.reduce_min(tg.constant(np.zeros((2, 0), np.int32)), axis=1).numpy().tolist() == [2 ** 31 - 1] * 2


def test_argmax_and_argmin():
    x = tg.constant([[1.0, 5.0, 5.0], [7.0, -1.0, 2.0]])
    assert tg.argmax(x).dtype == tg.int64
    assert tg.argmax(x).numpy().tolist() == [1, 0, 0]  # axis 0 by default, as TensorFlow
    assert tg.argmax(x, axis=1).numpy().tolist() == [1, 0]  # the first of tied maxima
    assert tg.argmin(x, axis=-1).numpy().tolist() == [0, 1]
    assert tg.argmax([1.0, np.nan, 3.0]).numpy().tolist() == 1  # NaN wins, as numpy


def test_any_and_all():
    b = tg.constant(np.array([[True, False], [False, False]]))
    assert tg.reduce_any(b, axis=1).numpy().tolist() == [True, False]
    assert tg.reduce_all(b, axis=0, keepdims=True).numpy().tolist() == [[False, False]]
    assert bool(tg.reduce_any(b)) and not bool(tg.reduce_all(b))


def test_logsumexp_is_stable_at_large_and_infinite_inputs():
    x = tg.constant([1e4, 1e4], dtype=tg.float32)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.reduce_logsumexp(x)
    assert abs(float(y) - (1e4 + np.log(2.0))) < 1e-2
    assert tape.gradient(y, x).numpy().tolist() == [0.5, 0.5]
    assert float(tg.reduce_logsumexp([-np.inf, -np.inf])) == -np.inf


def test_moments_by_hand():
    x = tg.constant([[1.0, 3.0], [2.0, 6.0]], dtype=tg.float64)
    with tg.GradientTape() as tape:
        tape.watch(x)
        mean, variance = tg.nn.moments(x, axes=[1])
        loss = tg.reduce_sum(variance)
    assert mean.numpy().tolist() == [2.0, 4.0] and variance.numpy().tolist() == [1.0, 4.0]
    # d var / d x_i = 2 (x_i - mean) / n
    assert tape.gradient(loss, x).numpy().tolist() == [[-1.0, 1.0], [-2.0, 2.0]]
    kept = tg.nn.moments(x, axes=[0, 1], keepdims=True)
    assert kept[0].shape == (1, 1) and float(kept[1]) == 3.5
