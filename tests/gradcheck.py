"""One helper that checks any tapegrad op, forward and backward.

``check_op(fn, np_fn, *inputs, rng=...)``

* forward: ``fn`` applied to tapegrad constants is compared with the numpy reference ``np_fn`` in
  float64 and in float32 (separate tolerances), including the result's shape and dtype;
* backward: the tape's vector-Jacobian product for a random cotangent ``v`` (passed as
  ``output_gradients``) is compared, along random directions ``dx``, with central finite differences
  of ``<v, fn(x)>`` in float64 (HIPS-autograd style: never a full Jacobian);
* float32 backward: the float32 tape gradients are compared with the float64 ones at the same
  (float32-representable) point.

``inputs`` are float64 numpy arrays (rank 0 allowed); the helper makes the tapegrad constants itself.
``np_fn=None`` skips the comparison against numpy (used for derived functions such as a first
derivative computed with an inner tape, whose backward is still checked against finite differences).
"""

import numpy as np

import tapegrad as tg

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)

# Forward tolerances: (rtol, atol); atol is scaled by max(1, max|reference|).
FWD_TOL = {F64: (1e-10, 1e-10), F32: (2e-5, 2e-5),
           np.dtype(np.bool_): (0.0, 0.0), np.dtype(np.int32): (0.0, 0.0), np.dtype(np.int64): (0.0, 0.0)}
# float32 tape gradients vs float64 tape gradients at the same point.
F32_GRAD_TOL = (2e-4, 2e-4)


def randn(rng, shape, dtype=np.float64):
    """Standard normal float64 array of ``shape`` (rank 0 gives a 0-d array)."""
    return np.asarray(rng.standard_normal(shape), dtype=dtype)


def away_from_zero(rng, shape, low=0.5, high=2.0):
    """Random values with |x| in [low, high] and random sign (for denominators)."""
    mag = rng.uniform(low, high, size=shape)
    sign = np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)
    return np.asarray(mag * sign, dtype=np.float64)


def _const(a):
    a = np.asarray(a)
    return tg.constant(a, dtype=a.dtype)


def _np(t):
    """Copy a tapegrad result into a fresh numpy array."""
    assert isinstance(t, tg.Tensor), f"expected a tapegrad.Tensor, got {type(t).__name__}"
    return np.array(t.numpy(), copy=True)


def _assert_close(actual, expected, rtol, atol, what):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale, err_msg=what)


def _forward(fn, arrays):
    return fn(*[_const(a) for a in arrays])


def _check_forward(fn, np_fn, arrays, dtype, name):
    xs = [np.asarray(a, dtype=dtype) for a in arrays]
    before = [x.copy() for x in xs]
    out = _forward(fn, xs)
    for x, b in zip(xs, before):
        np.testing.assert_array_equal(x, b, err_msg=f"{name}: an input array was modified")
    assert isinstance(out, tg.Tensor), f"{name}: result is {type(out).__name__}, not tapegrad.Tensor"
    got = _np(out)
    if np_fn is None:
        return out, got
    expected_dtype = np.asarray(np_fn(*[x.copy() for x in xs])).dtype
    # Reference values computed in float64 from the (rounded) inputs: only the op's own error counts.
    ref = np.asarray(np_fn(*[x.astype(np.float64) for x in xs]))
    assert out.dtype == expected_dtype, f"{name} [{dtype}]: dtype {out.dtype}, numpy gives {expected_dtype}"
    assert got.dtype == expected_dtype, f"{name} [{dtype}]: numpy() dtype {got.dtype}, expected {expected_dtype}"
    assert tuple(out.shape) == ref.shape, f"{name} [{dtype}]: shape {tuple(out.shape)}, numpy gives {ref.shape}"
    assert got.shape == ref.shape, f"{name} [{dtype}]: numpy() shape {got.shape}, expected {ref.shape}"
    rtol, atol = FWD_TOL[np.dtype(dtype)]
    _assert_close(got, ref, rtol, atol, f"{name} [{dtype}] forward differs from numpy")
    return out, got


