"""Every op, forward against numpy and backward against float64 finite differences, through one
helper (``gradcheck.check_op``), driven by the op-spec table (``op_specs.SPECS``)."""

import numpy as np
import pytest

import tapegrad as tg
from gradcheck import F64, away_from_zero, check_op, randn
from op_specs import BINARY_ELEMENTWISE, BY_NAME, SPECS, _shape, call, reference, variants_with_spellings

# ---------------------------------------------------------------------------------------------
# The table: each row's variants in each spelling
# ---------------------------------------------------------------------------------------------

CASES = variants_with_spellings(SPECS)

# Public names that are not ops (everything else in tapegrad.__all__ is an op with a row).
NOT_OPS = {"Tensor", "Variable", "GradientTape", "Checkpoint", "CheckpointManager", "debugging", "Dense", "Sequential", "Optimizer", "GradientDescent", "Momentum",
           "Adam", "RMSProp", "float32", "float64", "int32", "int64", "bool", "activations", "config", "data", "nn",
           "random", "constant", "convert_to_tensor", "implicit_gradients", "implicit_value_and_gradients",
           "gradients_function", "value_and_gradients_function",
           # creation functions take no tensor: tests/test_creation.py
           "zeros", "ones", "zeros_like", "ones_like", "fill", "range", "eye", "linspace",
           # interop: tests/test_dlpack.py
           "from_dlpack",
           # compiled functions: tests/test_function.py
           "function", "TensorSpec",
           # data-parallel training, a module: tests/distributed
           "distributed"}


def test_every_public_op_has_a_spec_row():
    """A new public op fails here until op_specs.SPECS has its row (and the row its variants)."""
    missing = sorted(set(tg.__all__) - NOT_OPS - {s.name for s in SPECS if s.has_function})
    assert not missing, f"public ops without a row in op_specs.SPECS: {missing}"
    assert all(s.variants for s in SPECS), [s.name for s in SPECS if not s.variants]
    assert len({s.name for s in SPECS}) == len(SPECS)


@pytest.mark.parametrize("spec,spelling,variant", CASES, ids=[f"{sp}-{v.id}" for _, sp, v in CASES])
def test_op_matches_numpy_and_finite_differences(spec, spelling, variant, rng):
    fn = spec.spellings[spelling]
    inputs = [draw(rng, s) for draw, s in zip(spec.domain, variant.shapes)]
    settings = {**spec.check, **variant.check}
    check_op(lambda *ts: call(fn, variant, ts), lambda *arrays: reference(spec, variant, arrays), *inputs,
             rng=rng, name=f"{spelling}[{variant.id}]", **settings)


@pytest.mark.parametrize("spec", BINARY_ELEMENTWISE, ids=[s.name for s in BINARY_ELEMENTWISE])
def test_binary_same_input_twice_accumulates(spec, rng):
    x = spec.domain[0](rng, _shape(2))
    check_op(lambda t: spec.fn(t, t), lambda a: spec.ref(a, a), x, rng=rng, name=f"{spec.name}(x, x)",
             **spec.check)


def test_fan_out_accumulates(rng):
    x, y = randn(rng, (3, 4)), randn(rng, (4,))
    check_op(lambda a, b: tg.add(tg.multiply(a, b), tg.square(a)) - a,
             lambda a, b: a * b + a * a - a, x, y, rng=rng)


SCALAR_OPERAND_CASES = {
    "t+2": (lambda t: t + 2.0, lambda a: a + 2.0),
    "2+t": (lambda t: 2.0 + t, lambda a: 2.0 + a),
    "t-2": (lambda t: t - 2.0, lambda a: a - 2.0),
    "2-t": (lambda t: 2.0 - t, lambda a: 2.0 - a),
    "t*3": (lambda t: t * 3.0, lambda a: a * 3.0),
    "3*t": (lambda t: 3.0 * t, lambda a: 3.0 * a),
    "t/4": (lambda t: t / 4.0, lambda a: a / 4.0),
    "4/t": (lambda t: 4.0 / t, lambda a: 4.0 / a),
    "int_3*t": (lambda t: 3 * t, lambda a: 3 * a),
    "add(t,list)": (lambda t: tg.add(t, [1.0, -2.0, 0.5]), lambda a: a + np.array([1.0, -2.0, 0.5], a.dtype)),
    "multiply(int_array,t)": (lambda t: tg.multiply(np.array([1, 2, 3]), t),
                              lambda a: np.array([1, 2, 3]).astype(a.dtype) * a),
}


