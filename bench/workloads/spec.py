"""The workloads and frameworks that ``bench/compare.py`` knows.

A workload is a name, a kind (which builder in each ``fw_*`` module makes it) and its sizes. The
math is fixed here so that every framework runs the same computation on the same data
(``data.py``); each framework module only chooses its own idiom for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple


@dataclass(frozen=True)
class Workload:
    """One timed computation.

    kind: "tiny" (x + y on shape (1,)), "seed" (the notebook's training step on N examples),
    "deep" (two Dense layers, MSE, forward + backward + SGD), "gemm" (C = A @ B, float32),
    "square" (y = x * x elementwise, a new output), "reduce_mean" (mean of all of x),
    "reduce_sum" (sum of all of x: the read bandwidth the memory floor of the seed step uses),
    "unary" (y = op(x) elementwise, float32, a new output: the vector math), "jacobian" (the
    jacobian of a two-layer network, square(x W1 + b1) W2 + b2, at one x) or "sparse_xent"
    (softmax cross-entropy of logits against integer labels, one loss per row, and the gradient
    of their sum with respect to the logits) or "mlp_digits" (one epoch of the digits example:
    a 64-128-128-10 ReLU network, sparse softmax cross-entropy, Adam, mini-batches).
    dims: (N,) for "seed", "square", "reduce_mean", "reduce_sum" and "unary"; (M, K, N) for "gemm" (A is MxK,
    B is KxN); (width,) for "jacobian"; (rows, classes) for "sparse_xent"; (batch,) for
    "mlp_digits"; () otherwise.
    op: the function of a "unary" workload (exp, log, tanh), by its name in every framework.
    """

    name: str
    kind: str
    title: str
    dims: Tuple[int, ...] = ()
    learning_rate: float = 0.0
    op: str = ""

    @property
    def flops(self) -> Optional[float]:
        """Floating-point operations per iteration, for GFLOP/s (only GEMM reports it)."""
        if self.kind == "gemm":
            m, k, n = self.dims
            return 2.0 * m * k * n
        return None

    @property
    def bytes(self) -> Optional[float]:
        """Bytes one iteration must read and write at least, for GB/s (only the single elementwise
        ops report it): square and unary read x and write y, reduce_mean and reduce_sum read x (and
        write one float)."""
        if self.kind in ("square", "unary"):
            return 2.0 * 4 * self.dims[0]
        if self.kind in ("reduce_mean", "reduce_sum"):
            return 4.0 * self.dims[0] + 4
        return None


# The seed notebook's learning rate. The deep step uses the same one: big enough that three steps
# move the loss by ~1% (so the cross-framework check sees a wrong gradient), small enough that
# thousands of timed steps stay far from denormals.
LEARNING_RATE = 0.1

# Hidden sizes of the deep workload: input (DEEP_BATCH, DEEP_WIDTH), two DEEP_WIDTH x DEEP_WIDTH layers.
DEEP_BATCH = 256
DEEP_WIDTH = 1024

# Elements of the memory-bound single ops: 40 MB of float32, larger than any cache here.
MEMORY_N = 10_000_000

# Input and output width of the jacobian workload's network (its jacobian is width x width).
JACOBIAN_WIDTH = 256

# The float32 vector-math functions timed alone (cpp/kernels/simd/vec_math.h).
VECTOR_MATH_OPS = ("exp", "log", "tanh")
# Logits of the sparse cross-entropy workload: a batch of 1024 rows over 1000 classes.
XENT_DIMS = (1024, 1000)
# The digits example's batch size (python -m tapegrad digits): one epoch is 45 steps.
DIGITS_BATCH = 32
# Adam's settings in the digits workload: learning rate, beta1, beta2, epsilon (TF's defaults).
ADAM = (0.001, 0.9, 0.999, 1e-8)

GEMM_SQUARE = (64, 128, 256, 512, 1024, 2048)
# (M, K, N): a column times a scalar, a small MNIST-like classifier layer, the seed step's matmul
# at a larger N with 64 features.
GEMM_SKINNY = ((1000, 1, 1), (256, 784, 10), (10000, 64, 1))


def _gemm(m: int, k: int, n: int) -> Workload:
    if m == k == n:
        return Workload(f"sgemm_{m}", "gemm", f"SGEMM {m}³", (m, k, n))
    return Workload(f"sgemm_{m}x{k}x{n}", "gemm", f"SGEMM {m}×{k}·{k}×{n}", (m, k, n))


WORKLOADS: List[Workload] = [
    Workload("tiny_add", "tiny", "tiny x + y, shape (1,)"),
    Workload("seed_1k", "seed", "seed step N=1000", (1000,), LEARNING_RATE),
    Workload("seed_1m", "seed", "seed step N=10⁶", (1_000_000,), LEARNING_RATE),
    Workload("deep", "deep", f"deep {DEEP_BATCH}×{DEEP_WIDTH}→{DEEP_WIDTH}→{DEEP_WIDTH}",
             (DEEP_BATCH, DEEP_WIDTH), LEARNING_RATE),
    Workload("square_10m", "square", "square, 10⁷ floats", (MEMORY_N,)),
    Workload("reduce_mean_10m", "reduce_mean", "reduce_mean, 10⁷ floats", (MEMORY_N,)),
    Workload("reduce_sum_10m", "reduce_sum", "reduce_sum, 10⁷ floats", (MEMORY_N,)),
    *[Workload(f"{op}_10m", "unary", f"{op}, 10⁷ floats", (MEMORY_N,), op=op) for op in VECTOR_MATH_OPS],
    Workload("jacobian_256", "jacobian", f"jacobian {JACOBIAN_WIDTH}→{JACOBIAN_WIDTH}→{JACOBIAN_WIDTH}",
             (JACOBIAN_WIDTH,)),
    Workload("sparse_xent", "sparse_xent", "sparse softmax xent {}×{}, fwd+bwd".format(*XENT_DIMS), XENT_DIMS),
    Workload("mlp_digits", "mlp_digits", f"digits MLP epoch, Adam, batch {DIGITS_BATCH}", (DIGITS_BATCH,)),
    *[_gemm(n, n, n) for n in GEMM_SQUARE],
    *[_gemm(*d) for d in GEMM_SKINNY],
]
BY_NAME: Dict[str, Workload] = {w.name: w for w in WORKLOADS}

# Names accepted by --only besides the workload names themselves.
GROUPS: Dict[str, List[str]] = {
    "seed": ["seed_1k", "seed_1m"],
    "memory": [w.name for w in WORKLOADS if w.kind in ("square", "reduce_mean", "reduce_sum")],
    "vector_math": [w.name for w in WORKLOADS if w.kind == "unary"],
    "sgemm": [w.name for w in WORKLOADS if w.kind == "gemm"],
    "sgemm_square": [f"sgemm_{n}" for n in GEMM_SQUARE],
    "sgemm_skinny": [w.name for w in WORKLOADS if w.kind == "gemm" and len(set(w.dims)) > 1],
}

# The seed step at N = 10^6 must read its x and y (8 MB of float32) at least once: its memory
# floor is that many bytes at the read bandwidth tapegrad's reduce_sum over 10^7 floats reaches in
# the same run (FLOOR_READ_WORKLOAD is added to any run that times FLOOR_WORKLOAD).
FLOOR_WORKLOAD = "seed_1m"
FLOOR_READ_WORKLOAD = "reduce_sum_10m"
FLOOR_BYTES = 2 * 4 * 1_000_000

# Framework name -> (module in this package, the import that must succeed, label in tables).
FRAMEWORKS: Dict[str, Tuple[str, str, str]] = {
    "tapegrad": ("fw_tapegrad", "tapegrad", "tapegrad"),
    "tapegrad_function": ("fw_tapegrad", "tapegrad", "tapegrad (function)"),
    "numpy": ("fw_numpy", "numpy", "numpy"),
    "torch": ("fw_torch", "torch", "PyTorch"),
    "torch_compile": ("fw_torch", "torch", "torch.compile"),
    "jax": ("fw_jax", "jax", "JAX eager"),
    "jax_jit": ("fw_jax", "jax", "JAX jit"),
    "tensorflow": ("fw_tensorflow", "tensorflow", "TF eager"),
}
REFERENCE = "numpy"  # the peer every check value is compared with (always installed)

# The compiled modes that wrap a whole training step (tg.function, torch.compile) run only the
# workloads that are training steps; their other cells stay empty.
COMPILED_STEP_FRAMEWORKS = ("tapegrad_function", "torch_compile")
TRAINING_STEP_KINDS = ("seed", "deep", "mlp_digits")


# A tg.function column that runs only some of the passes, in the same rounds as the others
# (compare.py --function-pass-sets): "tapegrad_function@fold,cse" ("@none": no pass).
PASSES_MARK = "@"


def base_framework(framework: str) -> str:
    """The framework a column runs: itself, or "tapegrad_function" for a pass-set column."""
    return framework.split(PASSES_MARK, 1)[0]


def column_passes(framework: str) -> Optional[str]:
    """The pass set of a pass-set column ("none" or a comma-separated list); None otherwise."""
    return framework.split(PASSES_MARK, 1)[1] if PASSES_MARK in framework else None


def pass_set_column(passes: str) -> str:
    return f"tapegrad_function{PASSES_MARK}{passes}"


def framework_spec(framework: str) -> Tuple[str, str, str]:
    """FRAMEWORKS' entry of a column (KeyError if unknown); a pass-set column is labelled with
    its passes."""
    module, imported, label = FRAMEWORKS[base_framework(framework)]
    passes = column_passes(framework)
    if passes is None:
        return module, imported, label
    if base_framework(framework) != "tapegrad_function":
        raise KeyError(framework)
    return module, imported, f"tg.function ({passes})"


def runs(framework: str, workload: Workload) -> bool:
    """Whether ``framework`` has a version of ``workload``."""
    return base_framework(framework) not in COMPILED_STEP_FRAMEWORKS or workload.kind in TRAINING_STEP_KINDS


def resolve_workloads(only: Optional[Sequence[str]]) -> List[Workload]:
    """Workloads named by --only (names or group names), in the canonical order; all if None.

    A selection with FLOOR_WORKLOAD also gets FLOOR_READ_WORKLOAD, which its memory floor needs."""
    if not only:
        return list(WORKLOADS)
    wanted = set()
    for name in only:
        if name in GROUPS:
            wanted.update(GROUPS[name])
        elif name in BY_NAME:
            wanted.add(name)
        else:
            known = ", ".join([w.name for w in WORKLOADS] + sorted(GROUPS))
            raise ValueError(f"unknown workload {name!r}; known: {known}")
    if FLOOR_WORKLOAD in wanted:
        wanted.add(FLOOR_READ_WORKLOAD)
    return [w for w in WORKLOADS if w.name in wanted]
