"""tapegrad, written the way the seed notebook is: Dense layers, ``implicit_value_and_gradients``
and ``GradientDescent.apply_gradients``.

Two frameworks share this module: "tapegrad" runs each step eagerly, op by op, and
"tapegrad_function" wraps the same step in ``tg.function`` (traced by its first call, which runs
before the timing; later calls replay the compiled graph in C++). The function version is built
beside an eager twin that starts from the same values; both take the same steps, and the build
fails (``FunctionBitsDiffer``) unless every variable ends with the same bits. The same build
measures the peak bytes one step allocates in each mode.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import tapegrad as tg

from . import data
from .spec import ADAM, Workload, base_framework
from .timing import Bench, check_after_steps


def init(threads: int) -> Dict[str, Any]:
    """Large kernels (GEMM above a size threshold; elementwise ops and fills from 2**16
    elements, full reductions from 2**17) use ``threads`` threads of tapegrad's pool; small ops
    stay on the calling thread. The worker's
    environment also sets TAPEGRAD_NUM_THREADS (runtime.py); this call makes it explicit."""
    tg.config.set_num_threads(threads)
    passes = os.environ.get("TAPEGRAD_FUNCTION_PASSES")
    return {
        "version": tg.__version__,
        "isa": tg.config.isa(),
        "threads": tg.config.num_threads(),
        "threads_note": "pool for large kernels",
        # tg.function's passes: all unless the variable lists them (compare.py --function-passes).
        "function_passes": "all" if passes is None else (passes or "none"),
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


class FunctionBitsDiffer(AssertionError):
    """tg.function's step ended with other bits than the eager step: a broken replay."""


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

    if w.kind in ("seed", "deep"):
        if base_framework(framework) == "tapegrad_function":
            return _function_step_bench(w)
        step, _ = _STEP_MODELS[w.kind](w)
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

    if w.kind == "reduce_sum":
        x = tg.constant(data.memory(*w.dims))
        return Bench("reduce_sum(x)", {"reduce_sum": tg.reduce_sum, "x": x}, _to_float(tg.reduce_sum(x)))

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
        if base_framework(framework) == "tapegrad_function":
            return _function_digits_bench(w)
        batch_step, batches, _ = _digits_model(w)
        epoch = _epoch(batch_step, batches)
        return Bench("epoch()", {"epoch": epoch}, check_after_steps(epoch, float, steps=1))

    raise ValueError(f"tapegrad: no builder for workload kind {w.kind!r}")


# -- the training-step models, each built fresh from the workload's data: (step, its variables)

def _seed_model(w: Workload) -> Tuple[Callable[[], Any], Callable[[], List[Any]]]:
    d = data.seed(*w.dims)
    inputs, labels = tg.constant(d["x"]), tg.constant(d["y"])
    wb = _dense(1, inputs, d["w"], d["b"])

    def loss_fn(inputs, labels, wb):
        return tg.reduce_mean(tg.square(wb(inputs) - labels))

    return _train_step(loss_fn, (inputs, labels, wb), w.learning_rate), lambda: list(wb.variables)


def _deep_model(w: Workload) -> Tuple[Callable[[], Any], Callable[[], List[Any]]]:
    d = data.deep(*w.dims)
    x, y = tg.constant(d["x"]), tg.constant(d["y"])
    layer1 = _dense(d["w1"].shape[1], x, d["w1"], d["b1"])
    layer2 = _dense(d["w2"].shape[1], layer1(x), d["w2"], d["b2"])

    def loss_fn(x, y):
        return tg.reduce_mean(tg.square(layer2(layer1(x)) - y))

    step = _train_step(loss_fn, (x, y), w.learning_rate)
    return step, lambda: list(layer1.variables) + list(layer2.variables)


_STEP_MODELS = {"seed": _seed_model, "deep": _deep_model}


def _digits_model(w: Workload):
    """The digits example's batch step (x, y) -> loss, the epoch's batches, and a function
    listing the model's variables and Adam's slots (they exist after the first step)."""
    d = data.mlp_digits(*w.dims)
    model = tg.Sequential([
        tg.Dense(k.shape[1], activation=None if i == 2 else "relu",
                 kernel_initializer=lambda shape, dtype, k=k: k)
        for i, k in enumerate(d["kernels"])])
    lr, beta1, beta2, epsilon = ADAM
    optimizer = tg.Adam(learning_rate=lr, beta1=beta1, beta2=beta2, epsilon=epsilon)
    batches = [(tg.constant(d["x"][i]), tg.constant(d["y"][i])) for i in d["batches"]]

    def batch_step(x, y):
        with tg.GradientTape() as tape:
            loss = tg.reduce_mean(tg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x)))
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def state():
        variables = list(model.variables)
        slots = [optimizer.get_slot(v, name) for v in variables for name in optimizer.get_slot_names()]
        return variables + [s for s in slots if s is not None]

    return batch_step, batches, state


