"""``GradientDescent``: plain stochastic gradient descent, ``var -= learning_rate * grad``.

The update itself runs in C++ (``_core.sgd_update``), which checks every
(variable, gradient) pair before it changes any variable, so a bad pair leaves all
variables as they were. This module only sorts out ``None`` gradients and argument
errors; it does no per-element work in Python.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

from . import _core

__all__ = ["GradientDescent"]


def _check_learning_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"GradientDescent: learning_rate must be a positive finite number, got {type(value).__name__}"
        )
    lr = float(value)
    if not (math.isfinite(lr) and lr > 0.0):
        raise ValueError(f"GradientDescent: learning_rate must be a positive finite number, got {value!r}")
    return lr


def _var_name(var: Any) -> str:
    name = getattr(var, "name", None)
    return name if isinstance(name, str) else repr(var)


class GradientDescent:
    """Gradient descent optimizer (TF's ``GradientDescentOptimizer``).

    Args:
        learning_rate: a positive finite number.
    """

    def __init__(self, learning_rate: float) -> None:
        self._lr = _check_learning_rate(learning_rate)

    @property
    def learning_rate(self) -> float:
        """The step size; assigning a new value validates it."""
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._lr = _check_learning_rate(value)

    def apply_gradients(self, grads_and_vars: Iterable[Tuple[Any, Any]]) -> None:
        """Apply ``var -= learning_rate * grad`` for each ``(grad, var)`` pair.

        Pairs whose gradient is ``None`` are skipped. Every remaining pair is validated
        (shape and dtype equal) before any variable changes.

        Raises:
            ValueError: every gradient is ``None`` (or there are no pairs), or a shape mismatch.
            TypeError: an item is not a ``(grad, var)`` pair, a var is not a Variable,
                or a dtype mismatch.
        """
        variables: List[Any] = []
        grads: List[Any] = []
        skipped: List[Any] = []
        try:
            for grad, var in grads_and_vars:
                if grad is None:
                    skipped.append(var)
                else:
                    grads.append(grad)
                    variables.append(var)
        except (TypeError, ValueError) as e:
            # Only the iteration/unpacking above can raise here.
            raise TypeError(
                f"apply_gradients: expected an iterable of (gradient, variable) pairs: {e}"
            ) from e
        if not variables:
            names = [_var_name(v) for v in skipped]
            raise ValueError(f"No gradients provided for any variable: {names}")
        _core.sgd_update(variables, grads, self._lr)

    def minimize(self, loss_fn: Callable[[], Any], var_list: Optional[Sequence[Any]] = None):
        """Compute the gradients of ``loss_fn()`` and apply them; return the loss value.

        Args:
            loss_fn: a callable taking no arguments that returns the loss.
            var_list: the Variables to update. ``None`` means every trainable Variable
                read while ``loss_fn`` ran (as ``implicit_value_and_gradients`` finds them).

        Raises:
            TypeError: ``loss_fn`` is not callable, or ``var_list`` is not a sequence of Variables.
            ValueError: ``var_list`` is empty, or no variable received a gradient.
        """
        if not callable(loss_fn):
            raise TypeError(f"GradientDescent.minimize: loss_fn must be a callable, got {type(loss_fn).__name__}")
        if var_list is None:
            value, grads_and_vars = _implicit_value_and_gradients()(loss_fn)()
            self.apply_gradients(grads_and_vars)
            return value

        try:
            variables = list(var_list) if not isinstance(var_list, _core.Variable) else [var_list]
        except TypeError:
            raise TypeError(
                "GradientDescent.minimize: var_list must be a Variable or a sequence of Variables, "
                f"got {type(var_list).__name__}"
            ) from None
        if not variables:
            raise ValueError("GradientDescent.minimize: var_list is empty")
        for v in variables:
            if not isinstance(v, _core.Variable):
                raise TypeError(
                    f"GradientDescent.minimize: var_list must contain Variables, got {type(v).__name__}"
                )
        with _gradient_tape()(watch_accessed_variables=False) as tape:
            tape.watch(variables)
            value = loss_fn()
        if value is None:
            raise ValueError("GradientDescent.minimize: loss_fn returned None")
        grads = tape.gradient(value, variables)
        self.apply_gradients(zip(grads, variables))
        return value

    def __repr__(self) -> str:
        return f"<tapegrad.GradientDescent learning_rate={self._lr!r}>"


# The tape and the gradient wrappers live in sibling modules that may themselves import
# this one through the package __init__; import them on first use, then keep them.
_cache: dict = {}


def _implicit_value_and_gradients():
    fn = _cache.get("ivag")
    if fn is None:
        from .gradients import implicit_value_and_gradients as fn

        _cache["ivag"] = fn
    return fn


def _gradient_tape():
    cls = _cache.get("tape")
    if cls is None:
        from .tape import GradientTape as cls

        _cache["tape"] = cls
    return cls
