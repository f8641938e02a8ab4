"""Mini-batches: ``batches(*arrays, batch_size)`` walks arrays in (shuffled) slices of rows."""
from __future__ import annotations

import numbers
from typing import Any, Iterator, Optional, Tuple

import numpy as np

from . import random as _random
from ._core import Tensor, Variable, constant

__all__ = ["batches"]


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
            shard: Optional[Tuple[int, int]] = None) -> Iterator[Tuple[Tensor, ...]]:
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
    return _epoch(data, order, n, int(batch_size), bool(drop_remainder), part)


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


def _epoch(data, order, n, batch_size, drop_remainder, part) -> Iterator[Tuple[Tensor, ...]]:
    rank, size = part
    stop = n - n % batch_size if drop_remainder else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        lo = start + (end - start) * rank // size
        hi = start + (end - start) * (rank + 1) // size
        if order is None:
            rows = slice(lo, hi)
            yield tuple(constant(np.ascontiguousarray(a[rows])) for a in data)
        else:
            rows = order[lo:hi]
            yield tuple(constant(a[rows]) for a in data)