@pytest.mark.parametrize("case", list(SCALAR_OPERAND_CASES))
def test_weak_operands(case, rng):
    """Python scalars, lists and integer arrays as the other operand (they take the tensor's dtype)."""
    fn, np_fn = SCALAR_OPERAND_CASES[case]
    check_op(fn, np_fn, away_from_zero(rng, (2, 3)), rng=rng, name=case)


def test_cast_roundtrip_through_float32(rng):
    # float64 -> float32 -> float64 and float32 -> float32 -> float64 (the float32 run of the helper)
    check_op(lambda t: tg.cast(tg.cast(t, tg.float32), tg.float64),
             lambda a: a.astype(np.float32).astype(np.float64),
             randn(rng, (2, 5)), rng=rng, **BY_NAME["cast"].check)


def test_cast_gradient_has_source_dtype():
    x = tg.constant([1.0, 2.0], dtype=tg.float32)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.reduce_sum(tg.square(tg.cast(x, tg.float64)))
    g = tape.gradient(y, x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


def test_matmul_same_input(rng):
    check_op(lambda x: tg.matmul(x, x, transpose_b=True), lambda a: a @ a.T, randn(rng, (4, 3)), rng=rng)


def test_composite_linear_model(rng):
    """The demo's loss: mean((x @ w + b - y)^2), all three inputs differentiated."""
    x, w, b, y = randn(rng, (20, 3)), randn(rng, (3, 1)), randn(rng, (1,)), randn(rng, (20, 1))
    check_op(lambda x_, w_, b_, y_: tg.reduce_mean(tg.square(tg.matmul(x_, w_) + b_ - y_)),
             lambda x_, w_, b_, y_: np.mean(np.square(x_ @ w_ + b_ - y_)), x, w, b, y, rng=rng)


# ---------------------------------------------------------------------------------------------
# Second order: nested tapes, checked against finite differences of the first derivative
# ---------------------------------------------------------------------------------------------

def _inner_grad(loss_fn):
    """x -> d loss_fn(x) / dx computed with an inner tape (the outer tape of check_op records it)."""
    def first_derivative(x):
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = loss_fn(x)
        return inner.gradient(y, x)
    return first_derivative


def test_second_derivative_of_cube(rng):
    x = randn(rng, (5,))
    # first derivative 3x^2 against numpy; its derivative against FD of the first derivative
    check_op(_inner_grad(lambda t: tg.multiply(tg.multiply(t, t), t)), lambda a: 3 * a * a, x, rng=rng)
    # and the exact value 6x
    xt = tg.constant(x)
    with tg.GradientTape() as outer:
        outer.watch(xt)
        with tg.GradientTape() as inner:
            inner.watch(xt)
            y = xt * xt * xt
        dy = inner.gradient(y, xt)
    d2y = outer.gradient(dy, xt)
    np.testing.assert_allclose(d2y.numpy(), 6 * x, rtol=1e-12)


def test_second_derivative_of_square(rng):
    x = randn(rng, (2, 3))
    check_op(_inner_grad(tg.square), lambda a: 2 * a, x, rng=rng)
    xt = tg.constant(x)
    with tg.GradientTape() as outer:
        outer.watch(xt)
        with tg.GradientTape() as inner:
            inner.watch(xt)
            y = tg.square(xt)
        dy = inner.gradient(y, xt)
    d2y = outer.gradient(dy, xt)
    np.testing.assert_allclose(d2y.numpy(), np.full((2, 3), 2.0))


def test_second_derivative_of_reciprocal(rng):
    check_op(_inner_grad(lambda t: 1.0 / t), lambda a: -1.0 / (a * a), away_from_zero(rng, (4,)), rng=rng)


def test_third_derivative_of_cube():
    x = tg.constant(1.5, dtype=tg.float64)
    with tg.GradientTape() as t3:
        t3.watch(x)
        with tg.GradientTape() as t2:
            t2.watch(x)
            with tg.GradientTape() as t1:
                t1.watch(x)
                y = x * x * x
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    assert float(d1) == pytest.approx(3 * 1.5 ** 2)
    assert float(d2) == pytest.approx(6 * 1.5)
    assert float(d3) == pytest.approx(6.0)


SECOND_ORDER_BINARY = [(s, v) for s in SPECS for v in s.variants if v.id in s.second_order_variants]


@pytest.mark.parametrize("spec,variant", SECOND_ORDER_BINARY,
                         ids=[f"{s.name}-{v.id.split('-')[0]}" for s, v in SECOND_ORDER_BINARY])
def test_second_order_binary(spec, variant, rng):
    """Hessian-vector products through every binary op's backward (including unbroadcast)."""
    fn = spec.fn
    sa, sb = variant.shapes
    a = away_from_zero(rng, sa)
    b = away_from_zero(rng, sb)
    ra, rb = randn(rng, sa), randn(rng, sb)

    def projected_gradient(x, y):
        with tg.GradientTape() as inner:
            inner.watch(x)
            inner.watch(y)
            loss = tg.reduce_sum(tg.square(fn(x, y)) * fn(x, y))
        gx, gy = inner.gradient(loss, [x, y])
        return (tg.reduce_sum(gx * tg.constant(ra, dtype=x.dtype))
                + tg.reduce_sum(gy * tg.constant(rb, dtype=y.dtype)))

    check_op(projected_gradient, None, a, b, rng=rng, name=f"d2 {spec.name}[{variant.id}]")


SECOND_ORDER_UNARY = {name: f for s in SPECS for name, f in s.second_order.items()}


@pytest.mark.parametrize("case", list(SECOND_ORDER_UNARY))
def test_second_order_through_ops(case, rng):
    f = SECOND_ORDER_UNARY[case]
    x = randn(rng, (3, 4))
    r = randn(rng, (3, 4))

    def projected_gradient(t):
        with tg.GradientTape() as inner:
            inner.watch(t)
            loss = tg.reduce_sum(f(t))
        g = inner.gradient(loss, t)
        return tg.reduce_sum(g * tg.constant(r, dtype=t.dtype))

    check_op(projected_gradient, None, x, rng=rng, dtypes=(F64,), name=f"d2 {case}")


# ---------------------------------------------------------------------------------------------
# Property-based: arbitrary mutually broadcastable shapes for every binary elementwise row
# ---------------------------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4),
       op=st.sampled_from([s.name for s in BINARY_ELEMENTWISE]),
       seed=st.integers(0, 2 ** 32 - 1))
