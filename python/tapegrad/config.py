"""Runtime configuration: the kernels' instruction set and the threads of large kernels."""
from __future__ import annotations

from . import _core

__all__ = ["isa", "available_isas", "set_isa", "num_threads", "set_num_threads"]


def isa() -> str:
    """The instruction set of the kernels in use: "scalar", "avx2" or "avx512"."""
    return _core.isa()


def available_isas() -> list:
    """The instruction sets this build has and this CPU can run, best last."""
    return list(_core.available_isas())


def set_isa(name: str) -> None:
    """Forces an instruction set (as TAPEGRAD_ISA does at import); mainly for testing."""
    if not isinstance(name, str):
        raise TypeError(f"set_isa: expected a string, got {type(name).__name__}")
    _core.select_isa(name)


def num_threads() -> int:
    """Threads used by large kernels (TAPEGRAD_NUM_THREADS, else the number of cores)."""
    return _core.num_threads()


def set_num_threads(n: int) -> None:
    """Sets the threads used by large kernels. Results are bitwise identical for any count."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: expected a positive int, got {n!r}")
    _core.set_num_threads(n)
