"""zeros, ones, zeros_like, ones_like, fill, range, eye and linspace: values and dtypes as
TensorFlow's, and errors that name the function."""

import numpy as np
import pytest

import tapegrad as tg


def test_values_and_dtypes():
    z = tg.zeros([2, 3])
    assert z.dtype == tg.float32 and z.numpy().tolist() == [[0.0] * 3] * 2
    assert tg.ones(2, tg.int64).numpy().tolist() == [1, 1] and tg.ones(2, tg.int64).dtype == tg.int64
    x = tg.constant(np.array([[1, 2]], np.int32))
    assert tg.zeros_like(x).dtype == tg.int32 and tg.ones_like(x, tg.float64).numpy().tolist() == [[1.0, 1.0]]
    assert tg.fill([2], 7).dtype == tg.int32 and tg.fill([2], 7).numpy().tolist() == [7, 7]
    assert tg.fill([1], 2.5).dtype == tg.float32 and tg.fill([1], True).dtype == tg.bool


def test_range_as_tensorflow():
    r = tg.range(5)
    assert r.dtype == tg.int32 and r.numpy().tolist() == [0, 1, 2, 3, 4]
    assert tg.range(2, 11, 3).numpy().tolist() == [2, 5, 8]
    assert tg.range(5, 1, -2).numpy().tolist() == [5, 3]
    f = tg.range(1.0, 2.0, 0.25)
    assert f.dtype == tg.float32 and f.numpy().tolist() == [1.0, 1.25, 1.5, 1.75]
    assert tg.range(3, 3).numpy().tolist() == []


def test_eye_and_linspace():
    assert tg.eye(2, 3).numpy().tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    l5 = tg.linspace(0.0, 1.0, 5)
    assert l5.dtype == tg.float32 and l5.numpy().tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize("call,exc,name", [
    (lambda: tg.zeros([-1, 2]), ValueError, "zeros"),
    (lambda: tg.ones([2 ** 40, 2 ** 40]), ValueError, "ones"),
    (lambda: tg.zeros([2], dtype="int16"), TypeError, "zeros"),
    (lambda: tg.fill([2], "x"), (TypeError, ValueError), "fill"),
    (lambda: tg.range(0, 5, 0), ValueError, "range"),
    (lambda: tg.range(0, 1e12), ValueError, "range"),
    (lambda: tg.eye(-1), ValueError, "eye"),
    (lambda: tg.linspace(0.0, 1.0, -3), ValueError, "linspace"),
])
def test_bad_arguments_name_the_function(call, exc, name):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value).startswith(f"{name}:"), str(info.value)
