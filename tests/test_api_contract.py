"""One test (at least) for each rule of the user-visible contract in DESIGN.md."""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tapegrad as tg

NO_VARS_MSG = "No trainable variables were accessed while the function was being computed."


def _val(x):
    return np.array(np.asarray(x), dtype=np.float64)


# =============================================================================================
# implicit_value_and_gradients / implicit_gradients
# =============================================================================================

def test_implicit_value_and_gradients_values_and_creation_order():
    # names in reverse alphabetical order: the order must be creation order, not name order
    a = tg.Variable(1.0, name="z")
    b = tg.Variable(2.0, name="y")
    c = tg.Variable(3.0, name="x")

    def f():
        return c * b + c * a + b  # read order c, b, c, a, b

    value, gv = tg.implicit_value_and_gradients(f)()
    assert isinstance(value, tg.Tensor)
    assert float(value) == pytest.approx(3 * 2 + 3 * 1 + 2)
    assert isinstance(gv, list) and len(gv) == 3
    assert all(isinstance(p, tuple) and len(p) == 2 for p in gv)
    assert [v for _, v in gv][0] is a
    assert [v for _, v in gv][1] is b
    assert [v for _, v in gv][2] is c
    grads = [float(g) for g, _ in gv]
    assert grads == pytest.approx([3.0, 4.0, 3.0])  # d/da = c, d/db = c + 1, d/dc = b + a


def test_implicit_each_variable_once_even_if_read_many_times():
    a = tg.Variable([1.0, 2.0])
    b = tg.Variable([3.0, 4.0])

    def f():
        s = b * 1.0
        for _ in range(5):
            s = s + a.read_value() * b + a
        return tg.reduce_sum(s)

    gv = tg.implicit_gradients(f)()
    assert len(gv) == 2
    assert gv[0][1] is a and gv[1][1] is b
    np.testing.assert_allclose(_val(gv[0][0]), 5 * (np.array([3.0, 4.0]) + 1))
    np.testing.assert_allclose(_val(gv[1][0]), 1 + 5 * np.array([1.0, 2.0]))


def test_implicit_order_is_creation_order_not_first_read_order():
    vs = [tg.Variable(float(i)) for i in range(6)]
    order = [4, 1, 5, 0, 3, 2]

    def f():
        total = tg.constant(0.0)
        for i in order:
            total = total + vs[i] * float(i + 1)
        return total

    gv = tg.implicit_gradients(f)()
    assert [v._unique_id for _, v in gv] == sorted(v._unique_id for v in vs)
    assert all(gv[i][1] is vs[i] for i in range(6))
    assert [float(g) for g, _ in gv] == pytest.approx([i + 1.0 for i in range(6)])


def test_implicit_gradients_is_the_list_alone():
    w = tg.Variable([[2.0]])
    f = lambda x: tg.reduce_sum(tg.matmul(x, w))  # noqa: E731
    x = np.array([[1.0], [2.0], [3.0]], np.float32)
    gv = tg.implicit_gradients(f)(x)
    value, gv2 = tg.implicit_value_and_gradients(f)(x)
    assert isinstance(gv, list) and len(gv) == 1 and gv[0][1] is w
    np.testing.assert_allclose(_val(gv[0][0]), [[6.0]])
    np.testing.assert_allclose(_val(gv2[0][0]), _val(gv[0][0]))
    assert float(value) == pytest.approx(12.0)


def test_implicit_passes_arguments_through():
    w = tg.Variable(2.0)
    seen = []

    def f(x, y, z):
        seen.append((x, y, z))
        return w * x + y

    value, gv = tg.implicit_value_and_gradients(f)(3.0, 4.0, "extra")
    assert seen[0][2] == "extra"
    assert float(value) == pytest.approx(10.0)
    assert float(gv[0][0]) == pytest.approx(3.0)


def test_implicit_read_but_unconnected_gives_none():
    a = tg.Variable([1.0, 2.0])
    b = tg.Variable([3.0, 4.0])

    def f():
        a.read_value()  # read, but does not reach the value
        return tg.reduce_sum(b * 2.0)

    value, gv = tg.implicit_value_and_gradients(f)()
    assert len(gv) == 2
    assert gv[0][0] is None and gv[0][1] is a
    assert gv[1][1] is b
    np.testing.assert_allclose(_val(gv[1][0]), [2.0, 2.0])


