"""Dense activations by name, Sequential models and mini-batches (tg.data.batches)."""

import numpy as np
import pytest

import tapegrad as tg
from gradcheck import check_op, randn


@pytest.mark.parametrize("name,ref", [
    ("relu", lambda a: np.maximum(a, 0.0)),
    ("tanh", np.tanh),
    ("sigmoid", lambda a: 1.0 / (1.0 + np.exp(-a))),
    ("softplus", lambda a: np.logaddexp(0.0, a)),
    ("softmax", lambda a: np.exp(a - a.max(-1, keepdims=True)) / np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True)),
    ("linear", lambda a: a),
    (None, lambda a: a),
])
def test_dense_activation_by_name_matches_the_function(name, ref, rng):
    x = randn(rng, (4, 3))
    layer = tg.Dense(5, activation=name, kernel_initializer="random_normal", bias_initializer="ones")
    y = layer(tg.constant(x)).numpy()
    pre = x @ layer.kernel.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(y, ref(pre), rtol=1e-6, atol=1e-6)


def test_dense_gelu_by_name_is_the_exact_gelu(rng):
    x = tg.constant(randn(rng, (2, 3)))
    layer = tg.Dense(4, activation="gelu")
    np.testing.assert_array_equal(layer(x).numpy(), tg.nn.gelu(tg.matmul(x, layer.kernel) + layer.bias).numpy())


def test_activations_get_lists_known_names():
    assert {"relu", "tanh", "sigmoid", "softmax", "softplus", "gelu", "linear"} <= set(tg.activations.names())
    with pytest.raises(ValueError) as err:
        tg.activations.get("swishy")
    for name in tg.activations.names():
        assert repr(name) in str(err.value)
    f = lambda t: t  # noqa: E731
    assert tg.activations.get(f) is f


def test_sequential_applies_layers_in_order_and_builds_lazily(rng):
    model = tg.Sequential([tg.Dense(8, activation="relu"), tg.Dense(3)])
    assert model.variables == [] and not model.built and len(model) == 2
    x = randn(rng, (5, 4)).astype(np.float32)
    y = model(x)
    assert model.built and y.shape == (5, 3)
    first, second = model.layers
    want = np.maximum(x @ first.kernel.numpy() + first.bias.numpy(), 0) @ second.kernel.numpy() + second.bias.numpy()
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-5)
    assert model.variables == [first.kernel, first.bias, second.kernel, second.bias]
    assert model.trainable_variables == model.variables and model.non_trainable_variables == []


def test_sequential_names_are_unique_and_layers_is_a_copy():
    a, b = tg.Sequential(), tg.Sequential()
    assert a.name != b.name and a.name.startswith("sequential")
    a.add(tg.Dense(2))
    a.layers.append("junk")
    assert len(a.layers) == 1


def test_sequential_accepts_functions_and_nested_models(rng):
    inner = tg.Sequential([tg.Dense(4), tg.nn.tanh])
    model = tg.Sequential([inner, tg.Dense(2)])
    y = model(randn(rng, (3, 5)).astype(np.float32))
    assert y.shape == (3, 2)
    assert len(model.variables) == 4 and model.variables[:2] == inner.variables


def test_sequential_gradient_through_all_layers(rng):
    """Finite differences on the input through a built float64 model."""
    model = tg.Sequential([tg.Dense(4, activation="tanh"), tg.Dense(3, activation="softplus")])
    model(np.zeros((1, 3)))  # builds float64 variables
    x = randn(rng, (2, 3))
    check_op(lambda t: model(t), None, x, rng=rng, dtypes=(np.float64,), name="sequential")


def test_batches_cover_every_row_once_in_order_without_shuffle():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.arange(5, dtype=np.int64)
    got = list(tg.data.batches(x, y, batch_size=2, shuffle=False))
    assert [b[0].shape for b in got] == [(2, 2), (2, 2), (1, 2)]
    assert got[0][1].dtype == tg.int64 and got[0][0].dtype == tg.float32
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in got]), x)
    assert len(list(tg.data.batches(x, y, batch_size=2, shuffle=False, drop_remainder=True))) == 2


def test_batches_shuffle_is_a_permutation_reproducible_with_a_seed():
    x = np.arange(100, dtype=np.int32)
    one = np.concatenate([b.numpy() for (b,) in tg.data.batches(x, batch_size=7, seed=3)])
    two = np.concatenate([b.numpy() for (b,) in tg.data.batches(x, batch_size=7, seed=3)])
    other = np.concatenate([b.numpy() for (b,) in tg.data.batches(x, batch_size=7, seed=4)])
    np.testing.assert_array_equal(np.sort(one), x)
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, other)


def test_batches_without_seed_follow_tg_random_set_seed():
    x = np.arange(50, dtype=np.int32)

    def epoch():
        return np.concatenate([b.numpy() for (b,) in tg.data.batches(x, batch_size=8)])
    tg.random.set_seed(11)
    first, second = epoch(), epoch()
    tg.random.set_seed(11)
    np.testing.assert_array_equal(epoch(), first)
    assert not np.array_equal(first, second)  # a new order each epoch


def test_batches_pair_rows_across_arrays():
    x = np.arange(30, dtype=np.float64).reshape(10, 3)
    y = np.arange(10)
    for bx, by in tg.data.batches(x, tg.constant(y), batch_size=4, seed=0):
        np.testing.assert_array_equal(bx.numpy()[:, 0], by.numpy() * 3.0)
