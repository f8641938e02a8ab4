"""Reductions composed of registry ops: their gradients, of any order, come from those ops."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

from . import _core

__all__ = ["reduce_logsumexp", "moments"]

_Axes = Union[None, int, Sequence[int]]


def reduce_logsumexp(input_tensor: Any, axis: _Axes = None, keepdims: bool = False) -> "_core.Tensor":
    """``log(sum(exp(x)))`` over ``axis``, computed stably as TensorFlow does: the maximum is
    taken out first (as a constant, it does not change the value), so large inputs give finite
    results; a maximum of ±inf is replaced by 0 so that all-(-inf) rows give -inf, not NaN."""
    try:
        input_tensor = _core.convert_to_tensor(input_tensor)
        if input_tensor.dtype.kind != "f":
            raise TypeError(f"{input_tensor.dtype} tensors are not supported (expected float32 or float64); "
                            "convert with tapegrad.cast")
        peak = _core.reduce_max(input_tensor, axis, True)
        peak = _core.stop_gradient(_core.maximum(_core.minimum(peak, _big(peak)), -_big(peak)))
        total = _core.reduce_sum(_core.exp(_core.subtract(input_tensor, peak)), axis, True)
        result = _core.add(_core.log(total), peak)
        return _core.reduce_sum(result, axis, False) if not keepdims else result
    except (TypeError, ValueError, MemoryError) as e:  # the message names this function, not its parts
        raise type(e)(f"reduce_logsumexp: {e}") from None


def _big(t: "_core.Tensor") -> float:
    """The largest finite value of t's dtype: infinite maxima are clipped to it."""
    import numpy as np
    return float(np.finfo(t.dtype).max)


def moments(x: Any, axes: Sequence[int], keepdims: bool = False) -> Tuple["_core.Tensor", "_core.Tensor"]:
    """Mean and variance of ``x`` over ``axes``, as ``tf.nn.moments``: the variance is the mean
    squared difference from the mean, which is held constant there (TensorFlow's formulation;
    the gradient is the same)."""
    try:
        mean = _core.reduce_mean(x, axes, True)
        variance = _core.reduce_mean(_core.squared_difference(x, _core.stop_gradient(mean)), axes, True)
        if not keepdims:
            mean = _core.reduce_sum(mean, axes, False)
            variance = _core.reduce_sum(variance, axes, False)
        return mean, variance
    except (TypeError, ValueError, MemoryError) as e:
        raise type(e)(f"moments: {e}") from None