def test_binary_broadcasting_property(shapes, op, seed):
    rng = np.random.default_rng(seed)
    spec = BY_NAME[op]
    sa, sb = shapes.input_shapes
    a, b = (draw(rng, s) for draw, s in zip(spec.domain, (sa, sb)))
    check_op(spec.fn, spec.ref, a, b, rng=rng, n_dirs=1, name=f"{op}{sa}{sb}", **spec.check)


# ---------------------------------------------------------------------------------------------
# Zero-size tensors, NaN/Inf propagation
# ---------------------------------------------------------------------------------------------

ZERO_SIZE_CASES = {
    "add_empty_rows": (tg.add, np.add, [(0, 3), (3,)]),
    "multiply_empty_broadcast": (tg.multiply, np.multiply, [(0, 1), (1, 4)]),
    "matmul_k0": (tg.matmul, np.matmul, [(3, 0), (0, 4)]),
    "matmul_m0": (tg.matmul, np.matmul, [(0, 5), (5, 4)]),
    "matmul_batch0": (tg.matmul, np.matmul, [(0, 2, 3), (3, 4)]),
    "reduce_sum_empty_axis": (lambda t: tg.reduce_sum(t, axis=0), lambda a: np.sum(a, axis=0), [(0, 3)]),
    "reduce_sum_all_empty": (tg.reduce_sum, np.sum, [(2, 0)]),
    "reshape_empty": (lambda t: tg.reshape(t, (3, 0, 2)), lambda a: a.reshape(3, 0, 2), [(0, 6)]),
    "transpose_empty": (tg.transpose, np.transpose, [(0, 4)]),
    "broadcast_empty": (lambda t: tg.broadcast_to(t, (0, 3)), lambda a: np.broadcast_to(a, (0, 3)), [(3,)]),
    "reduce_prod_empty_axis": (lambda t: tg.reduce_prod(t, axis=0), lambda a: np.prod(a, axis=0), [(0, 3)]),
    "reduce_prod_all_empty": (tg.reduce_prod, np.prod, [(2, 0)]),
    "cumsum_empty_axis": (lambda t: tg.cumsum(t, axis=1, exclusive=True), lambda a: a * 0, [(4, 0, 3)]),
    "cumprod_empty_rows": (lambda t: tg.cumprod(t, axis=1, reverse=True), lambda a: a * 0, [(0, 3)]),
    "pow_empty": (tg.pow, np.power, [(0, 3), (3,)]),
    "mod_empty": (tg.mod, np.mod, [(2, 0), (1,)]),
}


