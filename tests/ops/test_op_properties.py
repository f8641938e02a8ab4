"""Hypothesis properties of the ops: random op chains over random shapes with broadcasting
partners, random-axis reductions (zero-size dimensions included), matmul with batch broadcasting and
transpose flags, reshape/transpose/broadcast_to targets, weak (Python/numpy) partners and NaN/Inf
placement: forward against numpy, backward against float64 central differences
(``gradcheck.check_op``).

``TAPEGRAD_PROPERTY_EXAMPLES`` (per property, default 100) scales the run.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
from gradcheck import check_op, randn
from op_specs import BINARY_ELEMENTWISE, BY_NAME

PROPERTY_EXAMPLES = int(os.environ.get("TAPEGRAD_PROPERTY_EXAMPLES", "100"))
PROPERTY = settings(max_examples=PROPERTY_EXAMPLES, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
float_dtype = st.sampled_from([np.float32, np.float64])


def _apply_chain(lib, steps, xs):
    """Applies the op chain ``steps`` to the leaves ``xs`` with tapegrad (lib='tg') or numpy."""
    T = lib == "tg"
    cur = xs[0]
    for op, arg in steps:
        if op == "add":
            cur = cur + xs[arg]
        elif op == "sub":
            cur = xs[arg] - cur
        elif op == "mul":
            cur = cur * xs[arg]
        elif op == "div":  # denominators kept >= 1 away from zero: other * other + 1
            cur = cur / (xs[arg] * xs[arg] + 1.0)
        elif op == "rdiv":
            cur = xs[arg] / (cur * cur + 1.0)
        elif op == "square":
            cur = tg.square(cur) if T else np.square(cur)
        elif op == "neg":
            cur = -cur
        elif op == "pow":
            cur = cur ** arg
        elif op == "scale":
            cur = cur * arg if T else cur * np.asarray(arg, cur.dtype)
        elif op in ("sum", "mean"):
            axis, keep = arg
            if T:
                cur = (tg.reduce_sum if op == "sum" else tg.reduce_mean)(cur, axis=axis, keepdims=keep)
            else:
                cur = (np.sum if op == "sum" else np.mean)(cur, axis=axis, keepdims=keep)
        elif op == "transpose":
            cur = tg.transpose(cur, arg) if T else np.transpose(cur, arg)
        elif op == "reshape":
            cur = tg.reshape(cur, arg) if T else np.reshape(cur, arg)
        elif op == "broadcast_to":
            cur = tg.broadcast_to(cur, arg) if T else np.broadcast_to(cur, arg)
        elif op == "matmul":
            cur = tg.matmul(cur, xs[arg]) if T else np.matmul(cur, xs[arg])
    return cur


@st.composite
def op_chains(draw):
    """(leaf shapes, steps): a random chain over 1 + k leaves, every step valid for the running shape."""
    shapes = [draw(st.lists(st.integers(1, 3), max_size=3).map(tuple))]
    cur = shapes[0]
    steps = []
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["add", "sub", "mul", "div", "rdiv", "square", "neg", "pow", "scale",
                                   "sum", "mean", "transpose", "reshape", "broadcast_to", "matmul"]))
        if op in ("add", "sub", "mul", "div"):
            # a broadcasting partner: an existing leaf if it broadcasts, else a new one
            partner = draw(hnp.broadcastable_shapes(cur, min_dims=0, max_dims=len(cur) + 1, min_side=1, max_side=3))
            shapes.append(partner)
            steps.append((op, len(shapes) - 1))
            cur = np.broadcast_shapes(cur, partner)
        elif op == "rdiv":
            partner = draw(hnp.broadcastable_shapes(cur, min_dims=0, max_dims=len(cur), min_side=1, max_side=3))
            shapes.append(partner)
            steps.append((op, len(shapes) - 1))
            cur = np.broadcast_shapes(cur, partner)
        elif op in ("square", "neg"):
            steps.append((op, None))
        elif op == "pow":
            steps.append((op, draw(st.integers(1, 3))))  # x ** 0 is a constant: no gradient to check
        elif op == "scale":
            steps.append((op, draw(st.sampled_from([-1.5, 0.5, 2, 3]))))
        elif op in ("sum", "mean"):
            if cur:
                axes = draw(st.lists(st.integers(-len(cur), len(cur) - 1), unique_by=lambda a: a % len(cur),
                                     max_size=len(cur)))
                axis = None if not axes else (axes[0] if len(axes) == 1 else tuple(axes))
            else:
                axis = None
            keep = draw(st.booleans())
            steps.append((op, (axis, keep)))
            cur = np.sum(np.zeros(cur), axis=axis, keepdims=keep).shape
        elif op == "transpose":
            perm = tuple(draw(st.permutations(range(len(cur)))))
            steps.append((op, perm))
            cur = tuple(cur[p] for p in perm)
        elif op == "reshape":
            n = int(np.prod(cur))
            divisors = [d for d in range(1, n + 1) if n % d == 0]
            d = draw(st.sampled_from(divisors))
            target = draw(st.sampled_from([(n,), (d, n // d), (-1, d), (d, -1, 1)] + ([()] if n == 1 else [])))
            steps.append((op, target))
            cur = np.zeros(cur).reshape(target).shape
        elif op == "broadcast_to":
            target = draw(hnp.broadcastable_shapes(cur, min_dims=len(cur), max_dims=len(cur) + 1, min_side=1,
                                                   max_side=3))
            target = np.broadcast_shapes(cur, target)
            steps.append((op, target))
            cur = target
        elif op == "matmul":
            if len(cur) < 2:
                continue
            n = draw(st.integers(1, 3))
            batch = draw(st.sampled_from([(), cur[:-2]]))
            shapes.append(tuple(batch) + (cur[-1], n))
            steps.append((op, len(shapes) - 1))
            cur = np.matmul(np.zeros(cur), np.zeros(shapes[-1])).shape
    return shapes, steps


@PROPERTY
@given(chain=op_chains(), seed=st.integers(0, 2 ** 32 - 1))
def test_property_random_op_chains(chain, seed):
    shapes, steps = chain
    note(f"shapes={shapes} steps={steps}")
    rng = np.random.default_rng(seed)
    leaves = [randn(rng, s) for s in shapes]
    check_op(lambda *xs: _apply_chain("tg", steps, xs), lambda *xs: _apply_chain("np", steps, xs), *leaves,
             rng=rng, n_dirs=1, name=f"chain{steps}")


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")
@PROPERTY
@given(shape=st.lists(st.integers(0, 4), max_size=4).map(tuple), data=st.data(),
       op=st.sampled_from(["sum", "mean"]), keep=st.booleans(), seed=st.integers(0, 2 ** 32 - 1))
def test_property_reductions_any_axes(shape, data, op, keep, seed):
    """Random axis sets (negative, tuples, all, none), zero-size dimensions included."""
    if shape:
        axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1),
                                  unique_by=lambda a: a % len(shape), max_size=len(shape)), label="axes")
        axis = data.draw(st.sampled_from([None, tuple(axes)] + ([axes[0]] if axes else [])), label="axis")
    else:
        axis = None
    rng = np.random.default_rng(seed)
    tg_fn = tg.reduce_sum if op == "sum" else tg.reduce_mean
    np_fn = np.sum if op == "sum" else np.mean
    x = randn(rng, shape)
    with np.errstate(all="ignore"):  # the mean over nothing is NaN, as in numpy
        ref = np_fn(x, axis=axis, keepdims=keep)
        out_size = np.asarray(ref).size
        if op == "mean" and x.size == 0:
            got = np.asarray(tg_fn(tg.constant(x, dtype=tg.float64), axis=axis, keepdims=keep))
            assert got.shape == np.shape(ref)
            np.testing.assert_array_equal(got, ref)
            return
    note(f"output size {out_size}")
    check_op(lambda t: tg_fn(t, axis=axis, keepdims=keep), lambda a: np_fn(a, axis=axis, keepdims=keep), x,
             rng=rng, n_dirs=1, name=f"{op}{shape} axis={axis}")


@PROPERTY
@given(data=st.data(), ta=st.booleans(), tb=st.booleans(), seed=st.integers(0, 2 ** 32 - 1))
def test_property_matmul_batches_and_transposes(data, ta, tb, seed):
    m, k, n = (data.draw(st.integers(0, 4), label=s) for s in "mkn")
    batch = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, min_side=1, max_side=3),
                      label="batch").input_shapes
    if data.draw(st.booleans(), label="b_is_2d"):
        batch = (batch[0], ())
    sa = tuple(batch[0]) + ((k, m) if ta else (m, k))
    sb = tuple(batch[1]) + ((n, k) if tb else (k, n))
    rng = np.random.default_rng(seed)

    def ref(a, b):
        return np.matmul(np.swapaxes(a, -1, -2) if ta else a, np.swapaxes(b, -1, -2) if tb else b)
    check_op(lambda a, b: tg.matmul(a, b, transpose_a=ta, transpose_b=tb), ref, randn(rng, sa), randn(rng, sb),
             rng=rng, n_dirs=1, name=f"matmul{sa}{sb} ta={ta} tb={tb}")


@PROPERTY
@given(shape=st.lists(st.integers(0, 3), max_size=4).map(tuple), data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_property_shape_ops(shape, data, seed):
    rng = np.random.default_rng(seed)
    x = randn(rng, shape)
    which = data.draw(st.sampled_from(["reshape", "transpose", "broadcast_to"]), label="op")
    if which == "reshape":
        n = x.size
        parts = data.draw(st.lists(st.integers(0, 4), max_size=4), label="parts")
        target = tuple(parts) if int(np.prod(parts)) == n else (n,)
        if n and data.draw(st.booleans(), label="infer") and target:
            target = (-1,) + target[1:] if int(np.prod(target[1:])) else target
        note(f"target={target}")
        check_op(lambda t: tg.reshape(t, target), lambda a: np.reshape(a, target), x, rng=rng, n_dirs=1)
    elif which == "transpose":
        perm = tuple(data.draw(st.permutations(range(len(shape))), label="perm"))
        if data.draw(st.booleans(), label="negative") and perm:
            perm = tuple(p - len(shape) for p in perm)
        check_op(lambda t: tg.transpose(t, perm), lambda a: np.transpose(a, perm), x, rng=rng, n_dirs=1)
    else:
        target = data.draw(hnp.broadcastable_shapes(shape, min_dims=len(shape), max_dims=len(shape) + 2,
                                                    min_side=0, max_side=3), label="target")
        try:
            np.broadcast_to(x, target)
        except ValueError:
            return
        check_op(lambda t: tg.broadcast_to(t, target), lambda a: np.broadcast_to(a, target), x, rng=rng, n_dirs=1)


WEAK_KINDS = ["int", "float", "bool", "np_float64_scalar", "np_float32_scalar", "list", "int_array",
              "f64_0d_array"]


def _weak(kind, rng, shape):
    if kind == "int":
        return int(rng.integers(-3, 4))
    if kind == "float":
        return float(rng.standard_normal())
    if kind == "bool":
        return bool(rng.integers(0, 2))
    if kind == "np_float64_scalar":
        return np.float64(rng.standard_normal())
    if kind == "np_float32_scalar":
        return np.float32(rng.standard_normal())
    if kind == "list":
        return rng.standard_normal(shape).tolist()
    if kind == "int_array":
        return rng.integers(-3, 4, size=shape)
    return np.asarray(rng.standard_normal(), dtype=np.float64)


@PROPERTY
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=1, max_side=3),
       kind=st.sampled_from(WEAK_KINDS), op=st.sampled_from([s.name for s in BINARY_ELEMENTWISE]),
       dtype=float_dtype, reflected=st.booleans(), seed=st.integers(0, 2 ** 32 - 1))
def test_property_weak_partners_take_the_tensor_dtype(shapes, kind, op, dtype, reflected, seed):
    """Python numbers, lists, integer arrays and 0-d arrays follow the tensor's dtype, in either order."""
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    x = rng.standard_normal(sa).astype(dtype)
    w = _weak(kind, rng, sb)  # a zero denominator gives Inf/NaN on both sides
    t = tg.constant(x)
    args = (w, t) if reflected else (t, w)
    out = getattr(tg, op)(*args)
    assert out.dtype == np.dtype(dtype), f"{op}({kind}) gave {out.dtype}, expected {np.dtype(dtype)}"
    wa = np.asarray(w, dtype=dtype)
    np_args = (wa, x) if reflected else (x, wa)
    with np.errstate(all="ignore"):
        ref = BY_NAME[op].ref(*[a.astype(np.float64) for a in np_args])
    assert tuple(out.shape) == ref.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(np.asarray(out, np.float64), ref, rtol=tol, atol=tol)


