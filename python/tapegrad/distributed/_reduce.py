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

import hashlib
import pickle
from typing import Any, Optional

import numpy as np

from . import _faults


class Reduction:
    """The reduction of one buffer of ``n`` elements, with its workspace kept from call to call
    (a bucket reduces a buffer of the same size at every step; fresh pages cost more than the
    sum). Write the values into ``buffer``, ``start()``, then ``progress()`` without blocking
    (MPI progresses inside MPI calls, so call it often) and ``wait()`` for the result: a view of
    ``n`` elements, valid until the next ``start()``. Every array MPI reads or writes is held by
    this object until the operation completes.

    ``comms`` is (all-to-all communicator, all-gather communicator): each kind of collective is
    issued in the same order on every rank as long as the callers start reductions, and call
    ``progress`` on them, in the same order.
    """

    __slots__ = ("_comms", "_n", "_average", "_send", "_received", "_sum", "_mine", "_gathered",
                 "_request", "_number", "_phase", "buffer")

    def __init__(self, comms: tuple, n: int, dtype: Any, average: bool) -> None:
        p = comms[0].Get_size()
        chunk = -(-n // p) if n else 0
        self._comms = comms
        self._n = n
        self._average = average
        self._send = np.zeros(p * chunk, dtype=dtype)  # the tail past n stays zero
        self._received = np.empty((p, chunk), dtype=dtype)
        self._sum = np.empty(chunk, dtype=np.float64)
        self._mine = np.empty(chunk, dtype=dtype)
        self._gathered = np.empty(p * chunk, dtype=dtype)
        self._request = None
        self._number = 0  # the collective's number on its channel, for _faults.wait
        self._phase = 0
        self.buffer = self._send[:n]

    def start(self) -> None:
        if self._phase in (1, 2):
            raise RuntimeError("Reduction.start: the previous reduction of this buffer is still running")
        self._number = _faults.begin(_faults.ALL_TO_ALL)
        self._request = self._comms[0].Ialltoall(self._send, self._received)
        self._phase = 1

    def progress(self) -> bool:
        """Moves on without blocking; True once the all-to-all is done (the all-gather started)."""
        if self._phase == 1 and self._request.Test():
            self._start_gather()
        return self._phase != 1

    def wait(self) -> np.ndarray:
        if self._phase == 1:
            _faults.wait(self._request, _faults.ALL_TO_ALL, self._number, "an all-reduce")
            self._start_gather()
        if self._phase == 2:
            _faults.wait(self._request, _faults.ALL_GATHER, self._number, "an all-reduce")
            self._request = None
            self._phase = 3
        return self._gathered[: self._n]

    def _start_gather(self) -> None:
        rank_ordered_sum(self._received, self._average, out=self._sum)
        np.copyto(self._mine, self._sum, casting="same_kind")
        self._number = _faults.begin(_faults.ALL_GATHER)
        self._request = self._comms[1].Iallgather(self._mine, self._gathered)
        self._phase = 2


def rank_ordered_sum(rows: np.ndarray, average: bool, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Row 0 + row 1 + ... in that order, in float64, divided once by the row count if ``average``."""
    acc = out if out is not None else np.empty(rows.shape[1:], np.float64)
    np.copyto(acc, rows[0])
    for r in range(1, rows.shape[0]):
        np.add(acc, rows[r], out=acc)
    if average:
        np.divide(acc, rows.shape[0], out=acc)
    return acc


def allreduce_buffer(comms: tuple, buffer: np.ndarray, average: bool) -> np.ndarray:
    """The blocking form: the reduced buffer (a copy; a single rank gets its own values back)."""
    if comms[0].Get_size() == 1:
        return rank_ordered_sum(buffer[None], average).astype(buffer.dtype)
    reduction = Reduction(comms, buffer.size, buffer.dtype, average)
    reduction.buffer[...] = buffer
    reduction.start()
    return reduction.wait().copy()


def check_same_everywhere(comm: Any, what: str, signature: list) -> None:
    """Raises ``ValueError`` on every rank when ranks passed different ``signature`` lists (one
    entry per tensor: name, shape, dtype), naming the first rank and entry that differ."""
    if comm.Get_size() == 1:
        return
    # One small collective in the common case: the ranks compare digests of their signatures,
    # and exchange the signatures themselves only when the digests differ (on every rank alike).
    mine = pickle.dumps(signature, protocol=4)
    digests = np.empty((comm.Get_size(), 16), np.uint8)
    number = _faults.begin(_faults.WORLD)
    _faults.wait(comm.Iallgather(np.frombuffer(hashlib.blake2b(mine, digest_size=16).digest(), np.uint8),
                                 digests), _faults.WORLD, number, what)
    if (digests == digests[0]).all():
        return
    everyone = allgather_objects(comm, signature, what)
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


def allgather_objects(comm: Any, value: Any, what: str) -> list:
    """Every rank's ``value``, in rank order (``comm.allgather``, through ``_faults.wait``)."""
    mine = np.frombuffer(pickle.dumps(value), np.uint8)
    lengths = np.zeros(comm.Get_size(), np.int64)
    number = _faults.begin(_faults.WORLD)
    _faults.wait(comm.Iallgather(np.array([mine.size], np.int64), lengths), _faults.WORLD, number, what)
    everything = np.empty(int(lengths.sum()), np.uint8)
    number = _faults.begin(_faults.WORLD)
    _faults.wait(comm.Iallgatherv(mine, (everything, lengths)), _faults.WORLD, number, what)
    ends = np.cumsum(lengths)
    return [pickle.loads(everything[end - n:end].tobytes()) for n, end in zip(lengths, ends)]


def _describe(entry) -> str:
    name, shape, dtype = entry
    label = f"{name!r} " if name else ""
    return f"{label}of shape {tuple(shape)} and dtype {dtype}"
