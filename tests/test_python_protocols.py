"""Tensors and Variables behave like Python and numpy values (issue 22): the scalar protocols
(int, float, complex, bool, index), text (str, format), pickling and copying, numpy functions
through ``__array__`` while numpy's binary operators defer to tapegrad's, and iteration.

Every protocol runs in float32, float64, int32 and int64 (and bool where numpy's own bool values
take part), on Tensors and on Variables.
"""

import copy
import io
import math
import multiprocessing
import operator
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.pickling import _rebuild_tensor

NUMERIC = [np.float32, np.float64, np.int32, np.int64]
ALL_DTYPES = NUMERIC + [np.bool_]
FLOATS = [np.float32, np.float64]
INTS = [np.int32, np.int64]


def _ids(dtypes):
    return [np.dtype(d).name for d in dtypes]


def make(kind, value, dtype):
    """A Tensor or a Variable holding ``value`` as ``dtype``."""
    a = np.asarray(value, dtype=dtype)
    return tg.constant(a, dtype) if kind == "tensor" else tg.Variable(a, dtype=dtype, name="v")


KINDS = ["tensor", "variable"]


def sample(dtype, shape, rng):
    """Values of ``dtype``: signed floats with a fraction, small nonzero integers, both bools."""
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 3).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    v = rng.integers(1, 6, shape) * rng.choice([-1, 1], shape)
    return np.asarray(v, dtype=dtype)


def bits(a):
    """The bytes of an array, so NaNs and signed zeros compare exactly."""
    a = np.ascontiguousarray(a)
    return a.dtype, a.shape, a.tobytes()


# =============================================================================================
# int, float, complex, bool, index of one-element tensors
# =============================================================================================

ONE_VALUE = {np.float32: -2.75, np.float64: 7.5, np.int32: -7, np.int64: 2 ** 40 + 3, np.bool_: True}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(), (1,), (1, 1, 1)])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_scalar_conversions_of_one_element(kind, shape, dtype):
    value = np.full(shape, ONE_VALUE[dtype], dtype=dtype)
    x = make(kind, value, dtype)
    scalar = value.reshape(()).item()  # the Python value numpy gives
    assert type(int(x)) is int and int(x) == int(scalar)
    assert type(float(x)) is float and float(x) == float(scalar)
    assert type(complex(x)) is complex and complex(x) == complex(scalar)
    assert type(bool(x)) is bool and bool(x) is bool(scalar)


def test_int_of_a_reduced_float_tensor_is_the_value():
    # the table's first row: int() once read the float's bytes as text
    t = tg.constant([1.0, 2.0, 3.0, 4.0])
    assert int(tg.reduce_sum(t)) == 10
    assert int(tg.reduce_sum(tg.constant([1.5, 2.25], tg.float64))) == 3


@pytest.mark.parametrize("dtype", FLOATS, ids=_ids(FLOATS))
@pytest.mark.parametrize("value", [-2.999, -0.5, 0.5, 2.999, 1e15 + 0.5])
def test_int_truncates_toward_zero_as_python(dtype, value):
    x = np.asarray(value, dtype)
    assert int(tg.constant(x, dtype)) == int(x.item())


@pytest.mark.parametrize("dtype", FLOATS, ids=_ids(FLOATS))
@pytest.mark.parametrize("value,exc", [(math.nan, ValueError), (math.inf, OverflowError),
                                       (-math.inf, OverflowError)])
def test_int_of_nan_and_infinity_raises_as_python(dtype, value, exc):
    with pytest.raises(exc):
        int(tg.constant(value, dtype))
    assert math.isnan(float(tg.constant(value, dtype))) == math.isnan(value)


@pytest.mark.parametrize("dtype", INTS, ids=_ids(INTS))
def test_int_of_an_integer_tensor_is_exact_at_the_extremes(dtype):
    info = np.iinfo(dtype)
    for v in (info.min, info.max, info.max - 1):
        assert int(tg.constant(np.array(v, dtype), dtype)) == int(v)


