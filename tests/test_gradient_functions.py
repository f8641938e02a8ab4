"""implicit_gradients, implicit_value_and_gradients, gradients_function and
value_and_gradients_function: what they return, in which order, and what they refuse."""

import re

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


@pytest.mark.parametrize("op,args,params,expected", [
    (tg.square, (3.0,), ["x"], [6.0]),
    (tg.multiply, (3.0, 2.0), ["y"], [3.0]),
    (tg.matmul, ([[2.0]], [[5.0]]), ["b"], [[[2.0]]]),
])
def test_gradients_function_params_by_name_of_an_op(op, args, params, expected):
    """The ops carry their Python signature, so their arguments can be named as params."""
    grads = tg.gradients_function(op, params=params)(*args)
    assert [np.asarray(g).tolist() for g in grads] == expected


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


@pytest.mark.parametrize("params", [
    np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape=(2 ** 25, 2 ** 25), strides=(0, 0)),
    range(10 ** 12), (i for i in range(2)), {0, 1}, np.array([0, 1])])
def test_gradients_function_refuses_params_iterables_other_than_list_or_tuple(params):
    """Other iterables (a 2**50-element stride-0 array, a range of 10**12, a generator, a set, an
    array) are refused at once with a TypeError naming the wrapper, never listed element by element."""
    for wrapper in (tg.gradients_function, tg.value_and_gradients_function):
        with pytest.raises(TypeError, match="gradients_function: params must be"):
            wrapper(_f_xy, params=params)


# ---------------------------------------------------------------------------------------------
# Structured values and arguments, repeated arguments (TensorFlow's semantics)
# ---------------------------------------------------------------------------------------------

def _f64(v):
    return tg.constant(v, dtype=tg.float64)


def test_tuple_or_list_value_is_differentiated_as_the_sum_of_its_outputs():
    # d/dx (x + 2x) = 3
    assert [float(g) for g in tg.gradients_function(lambda x: (x, 2 * x))(1.0)] == [3.0]
    value, grads = tg.value_and_gradients_function(lambda x: [x * x, {"k": (3 * x,)}])(_f64(2.0))
    assert isinstance(value, list) and isinstance(value[1]["k"], tuple)
    assert float(value[0]) == 4.0 and float(value[1]["k"][0]) == 6.0
    assert float(grads[0]) == 7.0  # 2x + 3 at x = 2


def test_implicit_gradients_of_a_tuple_value_sum_its_outputs():
    v = tg.Variable(2.0, dtype=tg.float64)
    value, grads_and_vars = tg.implicit_value_and_gradients(lambda: (v * v, 3 * v))()
    assert isinstance(value, tuple) and [float(t) for t in value] == [4.0, 6.0]
    assert float(grads_and_vars[0][0]) == 7.0 and grads_and_vars[0][1] is v  # 2v + 3
    assert float(tg.implicit_gradients(lambda: [v, [v * v]])()[0][0]) == 5.0  # 1 + 2v


def test_value_with_none_inside_is_refused_naming_the_function():
    def f(x):
        return (x, None)
    with pytest.raises(ValueError, match="f returned None inside its result"):
        tg.gradients_function(f)(1.0)


@pytest.mark.parametrize("make", [_f64, lambda v: tg.Variable(v, dtype=tg.float64)], ids=["tensor", "variable"])
def test_the_same_object_as_two_arguments_gets_a_partial_derivative_in_each(make):
    x = make(1.0)
    assert [float(g) for g in tg.gradients_function(lambda a, b: a * b)(x, x)] == [1.0, 1.0]
    x = make(3.0)
    # d(a b^2)/da = b^2 = 9, d(a b^2)/db = 2 a b = 18
    assert [float(g) for g in tg.gradients_function(lambda a, b: a * b * b)(x, x)] == [9.0, 18.0]
    # Only differentiated arguments are told apart (as TensorFlow): with params=[1] the first
    # argument is the watched object itself, so the derivative is the total one, 3 x^2.
    assert [float(g) for g in tg.gradients_function(lambda a, b: a * b * b, params=[1])(x, x)] == [27.0]


def test_repeated_arguments_stay_connected_to_an_outer_tape():
    x = _f64(2.0)
    with tg.GradientTape() as outer:
        outer.watch(x)
        da, db = tg.gradients_function(lambda a, b: a * a * b)(x, x)  # 2ab and a^2
        total = da + db  # 3 x^2
    assert float(da) == 8.0 and float(db) == 4.0
    assert float(outer.gradient(total, x)) == 12.0  # 6x


def test_structured_argument_gets_its_gradient_in_the_same_structure():
    w, b = _f64(3.0), _f64(2.0)
    grads = tg.gradients_function(lambda d, c: d["w"] * d["b"][0] * d["b"][0] * c)({"w": w, "b": [b]}, 2)
    assert set(grads[0]) == {"w", "b"} and isinstance(grads[0]["b"], list)
    assert float(grads[0]["w"]) == 8.0  # b^2 c
    assert float(grads[0]["b"][0]) == 24.0  # 2 w b c
    assert grads[1] is None  # an integer argument is a constant