@pytest.mark.parametrize("case", list(ZERO_SIZE_CASES))
def test_zero_size(case, rng):
    fn, np_fn, shapes = ZERO_SIZE_CASES[case]
    # churn the allocator so that uninitialised memory would show up as garbage
    junk = [tg.add(tg.constant(np.full((4, 5), 7.0)), 1.0) for _ in range(8)]
    del junk
    check_op(fn, np_fn, *[randn(rng, s) for s in shapes], rng=rng, name=case)


def test_matmul_k0_gives_zeros_not_garbage():
    for _ in range(3):
        junk = tg.matmul(np.full((6, 6), 3.0), np.full((6, 6), 5.0))
        del junk
        out = tg.matmul(np.ones((6, 0)), np.ones((0, 6)))
        np.testing.assert_array_equal(out.numpy(), np.zeros((6, 6)))


NAN_CASES = {
    "matmul": (tg.matmul, np.matmul),
    "matmul_ta": (lambda x, y: tg.matmul(x, y, transpose_a=True), lambda x, y: x.T @ y),
    "reduce_sum": (lambda x, y: tg.reduce_sum(x, axis=0), lambda x, y: np.sum(x, axis=0)),
    "reduce_mean": (lambda x, y: tg.reduce_mean(x), lambda x, y: np.mean(x)),
    "multiply_by_zero": (lambda x, y: tg.multiply(x, 0.0), lambda x, y: x * np.asarray(0.0, x.dtype)),
}


@pytest.mark.parametrize("case", list(NAN_CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_and_inf_propagate_like_numpy(dtype, case):
    """No kernel may skip zeros or otherwise hide NaN/Inf (0 * inf = nan, nan + x = nan)."""
    fn, ref = NAN_CASES[case]
    a = np.array([[1.0, np.nan, 2.0], [0.0, 1.0, 0.0], [np.inf, 0.0, 1.0]], dtype=dtype)
    b = np.array([[0.0, 1.0], [0.0, 0.0], [1.0, -np.inf]], dtype=dtype)
    with np.errstate(invalid="ignore"):
        expected = ref(a, b)
    got = np.asarray(fn(tg.constant(a), tg.constant(b)))
    np.testing.assert_array_equal(got, expected)
