"""Inputs and initial parameters of every workload, as float32 numpy arrays.

Every framework builds its tensors from these, so all of them start from the same numbers and
their check values (the loss after a few steps, a checksum of C) can be compared.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from .spec import Workload

SEED = 0
F32 = np.float32


def _rng(*salt: int) -> np.random.Generator:
    # One stream per workload shape, independent of the order the workloads are built in.
    return np.random.Generator(np.random.PCG64([SEED, *salt]))


def tiny() -> Tuple[np.ndarray, np.ndarray]:
    """x = [1.5], y = [2.25]: exact in float32, so x + y is 3.75 everywhere."""
    return np.array([1.5], F32), np.array([2.25], F32)


def seed(n: int) -> Dict[str, np.ndarray]:
    """The notebook's data (labels = 3 * inputs + 2 + noise) and a fixed start w = 0.5, b = 0.

    The notebook initialises the Dense layer randomly; a fixed start makes the check values of
    all frameworks equal.
    """
    rng = _rng(1, n)
    x = rng.standard_normal((n, 1)).astype(F32)
    y = (3.0 * x + 2.0 + rng.standard_normal((n, 1))).astype(F32)
    return {"x": x, "y": y, "w": np.full((1, 1), 0.5, F32), "b": np.zeros((1,), F32)}


def deep(batch: int, width: int) -> Dict[str, np.ndarray]:
    """Input and target (batch, width) ~ N(0, 1); two glorot-uniform kernels, zero biases."""
    rng = _rng(2, batch, width)
    limit = np.sqrt(6.0 / (width + width))
    return {
        "x": rng.standard_normal((batch, width)).astype(F32),
        "y": rng.standard_normal((batch, width)).astype(F32),
        "w1": rng.uniform(-limit, limit, (width, width)).astype(F32),
        "b1": np.zeros((width,), F32),
        "w2": rng.uniform(-limit, limit, (width, width)).astype(F32),
        "b2": np.zeros((width,), F32),
    }


def jacobian(width: int) -> Dict[str, np.ndarray]:
    """x (1, width) ~ N(0, 1); two glorot-uniform (width, width) kernels; biases ~ N(0, 0.1)."""
    rng = _rng(5, width)
    limit = np.sqrt(6.0 / (width + width))
    return {
        "x": rng.standard_normal((1, width)).astype(F32),
        "w1": rng.uniform(-limit, limit, (width, width)).astype(F32),
        "b1": (0.1 * rng.standard_normal(width)).astype(F32),
        "w2": rng.uniform(-limit, limit, (width, width)).astype(F32),
        "b2": (0.1 * rng.standard_normal(width)).astype(F32),
    }


def sparse_xent(rows: int, classes: int) -> Dict[str, np.ndarray]:
    """Logits (rows, classes) ~ N(0, 2²) and int64 labels uniform in [0, classes)."""
    rng = _rng(6, rows, classes)
    return {"logits": (2.0 * rng.standard_normal((rows, classes))).astype(F32),
            "labels": rng.integers(0, classes, size=rows).astype(np.int64)}


def mlp_digits(batch: int) -> Dict[str, object]:
    """The digits example's training set and a fixed start: x (1437, 64) pixels / 16, int64
    labels (sklearn's digits, stratified 80/20 split with random_state 0, as the example);
    glorot-uniform kernels 64→128→128→10 and zero biases; one epoch's batches (row indices of a
    fixed permutation, the last batch shorter)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x, _, y, _ = train_test_split((digits.data / 16.0).astype(F32), digits.target.astype(np.int64),
                                  test_size=0.2, stratify=digits.target, random_state=0)
    rng = _rng(7, batch)
    sizes = (64, 128, 128, 10)
    kernels, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        kernels.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(F32))
        biases.append(np.zeros((fan_out,), F32))
    order = rng.permutation(x.shape[0])
    batches = [order[i:i + batch] for i in range(0, x.shape[0], batch)]
    return {"x": np.ascontiguousarray(x), "y": y, "kernels": kernels, "biases": biases,
            "batches": batches}


def xent_checksum(loss_sum: float, grad) -> float:
    """Mean loss per row plus mean(|d sum(loss) / d logits|), in float64: both halves must agree."""
    g = np.asarray(grad, dtype=np.float64)
    return float(loss_sum) / g.shape[0] + float(np.mean(np.abs(g)))


def gemm(m: int, k: int, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """A (m, k) and B (k, n) ~ N(0, 1)."""
    rng = _rng(3, m, k, n)
    return rng.standard_normal((m, k)).astype(F32), rng.standard_normal((k, n)).astype(F32)


def memory(n: int) -> np.ndarray:
    """x (n,) ~ N(1, 1): a mean far from 0, so a relative check of reduce_mean is meaningful."""
    rng = _rng(4, n)
    return (rng.standard_normal(n) + 1.0).astype(F32)


def unary(n: int, op: str) -> np.ndarray:
    """x (n,) in op's useful range: log's x = e^N(0, 2) (positive, many binades), exp's and
    tanh's x ~ N(0, 3) (exp stays far from overflow, tanh covers its curved part and its tails)."""
    rng = _rng(5, n)
    z = rng.standard_normal(n)
    return (np.exp(2.0 * z) if op == "log" else 3.0 * z).astype(F32)


def for_workload(w: Workload):
    """The data of workload ``w`` (the shape of the result depends on ``w.kind``)."""
    if w.kind == "tiny":
        return tiny()
    if w.kind == "seed":
        return seed(*w.dims)
    if w.kind == "deep":
        return deep(*w.dims)
    if w.kind == "gemm":
        return gemm(*w.dims)
    if w.kind in ("square", "reduce_mean"):
        return memory(*w.dims)
    if w.kind == "unary":
        return unary(*w.dims, w.op)
    if w.kind == "jacobian":
        return jacobian(*w.dims)
    if w.kind == "sparse_xent":
        return sparse_xent(*w.dims)
    if w.kind == "mlp_digits":
        return mlp_digits(*w.dims)
    raise ValueError(f"unknown workload kind {w.kind!r}")


def mean64(y) -> float:
    """mean(y) in float64: the check value of square (y ≈ x², all positive), unary and
    reduce_mean."""
    return float(np.mean(np.asarray(y, dtype=np.float64)))


def jacobian_checksum(j) -> float:
    """mean(|J|) in float64 over the width x width jacobian, whatever its layout of unit axes."""
    return gemm_checksum(j)


def gemm_checksum(c) -> float:
    """mean(|C|) in float64: unlike sum(C) it does not cancel to ~0, so a relative check works."""
    return float(np.mean(np.abs(np.asarray(c, dtype=np.float64))))
