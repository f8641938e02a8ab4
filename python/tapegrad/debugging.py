"""``tg.debugging``: find where a NaN or an infinity starts (``tf.debugging``'s numerics checks).

``enable_check_numerics()`` makes the engine scan every op's floating output as soon as the op
has run, eagerly and inside backward passes (each backward rule's gradients too), and raise
``FloatingPointError`` at the first NaN or infinity, naming the op, its input shapes and the pass
(forward, or backward with the op whose gradient was being computed). Off (the default), the
engine does one flag check per op. ``check_numerics(x, message)`` checks one tensor as an op.

Under ``tg.function``, a replay checks the ops it runs through the op path; the elementwise chains
it fuses into one loop are not checked. Run the step eagerly to find the first op.
"""
from __future__ import annotations

from . import _core
from ._core import check_numerics

__all__ = ["enable_check_numerics", "disable_check_numerics", "check_numerics_enabled", "check_numerics"]


def enable_check_numerics() -> None:
    """From now on, the first op whose output holds a NaN or an infinity raises FloatingPointError."""
    _core._set_check_numerics(True)


def disable_check_numerics() -> None:
    """Stop checking op outputs (the default)."""
    _core._set_check_numerics(False)


def check_numerics_enabled() -> bool:
    """True between ``enable_check_numerics()`` and ``disable_check_numerics()``."""
    return bool(_core._check_numerics_enabled())