def _epoch(batch_step, batches):
    def epoch():
        total = 0.0
        for x, y in batches:
            total += float(batch_step(x, y))
        return total / len(batches)

    return epoch


# -- tg.function: the same steps, compiled, checked bit for bit against an eager twin

def _step_peak_bytes(step: Callable[[], Any]) -> int:
    """Bytes allocated at the peak of one call of ``step`` above what was live before it."""
    before = tg._core.allocator_stats()["live_bytes"]
    tg._core.reset_peak_bytes()
    result = step()
    peak = tg._core.allocator_stats()["peak_live_bytes"] - before
    del result
    return int(peak)


def _bit_differences(a: np.ndarray, b: np.ndarray) -> int:
    """Elements of two arrays of one dtype and shape whose bits differ (-0.0 differs from 0.0)."""
    bits = np.dtype(f"u{a.dtype.itemsize}")
    return int(np.sum(np.ascontiguousarray(a).reshape(-1).view(bits) != np.ascontiguousarray(b).reshape(-1).view(bits)))


def _assert_same_bits(workload: str, what: str, eager: List[Any], compiled: List[Any]) -> None:
    if len(eager) != len(compiled):
        raise FunctionBitsDiffer(f"{workload}: eager has {len(eager)} {what}, tg.function {len(compiled)}")
    for i, (a, b) in enumerate(zip(eager, compiled)):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            differ = _bit_differences(a, b) if a.shape == b.shape and a.dtype == b.dtype else "all"
            raise FunctionBitsDiffer(
                f"{workload}: tg.function's {what} {i} (shape {b.shape}) differs from eager's in "
                f"{differ} element(s) after the same steps")


def _function_step_bench(w: Workload) -> Bench:
    """seed / deep: the notebook's step wrapped in tg.function; three steps (the first traces)
    and one more for the peak bytes, beside an eager twin whose variables must end bit-equal."""
    eager_step, eager_vars = _STEP_MODELS[w.kind](w)
    python_step, function_vars = _STEP_MODELS[w.kind](w)
    step = tg.function(python_step)
    eager_losses = [_to_float(eager_step()) for _ in range(3)]
    losses = [_to_float(step()) for _ in range(3)]
    info = {"peak_step_bytes_eager": _step_peak_bytes(eager_step),
            "peak_step_bytes_function": _step_peak_bytes(step)}
    _assert_same_bits(w.name, "loss", eager_losses, losses)
    _assert_same_bits(w.name, "variable", eager_vars(), function_vars())
    info.update(bits_equal_eager=True, bit_check=f"{len(eager_vars())} variables and 3 losses after 4 steps",
                tracing_count=step.experimental_get_tracing_count(),
                pass_counts=step.get_concrete_function().pass_counts)
    return Bench("step()", {"step": step}, losses[-1], info=info)


def _function_digits_bench(w: Workload) -> Bench:
    """mlp_digits: the batch step wrapped in tg.function (two traces: the full batches and the
    shorter last one), one epoch beside an eager twin whose variables and Adam slots must end
    bit-equal; then one batch step of each for the peak bytes."""
    eager_step, batches, eager_state = _digits_model(w)
    python_step, function_batches, function_state = _digits_model(w)
    step = tg.function(python_step)
    eager_loss = _epoch(eager_step, batches)()
    loss = _epoch(step, function_batches)()
    _assert_same_bits(w.name, "epoch loss", [np.float64(eager_loss)], [np.float64(loss)])
    _assert_same_bits(w.name, "variable or slot", eager_state(), function_state())
    x, y = batches[0]
    fx, fy = function_batches[0]
    info = {"peak_step_bytes_eager": _step_peak_bytes(lambda: eager_step(x, y)),
            "peak_step_bytes_function": _step_peak_bytes(lambda: step(fx, fy)),
            "peak_step_note": f"one batch step of {int(x.shape[0])} rows"}
    _assert_same_bits(w.name, "variable or slot", eager_state(), function_state())
    info.update(bits_equal_eager=True,
                bit_check=f"{len(eager_state())} arrays (variables and Adam slots) after one epoch and one batch step",
                tracing_count=step.experimental_get_tracing_count(),
                pass_counts=step.get_concrete_function(fx, fy).pass_counts)
    # The timed epoch starts from the state after the checks, as the eager column's does.
    return Bench("epoch()", {"epoch": _epoch(step, function_batches)}, loss, info=info)
