"""Indexing and slicing with TensorFlow's names: ``Tensor.__getitem__`` (numpy's basic indexing),
``gather``, ``one_hot``, ``pad``, ``split`` and ``unstack``.

This module reads and checks the Python-side arguments (keys, index lists, paddings, sizes) and
calls the engine's internal ops with plain integer lists: ``_strided_slice`` (a window
``(begin, count, step)`` per axis, then the result's shape), ``_gather``, ``_one_hot`` and
``_pad``. Those ops are recorded with their own gradient rules, so gradients of any order flow
through everything here. ``split`` and ``unstack`` are one strided slice per piece.
"""
from __future__ import annotations

import operator
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

__all__ = ["gather", "one_hot", "pad", "split", "unstack"]

_Tensor = _core.Tensor
_Variable = _core.Variable
_INT_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def _named(op: str, e: BaseException) -> BaseException:
    """``e`` with a message that starts with ``op`` (unchanged when it already does)."""
    msg = str(e)
    return e if msg.startswith(op) else type(e)(f"{op}: {msg}")


def _tensor(value: Any, op: str) -> "_core.Tensor":
    """A Tensor for an op's tensor argument (a Variable is read, so tapes watch it)."""
    if type(value) is _Tensor:
        return value
    try:
        return _core.convert_to_tensor(value)
    except (TypeError, ValueError, MemoryError) as e:
        raise _named(op, e) from None


def _int(value: Any, op: str, what: str) -> int:
    """One Python int: an int, a numpy integer or a 0-d integer tensor (never a bool)."""
    if isinstance(value, (_Tensor, _Variable)):
        if value.ndim == 0 and value.dtype in _INT_DTYPES:
            return int(value)
    elif not isinstance(value, (bool, np.bool_)):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{op}: {what} must be an int, got {value!r} of type {type(value).__name__}")


def _int_list(value: Any, op: str, what: str) -> List[int]:
    """A list of ints from a sequence, a 1-D integer array or tensor."""
    if isinstance(value, (_Tensor, _Variable, np.ndarray)):
        a = np.asarray(value)
        if a.ndim != 1 or (a.dtype.kind not in "iu" and a.size):
            raise TypeError(f"{op}: {what} must be a 1-D sequence of ints, got a {a.dtype} array of shape "
                            f"{a.shape}")
        return [int(v) for v in a]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{op}: {what} must be a sequence of ints, got {type(value).__name__}")
    return [_int(v, op, what) for v in value]


def _axis(value: Any, rank: int, op: str, shape: tuple, extra: int = 0) -> int:
    """An axis in [-rank - extra, rank + extra), normalised to >= 0."""
    axis = _int(value, op, "axis")
    if not -rank - extra <= axis < rank + extra:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of shape {shape} (expected "
                         f"{-rank - extra} <= axis < {rank + extra})")
    return axis + rank + extra if axis < 0 else axis


def _indices(indices: Any, op: str) -> "_core.Tensor":
    """An int32 or int64 index tensor; integer arrays and lists keep their integers."""
    if isinstance(indices, _Variable):
        indices = indices.read_value()
    if isinstance(indices, _Tensor):
        if indices.dtype not in _INT_DTYPES:
            raise TypeError(f"{op}: indices must be int32 or int64, got a {indices.dtype} tensor")
        return indices
    if isinstance(indices, (bool, np.bool_, str, bytes)) or indices is None:
        raise TypeError(f"{op}: indices must be int32 or int64 integers, got {indices!r}")
    try:
        a = np.asarray(indices)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: indices must be int32 or int64 integers ({e})") from None
    if a.dtype.kind == "i" and a.itemsize <= 4 or a.dtype.kind == "u" and a.itemsize <= 2:
        dtype = np.int32
    elif a.dtype.kind in "iu" or (a.size == 0 and a.dtype.kind == "f"):  # [] reads as float64
        dtype = np.int64
    else:
        raise TypeError(f"{op}: indices must be int32 or int64 integers, got an array of dtype {a.dtype}")
    try:
        return _core.constant(a, dtype)
    except (TypeError, ValueError, MemoryError) as e:
        raise _named(op, e) from None