def test_implicit_no_variables_read_raises():
    def f(x):
        return tg.constant(2.0) * x

    with pytest.raises(ValueError, match=re.escape(NO_VARS_MSG)):
        tg.implicit_value_and_gradients(f)(1.0)
    with pytest.raises(ValueError, match=re.escape(NO_VARS_MSG)):
        tg.implicit_gradients(f)(1.0)


def test_implicit_ignores_non_trainable_variables():
    frozen = tg.Variable(5.0, trainable=False)
    live = tg.Variable(2.0)
    assert frozen.trainable is False and live.trainable is True

    gv = tg.implicit_gradients(lambda: frozen * live + frozen)()
    assert len(gv) == 1 and gv[0][1] is live
    assert float(gv[0][0]) == pytest.approx(5.0)
    with pytest.raises(ValueError, match=re.escape(NO_VARS_MSG)):
        tg.implicit_gradients(lambda: frozen * 3.0)()


def test_implicit_function_returning_none_names_f():
    v = tg.Variable(1.0)

    def my_forgetful_loss():
        v.read_value() * 2.0

    with pytest.raises(ValueError, match="my_forgetful_loss"):
        tg.implicit_value_and_gradients(my_forgetful_loss)()


def test_implicit_non_scalar_value_is_summed():
    v = tg.Variable([1.0, 2.0, 3.0])
    value, gv = tg.implicit_value_and_gradients(lambda: v * v)()
    assert tuple(value.shape) == (3,)
    np.testing.assert_allclose(_val(gv[0][0]), [2.0, 4.0, 6.0])


# =============================================================================================
# gradients_function / value_and_gradients_function
# =============================================================================================

def _f_xy(x, y):
    return x * x * y


def test_gradients_function_all_params():
    grads = tg.gradients_function(_f_xy)(3.0, 2.0)
    assert isinstance(grads, list) and len(grads) == 2
    assert float(grads[0]) == pytest.approx(12.0)  # 2xy
    assert float(grads[1]) == pytest.approx(9.0)  # x^2


def test_value_and_gradients_function():
    value, grads = tg.value_and_gradients_function(_f_xy)(3.0, 2.0)
    assert float(value) == pytest.approx(18.0)
    assert [float(g) for g in grads] == pytest.approx([12.0, 9.0])


@pytest.mark.parametrize("params,expected", [([0], [12.0]), ([1], [9.0]), (["y"], [9.0]), (["x"], [12.0]),
                                             (["x", "y"], [12.0, 9.0]), ([0, 1], [12.0, 9.0])])
def test_gradients_function_params(params, expected):
    grads = tg.gradients_function(_f_xy, params=params)(3.0, 2.0)
    assert [float(g) for g in grads] == pytest.approx(expected)
    value, grads2 = tg.value_and_gradients_function(_f_xy, params=params)(3.0, 2.0)
    assert float(value) == pytest.approx(18.0)
    assert [float(g) for g in grads2] == pytest.approx(expected)


def test_gradients_function_mixed_params_raises():
    with pytest.raises(ValueError):
        tg.gradients_function(_f_xy, params=[0, "y"])(3.0, 2.0)
    with pytest.raises(ValueError):
        tg.value_and_gradients_function(_f_xy, params=["x", 1])(3.0, 2.0)


def test_gradients_function_kwargs_raise():
    with pytest.raises(ValueError):
        tg.gradients_function(_f_xy)(3.0, y=2.0)
    with pytest.raises(ValueError):
        tg.value_and_gradients_function(_f_xy)(x=3.0, y=2.0)


def test_gradients_function_f_returning_none_names_f():
    def silly_function_without_return(x):
        x * 2.0

    with pytest.raises(ValueError, match="silly_function_without_return"):
        tg.gradients_function(silly_function_without_return)(1.0)
    with pytest.raises(ValueError, match="silly_function_without_return"):
        tg.value_and_gradients_function(silly_function_without_return)(1.0)


