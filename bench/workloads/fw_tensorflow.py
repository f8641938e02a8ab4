"""TensorFlow eager, the notebook's original framework: ``tf.Variable``, ``tf.GradientTape`` and
an ``assign_sub`` update (what ``GradientDescentOptimizer`` does, without needing Keras).
Optional: used only when TensorFlow is installed. CPU eager ops run synchronously."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import tensorflow as tf

from . import data
from .spec import Workload
from .timing import Bench, check_after_steps


def init(threads: int) -> Dict[str, Any]:
    """Sets TF's intra-op pool to ``threads`` (must happen before the first op runs)."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return {
        "version": tf.__version__,
        "threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "interop_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def _train_step(loss_fn, variables: List[tf.Variable], lr: float):
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, variables)
        for v, g in zip(variables, grads):
            v.assign_sub(lr * g)
        return loss

    return step


def build(w: Workload, framework: str) -> Bench:
    """The TensorFlow version of workload ``w``."""
    if w.kind == "tiny":
        x, y = (tf.constant(a) for a in data.tiny())
        return Bench("x + y", {"x": x, "y": y}, float((x + y).numpy()[0]))
    if w.kind == "seed":
        d = data.seed(*w.dims)
        x, y = tf.constant(d["x"]), tf.constant(d["y"])
        wv, bv = tf.Variable(d["w"]), tf.Variable(d["b"])

        def loss_fn():
            return tf.reduce_mean(tf.square(tf.matmul(x, wv) + bv - y))

        step = _train_step(loss_fn, [wv, bv], w.learning_rate)
        return Bench("step()", {"step": step}, check_after_steps(step, lambda t: t.numpy()))
    if w.kind == "deep":
        d = data.deep(*w.dims)
        x, y = tf.constant(d["x"]), tf.constant(d["y"])
        w1, b1, w2, b2 = (tf.Variable(d[k]) for k in ("w1", "b1", "w2", "b2"))

        def loss_fn():
            h = tf.matmul(x, w1) + b1
            return tf.reduce_mean(tf.square(tf.matmul(h, w2) + b2 - y))

        step = _train_step(loss_fn, [w1, b1, w2, b2], w.learning_rate)
        return Bench("step()", {"step": step}, check_after_steps(step, lambda t: t.numpy()))
    if w.kind == "gemm":
        a, b = (tf.constant(m) for m in data.gemm(*w.dims))
        return Bench("matmul(a, b)", {"matmul": tf.linalg.matmul, "a": a, "b": b},
                     data.gemm_checksum(np.asarray(tf.linalg.matmul(a, b))))
    if w.kind == "square":
        x = tf.constant(data.memory(*w.dims))
        return Bench("square(x)", {"square": tf.square, "x": x}, data.mean64(tf.square(x).numpy()))
    if w.kind == "unary":
        x, fn = tf.constant(data.unary(*w.dims, w.op)), getattr(tf.math, w.op)
        return Bench(f"{w.op}(x)", {w.op: fn, "x": x}, data.mean64(fn(x).numpy()))
    if w.kind == "reduce_mean":
        x = tf.constant(data.memory(*w.dims))
        return Bench("reduce_mean(x)", {"reduce_mean": tf.reduce_mean, "x": x},
                     float(tf.reduce_mean(x).numpy()))
    if w.kind == "reduce_sum":
        x = tf.constant(data.memory(*w.dims))
        return Bench("reduce_sum(x)", {"reduce_sum": tf.reduce_sum, "x": x},
                     float(tf.reduce_sum(x).numpy()))
    if w.kind == "jacobian":
        d = {k: tf.constant(v) for k, v in data.jacobian(*w.dims).items()}

        def jacobian():
            with tf.GradientTape() as tape:
                tape.watch(d["x"])
                y = tf.matmul(tf.square(tf.matmul(d["x"], d["w1"]) + d["b1"]), d["w2"]) + d["b2"]
            return tape.jacobian(y, d["x"])

        return Bench("jacobian()", {"jacobian": jacobian}, data.jacobian_checksum(jacobian().numpy()))
    raise ValueError(f"tensorflow: no builder for workload kind {w.kind!r}")
