"""numpy: the same math with forward and backward written out by hand, updates in place."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from . import data
from .spec import ADAM, Workload
from .timing import Bench, check_after_steps


def init(threads: int) -> Dict[str, Any]:
    """numpy's threads are its BLAS's: set through the environment before import (runtime.py)."""
    return {"version": np.__version__}


def _seed_step(d: Dict[str, np.ndarray], lr: float):
    x, y = d["x"], d["y"]
    w, b = d["w"].copy(), d["b"].copy()
    scale = np.float32(2.0 / x.shape[0])
    lr = np.float32(lr)

    def step():
        diff = x @ w + b - y                 # predictions - labels
        loss = np.mean(np.square(diff))
        g = diff * scale                     # d loss / d predictions
        w_grad = x.T @ g
        b_grad = g.sum(axis=0)
        # In place, like tapegrad's sgd_update (and a closure cannot rebind w, b).
        np.subtract(w, lr * w_grad, out=w)
        np.subtract(b, lr * b_grad, out=b)
        return loss

    return step


def _deep_step(d: Dict[str, np.ndarray], lr: float):
    x, y = d["x"], d["y"]
    w1, b1, w2, b2 = (d[k].copy() for k in ("w1", "b1", "w2", "b2"))
    scale = np.float32(2.0 / y.size)
    lr = np.float32(lr)

    def step():
        h = x @ w1 + b1
        diff = h @ w2 + b2 - y
        loss = np.mean(np.square(diff))
        g = diff * scale
        w2_grad = h.T @ g
        b2_grad = g.sum(axis=0)
        gh = g @ w2.T                        # before w2 changes
        w1_grad = x.T @ gh
        b1_grad = gh.sum(axis=0)
        np.subtract(w2, lr * w2_grad, out=w2)
        np.subtract(b2, lr * b2_grad, out=b2)
        np.subtract(w1, lr * w1_grad, out=w1)
        np.subtract(b1, lr * b1_grad, out=b1)
        return loss

    return step


def _digits_epoch(d: Dict[str, Any]):
    """One epoch of the digits MLP: forward, backward and TF's Adam written out, in place."""
    x_all, y_all = d["x"], d["y"]
    params = [p.copy() for pair in zip(d["kernels"], d["biases"]) for p in pair]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, beta1, beta2, epsilon = ADAM
    state = {"t": 0}

    def step(x, y):
        w1, b1, w2, b2, w3, b3 = params
        h1 = np.maximum(x @ w1 + b1, 0)
        h2 = np.maximum(h1 @ w2 + b2, 0)
        z = h2 @ w3 + b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        rows = np.arange(x.shape[0])
        loss = float(np.mean(np.log(total[:, 0]) - z[rows, y]))
        dz = e / total
        dz[rows, y] -= 1.0
        dz /= np.float32(x.shape[0])
        dh2 = (dz @ w3.T) * (h2 > 0)
        dh1 = (dh2 @ w2.T) * (h1 > 0)
        grads = [x.T @ dh1, dh1.sum(0), h1.T @ dh2, dh2.sum(0), h2.T @ dz, dz.sum(0)]
        state["t"] += 1
        t = state["t"]
        alpha = np.float32(lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t))
        for p, g, mp, vp in zip(params, grads, m, v):
            mp += (g - mp) * np.float32(1 - beta1)
            vp += (g * g - vp) * np.float32(1 - beta2)
            p -= mp * alpha / (np.sqrt(vp) + np.float32(epsilon))
        return loss

    batches = [(x_all[i], y_all[i]) for i in d["batches"]]

    def epoch():
        return sum(step(x, y) for x, y in batches) / len(batches)

    return epoch


def build(w: Workload, framework: str) -> Bench:
    """The numpy version of workload ``w``."""
    if w.kind == "tiny":
        x, y = data.tiny()
        return Bench("x + y", {"x": x, "y": y}, float((x + y)[0]))
    if w.kind == "seed":
        step = _seed_step(data.seed(*w.dims), w.learning_rate)
        return Bench("step()", {"step": step}, check_after_steps(step, float))
    if w.kind == "deep":
        step = _deep_step(data.deep(*w.dims), w.learning_rate)
        return Bench("step()", {"step": step}, check_after_steps(step, float))
    if w.kind == "gemm":
        a, b = data.gemm(*w.dims)
        return Bench("a @ b", {"a": a, "b": b}, data.gemm_checksum(a @ b))
    if w.kind == "square":
        x = data.memory(*w.dims)
        return Bench("square(x)", {"square": np.square, "x": x}, data.mean64(np.square(x)))
    if w.kind == "unary":
        x, fn = data.unary(*w.dims, w.op), getattr(np, w.op)
        return Bench(f"{w.op}(x)", {w.op: fn, "x": x}, data.mean64(fn(x)))
    if w.kind == "reduce_mean":
        x = data.memory(*w.dims)
        return Bench("x.mean()", {"x": x}, float(x.mean()))
    if w.kind == "reduce_sum":
        x = data.memory(*w.dims)
        return Bench("x.sum()", {"x": x}, float(x.sum()))
    if w.kind == "jacobian":
        d = data.jacobian(*w.dims)

        def jacobian():
            # by hand: dy_j/dx_i = sum_k 2 h_k w1[i, k] w2[k, j], h = x w1 + b1
            h = d["x"] @ d["w1"] + d["b1"]
            return (d["w2"].T * (2 * h)) @ d["w1"].T

        return Bench("jacobian()", {"jacobian": jacobian}, data.jacobian_checksum(jacobian()))
    if w.kind == "sparse_xent":
        d = data.sparse_xent(*w.dims)
        x, labels = d["logits"], d["labels"]
        rows = np.arange(x.shape[0])

        def xent():
            peak = x.max(axis=1, keepdims=True)
            e = np.exp(x - peak)
            total = e.sum(axis=1, keepdims=True)
            loss = np.log(total[:, 0]) + peak[:, 0] - x[rows, labels]
            grad = np.divide(e, total, out=e)   # softmax, in place
            grad[rows, labels] -= 1.0
            return loss, grad

        loss, grad = xent()
        return Bench("xent()", {"xent": xent}, data.xent_checksum(float(loss.sum()), grad))
    if w.kind == "mlp_digits":
        epoch = _digits_epoch(data.mlp_digits(*w.dims))
        return Bench("epoch()", {"epoch": epoch}, check_after_steps(epoch, float, steps=1))
    raise ValueError(f"numpy: no builder for workload kind {w.kind!r}")
