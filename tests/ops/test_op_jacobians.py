"""GradientTape.jacobian and batch_jacobian against stacked central differences in float64,
for every op of the op-spec table (each row's first variants), and their TensorFlow semantics."""

import numpy as np
import pytest

import tapegrad as tg
from op_specs import SPECS, call

EPS = 1e-6


def _numeric_jacobian(f, arrays, k, eps=EPS):
    """d f(arrays) / d arrays[k], shape f.shape + arrays[k].shape, by central differences."""
    x = arrays[k]
    y0 = np.asarray(f(arrays))
    jac = np.zeros(y0.shape + x.shape)
    for j in np.ndindex(*x.shape) if x.shape else [()]:
        plus, minus = [a.copy() for a in arrays], [a.copy() for a in arrays]
        plus[k][j] += eps
        minus[k][j] -= eps
        jac[(Ellipsis,) + tuple(j)] = (np.asarray(f(plus)) - np.asarray(f(minus))) / (2 * eps)
    return jac


def _small(variant):
    """Few elements, and ranks that leave room for the jacobian's (the engine's limit is 8)."""
    return all(int(np.prod(shape)) <= 120 and len(shape) <= 3 for shape in variant.shapes)


def _spread(variants, most=8):
    """Up to `most` small variants, spread over the row (its broadcasting patterns, axes, ...)."""
    small = [v for v in variants if _small(v)]
    return small[::max(1, -(-len(small) // most))]


JACOBIAN_CASES = [(spec, variant) for spec in SPECS if spec.check.get("check_grad", True)
                  for variant in _spread(spec.variants)]


@pytest.mark.parametrize("spec,variant", JACOBIAN_CASES, ids=[f"{s.name}-{v.id}" for s, v in JACOBIAN_CASES])
def test_jacobian_matches_stacked_central_differences(spec, variant, rng):
    arrays = [draw(rng, shape) for draw, shape in zip(spec.domain, variant.shapes)]
    fn = spec.fn

    def forward(values):
        return call(fn, variant, [tg.constant(v, dtype=tg.float64) for v in values]).numpy()

    tensors = [tg.constant(a, dtype=tg.float64) for a in arrays]
    with tg.GradientTape(persistent=True) as tape:
        for t in tensors:
            tape.watch(t)
        y = call(fn, variant, tensors)
    jacobians = tape.jacobian(y, tensors)
    # The row's own finite-difference settings (a cast to float32 needs a larger step).
    eps = spec.check.get("eps", EPS)
    rtol, atol = spec.check.get("grad_rtol", 1e-6), spec.check.get("grad_atol", 1e-7)
    for k, a in enumerate(arrays):
        want = _numeric_jacobian(forward, arrays, k, eps)
        got = jacobians[k].numpy()
        assert got.shape == y.shape + a.shape
        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=f"input {k}")


def _two_layer(x, w1, w2):
    return tg.matmul(tg.square(tg.matmul(x, w1) + 0.5), w2)


def test_jacobian_of_a_two_layer_network_by_hand():
    rng = np.random.default_rng(3)
    x, w1, w2 = rng.standard_normal((1, 5)), rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    xt = tg.constant(x)
    with tg.GradientTape() as tape:
        tape.watch(xt)
        y = _two_layer(xt, tg.constant(w1), tg.constant(w2))
    jac = tape.jacobian(y, xt).numpy()  # (1, 3, 1, 5)
    h = x @ w1 + 0.5
    # y_j = sum_k h_k^2 w2[k, j], h_k = sum_i x_i w1[i, k] + 0.5: dy_j/dx_i = sum_k 2 h_k w1[i, k] w2[k, j]
    want = np.einsum("k,ik,kj->ji", 2 * h[0], w1, w2)
    np.testing.assert_allclose(jac[0, :, 0, :], want, rtol=1e-12)


def test_batch_jacobian_stacks_the_rows_jacobians():
    rng = np.random.default_rng(4)
    w1, w2 = tg.constant(rng.standard_normal((5, 4))), tg.constant(rng.standard_normal((4, 3)))
    x = tg.constant(rng.standard_normal((6, 5)))
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = _two_layer(x, w1, w2)  # rows independent
    got = tape.batch_jacobian(y, x).numpy()
    assert got.shape == (6, 3, 5)
    full = tape.jacobian(y, x).numpy()  # (6, 3, 6, 5)
    for i in range(6):
        np.testing.assert_allclose(got[i], full[i, :, i, :], rtol=1e-12)
        for other in range(6):
            if other != i:
                assert not full[i, :, other, :].any()


def test_hessian_as_the_jacobian_of_a_gradient():
    x = tg.constant([1.0, 2.0, 3.0], dtype=tg.float64)
    with tg.GradientTape(persistent=True) as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = tg.reduce_sum(x * x * x)
        g = inner.gradient(y, x)  # 3 x^2
    np.testing.assert_array_equal(outer.jacobian(g, x).numpy(), np.diag([6.0, 12.0, 18.0]))


def test_jacobian_structures_unconnected_sources_and_scalars():
    x = tg.constant([1.0, 2.0], dtype=tg.float64)
    u = tg.constant([[5.0]], dtype=tg.float64)
    v = tg.Variable(3.0, dtype=tg.float64)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * v  # dy/dx = v I, dy/dv = x
        s = tg.reduce_sum(y)
    jac = tape.jacobian(y, {"x": x, "rest": [v, u]})
    np.testing.assert_array_equal(jac["x"].numpy(), [[3.0, 0.0], [0.0, 3.0]])
    np.testing.assert_array_equal(jac["rest"][0].numpy(), [1.0, 2.0])
    assert jac["rest"][1] is None
    np.testing.assert_array_equal(tape.jacobian(y, u, unconnected_gradients="zero").numpy(), np.zeros((2, 1, 1)))
    np.testing.assert_array_equal(tape.jacobian(s, x).numpy(), [3.0, 3.0])  # a scalar target: the gradient
    np.testing.assert_array_equal(tape.jacobian(y, y).numpy(), np.eye(2))
    assert tape.batch_jacobian(tg.reshape(y, (1, 2)), u) is None


def test_jacobian_on_a_used_non_persistent_tape_raises():
    x = tg.constant([1.0, 2.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_array_equal(tape.jacobian(y, x).numpy(), [[2.0, 0.0], [0.0, 4.0]])
    with pytest.raises(RuntimeError, match="GradientTape.jacobian"):
        tape.jacobian(y, x)
