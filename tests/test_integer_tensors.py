"""int32, int64 and bool tensors: kept from numpy, computed exactly (wrapping on overflow),
converted by cast between all five dtypes, exported without a copy, and never differentiated."""

import warnings

import numpy as np
import pytest

import tapegrad as tg


def test_numpy_integer_and_bool_arrays_keep_their_dtype_but_python_values_stay_weak():
    assert tg.constant(np.array([1, 2], np.int32)).dtype == tg.int32
    assert tg.convert_to_tensor(np.array([1, 2], np.int64)).dtype == tg.int64
    assert tg.constant(np.array([True, False])).dtype == tg.bool
    assert tg.constant([1, 2]).dtype == tg.float32  # Python ints: weak, float32 alone
    assert tg.constant(3).dtype == tg.float32
    t = tg.constant([1, 2], dtype=tg.int64)
    assert t.dtype == tg.int64 and t.numpy().tolist() == [1, 2]
    assert tg.constant(2.9, dtype=tg.int32).numpy() == 2  # an explicit dtype converts as cast


def test_integer_arithmetic_by_hand():
    a = tg.constant(np.array([[1, -2, 3], [4, 5, -6]], np.int32))
    b = tg.constant(np.array([10, 20, 30], np.int32))
    assert (a + b).numpy().tolist() == [[11, 18, 33], [14, 25, 24]]
    assert (a - b).numpy().tolist() == [[-9, -22, -27], [-6, -15, -36]]
    assert (a * b).numpy().tolist() == [[10, -40, 90], [40, 100, -180]]
    assert (-a).numpy().tolist() == [[-1, 2, -3], [-4, -5, 6]]
    assert tg.square(a).numpy().tolist() == [[1, 4, 9], [16, 25, 36]]
    assert (a ** 3).numpy().tolist() == [[1, -8, 27], [64, 125, -216]]
    assert int(tg.reduce_sum(a)) == 5
    assert tg.reduce_sum(a, axis=0).numpy().tolist() == [5, 3, -3]
    assert tg.reduce_sum(a, axis=1, keepdims=True).numpy().tolist() == [[2], [3]]
    # Python ints are weak: they take the integer dtype
    r = a + 1
    assert r.dtype == tg.int32 and r.numpy().tolist() == [[2, -1, 4], [5, 6, -5]]
    assert (2 * tg.constant(np.array([3], np.int64))).dtype == tg.int64


def test_integer_arithmetic_wraps_around_as_numpy():
    top = tg.constant(np.array([2 ** 31 - 1, -2 ** 31], np.int32))
    assert (top + 1).numpy().tolist() == [-2 ** 31, -2 ** 31 + 1]
    assert (-top).numpy().tolist() == [-2 ** 31 + 1, -2 ** 31]
    big = tg.constant(np.array([2 ** 62], np.int64))
    assert (big * 4).numpy().tolist() == [0]
    assert int(tg.reduce_sum(tg.constant(np.full(4, 2 ** 30, np.int32)))) == 0


def test_shape_ops_move_integers_and_bools_exactly():
    a = tg.constant(np.arange(6, dtype=np.int64).reshape(2, 3) + 2 ** 40)
    np.testing.assert_array_equal(tg.transpose(a).numpy(), np.arange(6).reshape(2, 3).T + 2 ** 40)
    np.testing.assert_array_equal(tg.reshape(a, (3, 2)).numpy(), (np.arange(6) + 2 ** 40).reshape(3, 2))
    m = tg.constant(np.array([[True], [False]]))
    np.testing.assert_array_equal(tg.broadcast_to(m, (2, 3)).numpy(), [[True] * 3, [False] * 3])
    assert tg.identity(m).dtype == tg.bool and tg.stop_gradient(a).dtype == tg.int64


