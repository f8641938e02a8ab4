"""The environment each worker runs in, and what it reports about itself.

Thread counts are set the same way for every framework: the usual BLAS/OpenMP variables, XLA's
flags for JAX, each framework's own call where it has one (``fw_*.init``), and a CPU affinity mask
of that many CPUs when fewer than all are asked for (``pin_to_cpus``). Two OpenBLAS
variables that some machines here set (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) pin OpenBLAS to a
slower kernel or a wrong cache size; they are removed from every worker's environment and the
report records both the values removed and the OpenBLAS kernel that then runs.
"""
from __future__ import annotations

import os
import platform
import sys
from typing import Any, Dict, List, Optional

from .spec import base_framework, column_passes

# Variables that only mis-tune OpenBLAS; removed for every worker (they would only slow numpy,
# the one peer that uses OpenBLAS, and keeping them for the others would change nothing).
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "TAPEGRAD_NUM_THREADS")


# The passes tg.function may run (TAPEGRAD_FUNCTION_PASSES, read by cpp/function/executor.cpp);
# "none" runs none of them.
FUNCTION_PASSES = ("fold", "cse", "dce", "fuse")


def worker_env(framework: str, threads: int, base: Optional[Dict[str, str]] = None,
               function_passes: Optional[str] = None) -> Dict[str, str]:
    """The environment for one framework's worker process, with ``threads`` threads.

    function_passes: for "tapegrad_function", the comma-separated passes tg.function runs
    ("none" for none); None leaves TAPEGRAD_FUNCTION_PASSES as it is (unset: all passes)."""
    env = dict(os.environ if base is None else base)
    if base_framework(framework) == "tapegrad_function":
        passes = column_passes(framework) or function_passes  # a pass-set column's own set first
        if passes is not None:
            env["TAPEGRAD_FUNCTION_PASSES"] = "" if passes == "none" else passes
    for name in OPENBLAS_OVERRIDES:
        env.pop(name, None)
    for name in THREAD_VARS:
        env[name] = str(threads)
    if framework.startswith("jax"):
        env["JAX_PLATFORMS"] = "cpu"
        if threads == 1:
            # XLA's CPU backend otherwise runs Eigen on every core.
            flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + flags).strip()
    if framework == "torch_compile":
        # Inductor compiles its C++ in this process instead of a pool of compile workers, which
        # the affinity mask would squeeze onto the same CPUs.
        env["TORCHINDUCTOR_COMPILE_THREADS"] = "1"
    if framework == "tensorflow":
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no start-up banner in the log
    return env


def pin_to_cpus(threads: int) -> Optional[List[int]]:
    """Restricts this process to ``threads`` of the CPUs it may run on; returns them (None: no change).

    Called before a framework is imported. Thread-count settings are requests, and some runtimes
    overrule them: XLA's CPU runtime (jaxlib 0.10) runs independent ops of a jitted step side by
    side on its own pool whatever ``--xla_cpu_multi_thread_eigen`` says, so a "1 thread" JAX worker
    would use ~2 cores. An affinity mask is the one limit every framework obeys. Every worker gets the
    same CPUs, so none is favoured; workers run one at a time.
    """
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: thread settings only
        return None
    if threads >= len(allowed):
        return None
    chosen = allowed[:threads]
    os.sched_setaffinity(0, chosen)
    return chosen


def removed_overrides() -> Dict[str, str]:
    """The OpenBLAS variables set in this (the parent's) environment that workers will not see."""
    return {k: os.environ[k] for k in OPENBLAS_OVERRIDES if k in os.environ}


def blas_info() -> List[Dict[str, Any]]:
    """threadpoolctl's view of the BLAS / OpenMP libraries loaded in this process, if installed.

    For OpenBLAS, ``architecture`` is the kernel it picked (e.g. Haswell, Zen, SkylakeX).
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed: BLAS kernel unknown"}]
    keep = ("user_api", "internal_api", "version", "num_threads", "architecture", "threading_layer")
    out = []
    for lib in threadpool_info():
        entry = {k: lib.get(k) for k in keep if lib.get(k) is not None}
        entry["library"] = os.path.basename(lib.get("filepath", ""))
        entry["filepath"] = lib.get("filepath", "")
        out.append(entry)
    return out


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or platform's guess elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> Dict[str, Any]:
    """The machine the run happened on, for the report."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return {
        "cpu": cpu_model(),
        "cpus": cpus,
        "system": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
    }
