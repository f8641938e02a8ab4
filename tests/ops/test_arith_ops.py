"""pow, floordiv, mod, reduce_prod, cumsum and cumprod beyond the op table: edge values against
numpy, TensorFlow's gradient conventions where the derivative has no value, integer semantics,
the bits of the small-exponent fast path, and results independent of threads and instruction sets."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _core
from gradcheck import F64, check_op, randn


def _grads(f, *xs, output_gradients=None):
    ts = [tg.constant(np.asarray(x, np.float64), dtype=tg.float64) for x in xs]
    with tg.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        y = f(*ts)
    return [None if g is None else g.numpy() for g in
            tape.gradient(y, ts, output_gradients=output_gradients)]


# ---------------------------------------------------------------------------------------------
# pow
# ---------------------------------------------------------------------------------------------

EDGE = np.array([-np.inf, -3.0, -2.5, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 10.0, np.inf, np.nan])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_edge_values_match_numpy(dtype):
    """Every pair of edge values (a tensor exponent: the C library's pow), and every edge base
    to the small integer exponents (repeated squaring), as numpy: NaN for a negative base with a
    fractional exponent, 0 ** 0 = nan ** 0 = 1, 1 ** nan = 1."""
    x = EDGE.astype(dtype)
    xs, ys = np.meshgrid(x, x, indexing="ij")
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(tg.pow(xs, ys).numpy(), np.power(xs, ys))
        for n in range(-4, 5):
            got = (tg.constant(x, dtype=dtype) ** n).numpy()
            np.testing.assert_allclose(got, np.power(x, dtype(n)), rtol=4e-7 if dtype == np.float32 else 1e-15,
                                       err_msg=f"x ** {n}")
    assert float(tg.pow(0.0, 0.0)) == 1.0 and float(tg.constant(0.0) ** 0) == 1.0
    assert np.isnan(float(tg.constant(-8.0) ** (1 / 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_integer_exponents_are_repeated_squaring(dtype):
    """x ** 2 has square's bits; 3 and 4 the products of repeated squaring; negative ones the
    reciprocal of those; 1 and 0 are exact. A tensor exponent goes through the C library's pow."""
    x = tg.constant(np.random.default_rng(3).standard_normal(1031).astype(dtype) * 3)
    sq = tg.square(x)
    expected = {2: sq, 3: x * sq, 4: tg.square(sq), 1: x, 0: tg.ones_like(x), -1: tg.reciprocal(x),
                -2: tg.reciprocal(sq), -3: tg.reciprocal(x * sq)}
    for n, want in expected.items():
        for got in (x ** n, tg.pow(x, n), tg.pow(x, float(n)), x ** np.asarray(n, dtype)):
            assert got.numpy().tobytes() == want.numpy().tobytes(), f"x ** {n}"
    general = x ** tg.constant([5.0], dtype=dtype)
    np.testing.assert_allclose(general.numpy(), x.numpy().astype(np.float64) ** 5, rtol=1e-6)


def test_pow_gradients_where_the_derivative_has_no_value_follow_tensorflow():
    # d/dx: y x^(y-1): 0 for x ** 2 at 0, inf for x ** 0.5 at 0, NaN for x ** 0 at 0 (0 * inf)
    gx, gy = _grads(tg.pow, [0.0, 0.0, 0.0, 0.0], [2.0, 0.5, 1.0, 0.0])
    np.testing.assert_array_equal(gx, [0.0, np.inf, 1.0, np.nan])
    # d/dy: x^y log(x), with log(x) taken as 0 where x <= 0
    np.testing.assert_array_equal(gy, [0.0, 0.0, 0.0, 0.0])
    gx, gy = _grads(tg.pow, [-2.0, 0.0, 3.0], [2.0, 2.0, 2.0])
    np.testing.assert_allclose(gx, [-4.0, 0.0, 6.0])
    np.testing.assert_allclose(gy, [0.0, 0.0, 9.0 * np.log(3.0)])
    # a zero cotangent gives zero, not 0 * inf (TensorFlow's multiply_no_nan)
    gx, gy = _grads(tg.pow, [0.0, 1.0], [0.5, 0.5], output_gradients=tg.constant([0.0, 1.0], dtype=tg.float64))
    np.testing.assert_array_equal(gx, [0.0, 0.5])
    # the fast path records the same rule
    (g,) = _grads(lambda t: t ** 2, [0.0, -1.5, 2.0])
    np.testing.assert_array_equal(g, [0.0, -3.0, 4.0])


def test_pow_negative_base_integer_exponent_gradient(rng):
    """Negative bases with integer exponents (tensor or number) against finite differences in x."""
    x = -np.abs(randn(rng, (3, 4))) - 0.5
    three = tg.constant([3.0])
    check_op(lambda t: t ** tg.cast(three, t.dtype), lambda a: a ** 3, x, rng=rng)
    check_op(lambda t: tg.pow(t, -3), lambda a: a ** -3.0, x, rng=rng)
    check_op(lambda t: 2.0 ** t, lambda a: 2.0 ** a, randn(rng, (5,)), rng=rng)
    check_op(lambda t: (t * t + 1.0) ** -0.5, lambda a: (a * a + 1.0) ** -0.5, randn(rng, (5,)), rng=rng)


def test_pow_gradient_does_not_reach_a_python_exponent_or_an_integer_tensor():
    x = tg.constant([1.5, 2.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x ** 2.5
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 2.5 * np.array([1.5, 2.0]) ** 1.5, rtol=1e-6)
    i = tg.constant(np.array([2, 3], np.int32))
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.cast(i ** 2, tg.float32) * x
    assert tape.gradient(y, x).numpy().tolist() == [4.0, 9.0]


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_pow_is_exact_and_wraps_as_numpy(dtype):
    rng = np.random.default_rng(5)
    base = rng.integers(-20, 20, size=(6, 7)).astype(dtype)
    exponent = rng.integers(0, 40, size=(7,)).astype(dtype)
    got = tg.pow(tg.constant(base), tg.constant(exponent)).numpy()
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.power(base, exponent))
    b = tg.constant(np.array([0, -2, 3, 7], dtype))
    assert (b ** 0).numpy().tolist() == [1, 1, 1, 1]
    assert (b ** 3).numpy().tolist() == [0, -8, 27, 343]
    assert (2 ** tg.constant(np.array([0, 1, 10], dtype))).numpy().tolist() == [1, 2, 1024]
    assert (b ** 3).dtype == dtype
    with pytest.raises(ValueError, match="^pow: integers to negative integer powers"):
        tg.pow(b, tg.constant(np.array([1, 1, -1, 1], dtype)))


# ---------------------------------------------------------------------------------------------
# floordiv and mod
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_floordiv_and_mod_follow_python(dtype):
    rng = np.random.default_rng(9)
    x = rng.integers(-50, 50, size=(5, 8)).astype(dtype)
    y = rng.integers(1, 9, size=(8,)).astype(dtype) * np.where(rng.random(8) < 0.5, -1, 1).astype(dtype)
    q, r = tg.floordiv(tg.constant(x), tg.constant(y)).numpy(), tg.mod(tg.constant(x), tg.constant(y)).numpy()
    assert q.dtype == dtype and r.dtype == dtype
    np.testing.assert_array_equal(q, np.floor_divide(x, y))
    np.testing.assert_array_equal(r, np.mod(x, y))
    for a, b in [(7, 2), (-7, 2), (7, -2), (-7, -2), (0, -3), (6, 3), (-6, 3)]:
        ta = tg.constant(np.array([a], dtype))
        assert (ta // b).numpy().tolist() == [a // b] and (ta % b).numpy().tolist() == [a % b]
        tb = tg.constant(np.array([b], dtype))
        assert (a // tb).numpy().tolist() == [a // b] and (a % tb).numpy().tolist() == [a % b]
    np.testing.assert_array_equal((tg.constant(x) // tg.constant(y)).numpy(), q)
    np.testing.assert_array_equal((tg.constant(x) % y).numpy(), r)  # an integer array takes x's dtype
    np.testing.assert_array_equal((x % tg.constant(y)).numpy(), r)  # numpy defers to the reflected slot
    low = np.iinfo(dtype).min
    extremes = tg.constant(np.array([low, low, np.iinfo(dtype).max], dtype))
    assert (extremes // -1).numpy().tolist() == [low, low, -np.iinfo(dtype).max]  # wraps, as numpy
    assert (extremes % -1).numpy().tolist() == [0, 0, 0]


@pytest.mark.parametrize("name", ["floordiv", "mod"])
def test_integer_division_by_zero_is_a_value_error(name):
    fn = getattr(tg, name)
    x = tg.constant(np.array([[1, 2], [3, 4]], np.int64))
    for call in (lambda: fn(x, tg.constant(np.array([1, 0], np.int64))), lambda: fn(x, 0),
                 lambda: x // 0 if name == "floordiv" else x % 0):
        with pytest.raises(ValueError, match=f"^{name}: integer division by zero"):
            call()


def test_float_floordiv_and_mod_as_tensorflow():
    x = tg.constant([-1.0, 1.0, 7.5, -7.5, 0.0])
    y = tg.constant([3.0, -3.0, 2.0, 2.0, 5.0])
    assert tg.floordiv(x, y).numpy().tolist() == [-1.0, -1.0, 3.0, -4.0, 0.0]
    assert tg.mod(x, y).numpy().tolist() == [2.0, -2.0, 1.5, 0.5, 0.0]
    with np.errstate(all="ignore"):
        z = tg.constant([1.0, -1.0, 0.0, np.inf])
        assert tg.floordiv(z, 0.0).numpy().tolist()[:2] == [np.inf, -np.inf]
        assert np.isnan(tg.mod(z, 0.0).numpy()).all()


def test_floordiv_has_no_gradient_and_mod_the_tensorflow_one():
    gx, gy = _grads(tg.floordiv, [7.5, -3.0], [2.0, 2.0])
    assert gx is None and gy is None
    gx, gy = _grads(tg.mod, [7.5, -3.0, 1.0], [2.0, 2.0, -4.0])
    np.testing.assert_array_equal(gx, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(gy, [-3.0, 2.0, 1.0])  # -floor(x / y)


# ---------------------------------------------------------------------------------------------
# reduce_prod
# ---------------------------------------------------------------------------------------------

def _products_of_the_others(a, axis):
    """Brute force: for each element, the product of the other elements of its reduction."""
    a = np.asarray(a, np.float64)
    axes = tuple(range(a.ndim)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = tuple(ax % a.ndim for ax in axes)
    out = np.empty_like(a)
    for idx in np.ndindex(a.shape):
        sel = tuple(slice(None) if d in axes else idx[d] for d in range(a.ndim))
        block = a[sel].copy()
        pos = tuple(idx[d] for d in range(a.ndim) if d in axes)
        block[pos] = 1.0
        out[idx] = np.prod(block)
    return out


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (2, 0)])
def test_reduce_prod_gradient_with_zeros_is_the_product_of_the_others(axis):
    rng = np.random.default_rng(11)
    x = rng.uniform(0.5, 2.0, size=(3, 4, 5)) * np.where(rng.random((3, 4, 5)) < 0.5, -1, 1)
    x[0, 1, 2] = 0.0  # one zero in some reductions
    x[2, 3, 0] = x[2, 3, 4] = x[2, 0, 4] = 0.0  # two or more in others
    (g,) = _grads(lambda t: tg.reduce_prod(t, axis=axis), x)
    np.testing.assert_allclose(g, _products_of_the_others(x, axis), rtol=1e-12, atol=0)
    (g,) = _grads(lambda t: tg.reduce_prod(t, axis=axis, keepdims=True), x)
    np.testing.assert_allclose(g, _products_of_the_others(x, axis), rtol=1e-12, atol=0)


def test_reduce_prod_single_zero_and_second_order():
    (g,) = _grads(tg.reduce_prod, [2.0, 0.0, 3.0, 4.0])
    np.testing.assert_array_equal(g, [0.0, 24.0, 0.0, 0.0])
    # d2/dx2 of x0 x1 x2 (no zeros): the Hessian's off-diagonal products
    x = tg.constant([2.0, 3.0, 5.0], dtype=tg.float64)
    with tg.GradientTape() as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = tg.reduce_prod(x)
        g = inner.gradient(y, x)
        row = tg.reduce_sum(g * tg.constant([1.0, 0.0, 0.0], dtype=tg.float64))  # d y / d x0
    np.testing.assert_allclose(outer.gradient(row, x).numpy(), [0.0, 5.0, 3.0])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_reduce_prod_wraps_as_numpy(dtype):
    x = np.random.default_rng(2).integers(-9, 9, size=(4, 30)).astype(dtype)
    for axis in (None, 0, 1):
        got = tg.reduce_prod(tg.constant(x), axis=axis).numpy()
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, np.prod(x, axis=axis, dtype=dtype))
    assert int(tg.reduce_prod(tg.constant(np.zeros((0,), dtype)))) == 1


# ---------------------------------------------------------------------------------------------
# cumsum and cumprod
# ---------------------------------------------------------------------------------------------

def test_cumsum_flags_by_hand():
    x = tg.constant([1.0, 2.0, 3.0, 4.0])
    assert tg.cumsum(x).numpy().tolist() == [1, 3, 6, 10]
    assert tg.cumsum(x, exclusive=True).numpy().tolist() == [0, 1, 3, 6]
    assert tg.cumsum(x, reverse=True).numpy().tolist() == [10, 9, 7, 4]
    assert tg.cumsum(x, exclusive=True, reverse=True).numpy().tolist() == [9, 7, 4, 0]
    assert tg.cumprod(x, exclusive=True, reverse=True).numpy().tolist() == [24, 12, 4, 1]
    (g,) = _grads(lambda t: tg.cumsum(t, exclusive=True), [1.0, 2.0, 3.0, 4.0])
    assert g.tolist() == [3, 2, 1, 0]
    (g,) = _grads(lambda t: tg.cumprod(t), [2.0, 3.0, 4.0])
    assert g.tolist() == [1 + 3 + 12, 2 + 8, 6]


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_cumsum_and_cumprod_exact(dtype):
    x = np.random.default_rng(4).integers(-1000, 1000, size=(3, 50)).astype(dtype)
    for axis in (0, 1, -1):
        got = tg.cumsum(tg.constant(x), axis=axis).numpy()
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, np.cumsum(x, axis=axis, dtype=dtype))
        np.testing.assert_array_equal(tg.cumprod(tg.constant(x), axis=axis).numpy(),
                                      np.cumprod(x, axis=axis, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cumsum_is_sequential_per_line_for_any_thread_count(dtype):
    """Each line is summed in order: numpy's (sequential) cumsum bits, on 1, 2, 3 or 5 threads and
    with every parallel threshold at 0."""
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal((64, 3001)).astype(dtype), rng.standard_normal((3001, 7)).astype(dtype),
              rng.standard_normal((3, 1000, 5)).astype(dtype), rng.standard_normal(200_003).astype(dtype)]

    def results():
        out = []
        for a in arrays:
            for axis in range(a.ndim):
                out.append(tg.cumsum(a, axis=axis).numpy().tobytes())
                out.append(tg.cumsum(a, axis=axis, exclusive=True, reverse=True).numpy().tobytes())
        return out

    saved, old = _core._parallel_thresholds(), tg.config.num_threads()
    try:
        tg.config.set_num_threads(1)
        want = results()
        _core._set_parallel_thresholds(saved["gemm_madds"], saved["few_columns_madds"], saved["gemv_madds"], 0)
        for n in (2, 3, 5):
            tg.config.set_num_threads(n)
            assert results() == want, f"{n} threads"
    finally:
        _core._set_parallel_thresholds(saved["gemm_madds"], saved["few_columns_madds"],
                                       saved["gemv_madds"], saved["elementwise"])
        tg.config.set_num_threads(old)
    k = 0
    for a in arrays:
        for axis in range(a.ndim):
            assert want[k] == np.cumsum(a, axis=axis).tobytes()
            k += 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_instruction_set_gives_the_same_bits(dtype):
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((40, 33)) * 3).astype(dtype)
    y = (rng.standard_normal((33,)) * 2).astype(dtype)
    pos = np.abs(x) + dtype(0.25)
    saved = _core.isa()
    results = {}
    try:
        for isa in _core.available_isas():
            _core.select_isa(isa)
            results[isa] = [r.numpy().tobytes() for r in (
                tg.pow(pos, y), tg.constant(x) ** 3, tg.constant(x) ** -2, 2.0 ** tg.constant(y),
                tg.floordiv(x, y), tg.mod(x, y), tg.reduce_prod(x, axis=0), tg.cumprod(x, axis=1))]
    finally:
        _core.select_isa(saved)
    first = next(iter(results.values()))
    for isa, got in results.items():
        assert got == first, f"{isa} differs from the scalar reference"


def test_scan_and_product_second_order_in_float64(rng):
    x = rng.uniform(0.5, 1.5, size=(3, 4))

    def first_derivative(t):
        with tg.GradientTape() as inner:
            inner.watch(t)
            y = tg.reduce_sum(tg.cumprod(t, axis=1, exclusive=True) * tg.reduce_prod(t, axis=0))
        return inner.gradient(y, t)

    check_op(first_derivative, None, x, rng=rng, dtypes=(F64,))