@pytest.mark.parametrize("dtype", NUMERIC, ids=_ids(NUMERIC))
def test_bool_of_zero_is_false(dtype):
    assert bool(tg.constant(np.zeros((1,), dtype), dtype)) is False
    assert bool(tg.Variable(np.zeros((), dtype), dtype=dtype)) is False
    assert bool(tg.constant(np.array(-1, dtype), dtype)) is True


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(2,), (0,), (2, 3), (0, 1)])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_conversions_of_several_elements_raise_naming_the_protocol(kind, shape, dtype):
    x = make(kind, np.ones(shape, dtype), dtype)
    for name, convert in (("int", int), ("float", float), ("complex", complex)):
        with pytest.raises(TypeError, match=rf"^{name}: only one-element tensors .* shape \({shape[0]},"):
            convert(x)
    with pytest.raises(ValueError, match=rf"^bool: the truth value of a tensor with {int(np.prod(shape))} elements "
                                         "is ambiguous"):
        bool(x)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", INTS, ids=_ids(INTS))
def test_index_of_an_integer_scalar(kind, dtype):
    x = make(kind, 3, dtype)
    assert operator.index(x) == 3 and type(operator.index(x)) is int
    assert [10, 11, 12, 13, 14][x] == 13
    assert list(range(x)) == [0, 1, 2]
    assert "abcdef"[x:] == "def"
    assert hex(x) == "0x3"
    np.testing.assert_array_equal(np.arange(10)[x], 3)
    # numpy reads a tensor index as an integer, the same as a 0-d integer array
    assert np.arange(10).reshape(5, 2)[x].shape == (2,)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_index_refuses_floats_bools_and_non_scalars(kind, dtype):
    bad = [make(kind, np.ones((1,), dtype), dtype)]  # one element but rank 1, as numpy refuses
    if dtype not in INTS:
        bad.append(make(kind, np.ones((), dtype), dtype))
    for x in bad:
        with pytest.raises(TypeError, match=r"^index: only integer scalar tensors \(int32 or int64, shape \(\)\)"):
            operator.index(x)
        with pytest.raises(TypeError):
            [1, 2, 3][x]


@pytest.mark.parametrize("dtype", INTS, ids=_ids(INTS))
def test_a_one_element_vector_indexes_numpy_as_an_array_would(dtype):
    # a rank-1 index keeps its axis in numpy: __index__ must not turn it into a scalar index
    a = np.arange(10)
    i = np.array([4], dtype)
    np.testing.assert_array_equal(a[tg.constant(i, dtype)], a[i])
    assert a[tg.constant(i, dtype)].shape == (1,)


def test_index_makes_tensors_neither_numbers_nor_flags_for_ops():
    # ops that read a Python number or a bool flag keep refusing tensors (they have __index__ now)
    x = tg.constant([[1.0, -2.0]])
    with pytest.raises(TypeError, match="^leaky_relu"):
        tg.nn.leaky_relu(x, alpha=tg.constant(0.5))
    with pytest.raises(TypeError, match="^matmul"):
        tg.matmul(x, x, transpose_b=tg.constant(True))
    with pytest.raises(TypeError, match="^matmul"):
        tg.matmul(x, x, transpose_b=tg.constant(np.array(1, np.int32)))
    # while an integer scalar tensor is an axis, as in TensorFlow
    np.testing.assert_array_equal(tg.reduce_sum(x, axis=tg.constant(np.array(1, np.int32))).numpy(), [-1.0])
    with pytest.raises(TypeError, match="^reduce_sum"):
        tg.reduce_sum(x, axis=tg.constant(1.0))


# =============================================================================================
# str and format
# =============================================================================================

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 2)])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_str_and_empty_format_print_the_values_as_numpy(kind, shape, dtype, rng):
    a = sample(dtype, shape, rng)
    x = make(kind, a, dtype)
    assert str(x) == str(a)
    # format(x) is str(x) for every dtype, also where numpy's float32 scalar gives float64 digits
    assert format(x) == str(a) and f"{x}" == str(a) and "{}".format(x) == str(a)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", FLOATS, ids=_ids(FLOATS))
