"""The fused backward shortcuts: taken when no tape records the backward pass, never when one
does, and giving the same bits as the ops they replace (cpp/ops/README.md). The engine counts
each shortcut taken (tapegrad._core._shortcut_hits), since no result can show it."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _core

RNG = np.random.default_rng(11)
X = RNG.normal(size=(5, 4)).astype(np.float32)
SPARSE_LABELS = RNG.integers(0, 4, size=5)
DENSE_LABELS = RNG.dirichlet(np.ones(4), size=5).astype(np.float32)
BINARY_LABELS = RNG.integers(0, 2, size=(5, 4)).astype(np.float32)

CASES = {
    "reduction_spread": lambda x: tg.reduce_sum(x),
    "square": lambda x: tg.reduce_sum(tg.square(x) * 1.5),
    "sparse_softmax_cross_entropy_with_logits": lambda x: tg.reduce_sum(
        tg.nn.sparse_softmax_cross_entropy_with_logits(labels=SPARSE_LABELS, logits=x)),
    "softmax_cross_entropy_with_logits": lambda x: tg.reduce_sum(
        tg.nn.softmax_cross_entropy_with_logits(labels=DENSE_LABELS, logits=x)),
    "sigmoid_cross_entropy_with_logits": lambda x: tg.reduce_sum(
        tg.nn.sigmoid_cross_entropy_with_logits(labels=BINARY_LABELS, logits=x)),
}


def test_every_counted_shortcut_has_a_case():
    assert set(_core._shortcut_hits()) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shortcut_taken_alone_and_not_under_a_recording_tape_with_the_same_bits(name):
    f = CASES[name]
    x = tg.constant(X)
    before = _core._shortcut_hits()[name]
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    fused = tape.gradient(y, x)
    assert _core._shortcut_hits()[name] > before, f"{name}: the shortcut was not taken"

    before = _core._shortcut_hits()[name]
    with tg.GradientTape() as outer:  # records the inner backward pass: rules take the op path
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = f(x)
        by_ops = inner.gradient(y, x)
    assert _core._shortcut_hits()[name] == before, f"{name}: a shortcut ran under a recording tape"
    assert fused.numpy().tobytes() == by_ops.numpy().tobytes(), f"{name}: the shortcut changed bits"