@PROPERTY
@given(shape=st.lists(st.integers(1, 3), min_size=2, max_size=3).map(tuple), dtype=float_dtype, data=st.data(),
       seed=st.integers(0, 2 ** 32 - 1))
def test_property_nan_inf_propagate(shape, dtype, data, seed):
    """NaN and Inf anywhere propagate exactly as in numpy (they never raise, never vanish)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    for arr in (x, y):
        for _ in range(data.draw(st.integers(1, 3), label="n_special")):
            idx = tuple(int(rng.integers(0, s)) for s in shape)
            arr[idx] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0]), label="special")
    w = rng.standard_normal((shape[-1], 2)).astype(dtype)
    w[int(rng.integers(0, shape[-1])), int(rng.integers(0, 2))] = data.draw(
        st.sampled_from([np.nan, np.inf, -np.inf, 0.0]), label="w_special")
    with np.errstate(all="ignore"):
        cases = {
            "add": (tg.add(x, y), x + y), "subtract": (tg.subtract(x, y), x - y),
            "multiply": (tg.multiply(x, y), x * y), "divide": (tg.divide(x, y), x / y),
            "square": (tg.square(x), np.square(x)), "reduce_sum": (tg.reduce_sum(x, axis=-1), x.sum(axis=-1)),
            "reduce_mean": (tg.reduce_mean(x, axis=0), x.mean(axis=0)),
            # the non-finite pattern of a product does not depend on summation order (values are small)
            "matmul": (tg.matmul(x, w), x.astype(np.float64) @ w.astype(np.float64)),
        }
        for name, (got, ref) in cases.items():
            got = np.asarray(got)
            assert got.dtype == dtype, name
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"{name}: NaN positions differ")
            np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref), err_msg=f"{name}: +Inf differs")
            np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref), err_msg=f"{name}: -Inf differs")
            fin = np.isfinite(ref)
            np.testing.assert_allclose(got[fin], np.asarray(ref, dtype)[fin], rtol=1e-5, atol=1e-5, err_msg=name)
