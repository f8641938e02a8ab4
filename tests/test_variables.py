"""Variable: attributes, names, reads, copy-on-write updates (a tensor read from a variable never
changes afterwards, whichever way it was read)."""

import numpy as np
import pytest

import tapegrad as tg


def _val(x):
    return np.array(np.asarray(x), dtype=np.float64)


@pytest.mark.parametrize("method,arg,expected", [("assign", [5.0, 6.0], [5.0, 6.0]),
                                                 ("assign_add", [1.0, 1.0], [2.0, 3.0]),
                                                 ("assign_sub", [1.0, 1.0], [0.0, 1.0])])
def test_variable_copy_on_write(method, arg, expected):
    v = tg.Variable([1.0, 2.0])
    t = v.read_value()
    view_t = t.numpy()
    view_v = v.numpy()
    view_arr = np.asarray(v)
    out = getattr(v, method)(arg)
    assert out is v
    np.testing.assert_array_equal(v.numpy(), expected)
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(view_t, [1.0, 2.0])
    np.testing.assert_array_equal(view_v, [1.0, 2.0])
    np.testing.assert_array_equal(view_arr, [1.0, 2.0])


def test_variable_repeated_updates_without_holders():
    v = tg.Variable(np.zeros(4))
    for _ in range(10):
        v.assign_add(np.ones(4))
    v.assign_sub(np.full(4, 2.5))
    np.testing.assert_allclose(v.numpy(), np.full(4, 7.5))
    assert v.dtype == np.float64


def test_variable_read_value_and_value():
    v = tg.Variable([[1.0, 2.0]])
    for t in (v.read_value(), v.value()):
        assert isinstance(t, tg.Tensor)
        assert tuple(t.shape) == (1, 2)
        np.testing.assert_array_equal(t.numpy(), [[1.0, 2.0]])


def test_variable_names():
    assert tg.Variable(1.0).name == "Variable:0"
    assert tg.Variable(1.0, name="x").name == "x:0"
    assert tg.Variable(1.0, name="dense/kernel").name == "dense/kernel:0"


def test_variable_attributes_and_dtypes():
    v = tg.Variable([[1.0, 2.0, 3.0]])
    assert v.shape == (1, 3) and isinstance(v.shape, tuple)
    assert v.dtype == np.float32 and v.dtype == tg.float32
    assert v.trainable is True
    assert tg.Variable(1.0, trainable=False).trainable is False
    assert tg.Variable(np.zeros(2)).dtype == np.float64
    assert tg.Variable(np.zeros(2, np.float32)).dtype == np.float32
    assert tg.Variable([1.0, 2.0], dtype=tg.float64).dtype == np.float64
    assert tg.Variable(tg.constant([1.0], dtype=tg.float64)).dtype == np.float64


def test_variable_usable_as_tensor():
    v = tg.Variable([[1.0, 2.0], [3.0, 4.0]])
    a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    np.testing.assert_allclose(_val(v + 1.0), a + 1)
    np.testing.assert_allclose(_val(2.0 * v), 2 * a)
    np.testing.assert_allclose(_val(v @ v), a @ a)
    np.testing.assert_allclose(_val(-v), -a)
    np.testing.assert_allclose(_val(tg.matmul(v, v, transpose_a=True)), a.T @ a)
    np.testing.assert_allclose(_val(tg.reduce_sum(v)), 10.0)
    np.testing.assert_allclose(np.asarray(v), a)


def test_variable_initial_value_is_copied():
    a = np.array([1.0, 2.0])
    v = tg.Variable(a)
    a[0] = 100.0
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


# =============================================================================================
# Copy-on-write: tensors derived from a variable
# =============================================================================================

ALIASING_READS = {
    "read_value": lambda v: v.read_value(),
    "value": lambda v: v.value(),
    "convert_to_tensor": lambda v: tg.convert_to_tensor(v),
    "reshape_same": lambda v: tg.reshape(v, (2, 2)),
    "reshape_flat": lambda v: tg.reshape(v, (-1,)),
    "cast_same_dtype": lambda v: tg.cast(v, tg.float32),
    "broadcast_to_same": lambda v: tg.broadcast_to(v, (2, 2)),
    "transpose_identity": lambda v: tg.transpose(v, (0, 1)),
    "reduce_sum_size1_axis": lambda v: tg.reduce_sum(tg.reshape(v, (2, 2, 1)), axis=2),
}


@pytest.mark.parametrize("how", list(ALIASING_READS))
@pytest.mark.parametrize("update", ["assign_sub", "assign_add", "assign", "sgd"])
def test_tensor_derived_from_variable_never_changes(how, update):
    """Zero-copy results (reshape, same-dtype cast, ...) may share the variable's storage; an in-place
    update must then copy instead of writing under them."""
    v = tg.Variable([[1.0, 2.0], [3.0, 4.0]])
    t = ALIASING_READS[how](v)
    before = np.array(np.asarray(t), copy=True)
    view = np.asarray(t)
    delta = np.full((2, 2), 0.5, np.float32)
    if update == "sgd":
        tg.GradientDescent(1.0).apply_gradients([(tg.constant(delta), v)])
        expected_v = np.array([[0.5, 1.5], [2.5, 3.5]])
    elif update == "assign":
        v.assign(delta)
        expected_v = delta
    else:
        getattr(v, update)(delta)
        expected_v = np.array([[1.0, 2.0], [3.0, 4.0]]) + (0.5 if update == "assign_add" else -0.5)
    np.testing.assert_array_equal(v.numpy(), expected_v)
    np.testing.assert_array_equal(np.asarray(t), before)
    np.testing.assert_array_equal(view, before)
