"""Gradient buckets: many gradients packed into a few flat buffers, each all-reduced by one
non-blocking collective as soon as all its gradients are in, while backward still runs.

The layout is a function of the variables alone (their order, shapes and dtypes), so every rank
builds the same buckets; buckets are started strictly in bucket order, because MPI needs the
collectives of all ranks issued in the same order. Variables are packed last to first, the order
in which backward finishes their gradients. A bucket holds one dtype, at most ``bucket_bytes``
of gradients (a larger gradient gets a bucket to itself), and after the gradients one flag per
variable: 1 where this rank has a gradient, 0 where it has ``None`` (its values are then zeros).
Reduced like the gradients, a flag is nonzero when some rank had a gradient: ``None`` on every rank
stays ``None``.
"""
from __future__ import annotations

import operator
import time
from typing import Any, List, Optional, Sequence

import numpy as np

from .. import _core
from ._reduce import Reduction, check_same_everywhere

DEFAULT_BUCKET_BYTES = 2 << 20


class Bucket:
    __slots__ = ("dtype", "members", "offsets", "size", "buffer", "pending", "reduction")

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.members: List[int] = []  # indices into the variable list
        self.offsets: List[int] = []
        self.size = 0  # elements of gradients (the flags follow)

    def allocate(self, comms: tuple, average: bool) -> None:
        """The buffer (gradients, then flags) and, with several ranks, its reduction's workspace."""
        n = self.size + len(self.members)
        if comms[0].Get_size() > 1:
            self.reduction = Reduction(comms, n, self.dtype, average)
            self.buffer = self.reduction.buffer
        else:
            self.reduction = None
            self.buffer = np.zeros(n, dtype=self.dtype)


class Layout:
    """Buckets for one list of variables, and where each variable's gradient goes."""

    def __init__(self, variables: Sequence[Any], bucket_bytes: int, comms: tuple, average: bool) -> None:
        self.shapes = [tuple(v.shape) for v in variables]
        self.dtypes = [np.dtype(v.dtype) for v in variables]
        self.buckets: List[Bucket] = []
        self.place: List[tuple] = [None] * len(variables)  # (bucket index, member position)
        open_bucket = {}  # dtype -> index of the bucket being filled
        for i in reversed(range(len(variables))):
            dtype = self.dtypes[i]
            n = int(np.prod(self.shapes[i], dtype=np.int64))
            k = open_bucket.get(dtype)
            if k is None or (self.buckets[k].size and (self.buckets[k].size + n) * dtype.itemsize > bucket_bytes):
                k = open_bucket[dtype] = len(self.buckets)
                self.buckets.append(Bucket(dtype))
            b = self.buckets[k]
            self.place[i] = (k, len(b.members))
            b.members.append(i)
            b.offsets.append(b.size)
            b.size += n
        for b in self.buckets:
            b.allocate(comms, average)

    def signature(self, variables: Sequence[Any]) -> list:
        return [(getattr(v, "name", ""), shape, str(dtype))
                for v, shape, dtype in zip(variables, self.shapes, self.dtypes)]


class GradientReducer:
    """Averages (or sums) the gradients of a fixed list of variables across all ranks, bucket by
    bucket. ``begin()``, then ``put(i, grad)`` for every variable in any order (each starts its
    bucket's collective once the bucket is full and every earlier bucket has started), then
    ``finish()`` for the reduced gradients."""

    def __init__(self, comm: Any, reduction_comms: tuple, bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                 average: bool = True, what: str = "allreduce_gradients") -> None:
        if isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, int) or bucket_bytes < 1:
            raise ValueError(f"{what}: bucket_bytes must be a positive int, got {bucket_bytes!r}")
        self._comm = comm
        self._reduction_comms = reduction_comms
        self._bucket_bytes = bucket_bytes
        self._average = average
        self._what = what
        self._layout: Optional[Layout] = None
        self._variables: List[Any] = []  # those of the layout, held so they stay the same objects
        self.communication_seconds = 0.0  # time spent in finish() waiting for collectives

    def begin(self, variables: Sequence[Any]) -> None:
        # A training loop passes the same Variables at every step (a Variable keeps its shape and
        # dtype): the layout is rebuilt, and checked across ranks, only when they change.
        last = self._variables
        if len(last) != len(variables) or not all(map(operator.is_, last, variables)):
            layout = Layout(variables, self._bucket_bytes, self._reduction_comms, self._average)
            # The first collective of a new layout checks that every rank has the same one.
            check_same_everywhere(self._comm, self._what, layout.signature(variables))
            self._layout, self._variables = layout, list(variables)
        for b in self._layout.buckets:
            b.pending = len(b.members)
        self._next_to_start = 0

    def put(self, i: int, grad: Any) -> None:
        layout = self._layout
        bucket_index, position = layout.place[i]
        b = layout.buckets[bucket_index]
        n = b.offsets[position + 1] if position + 1 < len(b.offsets) else b.size
        start = b.offsets[position]
        flag = b.size + position
        if grad is None:
            b.buffer[start:n] = 0
            b.buffer[flag] = 0
        else:
            if isinstance(grad, (_core.Tensor, _core.Variable)) and np.dtype(grad.dtype) != b.dtype:
                raise TypeError(f"{self._what}: the gradient of variable {i} is {np.dtype(grad.dtype)} "
                                f"but the variable is {b.dtype}")
            values = np.asarray(grad)
            if values.shape != layout.shapes[i]:
                raise ValueError(f"{self._what}: the gradient of variable {i} has shape {values.shape} "
                                 f"but the variable has shape {layout.shapes[i]}")
            b.buffer[start:n] = values.reshape(-1)
            b.buffer[flag] = 1
        b.pending -= 1
        self._start_ready()
        self.progress()

    def progress(self) -> None:
        # In bucket order, stopping at the first all-to-all still running: the all-gathers then
        # start in bucket order on every rank.
        for b in self._layout.buckets[: self._next_to_start]:
            if b.reduction is not None and not b.reduction.progress():
                break

    def _start_ready(self) -> None:
        buckets = self._layout.buckets
        while self._next_to_start < len(buckets) and buckets[self._next_to_start].pending == 0:
            b = buckets[self._next_to_start]
            if b.reduction is not None:
                b.reduction.start()
            self._next_to_start += 1

    def finish(self) -> List[Optional[Any]]:
        """The reduced gradients, in the variables' order: Tensors, or ``None`` where no rank had
        a gradient. A gradient that some rank lacks counts as zeros there."""
        layout = self._layout
        if self._next_to_start != len(layout.buckets):
            raise RuntimeError(f"{self._what}: not every gradient was handed in before finish()")
        out: List[Optional[Any]] = [None] * len(layout.shapes)
        start = time.perf_counter()
        for b in layout.buckets:
            summed = b.buffer if b.reduction is None else b.reduction.wait()
            values = summed[: b.size]
            for position, i in enumerate(b.members):
                if summed[b.size + position] == 0:
                    continue
                lo = b.offsets[position]
                hi = b.offsets[position + 1] if position + 1 < len(b.offsets) else b.size
                out[i] = _core.constant(values[lo:hi].reshape(layout.shapes[i]))
        self.communication_seconds += time.perf_counter() - start
        return out

