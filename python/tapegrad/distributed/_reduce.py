"""Deterministic all-reduce of a flat float buffer, non-blocking.

MPI_Allreduce lets the library pick the summation order by message size and rank count, so it
promises neither the same bits on every rank nor the same bits from one run to the next. Here the
order is fixed: the buffer is cut into one chunk per rank; an all-to-all hands chunk j of every
rank to rank j (a reduce-scatter), rank j adds its p contributions in rank order — in float64,
then divides once for an average and rounds once to the buffer's dtype — and an all-gather hands
every rank every reduced chunk. Each chunk is computed by exactly one rank, so all ranks hold the
same bits, and the order never depends on timing, so every run does too. Each rank sends and
receives 2(p-1)/p of the buffer, as a ring all-reduce does.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np


class Reduction:
    """One buffer's reduction in flight: an all-to-all, the rank-ordered sum, an all-gather.

    ``progress()`` moves it on without blocking (call it often: MPI progresses inside MPI calls);
    ``wait()`` finishes it and returns the reduced buffer (a new array of the input's length).
    """

    __slots__ = ("_comm", "_n", "_average", "_dtype", "_received", "_gathered", "_request", "_phase")

    def __init__(self, comm: Any, buffer: np.ndarray, average: bool) -> None:
        p = comm.Get_size()
        n = buffer.size
        chunk = -(-n // p) if n else 0
        send = np.zeros(p * chunk, dtype=buffer.dtype)
        send[:n] = buffer
        self._comm = comm
        self._n = n
        self._average = average
        self._dtype = buffer.dtype
        self._received = np.empty((p, chunk), dtype=buffer.dtype)
        self._gathered = np.empty(p * chunk, dtype=buffer.dtype)
        self._request = comm.Ialltoall(send, self._received)
        self._phase = 1

    def progress(self) -> None:
        if self._phase == 1 and self._request.Test():
            self._start_gather()

    def wait(self) -> np.ndarray:
        if self._phase == 1:
            self._request.Wait()
            self._start_gather()
        if self._phase == 2:
            self._request.Wait()
            self._phase = 3
        return self._gathered[: self._n]

    def _start_gather(self) -> None:
        mine = rank_ordered_sum(self._received, self._average).astype(self._dtype, copy=False)
        self._request = self._comm.Iallgather(mine, self._gathered)
        self._phase = 2


def rank_ordered_sum(rows: np.ndarray, average: bool) -> np.ndarray:
    """Row 0 + row 1 + ... in that order, in float64, divided once by the row count if ``average``."""
    acc = rows[0].astype(np.float64)
    for r in range(1, rows.shape[0]):
        acc += rows[r]
    if average:
        acc /= rows.shape[0]
    return acc


def allreduce_buffer(comm: Any, buffer: np.ndarray, average: bool) -> np.ndarray:
    """The blocking form: the reduced buffer (a copy; a single rank gets its own values back)."""
    if comm.Get_size() == 1:
        return rank_ordered_sum(buffer[None], average).astype(buffer.dtype)
    return Reduction(comm, buffer, average).wait().copy()


def check_same_everywhere(comm: Any, what: str, signature: list, names: Optional[list] = None) -> None:
    """Raises ``ValueError`` on every rank when ranks passed different ``signature`` lists (one
    entry per tensor: name, shape, dtype), naming the first rank and entry that differ."""
    if comm.Get_size() == 1:
        return
    everyone = comm.allgather(signature)
    reference = everyone[0]
    for rank, theirs in enumerate(everyone):
        if theirs == reference:
            continue
        if len(theirs) != len(reference):
            raise ValueError(f"{what}: rank {rank} passed {len(theirs)} tensors but rank 0 passed "
                             f"{len(reference)}; every rank must pass the same variables in the same order")
        for k, (mine, root) in enumerate(zip(theirs, reference)):
            if mine != root:
                raise ValueError(f"{what}: tensor {k} differs between ranks: rank {rank} has "
                                 f"{_describe(mine)} but rank 0 has {_describe(root)}")
    return


def _describe(entry) -> str:
    name, shape, dtype = entry
    label = f"{name!r} " if name else ""
    return f"{label}of shape {tuple(shape)} and dtype {dtype}"
