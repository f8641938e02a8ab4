"""tapegrad.random: reproducibility, shapes, dtypes, rough moments, argument checks."""

import numpy as np
import pytest

import tapegrad as tg


def _np(t):
    assert isinstance(t, tg.Tensor)
    return np.array(t.numpy(), copy=True)


@pytest.mark.parametrize("fn", ["normal", "uniform"])
def test_same_seed_same_numbers(fn):
    f = getattr(tg.random, fn)
    a = _np(f((50, 3), seed=123))
    b = _np(f((50, 3), seed=123))
    c = _np(f((50, 3), seed=124))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("fn", ["normal", "uniform"])
def test_set_seed_reproduces_sequence(fn):
    f = getattr(tg.random, fn)
    tg.random.set_seed(7)
    first = [_np(f((4, 5))) for _ in range(3)]
    tg.random.set_seed(7)
    second = [_np(f((4, 5))) for _ in range(3)]
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0], first[1])  # consecutive draws differ
    tg.random.set_seed(8)
    assert not np.array_equal(_np(f((4, 5))), first[0])


def test_seeded_call_does_not_depend_on_module_state():
    tg.random.set_seed(1)
    a = _np(tg.random.normal((10,), seed=99))
    tg.random.set_seed(2)
    _ = tg.random.normal((3,))
    b = _np(tg.random.normal((10,), seed=99))
    np.testing.assert_array_equal(a, b)


def test_dense_glorot_init_reproducible_with_set_seed():
    x = np.ones((2, 6), np.float32)
    tg.random.set_seed(2024)
    l1 = tg.Dense(4)
    l1(x)
    tg.random.set_seed(2024)
    l2 = tg.Dense(4)
    l2(x)
    np.testing.assert_array_equal(l1.kernel.numpy(), l2.kernel.numpy())
    limit = np.sqrt(6.0 / (6 + 4))  # glorot_uniform bound
    assert np.all(np.abs(l1.kernel.numpy()) <= limit + 1e-6)
    assert np.std(l1.kernel.numpy()) > 0


@pytest.mark.parametrize("shape,expected", [(5, (5,)), ((2, 3), (2, 3)), ([4, 1], (4, 1)), ((), ()),
                                            ((0, 3), (0, 3)), ((2, 1, 3, 1), (2, 1, 3, 1)),
                                            (np.int64(3), (3,)), ((np.int32(2), 2), (2, 2))])
@pytest.mark.parametrize("fn", ["normal", "uniform"])
def test_shapes(fn, shape, expected):
    t = getattr(tg.random, fn)(shape, seed=0)
    assert isinstance(t, tg.Tensor)
    assert tuple(t.shape) == expected


@pytest.mark.parametrize("fn", ["normal", "uniform"])
def test_dtypes(fn):
    f = getattr(tg.random, fn)
    assert f((3,), seed=0).dtype == np.float32
    assert f((3,), seed=0, dtype=tg.float32).dtype == np.float32
    assert f((3,), seed=0, dtype=tg.float64).dtype == np.float64
    assert f((3,), seed=0, dtype=np.float64).dtype == np.float64
    for bad in (np.int32, np.float16, np.complex128, "int64"):
        with pytest.raises((TypeError, ValueError)):
            f((3,), dtype=bad)


def test_normal_moments():
    x = _np(tg.random.normal((40000,), mean=2.0, stddev=3.0, seed=11, dtype=tg.float64))
    # standard errors: mean 3/200 = 0.015, std ~0.011; allow ~6 standard errors
    assert abs(x.mean() - 2.0) < 0.1
    assert abs(x.std() - 3.0) < 0.07
    assert abs(np.mean(((x - 2.0) / 3.0) ** 3)) < 0.1  # symmetric
    assert 0.64 < np.mean(np.abs(x - 2.0) <= 3.0) < 0.72  # ~68% within one sigma


def test_normal_defaults():
    x = _np(tg.random.normal((20000,), seed=3))
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1.0) < 0.05


def test_uniform_range_and_moments():
    x = _np(tg.random.uniform((40000,), minval=-1.0, maxval=3.0, seed=5, dtype=tg.float64))
    assert x.min() >= -1.0 and x.max() < 3.0
    assert abs(x.mean() - 1.0) < 0.05
    assert abs(x.var() - 16.0 / 12.0) < 0.05
    hist, _ = np.histogram(x, bins=8, range=(-1.0, 3.0))
    assert hist.min() > 0.9 * 40000 / 8 and hist.max() < 1.1 * 40000 / 8


def test_uniform_defaults():
    x = _np(tg.random.uniform((10000,), seed=4))
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.02


def test_float32_and_float64_draws_agree():
    a = _np(tg.random.normal((100,), seed=8, dtype=tg.float32))
    b = _np(tg.random.normal((100,), seed=8, dtype=tg.float64))
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_random_tensors_work_in_ops_and_gradients():
    x = tg.random.normal((3, 2), seed=1)
    w = tg.Variable(tg.random.uniform((2, 1), seed=2))
    gv = tg.implicit_gradients(lambda: tg.reduce_sum(tg.matmul(x, w)))()
    np.testing.assert_allclose(np.asarray(gv[0][0]), _np(x).sum(axis=0, keepdims=True).T, rtol=1e-6)


@pytest.mark.parametrize("shape", [(-1,), (2, -3), -2])
@pytest.mark.parametrize("fn", ["normal", "uniform"])
def test_negative_dims_raise(fn, shape):
    with pytest.raises(ValueError, match=f"random.{fn}"):
        getattr(tg.random, fn)(shape)


@pytest.mark.parametrize("shape", [(2.0, 3), "abc", 2.5, None, (2, "3"), [[2]]])
@pytest.mark.parametrize("fn", ["normal", "uniform"])
def test_non_int_dims_raise(fn, shape):
    with pytest.raises(TypeError, match=f"random.{fn}"):
        getattr(tg.random, fn)(shape)


@pytest.mark.parametrize("shape", [(2 ** 40, 2 ** 40), (2 ** 62, 4), (2 ** 33,) * 2])
def test_huge_shapes_raise(shape):
    with pytest.raises((ValueError, MemoryError)):
        tg.random.normal(shape, seed=0)


@pytest.mark.parametrize("seed", [-1, 1.5, "x"])
def test_bad_seed(seed):
    with pytest.raises((TypeError, ValueError)):
        tg.random.set_seed(seed)
    with pytest.raises((TypeError, ValueError)):
        tg.random.normal((2,), seed=seed)