def test_format_spec_of_a_float_loss(kind, dtype):
    loss = tg.reduce_mean(make(kind, [1.0423, 1.0423], dtype))
    assert f"{loss:.4f}" == "1.0423"
    x = make(kind, -1234.5678, dtype)
    for spec in (".4f", ".2e", "10.3g", "+.1f", ",.2f", "%", "<12", ">12.1f", "^9.2f"):
        assert format(x, spec) == format(np.asarray(-1234.5678, dtype)[()], spec), spec


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", INTS, ids=_ids(INTS))
def test_format_spec_of_an_integer(kind, dtype):
    x = make(kind, -42, dtype)
    for spec in ("d", "5d", "+d", "x", "#b", ",", ">8", ".2f", "08d"):
        assert format(x, spec) == format(np.asarray(-42, dtype)[()], spec), spec
    assert f"{x:5d}" == "  -42"


@pytest.mark.parametrize("kind", KINDS)
def test_format_spec_of_a_bool(kind):
    x = make(kind, True, np.bool_)
    assert f"{x}" == "True"
    assert format(x, ">6") == format(np.True_, ">6")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(1,), (2,), (2, 2)])
@pytest.mark.parametrize("dtype", NUMERIC, ids=_ids(NUMERIC))
def test_format_spec_of_a_non_scalar_raises_naming_format(kind, shape, dtype):
    x = make(kind, np.ones(shape, dtype), dtype)
    with pytest.raises(TypeError, match=r"^format: cannot format a tensor of dtype .* and shape \("):
        format(x, ".2f")


def test_format_spec_must_be_a_str():
    with pytest.raises(TypeError, match="^format: the format spec must be a str"):
        tg.constant(1.0).__format__(3)


@pytest.mark.parametrize("kind", KINDS)
def test_text_of_a_large_tensor_stays_short(kind):
    x = make(kind, np.arange(10 ** 6), np.float32)
    for text in (repr(x), str(x), format(x)):
        assert len(text) < 300, len(text)
        assert "..." in text
    assert str(x) == str(np.arange(10 ** 6, dtype=np.float32))
    assert repr(x).startswith("<tapegrad.")


# =============================================================================================
# pickle and copy
# =============================================================================================

PROTOCOLS = list(range(2, pickle.HIGHEST_PROTOCOL + 1))
SHAPES = [(), (3,), (2, 3), (0, 4), (2, 1, 3)]


def special_values(dtype, shape, rng):
    """A sample with, for floats, NaN, infinities and a negative zero in it."""
    a = sample(dtype, shape, rng)
    if np.dtype(dtype).kind == "f" and a.size >= 4:
        flat = a.reshape(-1)
        flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
    return a


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_tensor_pickle_round_trip(protocol, shape, dtype, rng):
    a = special_values(dtype, shape, rng)
    t = tg.constant(a, dtype)
    u = pickle.loads(pickle.dumps(t, protocol=protocol))
    assert type(u) is tg.Tensor and u is not t
    assert u.dtype == np.dtype(dtype) and u.shape == shape
    assert bits(u.numpy()) == bits(a)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_pickle_protocol_5_passes_the_values_out_of_band(shape, dtype, rng):
    a = special_values(dtype, shape, rng)
    t = tg.constant(a, dtype)
    buffers = []
    data = pickle.dumps(t, protocol=5, buffer_callback=buffers.append)
    assert len(buffers) == 1 and buffers[0].raw().nbytes == a.nbytes
    u = pickle.loads(data, buffers=buffers)
    assert bits(u.numpy()) == bits(a)


@pytest.mark.parametrize("cls", ["Tensor", "Variable"])
def test_an_unpickled_value_does_not_share_an_out_of_band_buffer(cls):
    # tensors are immutable: writing the caller's buffer afterwards changes nothing
    x = tg.constant([1.0, 2.0]) if cls == "Tensor" else tg.Variable([1.0, 2.0])
    buffers = []
    data = pickle.dumps(x, protocol=5, buffer_callback=buffers.append)
    writable = bytearray(buffers[0].raw())
    y = pickle.loads(data, buffers=[writable])
    writable[:4] = np.float32(99.0).tobytes()
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0])