def _slice(x: "_core.Tensor", windows: List[int], out_shape: Sequence[int]) -> "_core.Tensor":
    """The engine's strided slice: windows (begin, count, step) per axis, then the result's shape."""
    return _core._strided_slice(x, windows + list(out_shape))


# ---------------------------------------------------------------------------------------------
# Tensor.__getitem__
# ---------------------------------------------------------------------------------------------

_GETITEM = "__getitem__"


def _advanced(item: Any) -> TypeError:
    return TypeError(
        f"{_GETITEM}: only integers, slices (`:`), ellipsis (`...`) and None (newaxis) are valid indices, "
        f"got {type(item).__name__}; to pick elements by an index tensor use tapegrad.gather")


def _key_int(item: Any) -> Optional[int]:
    """The int an index item stands for, or None when it is not an integer index."""
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    if isinstance(item, (_Tensor, _Variable)):
        if item.ndim == 0 and item.dtype in _INT_DTYPES:
            return int(item)
        raise _advanced(item)
    if isinstance(item, (bool, np.bool_, np.ndarray, list, tuple, float, slice)) or item is None or item is Ellipsis:
        if isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "iu":
            return int(item)
        return None
    try:
        return operator.index(item)
    except TypeError:
        return None


def _int_start(n: int, axis: int, shape: tuple) -> int:
    """Where index ``n`` of ``axis`` starts; IndexError naming the axis outside [-size, size)."""
    size = shape[axis]
    if not -size <= n < size:
        raise IndexError(f"{_GETITEM}: index {n} is out of range for axis {axis} of size {size} "
                         f"(tensor of shape {shape}; expected {-size} <= index < {size})")
    return n + size if n < 0 else n


def getitem(x: Any, key: Any) -> "_core.Tensor":
    """``x[key]`` with numpy's basic indexing: ints (negative count from the end), slices with any
    step (negative too) and bounds (clipped as numpy clips them), ``...`` and ``None`` (a new axis
    of size 1). The result and its gradient (the incoming gradient scattered into zeros of x's
    shape) equal numpy's. An int outside ``[-size, size)`` is an IndexError naming the axis;
    arrays, lists and tensors of indices are a TypeError: use ``tapegrad.gather``."""
    t = x.read_value() if isinstance(x, _Variable) else x
    shape = t.shape
    rank = len(shape)
    if type(key) is int and rank:  # the common x[i]: one window, the other axes whole
        windows = [_int_start(key, 0, shape), 1, 1]
        for size in shape[1:]:
            windows += (0, size, 1)
        return _core._strided_slice(t, windows + list(shape[1:]))
    items = key if isinstance(key, tuple) else (key,)
    ints = [None] * len(items)
    used = 0
    ellipsis = -1
    for i, item in enumerate(items):
        if item is None:
            continue
        if item is Ellipsis:
            if ellipsis >= 0:
                raise IndexError(f"{_GETITEM}: an index can only have a single ellipsis ('...')")
            ellipsis = i
            continue
        if isinstance(item, slice):
            used += 1
            continue
        n = _key_int(item)
        if n is None:
            raise _advanced(item)
        ints[i] = n
        used += 1
    if used > rank:
        raise IndexError(f"{_GETITEM}: too many indices for a tensor of shape {shape}: it has {rank} axes "
                         f"but {used} were indexed")
    windows: List[int] = []
    out: List[int] = []
    axis = 0
    for i, item in enumerate(items):
        if item is None:
            out.append(1)
        elif item is Ellipsis:
            for _ in range(rank - used):
                windows += (0, shape[axis], 1)
                out.append(shape[axis])
                axis += 1
        elif isinstance(item, slice):
            size = shape[axis]
            try:
                start, stop, step = item.indices(size)
            except (TypeError, ValueError) as e:
                raise type(e)(f"{_GETITEM}: bad slice {item!r} for axis {axis} of size {size}: {e}") from None
            count = len(range(start, stop, step))
            # the step matters only between two elements (so it is then at most the size)
            windows += (start if count else 0, count, step if count > 1 else 1)
            out.append(count)
            axis += 1
        else:
            windows += (_int_start(ints[i], axis, shape), 1, 1)
            axis += 1
    while axis < rank:
        windows += (0, shape[axis], 1)
        out.append(shape[axis])
        axis += 1
    if len(out) > 8:
        raise IndexError(f"{_GETITEM}: the key {key!r} gives a result of rank {len(out)}; the maximum is 8")
    return _slice(t, windows, out)


