"""numpy interop: zero-copy read-only export, import from any array, weak/strong dtype rules."""

import numpy as np
import pytest

import tapegrad as tg


def test_dtypes_are_numpy_dtypes():
    assert tg.float32 == np.dtype(np.float32) and isinstance(tg.float32, np.dtype)
    assert tg.float64 == np.dtype(np.float64) and isinstance(tg.float64, np.dtype)


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------

def test_asarray_shares_memory_and_is_read_only():
    t = tg.constant(np.arange(12, dtype=np.float32).reshape(3, 4))
    a1 = np.asarray(t)
    a2 = np.asarray(t)
    n = t.numpy()
    assert np.shares_memory(a1, a2) and np.shares_memory(a1, n)
    assert a1.dtype == np.float32 and a1.shape == (3, 4)
    np.testing.assert_array_equal(a1, np.arange(12).reshape(3, 4))
    for arr in (a1, n):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0, 0] = 5.0
        with pytest.raises(ValueError):
            arr.setflags(write=True)
    assert t.numpy()[0, 0] == 0.0


def test_export_is_c_contiguous_and_aligned():
    for t in (tg.constant(np.ones((3, 5))), tg.transpose(tg.constant(np.ones((7, 3), np.float32))),
              tg.add(tg.constant(np.ones(13)), 1.0), tg.matmul(np.ones((3, 2)), np.ones((2, 9)))):
        a = t.numpy()
        assert a.flags.c_contiguous
        assert a.ctypes.data % 64 == 0, "tensor storage must be 64-byte aligned"


def test_numpy_view_keeps_tensor_alive():
    a = tg.add(tg.constant(np.arange(5.0)), 1.0).numpy()
    import gc
    gc.collect()
    _ = [tg.constant(np.full(5, 9.0)) for _ in range(20)]  # would reuse freed storage
    np.testing.assert_array_equal(a, np.arange(5.0) + 1)


def test_buffer_protocol():
    t = tg.constant(np.arange(6, dtype=np.float64).reshape(2, 3))
    m = memoryview(t)
    assert m.readonly
    assert m.shape == (2, 3)
    assert m.ndim == 2 and m.itemsize == 8
    assert m.format.lstrip("@=<") == "d"
    np.testing.assert_array_equal(np.asarray(m), np.arange(6).reshape(2, 3))
    m32 = memoryview(tg.constant([1.0, 2.0]))
    assert m32.format.lstrip("@=<") == "f" and m32.itemsize == 4
    assert m32.tolist() == [1.0, 2.0]


def test_buffer_protocol_rank0():
    m = memoryview(tg.constant(2.5))
    assert m.ndim == 0 and m.shape == ()
    assert np.asarray(m) == 2.5


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------

def _arr():
    return np.arange(24, dtype=np.float64).reshape(4, 6) * 0.5 - 3


@pytest.mark.parametrize("kind", ["strided", "reversed", "transposed", "fortran", "readonly", "big_endian_f4",
                                  "big_endian_f8", "zero_d", "broadcast_view", "unaligned"])
def test_import_any_numpy_array(kind):
    base = _arr()
    if kind == "strided":
        a = base[::2, 1::3]
    elif kind == "reversed":
        a = base[::-1, ::-2]
    elif kind == "transposed":
        a = base.T
    elif kind == "fortran":
        a = np.asfortranarray(base)
    elif kind == "readonly":
        a = base.copy()
        a.setflags(write=False)
    elif kind == "big_endian_f4":
        a = base.astype(">f4")
    elif kind == "big_endian_f8":
        a = base.astype(">f8")
    elif kind == "zero_d":
        a = np.array(1.25)
    elif kind == "broadcast_view":
        a = np.broadcast_to(base[0], (3, 6))
    else:  # float64 data at an odd address
        raw = np.zeros(base.size * 8 + 1, np.uint8)
        raw[1:] = base.view(np.uint8).ravel()
        a = np.frombuffer(raw, dtype=np.float64, count=base.size, offset=1).reshape(base.shape)
        assert not a.flags.aligned
    expected_dtype = np.float32 if a.dtype.itemsize == 4 else np.float64
    if kind == "zero_d":
        t = tg.constant(a, dtype=tg.float64)
    else:
        t = tg.constant(a)
    assert t.dtype == expected_dtype
    assert tuple(t.shape) == a.shape
    np.testing.assert_array_equal(t.numpy(), a.astype(expected_dtype))
    assert t.numpy().dtype.isnative
    # and straight into an op
    s = tg.multiply(a, 2.0) if kind != "zero_d" else tg.multiply(tg.constant(a, dtype=tg.float64), 2.0)
    np.testing.assert_array_equal(s.numpy(), (a * 2).astype(expected_dtype))


