"""PyTorch in its own idiom: ``nn.Linear`` modules, autograd (``loss.backward()``) and
``torch.optim.SGD``. CPU only; runs synchronously, so no explicit synchronisation is needed.

Two frameworks share this module: "torch" runs eagerly and "torch_compile" wraps the same
training step in ``torch.compile`` (default backend, inductor, which builds C++ kernels with the
machine's compiler). It compiles in the calls that compute the check value, before any timing;
if that fails (no compiler, an inductor error), the cell is "n/a" with the reason.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, Sequence

import numpy as np
import torch

from . import data
from .spec import ADAM, Workload
from .timing import Bench, NotAvailable, check_after_steps


def init(threads: int) -> Dict[str, Any]:
    """Sets torch's intra-op thread pool to ``threads``."""
    torch.set_num_threads(threads)
    return {
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "blas_info": _blas_info(),
    }


def _blas_info() -> str:
    for line in torch.__config__.show().splitlines():
        if "BLAS_INFO" in line:
            # "... BLAS_INFO=mkl, BUILD_TYPE=..." -> "BLAS mkl"
            return "BLAS " + line.split("BLAS_INFO=", 1)[1].split(",", 1)[0]
    return ""


def _linear(kernel: np.ndarray, bias: np.ndarray) -> torch.nn.Linear:
    """An nn.Linear computing x @ kernel + bias (torch stores the kernel transposed)."""
    layer = torch.nn.Linear(kernel.shape[0], kernel.shape[1])
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
        layer.bias.copy_(torch.from_numpy(bias))
    return layer


def _train_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step():
        optimizer.zero_grad()
        loss = torch.mean(torch.square(model(x) - y))
        loss.backward()
        optimizer.step()
        return loss

    return step


def _tensors(arrays: Sequence[np.ndarray]):
    return [torch.from_numpy(a) for a in arrays]


def _maybe_compiled(step: Callable[..., Any], framework: str) -> Callable[..., Any]:
    """The step itself for "torch", ``torch.compile(step)`` for "torch_compile" (it compiles on
    its first call, which the check value's steps make before any timing)."""
    return torch.compile(step) if framework == "torch_compile" else step


@contextlib.contextmanager
def _compile_failures_not_available(framework: str) -> Iterator[None]:
    """Around the first calls of a compiled step: a failure there (no C++ compiler, an inductor
    error) makes the cell n/a with the reason, instead of an error."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - any inductor / compiler failure means "not here"
        if framework != "torch_compile":
            raise
        first_line = (str(e).strip().splitlines() or [""])[0][:300]
        raise NotAvailable(f"torch.compile failed: {type(e).__name__}: {first_line}") from e


def build(w: Workload, framework: str) -> Bench:
    """The PyTorch version of workload ``w``."""
    if w.kind == "tiny":
        x, y = _tensors(data.tiny())
        return Bench("x + y", {"x": x, "y": y}, float((x + y)[0]))
    if w.kind in ("seed", "deep"):
        step = _maybe_compiled((_seed_step if w.kind == "seed" else _deep_step)(w), framework)
        with _compile_failures_not_available(framework):
            check = check_after_steps(step, lambda t: t.item())
        return Bench("step()", {"step": step}, check)
    if w.kind == "gemm":
        a, b = _tensors(data.gemm(*w.dims))
        return Bench("a @ b", {"a": a, "b": b}, data.gemm_checksum((a @ b).numpy()))
    if w.kind == "square":
        (x,) = _tensors([data.memory(*w.dims)])
        return Bench("square(x)", {"square": torch.square, "x": x},
                     data.mean64(torch.square(x).numpy()))
    if w.kind == "unary":
        (x,) = _tensors([data.unary(*w.dims, w.op)])
        fn = getattr(torch, w.op)
        return Bench(f"{w.op}(x)", {w.op: fn, "x": x}, data.mean64(fn(x).numpy()))
    if w.kind == "reduce_mean":
        (x,) = _tensors([data.memory(*w.dims)])
        return Bench("x.mean()", {"x": x}, x.mean().item())
    if w.kind == "reduce_sum":
        (x,) = _tensors([data.memory(*w.dims)])
        return Bench("x.sum()", {"x": x}, x.sum().item())
    if w.kind == "jacobian":
        d = {k: torch.from_numpy(v) for k, v in data.jacobian(*w.dims).items()}

        def net(x):
            return torch.square(x @ d["w1"] + d["b1"]) @ d["w2"] + d["b2"]

        def jacobian():
            return torch.autograd.functional.jacobian(net, d["x"], vectorize=True)

        return Bench("jacobian()", {"jacobian": jacobian}, data.jacobian_checksum(jacobian().numpy()))
    if w.kind == "sparse_xent":
        d = data.sparse_xent(*w.dims)
        logits = torch.from_numpy(d["logits"]).requires_grad_()
        labels = torch.from_numpy(d["labels"])

        def xent():
            loss = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
            (grad,) = torch.autograd.grad(loss.sum(), logits)
            return loss, grad

        loss, grad = xent()
        return Bench("xent()", {"xent": xent},
                     data.xent_checksum(float(loss.sum()), grad.numpy()))
    if w.kind == "mlp_digits":
        d = data.mlp_digits(*w.dims)
        k, b = d["kernels"], d["biases"]
        model = torch.nn.Sequential(_linear(k[0], b[0]), torch.nn.ReLU(), _linear(k[1], b[1]), torch.nn.ReLU(),
                                    _linear(k[2], b[2]))
        lr, beta1, beta2, epsilon = ADAM
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(beta1, beta2), eps=epsilon)
        x_all, y_all = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])
        batches = [(x_all[i], y_all[i]) for i in d["batches"]]

        def batch_step(x, y):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss

        batch_step = _maybe_compiled(batch_step, framework)

        def epoch():
            total = 0.0
            for x, y in batches:
                total += batch_step(x, y).item()
            return total / len(batches)

        with _compile_failures_not_available(framework):
            check = check_after_steps(epoch, float, steps=1)
        return Bench("epoch()", {"epoch": epoch}, check)
    raise ValueError(f"torch: no builder for workload kind {w.kind!r}")


def _seed_step(w: Workload) -> Callable[[], Any]:
    d = data.seed(*w.dims)
    x, y = _tensors([d["x"], d["y"]])
    return _train_step(_linear(d["w"], d["b"]), x, y, w.learning_rate)


def _deep_step(w: Workload) -> Callable[[], Any]:
    d = data.deep(*w.dims)
    x, y = _tensors([d["x"], d["y"]])
    model = torch.nn.Sequential(_linear(d["w1"], d["b1"]), _linear(d["w2"], d["b2"]))
    return _train_step(model, x, y, w.learning_rate)