def _rows(x: Any, op: str) -> "_core.Tensor":
    """The tensor whose first axis ``op`` walks; a 0-d tensor has none (TensorFlow's TypeError)."""
    t = x.read_value() if isinstance(x, _Variable) else x
    if t.ndim == 0:
        raise TypeError(f"{op}: Cannot iterate over a scalar tensor.")
    return t


def _iterate(x: Any) -> Iterator["_core.Tensor"]:
    """The slices ``x[0], x[1], ...`` along the first axis (a Variable's value when iteration
    starts); a 0-d tensor is not iterable."""
    t = _rows(x, "iter")
    return (getitem(t, i) for i in range(t.shape[0]))


def _reversed(x: Any) -> Iterator["_core.Tensor"]:
    """The slices along the first axis, last first; a 0-d tensor is not iterable."""
    t = _rows(x, "reversed")
    return (getitem(t, i) for i in range(t.shape[0] - 1, -1, -1))


_Tensor.__getitem__ = getitem
_Tensor.__iter__ = _iterate
_Tensor.__reversed__ = _reversed
_Variable.__getitem__ = getitem
_Variable.__iter__ = _iterate
_Variable.__reversed__ = _reversed


# ---------------------------------------------------------------------------------------------
# gather, one_hot
# ---------------------------------------------------------------------------------------------

def gather(params: Any, indices: Any, axis: Any = None, batch_dims: int = 0) -> "_core.Tensor":
    """Slices of ``params`` at ``indices`` along ``axis``, as ``tf.gather``: the result has shape
    ``params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:]``. Indices are
    int32 or int64 of any shape; each must lie in ``[0, params.shape[axis])`` (IndexError
    otherwise: nothing is read outside params). The first ``batch_dims`` axes of ``indices`` and
    ``params`` are matched (a gather per batch element); ``axis`` defaults to ``batch_dims``.
    The gradient adds each incoming row into zeros of params' shape where it was taken, so
    repeated indices accumulate; indices get no gradient."""
    op = "gather"
    p = _tensor(params, op)
    idx = _indices(indices, op)
    b = _int(batch_dims, op, "batch_dims")
    a = b if axis is None else _int(axis, op, "axis")
    return _core._gather(p, idx, [a, b])


def _value_dtype(value: Any) -> Optional[np.dtype]:
    """The dtype a given on_value/off_value fixes, as TensorFlow reads it."""
    if value is None:
        return None
    if isinstance(value, (_Tensor, _Variable, np.ndarray, np.generic)):
        return np.dtype(value.dtype)
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, int):
        return np.dtype(np.int32)
    return np.dtype(np.float32)