def test_import_copies_writable_arrays():
    a = np.array([1.0, 2.0, 3.0])
    t = tg.constant(a)
    c = tg.convert_to_tensor(a)
    a[0] = 100.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(c.numpy(), [1.0, 2.0, 3.0])


def test_float16_becomes_float32():
    a = np.array([0.5, 1.5, -2.0], np.float16)
    t = tg.constant(a)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), [0.5, 1.5, -2.0])


def test_python_scalars_and_nested_lists():
    t = tg.constant(3.5)
    assert t.dtype == np.float32 and tuple(t.shape) == () and t.ndim == 0 and t.size == 1
    assert float(t) == 3.5
    t = tg.constant([[1, 2, 3], [4, 5, 6]])
    assert t.dtype == np.float32 and tuple(t.shape) == (2, 3) and t.ndim == 2 and t.size == 6
    np.testing.assert_array_equal(t.numpy(), [[1, 2, 3], [4, 5, 6]])
    t = tg.constant([[[1.0]], [[2.0]]], dtype=tg.float64)
    assert t.dtype == np.float64 and tuple(t.shape) == (2, 1, 1)
    t = tg.constant(True)
    assert t.dtype == np.float32 and float(t) == 1.0
    t = tg.constant([])
    assert tuple(t.shape) == (0,) and t.size == 0


def test_convert_to_tensor_passes_tensors_through():
    t = tg.constant([1.0, 2.0])
    c = tg.convert_to_tensor(t)
    assert isinstance(c, tg.Tensor)
    np.testing.assert_array_equal(c.numpy(), [1.0, 2.0])
    c64 = tg.convert_to_tensor([1.0, 2.0], dtype=tg.float64)
    assert c64.dtype == np.float64
    v = tg.Variable([3.0])
    cv = tg.convert_to_tensor(v)
    assert isinstance(cv, tg.Tensor) and cv.numpy()[0] == 3.0


def test_constant_with_dtype_casts():
    t = tg.constant(np.array([1.1, 2.2]), dtype=tg.float32)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.array([1.1, 2.2], np.float32))


@pytest.mark.parametrize("dtype,kept", [(np.int8, np.int32), (np.int32, np.int32), (np.int64, np.int64),
                                        (np.uint16, np.int32), (np.uint32, np.int64), (np.bool_, np.bool_)])
def test_integer_and_bool_arrays_keep_an_integer_dtype_but_are_weak_operands(dtype, kept):
    a = np.array([[1, 0, 1]], dtype=dtype)
    for make in (tg.constant, tg.convert_to_tensor):
        t = make(a)
        assert t.dtype == kept
        np.testing.assert_array_equal(t.numpy(), a.astype(kept))
    s = tg.add(tg.constant([1.0, 2.0, 3.0], dtype=tg.float64), a)  # weak: takes float64
    assert s.dtype == np.float64
    np.testing.assert_array_equal(s.numpy(), [[2.0, 2.0, 4.0]])