def test_gradients_function_accepts_python_scalars_and_numpy():
    g = tg.gradients_function(lambda x: x * x)(3.0)
    assert float(g[0]) == pytest.approx(6.0)

    x = np.array([1.0, -2.0, 0.5])  # float64 array keeps its dtype
    g = tg.gradients_function(lambda t: tg.reduce_sum(t * t * t))(x)
    assert g[0].dtype == np.float64 and tuple(g[0].shape) == (3,)
    np.testing.assert_allclose(_val(g[0]), 3 * x * x)

    # a Python scalar next to a float32 array: the scalar is weak
    y = np.array([1.0, 2.0], np.float32)
    g = tg.gradients_function(lambda s, t: tg.reduce_sum(s * t))(2.0, y)
    assert float(g[0]) == pytest.approx(3.0)
    assert g[1].dtype == np.float32
    np.testing.assert_allclose(_val(g[1]), [2.0, 2.0])


def test_gradients_function_accepts_tensors_and_nested_lists():
    g = tg.gradients_function(lambda t: tg.reduce_sum(tg.square(t)))([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(_val(g[0]), [[2.0, 4.0], [6.0, 8.0]])
    t = tg.constant([1.0, 2.0], dtype=tg.float64)
    g = tg.gradients_function(lambda u: tg.reduce_sum(u * 3.0))(t)
    np.testing.assert_allclose(_val(g[0]), [3.0, 3.0])


def test_gradients_function_integer_arguments_get_none():
    n = np.array([1, 2, 3])
    grads = tg.gradients_function(lambda k, x: tg.reduce_sum(k * x))(n, 2.0)
    assert grads[0] is None
    assert float(grads[1]) == pytest.approx(6.0)


def test_gradients_function_non_scalar_value_is_summed():
    g = tg.gradients_function(lambda x: x * 2.0)(np.ones((2, 3)))
    np.testing.assert_allclose(_val(g[0]), np.full((2, 3), 2.0))


def test_gradients_function_unconnected_argument_gets_none():
    grads = tg.gradients_function(lambda x, y: x * 2.0)(1.0, 5.0)
    assert float(grads[0]) == pytest.approx(2.0)
    assert grads[1] is None


def test_gradients_function_nested_for_second_derivative():
    d1 = tg.gradients_function(lambda x: x * x * x)
    d2 = tg.gradients_function(lambda x: d1(x)[0])
    assert float(d2(2.0)[0]) == pytest.approx(12.0)


# =============================================================================================
# GradientTape
# =============================================================================================

def test_tape_non_persistent_second_gradient_raises():
    x = tg.constant(3.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)
    with pytest.raises(RuntimeError):
        tape.gradient(y, x)


def test_tape_persistent_gradient_twice():
    x = tg.constant(3.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * x
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)
    assert float(tape.gradient(z, x)) == pytest.approx(27.0)
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)


def test_tape_nested_second_derivative():
    x = tg.constant(2.0)
    with tg.GradientTape() as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = x * x * x
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert float(dy) == pytest.approx(12.0)
    assert float(d2y) == pytest.approx(12.0)


def test_tape_stop_recording():
    x = tg.constant(3.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        with tape.stop_recording():
            y = x * x
        z = x * 4.0  # recording resumes
    assert tape.gradient(y, x) is None
    assert float(tape.gradient(z, x)) == pytest.approx(4.0)
    assert float(y) == pytest.approx(9.0)  # the op still ran


def test_tape_stop_recording_with_variable():
    v = tg.Variable(2.0)
    with tg.GradientTape() as tape:
        with tape.stop_recording():
            y = v * v
    assert tape.gradient(y, v) is None


def test_tape_unconnected_gradients_zero_vs_none():
    x = tg.constant([1.0, 2.0])
    u = tg.constant(np.ones((2, 3)), dtype=tg.float64)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        tape.watch(u)
        y = tg.reduce_sum(x * x)
    gx, gu = tape.gradient(y, [x, u])
    assert gu is None
    np.testing.assert_allclose(_val(gx), [2.0, 4.0])
    gx, gu = tape.gradient(y, [x, u], unconnected_gradients="none")
    assert gu is None
    gx, gu = tape.gradient(y, [x, u], unconnected_gradients="zero")
    assert isinstance(gu, tg.Tensor)
    assert tuple(gu.shape) == (2, 3) and gu.dtype == np.float64
    np.testing.assert_array_equal(_val(gu), np.zeros((2, 3)))
    np.testing.assert_allclose(_val(gx), [2.0, 4.0])


def test_tape_unconnected_zero_for_variable():
    v = tg.Variable([[1.0, 2.0, 3.0]])
    w = tg.Variable(1.0)
    with tg.GradientTape() as tape:
        v.read_value()
        y = w * 2.0
    gv = tape.gradient(y, v, unconnected_gradients="zero")
    assert tuple(gv.shape) == (1, 3) and gv.dtype == np.float32
    np.testing.assert_array_equal(_val(gv), np.zeros((1, 3)))


def test_tape_output_gradients():
    x = tg.constant([1.0, 2.0, 3.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, x, output_gradients=tg.constant([1.0, 10.0, 100.0]))
    np.testing.assert_allclose(_val(g), [2.0, 40.0, 600.0])


def test_tape_non_scalar_target_is_summed():
    x = tg.constant([[1.0, 2.0], [3.0, 4.0]])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_allclose(_val(tape.gradient(y, x)), [[2.0, 4.0], [6.0, 8.0]])


def test_tape_sources_structure_preserved():
    x = tg.constant(1.0)
    y = tg.constant(2.0)
    z = tg.constant(3.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch([x, [y, z]])  # watch accepts nested lists
        t = x * 1.0 + y * 2.0 + z * 3.0

    single = tape.gradient(t, x)
    assert isinstance(single, tg.Tensor) and float(single) == pytest.approx(1.0)

    as_list = tape.gradient(t, [x, y, z])
    assert type(as_list) is list and [float(g) for g in as_list] == pytest.approx([1.0, 2.0, 3.0])

    as_tuple = tape.gradient(t, (z, x))
    assert type(as_tuple) is tuple and [float(g) for g in as_tuple] == pytest.approx([3.0, 1.0])

    as_dict = tape.gradient(t, {"b": y, "a": x})
    assert type(as_dict) is dict and set(as_dict) == {"a", "b"}
    assert float(as_dict["a"]) == pytest.approx(1.0) and float(as_dict["b"]) == pytest.approx(2.0)

    nested = tape.gradient(t, {"p": [x, (y, z)], "q": z})
    assert type(nested["p"]) is list and type(nested["p"][1]) is tuple
    assert float(nested["p"][0]) == pytest.approx(1.0)
    assert float(nested["p"][1][0]) == pytest.approx(2.0)
    assert float(nested["p"][1][1]) == pytest.approx(3.0)
    assert float(nested["q"]) == pytest.approx(3.0)


def test_tape_same_source_twice():
    x = tg.constant(2.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g1, g2 = tape.gradient(y, [x, x])
    assert float(g1) == pytest.approx(4.0) and float(g2) == pytest.approx(4.0)


def test_tape_unwatched_constant_gives_none():
    x = tg.constant(2.0)
    with tg.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None


def test_tape_watches_accessed_trainable_variables():
    v = tg.Variable(3.0)
    frozen = tg.Variable(1.0, trainable=False)
    with tg.GradientTape() as tape:
        y = v * v + frozen
    watched = tape.watched_variables()
    assert isinstance(watched, tuple)
    assert len(watched) == 1 and watched[0] is v
    assert float(tape.gradient(y, v)) == pytest.approx(6.0)


def test_tape_watch_accessed_variables_false():
    v = tg.Variable(3.0)
    w = tg.Variable(4.0)
    with tg.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
        tape.watch(w)
        y = v * w
    assert tape.gradient(y, v) is None
    assert float(tape.gradient(y, w)) == pytest.approx(3.0)
    watched = tape.watched_variables()
    assert len(watched) == 1 and watched[0] is w


def test_tape_watched_variables_empty_and_contents():
    with tg.GradientTape() as tape:
        pass
    assert tape.watched_variables() == ()
    a = tg.Variable(1.0)
    b = tg.Variable(2.0)
    with tg.GradientTape() as tape:
        _ = b * a
        _ = a * 2.0
    ids = [v._unique_id for v in tape.watched_variables()]
    assert len(ids) == 2 and set(ids) == {a._unique_id, b._unique_id}


def test_every_active_tape_watches_a_read_variable():
    v = tg.Variable(2.0)
    with tg.GradientTape() as outer:
        with tg.GradientTape() as inner:
            y = v * v * v
        dy = inner.gradient(y, v)
    d2y = outer.gradient(dy, v)
    assert any(w is v for w in outer.watched_variables())
    assert float(dy) == pytest.approx(12.0)
    assert float(d2y) == pytest.approx(12.0)


def test_tape_uses_values_at_record_time():
    """The tape keeps the tensors it read; a later assign does not change the recorded gradient."""
    v = tg.Variable([1.0, 2.0])
    with tg.GradientTape() as tape:
        y = tg.reduce_sum(v * v)
        v.assign([10.0, 20.0])
    np.testing.assert_allclose(_val(tape.gradient(y, v)), [2.0, 4.0])
    assert float(y) == pytest.approx(5.0)


def test_tape_gradient_wrt_variable_and_tensor_mixed():
    v = tg.Variable(2.0)
    x = tg.constant(5.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = v * x
    gv, gx = tape.gradient(y, [v, x])
    assert float(gv) == pytest.approx(5.0) and float(gx) == pytest.approx(2.0)


# =============================================================================================
# Variable
# =============================================================================================

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
# Dense
# =============================================================================================

_DENSE_NAME = re.compile(r"^dense(?:_(\d+))?/(kernel|bias):0$")


def _layer_index(var):
    m = _DENSE_NAME.match(var.name)
    assert m, f"unexpected Dense variable name {var.name!r}"
    return int(m.group(1) or 0), m.group(2)


def test_dense_lazy_build_and_variables():
    layer = tg.Dense(units=3)
    assert layer.variables == []
    assert layer.trainable_variables == []
    x = np.ones((4, 5), np.float32)
    y = layer(x)
    assert tuple(y.shape) == (4, 3)
    assert len(layer.variables) == 2
    kernel, bias = layer.variables
    assert kernel is layer.kernel and bias is layer.bias
    assert kernel.shape == (5, 3) and bias.shape == (3,)
    assert kernel.dtype == np.float32 and bias.dtype == np.float32
    assert [v is w for v, w in zip(layer.trainable_variables, [kernel, bias])] == [True, True]
    idx_k, kind_k = _layer_index(kernel)
    idx_b, kind_b = _layer_index(bias)
    assert (kind_k, kind_b) == ("kernel", "bias") and idx_k == idx_b
    np.testing.assert_array_equal(bias.numpy(), np.zeros(3))  # default bias_initializer="zeros"
    np.testing.assert_allclose(_val(y), x @ kernel.numpy() + bias.numpy(), rtol=1e-6)


def test_dense_next_layer_name_increments():
    l1 = tg.Dense(1)
    l2 = tg.Dense(1)
    x = np.ones((2, 2), np.float32)
    l1(x)
    l2(x)
    i1, _ = _layer_index(l1.kernel)
    i2, _ = _layer_index(l2.kernel)
    assert i2 == i1 + 1
    assert l2.bias.name == l2.kernel.name.replace("kernel", "bias")


def test_dense_names_in_fresh_process():
    code = textwrap.dedent("""
        import numpy as np
        import tapegrad as tg
        a, b = tg.Dense(units=1, use_bias=True), tg.Dense(2)
        x = np.ones((3, 4), np.float32)
        a(x); b(x)
        print([v.name for v in a.variables + b.variables])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(["dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "dense_1/bias:0"])


def test_dense_given_name():
    layer = tg.Dense(2, name="my_head")
    layer(np.ones((1, 3), np.float32))
    assert [v.name for v in layer.variables] == ["my_head/kernel:0", "my_head/bias:0"]


def test_dense_without_bias():
    layer = tg.Dense(2, use_bias=False)
    y = layer(np.ones((3, 4), np.float32))
    assert len(layer.variables) == 1 and layer.variables[0] is layer.kernel
    np.testing.assert_allclose(_val(y), np.ones((3, 4)) @ layer.kernel.numpy(), rtol=1e-6)


def test_dense_wrong_last_dim_later_raises():
    layer = tg.Dense(2)
    layer(np.ones((4, 3), np.float32))
    kernel_before = layer.kernel.numpy().copy()
    with pytest.raises(ValueError) as exc:
        layer(np.ones((4, 7), np.float32))
    msg = str(exc.value)
    assert "3" in msg and "7" in msg
    assert layer.kernel.name.split("/")[0] in msg
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel_before)
    assert len(layer.variables) == 2


@pytest.mark.parametrize("shape", [(5,), ()])
def test_dense_rank_below_two_raises(shape):
    layer = tg.Dense(2)
    with pytest.raises(ValueError, match="Dense"):
        layer(np.ones(shape, np.float32))
    assert layer.variables == []


def test_dense_rank_three_input():
    layer = tg.Dense(4)
    x = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5) / 10
    y = layer(x)
    assert tuple(y.shape) == (2, 3, 4)
    assert layer.kernel.shape == (5, 4)
    np.testing.assert_allclose(_val(y), x @ layer.kernel.numpy() + layer.bias.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_activation_and_initializers():
    layer = tg.Dense(2, activation=tg.square, kernel_initializer="ones", bias_initializer="ones")
    y = layer(np.array([[1.0, 2.0]], np.float32))
    np.testing.assert_array_equal(layer.kernel.numpy(), np.ones((2, 2)))
    np.testing.assert_allclose(_val(y), [[16.0, 16.0]])

    layer = tg.Dense(3, kernel_initializer=lambda shape, dtype: np.full(shape, 0.5, dtype=dtype))
    layer(np.ones((1, 2), np.float32))
    np.testing.assert_array_equal(layer.kernel.numpy(), np.full((2, 3), 0.5))


def test_dense_unknown_initializer_and_bad_units():
    with pytest.raises(ValueError):
        tg.Dense(2, kernel_initializer="no_such_initializer")(np.ones((1, 2), np.float32))
    with pytest.raises(ValueError):
        tg.Dense(0)
    with pytest.raises((ValueError, TypeError)):
        tg.Dense(1.5)


def test_dense_dtype_follows_first_input_and_casts_later():
    layer = tg.Dense(2)
    y = layer(np.ones((1, 3), np.float64))
    assert layer.kernel.dtype == np.float64 and y.dtype == np.float64
    y2 = layer(np.ones((1, 3), np.float32))
    assert y2.dtype == np.float64
    layer = tg.Dense(2)
    layer(np.ones((1, 3), np.int64))
    assert layer.kernel.dtype == np.float32


def test_dense_gradients_match_closed_form(rng):
    """The notebook's step 4: implicit_value_and_gradients of an L2 loss through Dense."""
    x = rng.standard_normal((50, 1)).astype(np.float32)
    y = (3 * x + 2 + rng.standard_normal((50, 1))).astype(np.float32)
    wb = tg.Dense(units=1)

    def loss_fn(inputs, labels, layer):
        return tg.reduce_mean(tg.square(layer(inputs) - labels))

    value, gv = tg.implicit_value_and_gradients(loss_fn)(x, y, wb)
    w, b = wb.variables
    assert gv[0][1] is w and gv[1][1] is b
    w0, b0 = w.numpy().astype(np.float64), b.numpy().astype(np.float64)
    r = x.astype(np.float64) @ w0 + b0 - y
    assert float(value) == pytest.approx(np.mean(r ** 2), rel=1e-5)
    np.testing.assert_allclose(_val(gv[0][0]), 2 * x.T.astype(np.float64) @ r / 50, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(_val(gv[1][0]), [2 * np.mean(r)], rtol=1e-4, atol=1e-6)
    assert gv[0][0].dtype == np.float32


# =============================================================================================
# GradientDescent
# =============================================================================================

def test_sgd_apply_gradients_and_skips_none():
    a = tg.Variable([1.0, 2.0])
    b = tg.Variable([[3.0]])
    opt = tg.GradientDescent(learning_rate=0.5)
    opt.apply_gradients([(None, a), (tg.constant([[2.0]]), b)])
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])
    np.testing.assert_allclose(b.numpy(), [[2.0]])


def test_sgd_accepts_any_iterable_and_numpy_grads():
    a = tg.Variable([1.0, 2.0])
    b = tg.Variable(5.0)
    opt = tg.GradientDescent(0.1)
    opt.apply_gradients(zip([np.array([1.0, 1.0], np.float32), tg.constant(10.0)], [a, b]))
    np.testing.assert_allclose(a.numpy(), [0.9, 1.9], rtol=1e-6)
    assert b.numpy().item() == pytest.approx(4.0)


def test_sgd_all_none_raises():
    a = tg.Variable(1.0, name="lonely")
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        tg.GradientDescent(0.1).apply_gradients([(None, a)])
    assert a.numpy().item() == 1.0


@pytest.mark.parametrize("bad", ["shape", "dtype", "not_a_variable"])
def test_sgd_bad_pair_changes_nothing(bad):
    a = tg.Variable([1.0, 2.0], name="first")
    b = tg.Variable([3.0, 4.0], name="second")
    c = tg.Variable([5.0, 6.0], name="third")
    good = tg.constant([1.0, 1.0])
    if bad == "shape":
        pair = (tg.constant([1.0, 1.0, 1.0]), b)
    elif bad == "dtype":
        pair = (tg.constant([1.0, 1.0], dtype=tg.float64), b)
    else:
        pair = (good, np.array([3.0, 4.0], np.float32))
    with pytest.raises((ValueError, TypeError)) as exc:
        tg.GradientDescent(0.1).apply_gradients([(good, a), pair, (good, c)])
    if bad != "not_a_variable":
        assert "second" in str(exc.value)
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(b.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(c.numpy(), [5.0, 6.0])


def test_sgd_update_is_copy_on_write():
    v = tg.Variable([1.0, 2.0])
    t = v.read_value()
    view = v.numpy()
    tg.GradientDescent(1.0).apply_gradients([(tg.constant([1.0, 1.0]), v)])
    np.testing.assert_array_equal(v.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(view, [1.0, 2.0])


def test_sgd_minimize():
    v = tg.Variable(5.0)
    opt = tg.GradientDescent(0.1)
    loss = opt.minimize(lambda: tg.square(v - 3.0))
    assert float(loss) == pytest.approx(4.0)
    assert v.numpy().item() == pytest.approx(5.0 - 0.1 * 2 * 2.0)
    for _ in range(200):
        opt.minimize(lambda: tg.square(v - 3.0))
    assert v.numpy().item() == pytest.approx(3.0, abs=1e-4)


def test_sgd_minimize_var_list_restricts_updates():
    a = tg.Variable(1.0)
    b = tg.Variable(1.0)
    tg.GradientDescent(0.5).minimize(lambda: a * b * 2.0, var_list=[a])
    assert a.numpy().item() == pytest.approx(0.0)
    assert b.numpy().item() == pytest.approx(1.0)


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_sgd_bad_learning_rate(lr):
    with pytest.raises(ValueError):
        tg.GradientDescent(lr)


def test_sgd_learning_rate_type():
    with pytest.raises(TypeError):
        tg.GradientDescent("fast")


def test_notebook_one_step_moves_towards_truth(rng):
    """Step 5a of the notebook: one gradient step moves w and b towards 3 and 2."""
    x = rng.standard_normal((1000, 1)).astype(np.float32)
    y = (3 * x + 2 + rng.standard_normal((1000, 1))).astype(np.float32)
    wb = tg.Dense(units=1, kernel_initializer=lambda s, d: np.full(s, 1.5, d))
    loss_fn = lambda i, l, layer: tg.reduce_mean(tg.square(layer(i) - l))  # noqa: E731
    vg = tg.implicit_value_and_gradients(loss_fn)
    opt = tg.GradientDescent(learning_rate=0.1)
    loss0, gv = vg(x, y, wb)
    w, b = wb.variables
    w0, b0 = w.numpy().item(), b.numpy().item()
    opt.apply_gradients(gv)
    assert w.numpy().item() == pytest.approx(w0 - 0.1 * float(gv[0][0]), rel=1e-6)
    assert b.numpy().item() == pytest.approx(b0 - 0.1 * float(gv[1][0]), rel=1e-6, abs=1e-7)
    assert abs(w.numpy().item() - 3) < abs(w0 - 3) and abs(b.numpy().item() - 2) < abs(b0 - 2)
    loss1, _ = vg(x, y, wb)
    assert float(loss1) < float(loss0)


# =============================================================================================
# More copy-on-write, aliasing and tape-state rules
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


def test_sgd_step_does_not_change_values_saved_by_a_tape():
    v = tg.Variable([1.0, 2.0])
    opt = tg.GradientDescent(0.5)
    with tg.GradientTape(persistent=True) as tape:
        y = tg.reduce_sum(v * v)
    g1 = tape.gradient(y, v)
    opt.apply_gradients([(g1, v)])  # v -> [0, 0]
    np.testing.assert_array_equal(v.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(np.asarray(tape.gradient(y, v)), [2.0, 4.0])
    np.testing.assert_allclose(np.asarray(g1), [2.0, 4.0])


def test_variable_read_twice_with_update_in_between_sums_both_reads():
    v = tg.Variable(1.0)
    with tg.GradientTape() as tape:
        a = v * 2.0
        v.assign_add(1.0)
        b = v * 3.0
        y = a + b
    assert float(y) == pytest.approx(2.0 + 6.0)
    assert float(tape.gradient(y, v)) == pytest.approx(5.0)


def test_gradient_of_source_itself():
    x = tg.constant([1.0, 2.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
    np.testing.assert_array_equal(np.asarray(tape.gradient(x, x)), [1.0, 1.0])


def test_tapes_are_thread_local():
    import threading

    v = tg.Variable(2.0)
    x = tg.constant(3.0)
    results = {}
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        done = threading.Event()

        def other_thread():
            results["y"] = x * 5.0  # not recorded by the main thread's tape
            results["z"] = v * 7.0  # reading v here must not make the main tape watch it
            with tg.GradientTape() as own:
                own.watch(x)
                w = x * 4.0
            results["own"] = own.gradient(w, x)
            done.set()

        th = threading.Thread(target=other_thread)
        th.start()
        th.join()
        assert done.is_set()
        y_main = x * 2.0
    assert tape.gradient(results["y"], x) is None
    assert tape.watched_variables() == ()
    assert float(tape.gradient(y_main, x)) == pytest.approx(2.0)
    assert float(results["own"]) == pytest.approx(4.0)


def test_exception_inside_tape_context_still_exits_the_tape():
    x = tg.constant(2.0)
    with pytest.raises(KeyError):
        with tg.GradientTape() as tape:
            tape.watch(x)
            raise KeyError("boom")
    # the failed tape is no longer active: a new computation is not recorded on it
    with tg.GradientTape() as tape2:
        tape2.watch(x)
        y = x * x
    assert float(tape2.gradient(y, x)) == pytest.approx(4.0)
    v = tg.Variable(1.0)
    _ = v * 2.0
    assert tape.watched_variables() == ()


@pytest.mark.parametrize("params", [
    np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape=(2 ** 25, 2 ** 25), strides=(0, 0)),
    range(10 ** 12), (i for i in range(2)), {0, 1}, np.array([0, 1])])
def test_gradients_function_params_must_be_a_list_or_tuple(params):
    """Other iterables are refused at once, naming the wrapper: listing a 2**50-element array of
    one stride-0 value (or a range of 10**12) ran for minutes and died with an empty MemoryError."""
    for wrapper in (tg.gradients_function, tg.value_and_gradients_function):
        with pytest.raises(TypeError, match="gradients_function: params must be"):
            wrapper(_f_xy, params=params)