def one_hot(indices: Any, depth: int, on_value: Any = None, off_value: Any = None, axis: Optional[int] = None,
            dtype: Any = None) -> "_core.Tensor":
    """``on_value`` where ``indices`` equals the position along a new axis of size ``depth``, else
    ``off_value`` (defaults 1 and 0), as ``tf.one_hot``: the new axis goes at ``axis`` (default
    -1, the last). An index outside ``[0, depth)`` gives a row of ``off_value``. The dtype is
    ``dtype``, else that of a given ``on_value``/``off_value``, else float32. Not differentiable
    (no gradient flows to any argument, as in TensorFlow)."""
    op = "one_hot"
    idx = _indices(indices, op)
    d = _int(depth, op, "depth")
    ax = -1 if axis is None else _int(axis, op, "axis")
    if dtype is not None:
        try:
            dt = np.dtype(_core.constant(0, dtype).dtype)
        except (TypeError, ValueError) as e:
            raise _named(op, e) from None
    else:
        dt = _value_dtype(on_value) or _value_dtype(off_value) or np.dtype(np.float32)
    values = []
    for name, value, default in (("off_value", off_value, 0), ("on_value", on_value, 1)):
        if value is None:
            value = default
        given = _value_dtype(value)
        if given != dt and (isinstance(value, (_Tensor, _Variable, np.ndarray, np.generic))
                            or (given.kind == "f" and dt.kind != "f")):
            raise TypeError(f"{op}: {name} {value!r} is not a {dt} value (the result's dtype)")
        try:
            v = _core.convert_to_tensor(value, dt)
        except (TypeError, ValueError, MemoryError) as e:
            raise _named(op, e) from None
        if v.ndim != 0:
            raise ValueError(f"{op}: {name} must be a scalar, got shape {v.shape}")
        values.append(v.numpy())
    return _core._one_hot(idx, _core.constant(np.array(values, dtype=dt), dt), [d, ax])


# ---------------------------------------------------------------------------------------------
# pad, split, unstack
# ---------------------------------------------------------------------------------------------

def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", constant_values: Any = 0) -> "_core.Tensor":
    """``tensor`` inside a border: ``paddings[d] = [before, after]`` values of ``constant_values``
    on each side of axis ``d`` (shape ``[rank, 2]``, entries >= 0), as ``tf.pad``. Only
    ``mode="CONSTANT"`` is implemented ("REFLECT" and "SYMMETRIC" are a ValueError). The gradient
    is the incoming gradient's interior; ``constant_values`` gets none."""
    op = "pad"
    t = _tensor(tensor, op)
    if not isinstance(mode, str):
        raise TypeError(f"{op}: mode must be a string, got {type(mode).__name__}")
    if mode.upper() != "CONSTANT":
        known = mode.upper() in ("REFLECT", "SYMMETRIC")
        raise ValueError(f"{op}: mode {mode!r} is " + ("not implemented" if known else "unknown") +
                         "; only 'CONSTANT' is supported")
    if isinstance(paddings, (str, bytes)) or paddings is None:
        raise TypeError(f"{op}: paddings must be integers of shape [{t.ndim}, 2], got {paddings!r}")
    try:
        p = np.asarray(paddings)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: paddings must be integers of shape [{t.ndim}, 2] ({e})") from None
    if p.dtype.kind not in "iu" and not (p.size == 0 and p.dtype.kind == "f"):
        raise TypeError(f"{op}: paddings must be integers of shape [{t.ndim}, 2], got dtype {p.dtype}")
    if p.shape != (t.ndim, 2) and not (t.ndim == 0 and p.size == 0):
        raise ValueError(f"{op}: paddings must have shape [{t.ndim}, 2] for a tensor of shape {t.shape}, "
                         f"got shape {list(p.shape)}")
    c = constant_values
    if isinstance(c, (_Tensor, _Variable, np.ndarray, np.generic)):
        arr = np.asarray(c)
        if arr.size != 1:
            raise ValueError(f"{op}: constant_values must be a scalar, got shape {arr.shape}")
        c = arr.reshape(()).item()
    if isinstance(c, bool):
        c = int(c)
    if not isinstance(c, (int, float)):
        raise TypeError(f"{op}: constant_values must be a number, got {type(c).__name__}")
    if isinstance(c, int) and abs(c) > 2 ** 53:  # the engine carries it as a float64
        raise ValueError(f"{op}: constant_values {c} is too large (|value| <= 2**53 is supported)")
    try:
        return _core._pad(t, [int(v) for v in p.reshape(-1)], c)
    except (TypeError, ValueError, MemoryError) as e:
        raise _named(op, e) from None