def test_integer_array_argument_gradient_is_none():
    grads = tg.gradients_function(lambda i, x: tg.reduce_sum(i * x))(np.array([1, 2, 3], np.int32),
                                                                       np.array([1.0, 1.0, 1.0]))
    assert grads[0] is None
    np.testing.assert_array_equal(np.asarray(grads[1]), [1.0, 2.0, 3.0])


# ---------------------------------------------------------------------------------------------
# numpy on the left
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["+", "-", "*", "/", "@"])
def test_numpy_array_on_the_left_returns_tensor(op):
    a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    t = tg.constant([[0.5, -1.0], [2.0, 4.0]])
    f = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
         "/": lambda x, y: x / y, "@": lambda x, y: x @ y}[op]
    r = f(a, t)
    assert isinstance(r, tg.Tensor), f"numpy {op} Tensor returned {type(r).__name__}"
    assert r.dtype == np.float32
    np.testing.assert_allclose(r.numpy(), f(a, np.asarray(t)), rtol=1e-6)


def test_numpy_on_left_is_recorded_by_tape():
    x = tg.constant([1.0, 2.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = np.array([3.0, 4.0], np.float32) * x
    np.testing.assert_array_equal(np.asarray(tape.gradient(y, x)), [3.0, 4.0])


# ---------------------------------------------------------------------------------------------
# repr / float / len
# ---------------------------------------------------------------------------------------------

def test_repr_format():
    assert repr(tg.constant([[1.57]])) == "<tapegrad.Tensor shape=(1, 1) dtype=float32 numpy=[[1.57]]>"
    r = repr(tg.constant([1.0, 2.0], dtype=tg.float64))
    assert r.startswith("<tapegrad.Tensor shape=(2,) dtype=float64 numpy=") and r.endswith(">")
    assert repr(tg.constant(2.0)).startswith("<tapegrad.Tensor shape=() dtype=float32 numpy=2")


def test_float_conversion():
    assert float(tg.constant(2.5)) == 2.5
    assert float(tg.constant([[2.5]], dtype=tg.float64)) == 2.5
    assert isinstance(float(tg.constant([1.0])), float)
    with pytest.raises((TypeError, ValueError)):
        float(tg.constant([1.0, 2.0]))


def test_len():
    assert len(tg.constant(np.zeros((3, 4)))) == 3
    assert len(tg.constant([1.0])) == 1
    assert len(tg.constant(np.zeros((0, 2)))) == 0
    with pytest.raises(TypeError):
        len(tg.constant(1.0))


def test_shape_is_tuple_of_ints():
    t = tg.constant(np.zeros((2, 3, 4)))
    assert t.shape == (2, 3, 4) and type(t.shape) is tuple
    assert all(type(d) is int for d in t.shape)
    assert t.ndim == 3 and t.size == 24


# ---------------------------------------------------------------------------------------------
# dtype rules: weak (Python numbers, lists, int/bool arrays, 0-d numpy values) vs strong
# ---------------------------------------------------------------------------------------------

T32 = lambda: tg.constant([1.0, 2.0], dtype=tg.float32)  # noqa: E731
T64 = lambda: tg.constant([1.0, 2.0], dtype=tg.float64)  # noqa: E731


@pytest.mark.parametrize("other,desc", [
    (2.0, "python float"), (2, "python int"), (True, "python bool"), ([1.0, 2.0], "list"),
    (np.array([1, 2]), "int array"), (np.array([True, False]), "bool array"),
    (np.float64(2.0), "numpy float64 scalar"), (np.array(2.0), "0-d float64 array"),
    (np.float32(2.0), "numpy float32 scalar"),
])
@pytest.mark.parametrize("make,dtype", [(T32, np.float32), (T64, np.float64)], ids=["f32", "f64"])
def test_weak_operands_take_tensor_dtype(make, dtype, other, desc):
    t = make()
    for r in (tg.add(t, other), tg.multiply(other, t), t - other, other - t):
        assert r.dtype == dtype, f"{desc} with {dtype.__name__} gave {r.dtype}"
        assert isinstance(r, tg.Tensor)


@pytest.mark.parametrize("a,b", [(1.0, 2.0), ([1, 2], 3), (np.float64(1.0), 2), (np.array(1.0), 2.0),
                                 (np.array([1, 2]), [True, False]), (np.float64(1.0), np.float64(2.0))],
                         ids=["floats", "list_int", "np_float64_scalar+int", "0d_array+float", "int_array+list",
                              "two_np_float64_scalars"])
def test_weak_only_defaults_to_float32(a, b):
    """Only weak operands: the result is float32 (0-d numpy values are weak, whatever their dtype)."""
    assert tg.add(a, b).dtype == np.float32


@pytest.mark.parametrize("a,b,expected", [
    (np.ones(2, np.float32), T32, np.float32),
    (np.ones(2, np.float64), T64, np.float64),
    (np.ones(2, np.float16), T32, np.float32),
    (np.ones(2, np.float64), lambda: 3.0, np.float64),
    (np.ones(2, np.float32), lambda: np.array([1, 2]), np.float32),
])
def test_strong_numpy_arrays_keep_dtype(a, b, expected):
    r = tg.add(a, b())
    assert r.dtype == expected


@pytest.mark.parametrize("make", [
    lambda: (tg.constant([1.0]), tg.constant([1.0], dtype=tg.float64)),
    lambda: (tg.constant([1.0]), np.array([1.0])),
    lambda: (np.array([1.0]), tg.constant([1.0])),
    lambda: (np.ones(1, np.float16), tg.constant([1.0], dtype=tg.float64)),
    lambda: (tg.Variable([1.0]), tg.constant([1.0], dtype=tg.float64)),
], ids=["tensors", "t32+np64", "np64+t32", "np16+t64", "var32+t64"])
@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "divide"])
def test_float32_with_float64_raises_type_error(op, make):
    a, b = make()
    with pytest.raises(TypeError) as exc:
        getattr(tg, op)(a, b)
    msg = str(exc.value)
    assert op in msg and "float64" in msg and ("float32" in msg or "float16" in msg)


