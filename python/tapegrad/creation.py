"""Tensors made from nothing but their shape and values, as TensorFlow's zeros, ones, fill,
range, eye and linspace. None of them is differentiable with respect to anything."""
from __future__ import annotations

import builtins
import functools
from typing import Any, Callable, Optional, Sequence, TypeVar, Union

import numpy as np

from . import _core

__all__ = ["zeros", "ones", "zeros_like", "ones_like", "fill", "range", "eye", "linspace"]

_F = TypeVar("_F", bound=Callable[..., Any])
_Shape = Union[int, Sequence[int]]


def _named(fn: _F) -> _F:
    """Errors from the parts carry this function's name, as every tapegrad error does."""
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (TypeError, ValueError, MemoryError, OverflowError) as e:
            message = str(e)
            if message.startswith(f"{fn.__name__}:"):
                raise
            kind = ValueError if isinstance(e, OverflowError) else type(e)  # a value out of range
            raise kind(f"{fn.__name__}: {message}") from None
    return wrapped  # type: ignore[return-value]


def _filled(shape: _Shape, value: Any, dtype: Any) -> "_core.Tensor":
    # A scalar broadcast by the engine, which checks the shape (and its size) before allocating.
    return _core.broadcast_to(_core.constant(value, dtype=dtype), shape)


@_named
def zeros(shape: _Shape, dtype: Any = np.float32) -> "_core.Tensor":
    """A tensor of ``shape`` filled with 0 (float32 unless ``dtype`` says otherwise)."""
    return _filled(shape, 0, dtype)


@_named
def ones(shape: _Shape, dtype: Any = np.float32) -> "_core.Tensor":
    """A tensor of ``shape`` filled with 1."""
    return _filled(shape, 1, dtype)


@_named
def zeros_like(input: Any, dtype: Optional[Any] = None) -> "_core.Tensor":  # noqa: A002 - TF's name
    """Zeros of ``input``'s shape and (unless given) dtype."""
    t = _core.convert_to_tensor(input)
    return _filled(t.shape, 0, dtype if dtype is not None else t.dtype)


@_named
def ones_like(input: Any, dtype: Optional[Any] = None) -> "_core.Tensor":  # noqa: A002 - TF's name
    """Ones of ``input``'s shape and (unless given) dtype."""
    t = _core.convert_to_tensor(input)
    return _filled(t.shape, 1, dtype if dtype is not None else t.dtype)


@_named
def fill(dims: _Shape, value: Any) -> "_core.Tensor":
    """A tensor of shape ``dims`` filled with ``value``: int32 for a Python int, bool for a bool,
    float32 for a float, or the dtype of a tensor or numpy scalar."""
    if isinstance(value, builtins.bool):
        dtype: Any = np.bool_
    elif isinstance(value, int):
        dtype = np.int32
    elif isinstance(value, float):
        dtype = np.float32
    else:
        dtype = np.asarray(value).dtype
    return _filled(dims, value, dtype)


@_named
def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Optional[Any] = None) -> "_core.Tensor":  # noqa: A001
    """``[start, start + delta, ...)`` up to ``limit``, as ``tf.range``: int32 when every argument
    is an int, float32 otherwise (or ``dtype``); one argument is the limit."""
    if limit is None:
        start, limit = 0, start
    for name, v in (("start", start), ("limit", limit), ("delta", delta)):
        if isinstance(v, builtins.bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a number, got {type(v).__name__}")
        if isinstance(v, (int, np.integer)) and not -2 ** 62 <= v <= 2 ** 62:
            raise ValueError(f"{name} {v} is out of range")
    if delta == 0 or not np.isfinite(float(delta)):
        raise ValueError(f"delta must be a finite non-zero number, got {delta!r}")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, limit, delta))
    if dtype is None:
        dtype = np.int32 if ints else np.float32
    count = max(0, int(np.ceil((float(limit) - float(start)) / float(delta))))
    if count > 2 ** 31:
        raise ValueError(f"{count} elements are too many")
    values = np.arange(count, dtype=np.float64 if not ints else np.int64) * delta + start
    return _core.constant(values, dtype=dtype)


@_named
def eye(num_rows: int, num_columns: Optional[int] = None, dtype: Any = np.float32) -> "_core.Tensor":
    """The identity matrix (num_rows x num_columns, square by default)."""
    cols = num_rows if num_columns is None else num_columns
    for name, n in (("num_rows", num_rows), ("num_columns", cols)):
        if not isinstance(n, (int, np.integer)) or isinstance(n, builtins.bool) or n < 0 or n > 2 ** 20:
            raise ValueError(f"{name} must be an int in [0, 2**20], got {n!r}")
    return _core.constant(np.eye(num_rows, cols), dtype=dtype)


@_named
def linspace(start: Any, stop: Any, num: int) -> "_core.Tensor":
    """``num`` evenly spaced values from ``start`` to ``stop``, both included (float32, or float64
    when ``start`` is a float64 tensor or array)."""
    if not isinstance(num, (int, np.integer)) or isinstance(num, builtins.bool) or num < 0 or num > 2 ** 31:
        raise ValueError(f"num must be an int in [0, 2**31], got {num!r}")
    dtype = np.float64 if np.asarray(start).dtype == np.float64 and not isinstance(start, float) else np.float32
    return _core.constant(np.linspace(float(start), float(stop), int(num)), dtype=dtype)