def _tape_grads(fn, arrays, v, name):
    """Tape gradients of <v, fn(x)> w.r.t. every input (watched constants), via output_gradients=v."""
    ts = [_const(a) for a in arrays]
    with tg.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        y = fn(*ts)
    assert isinstance(y, tg.Tensor), f"{name}: result is {type(y).__name__}"
    assert tuple(y.shape) == v.shape, f"{name}: output shape {tuple(y.shape)} changed under the tape"
    grads = tape.gradient(y, ts, output_gradients=tg.constant(v.astype(y.dtype), dtype=y.dtype))
    assert isinstance(grads, list) and len(grads) == len(ts), f"{name}: gradient() did not return a list"
    out = []
    for i, (g, a) in enumerate(zip(grads, arrays)):
        assert g is not None, f"{name}: gradient for input {i} is None"
        assert isinstance(g, tg.Tensor), f"{name}: gradient {i} is {type(g).__name__}"
        assert tuple(g.shape) == a.shape, f"{name}: gradient {i} shape {tuple(g.shape)} != input shape {a.shape}"
        assert g.dtype == a.dtype, f"{name}: gradient {i} dtype {g.dtype} != input dtype {a.dtype}"
        out.append(_np(g).astype(np.float64))
    return out


def check_op(fn, np_fn, *inputs, rng=None, dtypes=(F64, F32), check_grad=True, eps=1e-6,
             grad_rtol=1e-6, grad_atol=1e-7, n_dirs=2, name=None):
    """Check ``fn`` (tapegrad) against ``np_fn`` (numpy) forward, and its tape gradient backward.

    fn:     callable taking tapegrad Tensors, returning a Tensor.
    np_fn:  numpy reference taking numpy arrays (or None to skip the forward comparison).
    inputs: float64 numpy arrays (values at which to check).
    """
    if rng is None:
        rng = np.random.default_rng(0)
    name = name or getattr(fn, "__name__", "op")
    arrays = [np.asarray(a, dtype=np.float64) for a in inputs]

    # ---- forward, per dtype ----------------------------------------------------------------
    for dt in dtypes:
        _check_forward(fn, np_fn, arrays, np.dtype(dt), name)
    if not check_grad:
        return

    # ---- backward in float64: randomized VJP vs central differences --------------------------
    y0 = _np(_forward(fn, arrays)).astype(np.float64)
    # Cotangent representable in float32 so the float32 run below sees exactly the same v.
    v = randn(rng, y0.shape).astype(np.float32).astype(np.float64)
    grads = _tape_grads(fn, arrays, v, name)

    def vdot_f(xs):
        return float(np.sum(v * _np(_forward(fn, xs)).astype(np.float64)))

    directions = []
    for i in range(len(arrays)):  # one input at a time: an error cannot hide behind another input
        directions.append([randn(rng, a.shape) if j == i else np.zeros_like(a) for j, a in enumerate(arrays)])
    for _ in range(n_dirs):  # all inputs together
        directions.append([randn(rng, a.shape) for a in arrays])

    out_scale = float(np.sum(np.abs(v) * np.abs(y0)))
    for k, dx in enumerate(directions):
        plus = [a + eps * d for a, d in zip(arrays, dx)]
        minus = [a - eps * d for a, d in zip(arrays, dx)]
        fd = (vdot_f(plus) - vdot_f(minus)) / (2.0 * eps)
        an = float(sum(np.sum(g * d) for g, d in zip(grads, dx)))
        grad_scale = float(sum(np.sum(np.abs(g) * np.abs(d)) for g, d in zip(grads, dx)))
        tol = grad_atol + grad_rtol * max(abs(fd), abs(an), grad_scale) + 1e-9 * out_scale
        assert abs(fd - an) <= tol, (
            f"{name}: VJP mismatch along direction {k}: tape <v,J dx> = {an!r}, "
            f"finite differences = {fd!r} (|diff| {abs(fd - an):.3e} > tol {tol:.3e}); "
            f"input shapes {[a.shape for a in arrays]}")

    # ---- backward in float32 vs float64 at the same point ------------------------------------
    if F32 in [np.dtype(d) for d in dtypes]:
        a32 = [a.astype(np.float32) for a in arrays]
        g32 = _tape_grads(fn, a32, v, name + " [float32]")
        g64 = _tape_grads(fn, [a.astype(np.float64) for a in a32], v, name + " [float64 ref]")
        rtol, atol = F32_GRAD_TOL
        for i, (g_lo, g_hi) in enumerate(zip(g32, g64)):
            _assert_close(g_lo, g_hi, rtol, atol, f"{name}: float32 gradient {i} differs from float64")
