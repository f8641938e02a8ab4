"""The timed loop: ``time.perf_counter_ns`` around many inner iterations of one statement.

The statement is compiled into the loop body (like ``timeit``) so that timing a 0.4 µs op does
not also time a Python function call around it. Unlike ``timeit`` the garbage collector stays on,
as it is in a real training loop.
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Tuple

_LOOP_SOURCE = """\
def _bench_loop(_n, _clock=_bench_clock, _repeat=_bench_repeat):
    _t0 = _clock()
    for _ in _repeat(None, _n):
        {stmt}
    {finish}
    return _clock() - _t0
"""


@dataclass
class Bench:
    """What a framework module builds for one workload.

    stmt: one Python statement, run once per iteration, with the names in ``ns`` as globals.
    finish: a statement run once after the iterations, inside the timed region: for a framework
    that dispatches asynchronously, waiting for the last result of a training loop whose steps
    depend on each other (so the work of every step is counted, not only its dispatch).
    check: a number computed by the same math before timing (e.g. the loss after three steps),
    compared across frameworks to catch a framework that computes something else.
    info: facts measured while building, reported beside the timings (JSON-serialisable), e.g.
    the peak bytes of one step.
    """

    stmt: str
    ns: Dict[str, Any] = field(default_factory=dict)
    check: float = float("nan")
    finish: str = "pass"
    info: Dict[str, Any] = field(default_factory=dict)


class NotAvailable(Exception):
    """A framework mode that cannot run on this machine (e.g. torch.compile without a working
    compiler): the cell shows "n/a" and the report gives the reason, the run goes on."""


def compile_loop(stmt: str, ns: Dict[str, Any], finish: str = "pass") -> Callable[[int], int]:
    """Returns loop(n) -> nanoseconds taken by n runs of ``stmt`` followed by one ``finish``."""
    glb = dict(ns)
    glb["_bench_clock"] = time.perf_counter_ns
    glb["_bench_repeat"] = itertools.repeat
    exec(compile(_LOOP_SOURCE.format(stmt=stmt, finish=finish), f"<bench: {stmt}>", "exec"), glb)
    return glb["_bench_loop"]


def warm_up(loop: Callable[[int], int], min_ns: int, min_calls: int = 2) -> None:
    """Runs the statement until ``min_ns`` passed and at least ``min_calls`` times.

    Long enough to settle caches and allocators, and to let the threads of the previous worker
    (OpenBLAS, OpenMP spin-wait) go back to sleep before the samples start.
    """
    spent = calls = 0
    while spent < min_ns or calls < min_calls:
        spent += loop(1)
        calls += 1


def calibrate(loop: Callable[[int], int], min_sample_ns: int) -> int:
    """The inner iteration count that makes one sample last at least ``min_sample_ns``."""
    n = 1
    while True:
        t = loop(n)
        if t >= min_sample_ns:
            return n
        # Aim 20% above the target from the last measurement, but grow at most 100x per try.
        n = min(n * 100, max(n + 1, math.ceil(n * 1.2 * min_sample_ns / max(t, 1))))


def sample(loop: Callable[[int], int], number: int, samples: int) -> Tuple[List[float], float]:
    """``samples`` measurements of µs per iteration, each over ``number`` iterations, and the
    process's CPU time / wall time over them: ~1 for one thread, up to the thread count when a
    framework computes in parallel (how many threads really worked, whatever was asked)."""
    us = []
    cpu0 = time.process_time_ns()
    for _ in range(samples):
        us.append(loop(number) / number / 1e3)
    cpu = time.process_time_ns() - cpu0
    return us, cpu / max(1.0, sum(us) * number * 1e3)


def check_after_steps(step: Callable[[], Any], to_float: Callable[[Any], float], steps: int = 3) -> float:
    """The value returned by the ``steps``-th call of a training step, as a float.

    Three steps: the third loss depends on two updates, so a wrong gradient or update shows.
    """
    value = None
    for _ in range(steps):
        value = step()
    return float(to_float(value))