CAST_CASES = [
    # (values, from, to, expected): float -> int truncates toward zero, saturates, NaN -> 0
    ([-1.7, -0.5, 0.5, 2.9], tg.float32, tg.int32, [-1, 0, 0, 2]),
    ([1e20, -1e20, np.nan, np.inf], tg.float64, tg.int32, [2 ** 31 - 1, -2 ** 31, 0, 2 ** 31 - 1]),
    ([1e20, -1e20, np.nan, -np.inf], tg.float32, tg.int64, [2 ** 63 - 1, -2 ** 63, 0, -2 ** 63]),
    ([2 ** 40 + 3, -5], tg.int64, tg.int32, [3, -5]),  # int -> int keeps the low bits
    ([-5, 7], tg.int32, tg.int64, [-5, 7]),
    ([0.0, -0.0, 0.25, np.nan], tg.float64, tg.bool, [False, False, True, True]),
    ([0, 3, -1], tg.int32, tg.bool, [False, True, True]),
    ([True, False], tg.bool, tg.float64, [1.0, 0.0]),
    ([True, False], tg.bool, tg.int64, [1, 0]),
    ([2 ** 24 + 1, -3], tg.int32, tg.float32, [2 ** 24, -3.0]),  # rounded to float32
]


@pytest.mark.parametrize("values,src,dst,want", CAST_CASES, ids=[f"{c[1]}-{c[2]}-{i}" for i, c in enumerate(CAST_CASES)])
def test_cast_between_all_dtypes(values, src, dst, want):
    x = tg.constant(np.array(values, dtype=src))
    y = tg.cast(x, dst)
    assert y.dtype == dst
    assert y.numpy().tolist() == want


def test_integer_export_is_zero_copy():
    t = tg.constant(np.array([[1, 2], [3, 4]], np.int64))
    a, b = t.numpy(), np.asarray(t)
    assert a.dtype == np.int64 and np.shares_memory(a, b)
    assert memoryview(t).format == "q" and memoryview(tg.constant(np.array([True]))).format == "?"
    assert memoryview(tg.constant(np.array([1], np.int32))).format == "i"
    assert float(tg.constant(np.array([7], np.int32))) == 7.0 and bool(tg.constant(np.array([True])))


def test_integer_tensors_are_never_differentiated():
    i = tg.constant(np.array([1, 2, 3], np.int32))
    x = tg.constant([1.0, 2.0, 3.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with tg.GradientTape(persistent=True) as tape:
            tape.watch(i)
            tape.watch(x)
            y = tg.reduce_sum(tg.cast(i * i, tg.float32) * x)  # int ops are never recorded
            n = tape._tape.num_entries
    assert any("int32 tensors are not differentiable" in str(w.message) for w in caught)
    assert n == 2  # multiply and reduce_sum: nothing of i * i, nor the cast of an int
    assert tape.gradient(y, i) is None
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [1.0, 4.0, 9.0])
    # through a cast to int, nothing flows back
    with tg.GradientTape() as tape:
        tape.watch(x)
        z = tg.cast(tg.cast(x, tg.int64), tg.float32) * 2.0
    assert tape.gradient(z, x) is None
    grads = tg.gradients_function(lambda a, b: tg.reduce_sum(tg.cast(a, tg.float32) * b))(i, x)
    assert grads[0] is None and grads[1].numpy().tolist() == [1.0, 2.0, 3.0]


def test_integer_variables_hold_and_step_but_are_not_trained():
    v = tg.Variable(np.array([1, 2], np.int32))
    assert v.dtype == tg.int32
    v.assign_add(np.array([10, 20], np.int32))
    v.assign_sub(np.array([1, 1], np.int32))
    assert v.numpy().tolist() == [10, 21]
    with pytest.raises(ValueError, match="No trainable variables"):
        tg.implicit_gradients(lambda: tg.cast(v, tg.float32) * 2.0)()
    with pytest.raises(TypeError, match="apply_gradients.*int32"):
        tg.GradientDescent(0.1).apply_gradients([(tg.constant(np.array([1, 1], np.int32)), v)])
    assert v.numpy().tolist() == [10, 21]
