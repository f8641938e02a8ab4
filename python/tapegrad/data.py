"""Mini-batches: ``batches(*arrays, batch_size)`` walks arrays in (shuffled) slices of rows."""
from __future__ import annotations

import numbers
from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import random as _random
from ._core import Tensor, Variable, constant

__all__ = ["batches", "BatchIterator"]


def _as_array(value: Any, index: int) -> np.ndarray:
    if isinstance(value, (Tensor, Variable)):
        return np.asarray(value.numpy())
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        try:
            return np.asarray(value)
        except (TypeError, ValueError) as e:  # ragged or mixed nesting
            raise type(e)(f"batches: arrays[{index}] is not a regular nested list of numbers: {e}") from None
    raise TypeError(f"batches: arrays[{index}] must be a numpy array, Tensor, Variable or list, "
                    f"got {type(value).__name__}")


def batches(*arrays: Any, batch_size: int, shuffle: bool = True, seed: Optional[int] = None,
            drop_remainder: bool = False,
            shard: Optional[Tuple[int, int]] = None) -> "BatchIterator":
    """One epoch over ``arrays`` in mini-batches: an iterator of tuples of tensors.

    The arrays (numpy arrays, tensors or lists) are cut along their first axis, which must have
    the same length in all of them; each step yields one tensor per array with ``batch_size``
    rows (the last batch may be shorter unless ``drop_remainder``). Tensors keep the arrays'
    dtypes (integer labels stay integers).

    Args:
        batch_size: rows per batch, a positive int.
        shuffle: visit the rows in a random order (a new order for each call).
        seed: the order's seed, for a reproducible epoch; None draws it from ``tg.random``'s
            generator, so ``tg.random.set_seed`` makes a whole run reproducible.
        drop_remainder: skip the last batch when it has fewer than ``batch_size`` rows.
        shard: ``(rank, size)`` for data-parallel training: each global batch of ``batch_size``
            rows is cut into ``size`` contiguous parts whose lengths differ by at most one
            (rows ``len * rank // size`` up to ``len * (rank + 1) // size``), and this iterator
            yields part ``rank``. Every rank must use the same seed (or the same
            ``tg.random`` state) so all ranks cut the same global batches.
    """
    if not arrays:
        raise ValueError("batches: expected at least one array")
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batches: batch_size must be a positive int, got {type(batch_size).__name__}")
    if batch_size <= 0:
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size}")
    for flag, value in (("shuffle", shuffle), ("drop_remainder", drop_remainder)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"batches: {flag} must be a bool, got {type(value).__name__}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"batches: seed must be a non-negative int or None, got {seed!r}")
    part = _check_shard(shard)
    data = []
    for i, a in enumerate(arrays):
        a = _as_array(a, i)
        if a.ndim == 0:
            raise ValueError(f"batches: arrays[{i}] is a scalar; expected at least one axis of rows")
        # Converted once, up front: a dtype or value tapegrad cannot hold fails here, by name, and
        # every batch is then a slice of data of a supported dtype.
        try:
            data.append(np.asarray(constant(a).numpy()))
        except (TypeError, ValueError) as e:
            raise type(e)(f"batches: arrays[{i}] cannot be a tensor: {e}") from None
    n = data[0].shape[0]
    for i, a in enumerate(data[1:], start=1):
        if a.shape[0] != n:
            raise ValueError(f"batches: arrays[{i}] has {a.shape[0]} rows but arrays[0] has {n}; "
                             "every array needs the same number of rows")
    if shuffle:
        rng = np.random.default_rng(seed) if seed is not None else _random._generator
        order = rng.permutation(n)
    else:
        order = None
    return BatchIterator(data, order, int(batch_size), bool(drop_remainder), part)


def _check_shard(shard: Any) -> Tuple[int, int]:
    if shard is None:
        return 0, 1
    if not isinstance(shard, (tuple, list)) or len(shard) != 2 or not all(
            isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in shard):
        raise TypeError(f"batches: shard must be a (rank, size) pair of ints, got {shard!r}")
    rank, size = int(shard[0]), int(shard[1])
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"batches: shard must be (rank, size) with 0 <= rank < size, got {shard!r}")
    return rank, size


class BatchIterator:
    """One epoch of ``batches``: an iterator of tuples of tensors.

    Its whole state is explicit, so ``tg.Checkpoint`` saves and restores it: the row order (a
    permutation of the rows when shuffled, None otherwise) and ``position``, the first row of the
    next batch. The arrays themselves are the caller's and are not part of the state.
    """

    def __init__(self, data, order: Optional[np.ndarray], batch_size: int, drop_remainder: bool,
                 part: Tuple[int, int] = (0, 1)) -> None:
        self._data = data
        self._part = part
        self._order = order
        self._rows = data[0].shape[0]
        self._batch_size = batch_size
        self._stop = self._rows - self._rows % batch_size if drop_remainder else self._rows
        self.position = 0

    @property
    def rows(self) -> int:
        """The number of rows of each array."""
        return self._rows

    def __iter__(self) -> "BatchIterator":
        return self

    def __next__(self) -> Tuple[Tensor, ...]:
        start = self.position
        if start >= self._stop:
            raise StopIteration
        end = min(start + self._batch_size, self._rows)
        self.position = end
        # This shard's contiguous part of the global batch [start, end).
        rank, size = self._part
        lo = start + (end - start) * rank // size
        hi = start + (end - start) * (rank + 1) // size
        if self._order is None:
            return tuple(constant(np.ascontiguousarray(a[lo:hi])) for a in self._data)
        rows = self._order[lo:hi]
        return tuple(constant(a[rows]) for a in self._data)

    def _checkpoint_state(self) -> Dict[str, np.ndarray]:
        """What a checkpoint saves: ``position`` and ``order`` (the identity when not shuffled)."""
        order = np.arange(self._rows, dtype=np.int64) if self._order is None else self._order
        return {"position": np.asarray(self.position, np.int64), "order": np.asarray(order, np.int64)}

    def _checkpoint_check(self, state: Dict[str, np.ndarray]) -> Optional[str]:
        """Why ``state`` (already of the saved shapes and dtypes) cannot be restored, or None."""
        position, order = int(state["position"]), state["order"]
        if not 0 <= position <= self._rows:
            return f"position {position} is outside [0, {self._rows}]"
        if self._order is None:
            if not np.array_equal(order, np.arange(self._rows)):
                return "the saved iterator was shuffled but this one is not"
        elif order.size and (order.min() < 0 or order.max() >= self._rows):
            return f"the saved row order has indices outside [0, {self._rows})"
        return None

    def _checkpoint_restore(self, state: Dict[str, np.ndarray]) -> None:
        if self._order is not None:
            self._order = np.array(state["order"], dtype=np.int64)
        self.position = int(state["position"])

    def __repr__(self) -> str:
        return (f"<tapegrad.data.BatchIterator rows={self._rows} batch_size={self._batch_size} "
                f"position={self.position} shuffled={self._order is not None}>")
