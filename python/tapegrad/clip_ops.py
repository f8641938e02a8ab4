"""Clipping, composed of registry ops (so its gradient comes from theirs)."""
from __future__ import annotations

from typing import Any

from . import _core

__all__ = ["clip_by_value"]


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any) -> "_core.Tensor":
    """``min(max(t, clip_value_min), clip_value_max)``, elementwise with broadcasting, as
    ``tf.clip_by_value``. The gradient flows to ``t`` where it is inside the bounds (the bounds
    included) and to a bound where it is the value."""
    try:
        return _core.minimum(_core.maximum(t, clip_value_min), clip_value_max)
    except (TypeError, ValueError, MemoryError) as e:  # the message names this function, not its parts
        raise type(e)(f"clip_by_value: {e}") from None
