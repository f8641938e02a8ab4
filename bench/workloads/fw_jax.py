"""JAX in its own idiom: a pure loss function, ``jax.value_and_grad`` and a ``tree_map`` update.

Two frameworks share this module: "jax" runs it op by op (eager dispatch) and "jax_jit" compiles
the whole step with ``jax.jit`` (params donated, as a training loop would). JAX dispatches
asynchronously, so the time must include the work and not only its enqueueing:

- single ops (tiny, SGEMM, square, reduce_mean, reduce_sum): ``block_until_ready`` on every
  result, since successive results do not depend on each other and could otherwise overlap;
- training steps: no wait inside the loop (each step needs the previous step's params, so the
  steps cannot overlap), one ``block_until_ready`` on the params after the last step of a sample.
  That is how a JAX training loop runs; blocking on every step would add the thread hand-off of
  async dispatch (~75 µs per step on a 2-vCPU VM) to each step.
"""
from __future__ import annotations

import os
from typing import Any, Dict

import jax
import jax.numpy as jnp

from . import data
from .spec import ADAM, Workload
from .timing import Bench, check_after_steps


def init(threads: int) -> Dict[str, Any]:
    """JAX's CPU threads are set through XLA_FLAGS before import (runtime.py); report them."""
    return {
        "version": jax.__version__,
        "jaxlib": getattr(jax.lib, "__version__", None) or _jaxlib_version(),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def _jaxlib_version() -> str:
    try:
        import jaxlib

        return jaxlib.__version__
    except Exception:  # noqa: BLE001 - only for the report
        return "?"


def _mse(pred, y):
    return jnp.mean(jnp.square(pred - y))


def _seed_loss(p, x, y):
    return _mse(x @ p["w"] + p["b"], y)


def _deep_loss(p, x, y):
    h = x @ p["w1"] + p["b1"]
    return _mse(h @ p["w2"] + p["b2"], y)


def _train_step(loss_fn, params, x, y, lr: float, jit: bool):
    value_and_grad = jax.value_and_grad(loss_fn)

    def update(p, x, y):
        loss, grads = value_and_grad(p, x, y)
        return loss, jax.tree_util.tree_map(lambda v, g: v - lr * g, p, grads)

    if jit:
        update = jax.jit(update, donate_argnums=0)
    state = {"params": params}

    def step():
        loss, state["params"] = update(state["params"], x, y)
        return loss

    def sync():
        jax.block_until_ready(state["params"])

    return step, sync


def _digits_loss(params, x, y):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = jax.nn.relu(h)
    logp = jax.nn.log_softmax(h)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def _digits_epoch(d, jit: bool):
    """One epoch of the digits MLP; with jit the whole step (gradients and TF's Adam) is one
    compiled function."""
    lr, beta1, beta2, epsilon = ADAM
    value_and_grad = jax.value_and_grad(_digits_loss)

    def update(params, m, v, t, x, y):
        loss, grads = value_and_grad(params, x, y)
        t = t + 1
        alpha = lr * jnp.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        m = [mp + (g - mp) * (1 - beta1) for mp, g in zip(m, grads)]
        v = [vp + (g * g - vp) * (1 - beta2) for vp, g in zip(v, grads)]
        params = [p - mp * alpha / (jnp.sqrt(vp) + epsilon) for p, mp, vp in zip(params, m, v)]
        return loss, params, m, v, t

    if jit:
        update = jax.jit(update, donate_argnums=(0, 1, 2))
    params = [jnp.asarray(p) for pair in zip(d["kernels"], d["biases"]) for p in pair]
    state = {"params": params, "m": [jnp.zeros_like(p) for p in params],
             "v": [jnp.zeros_like(p) for p in params], "t": jnp.asarray(0.0, jnp.float32)}
    batches = [(jnp.asarray(d["x"][i]), jnp.asarray(d["y"][i])) for i in d["batches"]]

    def epoch():
        losses = []
        for x, y in batches:
            loss, state["params"], state["m"], state["v"], state["t"] = update(
                state["params"], state["m"], state["v"], state["t"], x, y)
            losses.append(loss)
        return float(sum(float(v) for v in losses)) / len(losses)

    return epoch


def build(w: Workload, framework: str) -> Bench:
    """The JAX version of workload ``w``; jitted when ``framework == "jax_jit"``."""
    jit = framework == "jax_jit"
    if w.kind == "tiny":
        x, y = (jnp.asarray(a) for a in data.tiny())
        if jit:
            add = jax.jit(lambda a, b: a + b)
            return Bench("add(x, y).block_until_ready()", {"add": add, "x": x, "y": y},
                         float(add(x, y)[0]))
        return Bench("(x + y).block_until_ready()", {"x": x, "y": y}, float((x + y)[0]))
    if w.kind in ("seed", "deep"):
        d = {k: jnp.asarray(v) for k, v in data.for_workload(w).items()}
        x, y = d.pop("x"), d.pop("y")
        loss_fn = _seed_loss if w.kind == "seed" else _deep_loss
        step, sync = _train_step(loss_fn, d, x, y, w.learning_rate, jit)
        return Bench("step()", {"step": step, "sync": sync}, check_after_steps(step, float),
                     finish="sync()")
    if w.kind == "gemm":
        a, b = (jnp.asarray(m) for m in data.gemm(*w.dims))
        if jit:
            mm = jax.jit(jnp.matmul)
            return Bench("mm(a, b).block_until_ready()", {"mm": mm, "a": a, "b": b},
                         data.gemm_checksum(mm(a, b)))
        return Bench("(a @ b).block_until_ready()", {"a": a, "b": b}, data.gemm_checksum(a @ b))
    if w.kind == "unary":
        x, fn = jnp.asarray(data.unary(*w.dims, w.op)), getattr(jnp, w.op)
        if jit:
            fn = jax.jit(fn)
        return Bench("fn(x).block_until_ready()", {"fn": fn, "x": x}, data.mean64(fn(x)))
    if w.kind in ("square", "reduce_mean", "reduce_sum"):
        x = jnp.asarray(data.memory(*w.dims))
        fn = {"square": jnp.square, "reduce_mean": jnp.mean, "reduce_sum": jnp.sum}[w.kind]
        if jit:
            fn = jax.jit(fn)
        return Bench("fn(x).block_until_ready()", {"fn": fn, "x": x}, data.mean64(fn(x)))
    if w.kind == "jacobian":
        d = {k: jnp.asarray(v) for k, v in data.jacobian(*w.dims).items()}
        x = d.pop("x")

        def net(x, d):
            return jnp.square(x @ d["w1"] + d["b1"]) @ d["w2"] + d["b2"]

        jac = jax.jacrev(net)
        if jit:
            jac = jax.jit(jac)
        return Bench("jac(x, d).block_until_ready()", {"jac": jac, "x": x, "d": d},
                     data.jacobian_checksum(jac(x, d)))
    if w.kind == "sparse_xent":
        d = data.sparse_xent(*w.dims)
        logits, labels = jnp.asarray(d["logits"]), jnp.asarray(d["labels"])

        def total_loss(x, z):
            return -jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(x), z[:, None], axis=1))

        xent = jax.value_and_grad(total_loss)
        if jit:
            xent = jax.jit(xent)
        loss_sum, grad = xent(logits, labels)
        return Bench("jax.block_until_ready(xent(x, z))", {"xent": xent, "x": logits, "z": labels, "jax": jax},
                     data.xent_checksum(float(loss_sum), grad))
    if w.kind == "mlp_digits":
        epoch = _digits_epoch(data.mlp_digits(*w.dims), jit)
        return Bench("epoch()", {"epoch": epoch}, check_after_steps(epoch, float, steps=1))
    raise ValueError(f"jax: no builder for workload kind {w.kind!r}")
