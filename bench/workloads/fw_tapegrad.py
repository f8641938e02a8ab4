"""tapegrad, written the way the seed notebook is: Dense layers, ``implicit_value_and_gradients``
and ``GradientDescent.apply_gradients``."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import tapegrad as tg

from . import data
from .spec import ADAM, Workload
from .timing import Bench, check_after_steps


def init(threads: int) -> Dict[str, Any]:
    """Large kernels (GEMM above a size threshold; elementwise ops and fills from 2**16
    elements, full reductions from 2**17) use ``threads`` threads of tapegrad's pool; small ops
    stay on the calling thread. The worker's
    environment also sets TAPEGRAD_NUM_THREADS (runtime.py); this call makes it explicit."""
    tg.config.set_num_threads(threads)
    return {
        "version": tg.__version__,
        "isa": tg.config.isa(),
        "threads": tg.config.num_threads(),
        "threads_note": "pool for large kernels",
    }


def counters() -> Dict[str, int]:
    """Event counts the worker reports per sample: the thread pool's stalls (parallel jobs that
    waited for a thread the OS had not scheduled: a sign the second core was busy)."""
    return {"thread_stalls": int(tg._core._thread_stalls())}


def _to_float(t: Any) -> float:
    return float(np.asarray(t))


def _dense(units: int, x: Any, kernel: np.ndarray, bias: np.ndarray) -> "tg.Dense":
    """A Dense layer built on ``x`` whose variables start from the given arrays."""
    layer = tg.Dense(units=units)
    layer(x)  # builds kernel and bias from x's last dimension
    layer.kernel.assign(kernel)
    layer.bias.assign(bias)
    return layer


def _train_step(loss_fn, args, learning_rate: float):
    """The notebook's step: value and gradients of loss_fn(*args), then apply_gradients."""
    value_and_gradients_fn = tg.implicit_value_and_gradients(loss_fn)
    optimizer = tg.GradientDescent(learning_rate=learning_rate)

    def step():
        loss, grads_and_vars = value_and_gradients_fn(*args)
        optimizer.apply_gradients(grads_and_vars)
        return loss

    return step


def build(w: Workload, framework: str) -> Bench:
    """The tapegrad version of workload ``w``."""
    if w.kind == "tiny":
        x, y = (tg.constant(a) for a in data.tiny())
        return Bench("x + y", {"x": x, "y": y}, float(np.asarray(x + y)[0]))

    if w.kind == "seed":
        d = data.seed(*w.dims)
        inputs, labels = tg.constant(d["x"]), tg.constant(d["y"])
        wb = _dense(1, inputs, d["w"], d["b"])

        def loss_fn(inputs, labels, wb):
            return tg.reduce_mean(tg.square(wb(inputs) - labels))

        step = _train_step(loss_fn, (inputs, labels, wb), w.learning_rate)
        return Bench("step()", {"step": step}, check_after_steps(step, _to_float))

    if w.kind == "deep":
        d = data.deep(*w.dims)
        x, y = tg.constant(d["x"]), tg.constant(d["y"])
        layer1 = _dense(d["w1"].shape[1], x, d["w1"], d["b1"])
        layer2 = _dense(d["w2"].shape[1], layer1(x), d["w2"], d["b2"])

        def loss_fn(x, y):
            return tg.reduce_mean(tg.square(layer2(layer1(x)) - y))

        step = _train_step(loss_fn, (x, y), w.learning_rate)
        return Bench("step()", {"step": step}, check_after_steps(step, _to_float))

    if w.kind == "gemm":
        a, b = (tg.constant(m) for m in data.gemm(*w.dims))
        return Bench("matmul(a, b)", {"matmul": tg.matmul, "a": a, "b": b},
                     data.gemm_checksum(tg.matmul(a, b)))

    if w.kind == "square":
        x = tg.constant(data.memory(*w.dims))
        return Bench("square(x)", {"square": tg.square, "x": x}, data.mean64(tg.square(x)))

    if w.kind == "unary":
        x, fn = tg.constant(data.unary(*w.dims, w.op)), getattr(tg, w.op)
        return Bench(f"{w.op}(x)", {w.op: fn, "x": x}, data.mean64(fn(x)))

    if w.kind == "reduce_mean":
        x = tg.constant(data.memory(*w.dims))
        return Bench("reduce_mean(x)", {"reduce_mean": tg.reduce_mean, "x": x},
                     _to_float(tg.reduce_mean(x)))

    if w.kind == "jacobian":
        d = {k: tg.constant(v) for k, v in data.jacobian(*w.dims).items()}

        def jacobian():
            with tg.GradientTape() as tape:
                tape.watch(d["x"])
                y = tg.matmul(tg.square(tg.matmul(d["x"], d["w1"]) + d["b1"]), d["w2"]) + d["b2"]
            return tape.jacobian(y, d["x"])

        return Bench("jacobian()", {"jacobian": jacobian}, data.jacobian_checksum(jacobian()))

    if w.kind == "sparse_xent":
        d = data.sparse_xent(*w.dims)
        logits, labels = tg.constant(d["logits"]), tg.constant(d["labels"])

        def xent():
            with tg.GradientTape() as tape:
                tape.watch(logits)
                loss = tg.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
            return loss, tape.gradient(loss, logits)

        loss, grad = xent()
        return Bench("xent()", {"xent": xent}, data.xent_checksum(float(tg.reduce_sum(loss)), grad))

    if w.kind == "mlp_digits":
        d = data.mlp_digits(*w.dims)
        model = tg.Sequential([
            tg.Dense(k.shape[1], activation=None if i == 2 else "relu",
                     kernel_initializer=lambda shape, dtype, k=k: k)
            for i, k in enumerate(d["kernels"])])
        lr, beta1, beta2, epsilon = ADAM
        optimizer = tg.Adam(learning_rate=lr, beta1=beta1, beta2=beta2, epsilon=epsilon)
        batches = [(tg.constant(d["x"][i]), tg.constant(d["y"][i])) for i in d["batches"]]

        def epoch():
            total = 0.0
            for x, y in batches:
                with tg.GradientTape() as tape:
                    loss = tg.reduce_mean(tg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x)))
                variables = model.trainable_variables
                optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
                total += float(loss)
            return total / len(batches)

        return Bench("epoch()", {"epoch": epoch}, check_after_steps(epoch, float, steps=1))

    raise ValueError(f"tapegrad: no builder for workload kind {w.kind!r}")