def _cut_along(value: Any, axis: Any, op: str):
    """(tensor, shape, normalised axis) of split's and unstack's argument; a scalar has no axis."""
    t = _tensor(value, op)
    if t.ndim == 0:
        raise ValueError(f"{op}: cannot {op} a scalar (shape ())")
    return t, t.shape, _axis(axis, t.ndim, op, t.shape)


def _window(shape: tuple, a: int, begin: int, size: int) -> List[int]:
    """(begin, count, step) per axis: [begin, begin + size) along axis a, everything elsewhere."""
    windows: List[int] = []
    for d, dim in enumerate(shape):
        windows += (begin, size, 1) if d == a else (0, dim, 1)
    return windows


def split(value: Any, num_or_size_splits: Any, axis: Any = 0) -> List["_core.Tensor"]:
    """Pieces of ``value`` along ``axis``, as ``tf.split``: ``num_or_size_splits`` is a count of
    equal pieces (which must divide the axis) or a list of piece sizes summing to the axis's size,
    one of which may be -1 (the rest). Returns a list of tensors; each piece's gradient flows
    back to its part of ``value``."""
    op = "split"
    t, shape, a = _cut_along(value, axis, op)
    n = shape[a]
    spec = num_or_size_splits
    if isinstance(spec, (list, tuple)) or (isinstance(spec, (np.ndarray, _Tensor, _Variable)) and spec.ndim != 0):
        sizes = _int_list(num_or_size_splits, op, "num_or_size_splits")
        if not sizes:
            raise ValueError(f"{op}: num_or_size_splits must not be empty")
        unknown = [i for i, s in enumerate(sizes) if s == -1]
        if len(unknown) > 1 or any(s < -1 for s in sizes):
            raise ValueError(f"{op}: sizes {sizes} must be >= 0, with at most one -1")
        known = sum(s for s in sizes if s != -1)
        if unknown and known <= n:
            sizes[unknown[0]] = n - known
        elif unknown or known != n:
            raise ValueError(f"{op}: sizes {sizes} do not sum to {n}, the size of axis {a} of the tensor of "
                             f"shape {shape}")
    else:
        count = _int(num_or_size_splits, op, "num_or_size_splits")
        if count <= 0 or n % count:
            raise ValueError(f"{op}: cannot split axis {a} of size {n} (tensor of shape {shape}) into {count} "
                             "equal pieces")
        try:  # an empty axis splits into any count of empty pieces
            sizes = [n // count] * count
        except (OverflowError, MemoryError):
            raise MemoryError(f"{op}: {count} pieces of axis {a} (tensor of shape {shape}) are too many") from None
    pieces = []
    begin = 0
    for size in sizes:
        pieces.append(_slice(t, _window(shape, a, begin, size), shape[:a] + (size,) + shape[a + 1:]))
        begin += size
    return pieces


def unstack(value: Any, num: Optional[int] = None, axis: Any = 0) -> List["_core.Tensor"]:
    """The slices of ``value`` along ``axis``, that axis removed, as ``tf.unstack``: a list of
    ``value.shape[axis]`` tensors (``num``, when given, must equal it)."""
    op = "unstack"
    t, shape, a = _cut_along(value, axis, op)
    n = shape[a]
    if num is not None and _int(num, op, "num") != n:
        raise ValueError(f"{op}: num={num} but axis {a} of the tensor of shape {shape} has size {n}")
    out_shape = shape[:a] + shape[a + 1:]
    return [_slice(t, _window(shape, a, i, 1), out_shape) for i in range(n)]