def test_float32_with_float64_operator_and_matmul():
    a = tg.constant(np.ones((2, 2), np.float32))
    b = tg.constant(np.ones((2, 2), np.float64))
    with pytest.raises(TypeError, match="add"):
        a + b
    with pytest.raises(TypeError) as exc:
        tg.matmul(a, b)
    assert "matmul" in str(exc.value) and "float32" in str(exc.value) and "float64" in str(exc.value)
    with pytest.raises(TypeError):
        a @ b


_OPERAND_ZOO = {
    "py_float": lambda: 2.0, "py_int": lambda: 3, "list": lambda: [1.0, 2.0], "int_array": lambda: np.array([1, 2]),
    "np_f64_scalar": lambda: np.float64(2.0), "np_f32_scalar": lambda: np.float32(2.0),
    "0d_f64_array": lambda: np.array(2.0), "f32_array": lambda: np.ones(2, np.float32),
    "f64_array": lambda: np.ones(2, np.float64), "t32": T32, "t64": T64,
}
_PAIRS = [(a, b) for i, a in enumerate(_OPERAND_ZOO) for b in list(_OPERAND_ZOO)[i + 1:]]


@pytest.mark.parametrize("a,b", _PAIRS, ids=[f"{a}-{b}" for a, b in _PAIRS])
def test_dtype_rules_are_symmetric(a, b):
    """op(a, b) and op(b, a) agree: same result dtype, or both raise TypeError."""
    x, y = _OPERAND_ZOO[a](), _OPERAND_ZOO[b]()
    outcomes = []
    for lhs, rhs in ((x, y), (y, x)):
        try:
            outcomes.append(tg.add(lhs, rhs).dtype)
        except TypeError:
            outcomes.append("TypeError")
    assert outcomes[0] == outcomes[1], f"add({a}, {b}) -> {outcomes[0]} but add({b}, {a}) -> {outcomes[1]}"