def test_pickle_protocol_5_leaves_a_large_tensor_out_of_the_stream():
    t = tg.constant(np.arange(10 ** 5, dtype=np.float64), tg.float64)
    buffers = []
    data = pickle.dumps(t, protocol=5, buffer_callback=buffers.append)
    assert len(data) < 1000 < t.numpy().nbytes
    np.testing.assert_array_equal(pickle.loads(data, buffers=buffers).numpy(), t.numpy())


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("trainable", [True, False])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_variable_pickle_round_trip(protocol, trainable, dtype, rng):
    a = special_values(dtype, (2, 3), rng)
    v = tg.Variable(a, trainable=trainable, name="layer/kernel", dtype=dtype)
    w = pickle.loads(pickle.dumps(v, protocol=protocol))
    assert type(w) is tg.Variable and w is not v
    assert w.name == "layer/kernel:0" and w.trainable is trainable
    assert w.dtype == np.dtype(dtype) and w.shape == (2, 3)
    assert bits(w.numpy()) == bits(a)
    assert w._unique_id != v._unique_id


def test_pickled_variable_is_independent_and_trainable():
    v = tg.Variable([1.0, 2.0], name="w")
    w = pickle.loads(pickle.dumps(v))
    w.assign_add([10.0, 10.0])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    v.assign_sub([1.0, 1.0])
    np.testing.assert_array_equal(w.numpy(), [11.0, 12.0])
    value, grads = tg.implicit_value_and_gradients(lambda: tg.reduce_sum(w * w))()
    assert grads[0][1] is w
    np.testing.assert_array_equal(grads[0][0].numpy(), [22.0, 24.0])


