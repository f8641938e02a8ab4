"""Pickling and copying of ``Tensor`` and ``Variable``.

A pickled Tensor is a call of :func:`_rebuild_tensor` on a numpy array of its values; a pickled
Variable is a call of :func:`_rebuild_variable` on its values, its name and ``trainable``. So
unpickling runs numpy's own array reconstruction and then one of these two functions, which accept
nothing but a plain ``numpy.ndarray`` of a tapegrad dtype (float32, float64, int32, int64, bool;
either byte order), a ``str`` name and a ``bool``: any other state is a TypeError or ValueError
that names the function. The array travels as numpy pickles it, so pickle protocol 5 can hand its
buffer out of band.

Copying follows TensorFlow: a Tensor is immutable, so ``copy.copy`` and ``copy.deepcopy`` return
it; ``copy.copy`` of a Variable returns the same Variable, and ``copy.deepcopy`` a new Variable with
a copy of the current value, the same name and the same ``trainable`` (its updates and the
original's are independent). Neither pickling nor copying reads a Variable in the tape's sense:
no tape starts watching it.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from . import _core

_Tensor = _core.Tensor
_Variable = _core.Variable
_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64, np.bool_))
_MAX_RANK = 8
_NAME_SUFFIX = ":0"  # every Variable name ends with it (Variable(name="w").name == "w:0")


def _checked_array(value: Any, op: str) -> np.ndarray:
    """``value`` when it is a plain ndarray of a tapegrad dtype (in native byte order)."""
    if type(value) is not np.ndarray:
        raise TypeError(f"{op}: the pickled state must be a numpy.ndarray, got {type(value).__name__}")
    dtype = value.dtype.newbyteorder("=")
    if dtype not in _DTYPES:
        raise TypeError(f"{op}: the pickled array must be float32, float64, int32, int64 or bool, got dtype "
                        f"{value.dtype}")
    if value.ndim > _MAX_RANK:
        raise ValueError(f"{op}: the pickled array has rank {value.ndim}; the maximum is {_MAX_RANK}")
    return value.astype(dtype, copy=False)


def _rebuild_tensor(value: Any) -> "_core.Tensor":
    """The Tensor a pickle holds: ``value`` is the array of its values (copied, so a buffer the
    caller passed out of band may change afterwards)."""
    array = _checked_array(value, "_rebuild_tensor")
    return _core.constant(array, array.dtype)


def _rebuild_variable(value: Any, name: Any, trainable: Any) -> "_core.Variable":
    """The Variable a pickle holds: its values, its full name (ending in ':0') and trainable."""
    op = "_rebuild_variable"
    array = _checked_array(value, op)
    if type(name) is not str or not name.endswith(_NAME_SUFFIX) or name == _NAME_SUFFIX:
        raise ValueError(f"{op}: the pickled name must be a str ending in '{_NAME_SUFFIX}', got {name!r}")
    if type(trainable) is not bool:
        raise TypeError(f"{op}: the pickled trainable must be a bool, got {trainable!r}")
    return _core.Variable(array, trainable=trainable, name=name[:-len(_NAME_SUFFIX)], dtype=array.dtype)


def _tensor_reduce(self: "_core.Tensor") -> Tuple[Any, Tuple[np.ndarray]]:
    return _rebuild_tensor, (self.numpy(),)


def _variable_reduce(self: "_core.Variable") -> Tuple[Any, Tuple[np.ndarray, str, bool]]:
    return _rebuild_variable, (self.numpy(), self.name, self.trainable)


def _same(self: Any, memo: Any = None) -> Any:
    return self


def _variable_deepcopy(self: "_core.Variable", memo: Dict[int, Any]) -> "_core.Variable":
    # Variable() copies the array into storage of its own
    return _core.Variable(self.numpy(), trainable=self.trainable, name=self.name[:-len(_NAME_SUFFIX)],
                          dtype=self.dtype)


_Tensor.__reduce__ = _tensor_reduce
_Tensor.__copy__ = _same
_Tensor.__deepcopy__ = _same
_Variable.__reduce__ = _variable_reduce
_Variable.__copy__ = _same
_Variable.__deepcopy__ = _variable_deepcopy
