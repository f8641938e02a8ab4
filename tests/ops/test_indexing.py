"""Tensor.__getitem__ (numpy's basic indexing) against numpy, forward and backward, its errors,
and the gather cases the op table does not reach: batch_dims with gradients, repeated indices
summed exactly as numpy's add.at sums them, integer and bool tensors, jacobians, thread counts."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _core
from gradcheck import F64, check_op, randn

# Keys of numpy's basic indexing on a (4, 5, 6) array.
KEYS_3D = {
    "int": 1,
    "negative_int": -1,
    "int_int": (2, -3),
    "int_int_int": (3, 0, -6),
    "slice": slice(1, 3),
    "full_slice": slice(None),
    "step": slice(None, None, 2),
    "negative_step": slice(None, None, -1),
    "negative_step_bounds": slice(-1, 0, -2),
    "negative_bounds": slice(-3, -1),
    "clipped_bounds": slice(-100, 100),
    "empty_slice": slice(3, 1),
    "empty_negative_step": slice(0, 3, -1),
    "step_past_end": slice(1, None, 7),
    "two_slices": (slice(1, None), slice(None, -1, 2)),
    "three_slices": (slice(None, None, -2), slice(4, 0, -3), slice(1, 5, 2)),
    "ellipsis": Ellipsis,
    "ellipsis_int": (Ellipsis, 2),
    "int_ellipsis": (1, Ellipsis),
    "int_ellipsis_slice": (0, Ellipsis, slice(None, None, -1)),
    "ellipsis_middle": (slice(1, 2), Ellipsis, -1),
    "ellipsis_all_used": (1, 2, Ellipsis, 3),
    "newaxis": None,
    "newaxis_front_back": (None, Ellipsis, None),
    "newaxis_between": (1, None, slice(None, 2), None),
    "newaxis_many": (None, None, 0, None, 1, None),
    "numpy_int": np.int64(2),
    "numpy_int_in_tuple": (np.int32(-1), slice(None)),
    "zero_d_numpy_array": np.array(3),
    "empty_tuple": (),
    "slice_int_slice": (slice(None), 4, slice(2, None)),
}


def _np_key(key):
    return key


@pytest.mark.parametrize("name", list(KEYS_3D))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_getitem_matches_numpy(name, dtype):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((4, 5, 6)) * 5).astype(dtype)
    key = KEYS_3D[name]
    got = tg.constant(a, dtype=a.dtype)[key]
    want = a[_np_key(key)]
    assert isinstance(got, tg.Tensor)
    assert got.dtype == want.dtype and tuple(got.shape) == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("name", list(KEYS_3D))
def test_getitem_gradient_matches_finite_differences(name, rng):
    key = KEYS_3D[name]
    check_op(lambda t: t[key], lambda a: a[key], randn(rng, (4, 5, 6)), rng=rng, name=f"getitem[{name}]")


def test_getitem_gradient_is_the_scattered_gradient():
    x = tg.constant(np.arange(24.0).reshape(4, 6))
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x[1::2, ::-3]
    g = tape.gradient(y, x, output_gradients=tg.constant([[1.0, 2.0], [3.0, 4.0]], tg.float64))
    want = np.zeros((4, 6))
    want[1::2, ::-3] = [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(g.numpy(), want)


@pytest.mark.parametrize("case", ["rank1", "rank0", "scalar_result", "ellipsis_newaxis"])
def test_getitem_on_small_ranks(case, rng):
    shape, key = {"rank1": ((7,), slice(5, 1, -2)), "rank0": ((), ()), "scalar_result": ((3,), -2),
                  "ellipsis_newaxis": ((), (Ellipsis, None))}[case]
    check_op(lambda t: t[key], lambda a: a[key], randn(rng, shape), rng=rng, name=f"getitem[{case}]")


def test_getitem_on_empty_tensors():
    a = np.zeros((0, 3))
    t = tg.constant(a)
    for key in [slice(None), (slice(None), 1), (Ellipsis, slice(1, 2)), (slice(None), None)]:
        assert tuple(t[key].shape) == a[key].shape
    with pytest.raises(IndexError, match="axis 0 of size 0"):
        t[0]


def test_getitem_second_order(rng):
    x = randn(rng, (3, 4))
    r = randn(rng, (3, 4))

    def projected_gradient(t):
        with tg.GradientTape() as inner:
            inner.watch(t)
            loss = tg.reduce_sum(t[::-1, 1:] * t[:, :-1] * t[1, None, 1:])
        g = inner.gradient(loss, t)
        return tg.reduce_sum(g * tg.constant(r, dtype=t.dtype))

    check_op(projected_gradient, None, x, rng=rng, dtypes=(F64,), name="d2 getitem")


def test_getitem_jacobian_and_batch_jacobian():
    x = tg.constant(np.arange(12.0).reshape(3, 4))
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x[:, ::-2] * 2.0
    jac = tape.jacobian(y, x).numpy()
    want = np.zeros((3, 2, 3, 4))
    for i in range(3):
        for j, col in enumerate([3, 1]):
            want[i, j, i, col] = 2.0
    np.testing.assert_array_equal(jac, want)
    np.testing.assert_array_equal(tape.batch_jacobian(y, x).numpy(), want[np.arange(3), :, np.arange(3), :])


def test_variable_getitem_is_watched():
    v = tg.Variable([[1.0, 2.0], [3.0, 4.0]])
    with tg.GradientTape() as tape:
        y = tg.reduce_sum(v[1] * 3.0)
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [[0.0, 0.0], [3.0, 3.0]])


def test_iteration_gives_rows_and_refuses_scalars():
    a = np.arange(6.0).reshape(3, 2)
    rows = list(tg.constant(a))
    assert len(rows) == 3
    for row, want in zip(rows, a):
        np.testing.assert_array_equal(row.numpy(), want)
    with pytest.raises(TypeError, match=r"^iter: Cannot iterate over a scalar tensor\."):
        iter(tg.constant(1.0))
    assert [float(x) for x in tg.Variable([1.0, 2.0])] == [1.0, 2.0]


def test_zero_d_integer_tensor_is_an_index():
    t = tg.constant(np.arange(5.0))
    assert float(t[tg.constant(np.array(3, np.int64))]) == 3.0


ERRORS = {
    "int_past_end": ((3, 4), 3, IndexError, ("index 3", "axis 0", "size 3")),
    "int_before_start": ((3, 4), (slice(None), -5), IndexError, ("index -5", "axis 1", "size 4")),
    "int_on_scalar": ((), 0, IndexError, ("too many indices",)),
    "too_many": ((3, 4), (0, 0, 0), IndexError, ("too many indices", "(3, 4)")),
    "two_ellipses": ((3, 4), (Ellipsis, Ellipsis), IndexError, ("ellipsis",)),
    "step_zero": ((3, 4), slice(None, None, 0), ValueError, ("zero",)),
    "float": ((3, 4), 1.0, TypeError, ("float", "gather")),
    "float_slice_bound": ((3, 4), slice(0.5, 2), TypeError, ("slice",)),
    "list": ((3, 4), [0, 1], TypeError, ("list", "tapegrad.gather")),
    "array": ((3, 4), np.array([0, 1]), TypeError, ("ndarray", "tapegrad.gather")),
    "tensor": ((3, 4), "tensor", TypeError, ("Tensor", "tapegrad.gather")),
    "bool": ((3, 4), True, TypeError, ("bool",)),
    "string": ((3, 4), "a", TypeError, ("str",)),
    "rank_above_limit": ((2, 2), (None,) * 7, IndexError, ("rank 9",)),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_getitem_errors_name_the_op_and_what_was_expected(name):
    shape, key, exc, mentions = ERRORS[name]
    t = tg.constant(np.zeros(shape))
    if isinstance(key, str) and key == "tensor":
        key = tg.constant(np.array([0, 1], np.int64))
    with pytest.raises(exc) as info:
        t[key]
    msg = str(info.value)
    assert msg.startswith("__getitem__"), msg
    for m in mentions:
        assert m in msg, (m, msg)


# ---------------------------------------------------------------------------------------------
# The internal ops behind it: every window is checked before anything is read or written
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [
    [0, 4, 1, 3],         # count past the end
    [2, 2, 1, 2],         # begin + count past the end
    [-1, 1, 1, 1],        # negative begin
    [0, 2, -1, 2],        # negative step from 0
    [0, 2, 0, 2],         # zero step
    [0, 2, 2 ** 62, 2],   # a step that overflows
    [0, -1, 1, 0],        # negative count
    [0, 3, 1, 4],         # result shape of another size
    [0, 3],               # too few integers
])
def test_strided_slice_refuses_windows_outside_the_tensor(spec):
    with pytest.raises(ValueError, match="strided_slice"):
        _core._strided_slice(tg.constant([1.0, 2.0, 3.0]), spec)


def test_strided_slice_grad_and_gather_grad_check_their_arguments():
    with pytest.raises(ValueError, match="strided_slice_grad"):
        _core._strided_slice_grad(tg.constant([1.0, 2.0]), [3, 2, 2, 1])
    with pytest.raises(IndexError, match="gather_grad"):
        _core._gather_grad(tg.constant([[1.0], [2.0]]), tg.constant(np.array([0, 5])), [0, 0, 3, 1])
    with pytest.raises(ValueError, match="gather_grad"):
        _core._gather_grad(tg.constant([[1.0], [2.0]]), tg.constant(np.array([0, 1, 2])), [0, 0, 3, 1])


# ---------------------------------------------------------------------------------------------
# gather
# ---------------------------------------------------------------------------------------------

def test_gather_gradient_accumulates_repeated_indices_in_order():
    rng = np.random.default_rng(5)
    params = rng.standard_normal((40, 7))
    idx = rng.integers(0, 40, size=300)
    g = rng.standard_normal((300, 7))
    x = tg.constant(params)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.gather(x, idx)
    got = tape.gradient(y, x, output_gradients=tg.constant(g)).numpy()
    want = np.zeros_like(params)
    np.add.at(want, idx, g)  # adds in index order, as the kernel does: the same bits
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("threads", [1, 2])
def test_gather_and_slices_are_the_same_for_any_thread_count(threads):
    rng = np.random.default_rng(6)
    params = tg.constant(rng.standard_normal((513, 65)).astype(np.float32))
    idx = rng.integers(0, 513, size=2000)
    before = tg.config.num_threads()
    try:
        tg.config.set_num_threads(threads)
        with tg.GradientTape() as tape:
            tape.watch(params)
            y = tg.reduce_sum(tg.square(tg.gather(params, idx, axis=0)[:, ::3]))
        got = tape.gradient(y, params).numpy()
    finally:
        tg.config.set_num_threads(before)
    want = np.zeros((513, 65), np.float32)
    rows = np.asarray(params)[idx][:, ::3]
    np.add.at(want[:, ::3], idx, np.float32(2) * rows)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("params_shape,indices,axis,batch_dims", [
    ((2, 3, 4), [[0, 2, 2], [1, 1, 0]], 1, 1),
    ((2, 3, 4, 5), [[[0, 3], [1, 1], [2, 2]], [[3, 3], [0, 0], [1, 2]]], 2, 2),
    ((2, 3, 4, 5), [[0, 4, 4], [1, 0, 2]], 3, 1),
    ((2, 3), [[2, 2, 0], [1, 0, 1]], None, 1),
])
def test_gather_batch_dims_forward_and_gradient(params_shape, indices, axis, batch_dims, rng):
    indices = np.asarray(indices)

    def ref(a):
        ax = batch_dims if axis is None else axis

        def one(p, i, ax, b):
            return np.take(p, i, axis=ax) if b == 0 else np.stack([one(p[k], i[k], ax - 1, b - 1)
                                                                    for k in range(p.shape[0])])
        return one(a, indices, ax, batch_dims)

    check_op(lambda t: tg.gather(t, indices, axis=axis, batch_dims=batch_dims), ref, randn(rng, params_shape),
             rng=rng, name="gather_batch")


def test_gather_jacobian_with_batch_dims():
    x = tg.constant(np.arange(6.0).reshape(2, 3))
    idx = np.array([[2, 2], [0, 1]])
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tg.gather(x, idx, batch_dims=1)
    jac = tape.jacobian(y, x).numpy()
    want = np.zeros((2, 2, 2, 3))
    for b in range(2):
        for j in range(2):
            want[b, j, b, idx[b, j]] = 1.0
    np.testing.assert_array_equal(jac, want)


def test_gather_of_integer_and_bool_params_and_index_dtypes():
    for dtype in (np.int32, np.int64, np.bool_):
        a = np.array([[1, 0], [0, 5], [7, 1]], dtype)
        for idx in (np.array([2, 0, 2], np.int32), np.array([2, 0, 2], np.int64)):
            got = tg.gather(tg.constant(a), idx)
            assert got.dtype == a.dtype
            np.testing.assert_array_equal(got.numpy(), a[idx])
    assert tg.gather(tg.constant([1.0, 2.0]), tg.constant(np.array([1], np.int32))).numpy().tolist() == [2.0]


def test_gather_indices_get_no_gradient():
    x = tg.constant([1.0, 2.0, 3.0])
    i = tg.constant(np.array([2, 0]))
    with tg.GradientTape() as tape:
        tape.watch(x)
        with pytest.warns(UserWarning, match="not differentiable"):
            tape.watch(i)
        y = tg.reduce_sum(tg.gather(x, i))
    gx, gi = tape.gradient(y, [x, i])
    np.testing.assert_array_equal(gx.numpy(), [1.0, 0.0, 1.0])
    assert gi is None


def test_one_hot_is_not_differentiable():
    v = tg.constant(2.0)
    with tg.GradientTape() as tape:
        tape.watch(v)
        y = tg.reduce_sum(tg.one_hot([0, 1], 2, on_value=v))
    assert tape.gradient(y, v) is None


def test_pad_of_integer_and_bool_tensors_and_gradient_of_the_interior():
    np.testing.assert_array_equal(tg.pad(tg.constant(np.array([1, 2], np.int64)), [[1, 2]], constant_values=-7)
                                  .numpy(), [-7, 1, 2, -7, -7])
    np.testing.assert_array_equal(tg.pad(tg.constant(np.array([True])), [[1, 0]]).numpy(), [False, True])
    x = tg.constant(np.ones((2, 2)))
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.pad(x, [[1, 0], [0, 1]], constant_values=3.0)
    g = tape.gradient(y, x, output_gradients=tg.constant(np.arange(9.0).reshape(3, 3)))
    np.testing.assert_array_equal(g.numpy(), [[3.0, 4.0], [6.0, 7.0]])


def test_split_and_unstack_pieces_and_their_gradients():
    x = tg.constant(np.arange(12.0).reshape(3, 4))
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a, b, c = tg.split(x, [1, -1, 2], axis=1)
        rows = tg.unstack(x)
        y = tg.reduce_sum(a) + 2.0 * tg.reduce_sum(c) + 10.0 * tg.reduce_sum(rows[1])
    assert [tuple(p.shape) for p in (a, b, c)] == [(3, 1), (3, 1), (3, 2)]
    np.testing.assert_array_equal(b.numpy(), [[1.0], [5.0], [9.0]])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(),
                                  [[1, 0, 2, 2], [11, 10, 12, 12], [1, 0, 2, 2]])
    assert [p.numpy().tolist() for p in tg.split(tg.constant(np.zeros((0, 2))), 1)] == [[]]
    assert tg.unstack(tg.constant(np.zeros((0, 2)))) == []


def test_hessians_through_slices_and_gathers():
    """The jacobian of a gradient runs the gradient ops' own rules with a batch axis in front."""
    a = np.array([1.0, -2.0, 3.0, 0.5, 2.0])
    x = tg.constant(a)
    idx = np.array([4, 0, 4])
    with tg.GradientTape(persistent=True) as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = tg.reduce_sum(x[::2] ** 3) + tg.reduce_sum(tg.gather(x, idx) ** 3)
        g = inner.gradient(y, x)
    hessian = outer.jacobian(g, x).numpy()
    counts = np.zeros(5)
    counts[::2] += 1
    np.add.at(counts, idx, 1)
    np.testing.assert_allclose(hessian, np.diag(6 * a * counts), rtol=1e-12)


def test_split_of_an_empty_axis_gives_empty_pieces():
    pieces = tg.split(tg.constant(np.zeros((0, 2))), 3)
    assert [tuple(p.shape) for p in pieces] == [(0, 2)] * 3
    with pytest.raises(MemoryError, match="split"):
        tg.split(tg.constant(np.zeros((0, 2))), 2 ** 62)
