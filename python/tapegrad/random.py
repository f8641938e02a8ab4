"""Random tensors: ``normal``, ``uniform`` and ``set_seed``.

numpy's ``Generator`` (PCG64) does the drawing: it is well tested and gives the same
stream on every platform. One module-level Generator serves all calls that pass no
``seed=``; ``set_seed`` replaces it. A call with ``seed=`` uses a fresh Generator built
from that seed, so the same seed always gives the same numbers and leaves the module
Generator untouched.

Numbers are drawn in float64 and rounded to the requested dtype, so a float32 and a
float64 tensor drawn from the same seed agree up to rounding.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import operator
from typing import Any, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["normal", "uniform", "set_seed"]

ShapeLike = Union[int, Sequence[int]]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Unseeded at import (OS entropy), as numpy and TF do; set_seed makes runs repeatable.
_generator: np.random.Generator = np.random.Generator(np.random.PCG64())


def set_seed(seed: Optional[int]) -> None:
    """Re-seed the module Generator used by calls that pass no ``seed=``.

    Args:
        seed: a non-negative integer, or ``None`` for fresh OS entropy.

    Raises:
        TypeError: ``seed`` is not an integer or None.
        ValueError: ``seed`` is negative.
    """
    global _generator
    _generator = _make_generator("random.set_seed", seed)


def normal(
    shape: ShapeLike,
    mean: float = 0.0,
    stddev: float = 1.0,
    dtype: Any = np.float32,
    seed: Optional[int] = None,
):
    """Return a Tensor of ``shape`` filled with draws from N(``mean``, ``stddev``²).

    Args:
        shape: an int, or a tuple/list of non-negative ints.
        mean: mean of the distribution (a finite real number).
        stddev: standard deviation (a finite real number >= 0).
        dtype: ``float32`` (default) or ``float64``.
        seed: a non-negative int to draw from a fresh Generator seeded with it;
            ``None`` draws from the module Generator (see ``set_seed``).

    Returns:
        a ``tapegrad.Tensor``.

    Raises:
        TypeError / ValueError: bad argument; the message starts with "random.normal:".
    """
    where = "random.normal"
    dims = _check_shape(where, shape)
    dt = _check_dtype(where, dtype)
    mean = _check_real(where, "mean", mean)
    stddev = _check_real(where, "stddev", stddev)
    if stddev < 0.0:
        raise ValueError(f"{where}: stddev must be >= 0, got {stddev!r}")
    rng = _generator if seed is None else _make_generator(where, seed)
    with _memory_errors_named(where, dims):
        values = rng.normal(mean, stddev, size=dims)
    return _to_tensor(values, dt, "tg.random.normal")


def uniform(
    shape: ShapeLike,
    minval: float = 0.0,
    maxval: float = 1.0,
    dtype: Any = np.float32,
    seed: Optional[int] = None,
):
    """Return a Tensor of ``shape`` with draws from the half-open interval [minval, maxval).

    Args:
        shape: an int, or a tuple/list of non-negative ints.
        minval: lower bound, included (a finite real number).
        maxval: upper bound, excluded (a finite real number > minval).
        dtype: ``float32`` (default) or ``float64``.
        seed: a non-negative int to draw from a fresh Generator seeded with it;
            ``None`` draws from the module Generator (see ``set_seed``).

    Returns:
        a ``tapegrad.Tensor``.

    Raises:
        TypeError / ValueError: bad argument; the message starts with "random.uniform:".
    """
    where = "random.uniform"
    dims = _check_shape(where, shape)
    dt = _check_dtype(where, dtype)
    minval = _check_real(where, "minval", minval)
    maxval = _check_real(where, "maxval", maxval)
    if not minval < maxval:
        raise ValueError(
            f"{where}: minval must be less than maxval, got minval={minval!r}, maxval={maxval!r}"
        )
    rng = _generator if seed is None else _make_generator(where, seed)
    with _memory_errors_named(where, dims):
        values = rng.uniform(minval, maxval, size=dims).astype(dt, copy=False)
    # Rounding to float32 can land exactly on maxval; keep the interval half-open.
    top = np.nextafter(dt.type(maxval), dt.type(minval))
    np.minimum(values, top, out=values)
    return _to_tensor(values, dt, "tg.random.uniform")


# ---------------------------------------------------------------------------
# helpers


def _make_generator(where: str, seed: Optional[int]) -> np.random.Generator:
    """Build a PCG64 Generator from a validated seed (None -> OS entropy)."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(
                f"{where}: seed must be a non-negative integer or None, got {type(seed).__name__}"
            )
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"{where}: seed must be a non-negative integer, got {seed}")
    return np.random.Generator(np.random.PCG64(seed))


def _check_shape(where: str, shape: Any) -> Tuple[int, ...]:
    """Return ``shape`` as a tuple of non-negative Python ints, or raise naming ``where``."""
    if isinstance(shape, (tuple, list)):
        items = shape
    elif isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        items = (shape,)
    else:
        raise TypeError(
            f"{where}: shape must be an int or a tuple/list of ints, got {type(shape).__name__}"
        )
    dims = []
    for d in items:
        if isinstance(d, bool):
            raise TypeError(f"{where}: shape entries must be ints, got bool in {tuple(items)!r}")
        try:
            d = operator.index(d)
        except TypeError:
            raise TypeError(
                f"{where}: shape entries must be ints, got {type(d).__name__} in {tuple(items)!r}"
            ) from None
        if d < 0:
            raise ValueError(f"{where}: shape entries must be >= 0, got {tuple(items)!r}")
        dims.append(d)
    return tuple(dims)


def _check_dtype(where: str, dtype: Any) -> np.dtype:
    """Return the numpy dtype for ``dtype`` if it is float32 or float64, else raise."""
    # None is refused explicitly: np.dtype(None) is float64, and np.dtype(...) == None is True.
    dt = None
    if dtype is not None:
        try:
            dt = np.dtype(dtype)
        except (TypeError, ValueError):  # numpy raises either for things that are not dtypes
            pass
    if dt is None or dt not in _FLOAT_DTYPES:
        raise TypeError(f"{where}: dtype must be float32 or float64, got {dtype!r}")
    return dt


def _check_real(where: str, what: str, value: Any) -> float:
    """Return ``value`` as a finite float, or raise naming ``where`` and ``what``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {what} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where}: {what} must be finite, got {value!r}")
    return value


@contextlib.contextmanager
def _memory_errors_named(where: str, dims: Tuple[int, ...]) -> Iterator[None]:
    """numpy's MemoryError for a huge draw, re-raised naming the function and the shape."""
    try:
        yield
    except (MemoryError, ValueError) as e:  # numpy: MemoryError, or ValueError "array is too big"
        raise MemoryError(f"{where}: shape {dims} is too large to allocate ({e})") from None


def _to_tensor(values: np.ndarray, dtype: np.dtype, where: str):
    """Wrap a numpy array as a tapegrad Tensor of ``dtype``."""
    from . import _core  # lazy: keeps this module importable for docs/tools

    t = _core.constant(np.asarray(values, dtype=dtype), dtype=dtype)
    if _core._tracing():
        # A replay cannot draw again: the trace fails if an op reads these values (a Variable's
        # initial value, read once, is fine).
        _core._trace_mark_drawn(t, where)
    return t