def test_an_unpickled_tensor_is_a_new_constant_outside_the_tape():
    x = tg.constant([1.0, 2.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * 3
        z = pickle.loads(pickle.dumps(y))
        loss = tg.reduce_sum(z * y)
    np.testing.assert_array_equal(z.numpy(), y.numpy())
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [9.0, 18.0])  # through y only


def test_pickles_of_several_objects_keep_their_identity():
    v = tg.Variable(1.0)
    t = tg.constant([1.0])
    a, b, c, d = pickle.loads(pickle.dumps([v, v, t, t]))
    assert a is b and c is d and a is not c


def test_pickling_and_copying_do_not_read_a_variable_on_a_tape():
    v = tg.Variable([1.0, 2.0])
    with tg.GradientTape() as tape:
        pickle.dumps(v)
        copy.deepcopy(v)
        copy.copy(v)
        str(v), format(v), repr(v)
    assert tape.watched_variables() == ()


@pytest.mark.parametrize("dtype", NUMERIC, ids=_ids(NUMERIC))
def test_rebuild_takes_either_byte_order(dtype):
    a = np.array([[1, -2, 3]], dtype=dtype)
    for order in ("<", ">"):
        t = _rebuild_tensor(a.astype(a.dtype.newbyteorder(order)))
        assert t.dtype == np.dtype(dtype)
        assert bits(t.numpy()) == bits(a)


class _RecordingUnpickler(pickle.Unpickler):
    """Records every global a pickle asks for (find_class is where unpickling looks code up)."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.globals = set()

    def find_class(self, module, name):
        self.globals.add((module.split(".")[0], name))
        return super().find_class(module, name)


def test_unpickling_looks_up_only_the_reconstruction_functions_and_numpy():
    allowed = {("tapegrad", "_rebuild_tensor"), ("tapegrad", "_rebuild_variable"), ("numpy", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy", "_frombuffer"),
               ("_codecs", "encode")}  # protocol 2 writes bytes as _codecs.encode(text, "latin1")
    seen = set()
    for protocol in PROTOCOLS:
        for obj in (tg.constant([1.0, 2.0]), tg.Variable(np.array([1, 2], np.int64), name="n")):
            unpickler = _RecordingUnpickler(pickle.dumps(obj, protocol=protocol))
            unpickler.load()
            seen |= unpickler.globals
    assert ("tapegrad", "_rebuild_tensor") in seen and ("tapegrad", "_rebuild_variable") in seen
    assert seen <= allowed, seen - allowed


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_copy_of_a_tensor_is_the_tensor(dtype):
    t = tg.constant(np.ones((2, 2), dtype), dtype)
    assert copy.copy(t) is t
    assert copy.deepcopy(t) is t
    assert copy.deepcopy({"t": [t, t]})["t"][1] is t


@pytest.mark.parametrize("trainable", [True, False])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_copy_of_a_variable(trainable, dtype, rng):
    a = sample(dtype, (2, 3), rng)
    v = tg.Variable(a, trainable=trainable, name="dense/bias", dtype=dtype)
    assert copy.copy(v) is v  # as TensorFlow: a shallow copy shares the one mutable container
    w = copy.deepcopy(v)
    assert type(w) is tg.Variable and w is not v and w._unique_id != v._unique_id
    assert w.name == v.name == "dense/bias:0" and w.trainable is trainable
    assert w.dtype == np.dtype(dtype) and w.shape == (2, 3)
    assert bits(w.numpy()) == bits(a)
    if dtype != np.bool_:
        w.assign_add(np.ones((2, 3), dtype))
        assert bits(v.numpy()) == bits(a)
        v.assign_sub(np.ones((2, 3), dtype))
        assert bits(w.numpy()) == bits(a + np.ones((2, 3), dtype))


def test_deepcopy_keeps_shared_variables_shared():
    v = tg.Variable([1.0])
    model = {"a": v, "b": [v, tg.constant(2.0)]}
    c = copy.deepcopy(model)
    assert c["a"] is c["b"][0] and c["a"] is not v
    assert c["b"][1] is model["b"][1]


def test_deepcopy_of_a_trained_dense_layer_is_independent():
    layer = tg.Dense(2, kernel_initializer="ones")
    x = tg.constant([[1.0, 2.0, 3.0]])
    layer(x)
    twin = copy.deepcopy(layer)
    np.testing.assert_array_equal(twin(x).numpy(), layer(x).numpy())
    tg.GradientDescent(0.1).minimize(lambda: tg.reduce_sum(layer(x)), var_list=layer.variables)
    assert not np.array_equal(twin(x).numpy(), layer(x).numpy())
    assert [v.name for v in twin.variables] == [v.name for v in layer.variables]


# -- multiprocessing: a tensor sent to a worker and back -------------------------------------

@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_round_trip_through_a_multiprocessing_pool(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pool_round_trip.py")
    run = subprocess.run([sys.executable, script, method], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr


# =============================================================================================
# numpy functions: numpy results through __array__
# =============================================================================================

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", NUMERIC, ids=_ids(NUMERIC))
def test_numpy_functions_give_numpy_results(kind, dtype, rng):
    a = sample(dtype, (3, 4), rng)
    x = make(kind, a, dtype)
    for name, f in [("sum", np.sum), ("mean", np.mean), ("exp", np.exp), ("abs", np.abs), ("max", np.max),
                    ("sum axis", lambda v: np.sum(v, axis=0)), ("cumsum", np.cumsum), ("sort", np.sort),
                    ("add", lambda v: np.add(v, a)), ("where", lambda v: np.where(a > 0, v, 0)),
                    ("concatenate", lambda v: np.concatenate([v, a])), ("transpose", np.transpose),
                    ("isfinite", np.isfinite), ("linalg.norm", np.linalg.norm), ("asarray", np.asarray)]:
        got = f(x)
        expected = f(a)
        assert isinstance(got, (np.ndarray, np.generic)), f"{name}: {type(got).__name__}"
        assert np.asarray(got).dtype == np.asarray(expected).dtype, name
        np.testing.assert_array_equal(got, expected, err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", NUMERIC, ids=_ids(NUMERIC))
def test_numpy_testing_takes_tensors(kind, dtype):
    x = make(kind, [[1, 2], [3, 4]], dtype)
    np.testing.assert_allclose(x, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(x, np.array([[1, 2], [3, 4]], dtype))
    np.testing.assert_allclose(x, x)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(x, [[1, 2], [3, 5]])
    with pytest.raises(AssertionError):
        np.testing.assert_array_equal(x, [[1, 2]])


@pytest.mark.parametrize("kind", KINDS)
def test_numpy_ufunc_on_tensor_is_not_recorded(kind):
    # a numpy function leaves tapegrad: its result is an ndarray, outside any tape
    x = make(kind, [1.0, 2.0], np.float32)
    with tg.GradientTape() as tape:
        if kind == "tensor":
            tape.watch(x)
        y = np.exp(x)
    assert type(y) is np.ndarray
    assert tape.gradient(tg.constant(y), x) is None


# =============================================================================================
# numpy values and tensors in binary operators: a tapegrad Tensor either way, recorded by a tape
# =============================================================================================

BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "@": operator.matmul, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}
DIFFERENTIABLE = ["+", "-", "*", "/", "**", "@"]


def operands(dtype, rng):
    """Two 2x2 arrays of ``dtype`` that every operator takes: positive, so ** and // are defined."""
    if np.dtype(dtype).kind == "f":
        return (rng.uniform(0.5, 2.0, (2, 2)).astype(dtype), rng.uniform(0.5, 2.0, (2, 2)).astype(dtype))
    return (rng.integers(1, 4, (2, 2)).astype(dtype), rng.integers(1, 4, (2, 2)).astype(dtype))


@pytest.mark.parametrize("side", ["numpy_left", "numpy_right"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("dtype", NUMERIC, ids=_ids(NUMERIC))
def test_binary_operator_with_an_ndarray_gives_a_tensor(side, kind, op, dtype, rng):
    f = BINARY[op]
    a, b = operands(dtype, rng)
    x = make(kind, b, dtype)
    both = tg.constant(a, dtype)
    try:
        same = f(both, tg.constant(b, dtype)) if side == "numpy_left" else f(tg.constant(b, dtype), both)
    except TypeError as e:  # integer / and @ are refused for two tensors: for an ndarray too
        with pytest.raises(TypeError) as info:
            f(a, x) if side == "numpy_left" else f(x, a)
        assert str(info.value) == str(e)
        return
    got = f(a, x) if side == "numpy_left" else f(x, a)
    assert type(got) is tg.Tensor, f"{side} {op}: {type(got).__name__}"
    assert got.dtype == same.dtype and bits(got.numpy()) == bits(same.numpy())
    expected = f(a, b) if side == "numpy_left" else f(b, a)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("side", ["numpy_left", "numpy_right"])
@pytest.mark.parametrize("op", [op for op in BINARY if op != "@"])  # matmul takes no scalars
@pytest.mark.parametrize("dtype", NUMERIC, ids=_ids(NUMERIC))
def test_binary_operator_with_a_numpy_scalar_gives_a_tensor(side, op, dtype, rng):
    f = BINARY[op]
    a, b = operands(dtype, rng)
    s = a[0, 0]  # a numpy scalar of dtype
    x = tg.constant(b, dtype)
    if op == "/" and dtype in INTS:
        with pytest.raises(TypeError, match="^divide: int"):
            f(s, x) if side == "numpy_left" else f(x, s)
        return
    got = f(s, x) if side == "numpy_left" else f(x, s)
    assert type(got) is tg.Tensor, f"{side} {op}: {type(got).__name__}"
    expected = f(s, b) if side == "numpy_left" else f(b, s)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("side", ["numpy_left", "numpy_right"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", FLOATS, ids=_ids(FLOATS))
def test_binary_operator_with_an_ndarray_is_recorded(side, kind, op, dtype, rng):
    f = BINARY[op]
    a, b = operands(dtype, rng)

    def gradient(left):
        x = make(kind, b, dtype)
        with tg.GradientTape() as tape:
            if kind == "tensor":
                tape.watch(x)
            y = f(left, x) if side == "numpy_left" else f(x, left)
            loss = tg.reduce_sum(y * y)
        return tape.gradient(loss, x)

    g = gradient(a)
    assert g is not None and type(g) is tg.Tensor
    assert bits(g.numpy()) == bits(gradient(tg.constant(a, dtype)).numpy())


@pytest.mark.parametrize("op", ["+", "*", "-", "/", "//", "%", "**", "@"])
def test_in_place_operator_on_an_ndarray_rebinds_to_a_tensor(op):
    a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    x = tg.constant([[2.0, 1.0], [1.0, 2.0]])
    b = a.copy()
    b = {"+": operator.iadd, "*": operator.imul, "-": operator.isub, "/": operator.itruediv,
         "//": operator.ifloordiv, "%": operator.imod, "**": operator.ipow, "@": operator.imatmul}[op](b, x)
    assert type(b) is tg.Tensor
    np.testing.assert_array_equal(b.numpy(), BINARY[op](tg.constant(a), x).numpy())


@pytest.mark.parametrize("op", ["==", "!="])
def test_equality_with_an_ndarray_is_not_an_elementwise_numpy_result(op):
    a = np.array([1.0, 2.0], np.float32)
    x = tg.constant([1.0, 2.0])
    f = operator.eq if op == "==" else operator.ne
    for got in (f(a, x), f(x, a)):
        assert not isinstance(got, np.ndarray)


# =============================================================================================
# iteration, len, reversed
# =============================================================================================

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(3,), (4, 2), (2, 0, 3), (0,), (0, 5)], ids=str)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_iteration_walks_the_first_axis(kind, shape, dtype, rng):
    a = sample(dtype, shape, rng)
    x = make(kind, a, dtype)
    assert len(x) == shape[0]
    rows = list(x)
    assert len(rows) == shape[0]
    for row, expected in zip(rows, a):
        assert type(row) is tg.Tensor and row.dtype == np.dtype(dtype)
        assert bits(row.numpy()) == bits(expected)
    back = list(reversed(x))
    assert [bits(r.numpy()) for r in back] == [bits(r) for r in a[::-1]]


@pytest.mark.parametrize("kind", KINDS)
def test_unpacking_zip_and_enumerate(kind):
    x = make(kind, [[1.0, 2.0], [3.0, 4.0]], np.float32)
    first, second = x
    np.testing.assert_array_equal(second.numpy(), [3.0, 4.0])
    assert [float(r[0] * s) for r, s in zip(x, [10, 100])] == [10.0, 300.0]
    assert [i for i, _ in enumerate(x)] == [0, 1]


def test_iteration_is_recorded():
    x = tg.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with tg.GradientTape() as tape:
        tape.watch(x)
        loss = tg.constant(0.0)
        for i, row in enumerate(x):
            loss = loss + tg.reduce_sum(row) * (i + 1)
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [[1, 1], [2, 2], [3, 3]])


def test_iterating_a_variable_reads_it():
    v = tg.Variable([[1.0, 2.0], [3.0, 4.0]])
    grads = tg.implicit_gradients(lambda: sum(tg.reduce_sum(r) for r in reversed(v)))()
    assert grads[0][1] is v
    np.testing.assert_array_equal(grads[0][0].numpy(), np.ones((2, 2)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=_ids(ALL_DTYPES))
def test_a_scalar_is_not_iterable(kind, dtype):
    x = make(kind, np.ones((), dtype), dtype)
    with pytest.raises(TypeError, match=r"^iter: Cannot iterate over a scalar tensor\.$"):
        iter(x)
    with pytest.raises(TypeError, match=r"^iter: Cannot iterate over a scalar tensor\.$"):
        for _ in x:
            pass
    with pytest.raises(TypeError, match=r"^reversed: Cannot iterate over a scalar tensor\.$"):
        reversed(x)
    with pytest.raises(TypeError, match=r"^len: a rank-0 \(scalar\) tensor has no len\(\)"):
        len(x)
