"""DLPack: Tensor.__dlpack__ shares the tensor's memory read-only and keeps it alive until the
consumer lets go; tapegrad.from_dlpack copies any host DLPack tensor into a new Tensor."""

import gc

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _core

DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]


def _address(a):
    return a.__array_interface__["data"][0]


def _values(dtype, shape):
    flat = np.arange(int(np.prod(shape)), dtype=np.float64) * 1.5 - 3
    return (flat != 0 if dtype is np.bool_ else flat.astype(dtype)).reshape(shape)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (7,), (3, 4), (2, 3, 4)], ids=str)
def test_round_trip_through_numpy_shares_memory_read_only(dtype, shape):
    src = _values(dtype, shape)
    t = tg.constant(src)
    a = np.from_dlpack(t)
    assert a.dtype == src.dtype and a.shape == shape
    np.testing.assert_array_equal(a, src)
    assert not a.flags.writeable
    if a.size:
        assert _address(a) == _address(t.numpy())  # zero-copy
        with pytest.raises(ValueError, match="read-only"):
            a[(0,) * a.ndim] = a[(0,) * a.ndim]
    back = tg.from_dlpack(a)
    assert back.dtype == t.dtype and back.shape == t.shape
    np.testing.assert_array_equal(back.numpy(), src)
    if a.size:
        assert _address(back.numpy()) != _address(a)  # the import copies


def test_capsules_follow_the_requested_protocol():
    t = tg.constant([1.0, 2.0])
    assert '"dltensor"' in repr(t.__dlpack__())
    assert '"dltensor_versioned"' in repr(t.__dlpack__(max_version=(1, 0)))
    assert '"dltensor"' in repr(t.__dlpack__(max_version=(0, 8)))
    assert t.__dlpack_device__() == (1, 0)
    # a legacy capsule is consumed like a versioned one
    assert tg.from_dlpack(t.__dlpack__()).numpy().tolist() == [1.0, 2.0]


def test_the_export_keeps_the_tensor_alive_until_the_consumer_releases_it():
    gc.collect()
    before = _core.live_tensors()
    t = tg.constant(np.arange(1000, dtype=np.float64))
    a = np.from_dlpack(t)
    del t
    gc.collect()
    assert _core.live_tensors() == before + 1  # the array holds the export
    np.testing.assert_array_equal(a, np.arange(1000))
    del a
    gc.collect()
    assert _core.live_tensors() == before
    # an unconsumed capsule releases its export when it dies
    t = tg.constant([1.0])
    capsules = [t.__dlpack__(), t.__dlpack__(max_version=(1, 0))]
    del t
    gc.collect()
    assert _core.live_tensors() == before + 1
    del capsules
    gc.collect()
    assert _core.live_tensors() == before


def test_a_variable_updated_in_place_does_not_change_an_exported_value():
    v = tg.Variable([1.0, 2.0])
    a = np.from_dlpack(v.read_value())
    v.assign_sub([1.0, 1.0])
    assert a.tolist() == [1.0, 2.0] and v.numpy().tolist() == [0.0, 1.0]


def test_copy_true_exports_a_private_writable_copy():
    t = tg.constant([1.0, 2.0])
    a = np.from_dlpack(t, copy=True)
    assert a.flags.writeable and _address(a) != _address(t.numpy())
    a[0] = 9.0
    assert t.numpy().tolist() == [1.0, 2.0]


def test_from_dlpack_copies_any_layout_and_converts_small_integers():
    base = np.arange(60, dtype=np.float64).reshape(3, 4, 5)
    for view in (base.T, base[:, ::2, 1:], base[::-1, :, ::-2], np.broadcast_to(base[0, 0], (2, 5)),
                 base[1], base[1, 2, 3, ...]):
        got = tg.from_dlpack(view)
        np.testing.assert_array_equal(got.numpy(), view)
    for dtype, want in [(np.int8, tg.int32), (np.int16, tg.int32), (np.uint8, tg.int32),
                        (np.uint16, tg.int32), (np.uint32, tg.int64)]:
        src = np.array([0, 1, 100, np.iinfo(dtype).max], dtype)
        got = tg.from_dlpack(src[::-1])
        assert got.dtype == want
        assert got.numpy().tolist() == src[::-1].tolist()
    src = np.array([1.0, 2.0])
    got = tg.from_dlpack(src)
    src[0] = 5.0
    assert got.numpy().tolist() == [1.0, 2.0]  # a copy, as imports from numpy are
    assert tg.from_dlpack(tg.constant([3, 4], dtype=tg.int64)).dtype == tg.int64


@pytest.mark.parametrize("bad,exc,words", [
    (np.zeros(3, np.float16), TypeError, "float16"),
    (np.zeros(3, np.complex64), (TypeError, BufferError), ""),
    (np.zeros(3, np.uint64), TypeError, "uint64"),
    ([1.0, 2.0], TypeError, "list"),
    (None, TypeError, "NoneType"),
    (np.zeros((1,) * 9), ValueError, "rank 9"),
])
def test_from_dlpack_refuses_what_it_cannot_hold(bad, exc, words):
    with pytest.raises(exc) as info:
        tg.from_dlpack(bad)
    if words:
        assert str(info.value).startswith("from_dlpack") and words in str(info.value)


def test_a_consumed_capsule_is_refused_and_bad_export_arguments_raise():
    t = tg.constant([1.0])
    cap = t.__dlpack__()
    tg.from_dlpack(cap)
    with pytest.raises(TypeError, match="^from_dlpack: expected an unconsumed DLPack capsule"):
        tg.from_dlpack(cap)
    with pytest.raises(ValueError, match="^__dlpack__: stream must be None"):
        t.__dlpack__(stream=1)
    with pytest.raises(BufferError, match="^__dlpack__"):
        t.__dlpack__(dl_device=(2, 0))
    with pytest.raises(TypeError, match="^__dlpack__: max_version"):
        t.__dlpack__(max_version=1)


def test_torch_shares_the_memory_and_keeps_it_alive():
    torch = pytest.importorskip("torch")
    t = tg.constant(np.arange(6, dtype=np.float32).reshape(2, 3))
    pt = torch.from_dlpack(t)
    assert pt.data_ptr() == _address(t.numpy())
    del t
    gc.collect()
    assert pt.tolist() == [[0, 1, 2], [3, 4, 5]]
    back = tg.from_dlpack(torch.arange(12, dtype=torch.int64).reshape(3, 4).t())
    assert back.dtype == tg.int64 and back.numpy().tolist() == np.arange(12).reshape(3, 4).T.tolist()
    assert tg.from_dlpack(torch.tensor([True, False])).numpy().tolist() == [True, False]


def test_jax_reads_and_exports():
    jax = pytest.importorskip("jax")
    t = tg.constant(np.arange(5, dtype=np.float32))
    j = jax.dlpack.from_dlpack(t)
    np.testing.assert_array_equal(np.asarray(j), np.arange(5, dtype=np.float32))
    back = tg.from_dlpack(jax.numpy.arange(4.0))
    assert back.numpy().tolist() == [0.0, 1.0, 2.0, 3.0]
