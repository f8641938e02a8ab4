"""Optimizers with TensorFlow 1.x ``tf.train`` semantics: ``GradientDescent``, ``Momentum``,
``Adam`` and ``RMSProp``, on one base class, ``Optimizer``.

The updates run in C++ (``_core.sgd_update``, ``momentum_update``, ``adam_update``,
``rmsprop_update``): one fused pass per variable over the variable, its gradient and its slots,
in the variable's dtype, after every (variable, gradient, slots) group has been checked, so a bad
pair anywhere leaves every variable and slot as it was. This module sorts out ``None`` gradients,
argument errors and the slots; it does no per-element work in Python.

Slots are non-trainable Variables created on a variable's first update, named
``"<variable>/<optimizer name>/<slot>:0"``: the slot ``"m"`` of ``dense/kernel:0`` under an
``Adam`` optimizer is ``dense/kernel/Adam/m:0``. (TensorFlow names them ``dense/kernel/Adam:0``,
``dense/kernel/Adam_1:0``; spelling the slot out says which is which.)
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

__all__ = ["Optimizer", "GradientDescent", "Momentum", "Adam", "RMSProp"]

LearningRate = Union[float, Callable[[], Any]]


# ---------------------------------------------------------------------------------------------
# Argument checks: messages start with the optimizer's name
# ---------------------------------------------------------------------------------------------

def _real(value: Any, what: str, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {what} must be a number, got {type(value).__name__}")
    return float(value)


def _check_positive(value: Any, what: str, who: str) -> float:
    x = _real(value, what, who)
    if not (math.isfinite(x) and x > 0.0):
        raise ValueError(f"{who}: {what} must be a positive finite number, got {value!r}")
    return x


def _check_fraction(value: Any, what: str, who: str) -> float:
    x = _real(value, what, who)
    if not (0.0 <= x < 1.0):
        raise ValueError(f"{who}: {what} must be in [0, 1), got {value!r}")
    return x


def _check_flag(value: Any, what: str, who: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{who}: {what} must be a bool, got {type(value).__name__}")
    return value


def _check_learning_rate(value: Any, who: str) -> LearningRate:
    """A positive finite number, or a callable with no arguments that returns one at each update."""
    if callable(value) and not isinstance(value, (_core.Tensor, _core.Variable)):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{who}: learning_rate must be a positive finite number or a callable returning one, "
            f"got {type(value).__name__}"
        )
    return _check_positive(value, "learning_rate", who)


def _learning_rate_value(value: Any, who: str) -> float:
    """What a callable learning rate returned: a number, or a 0-d float Tensor or array."""
    if isinstance(value, (_core.Tensor, np.ndarray, np.generic)) and not isinstance(value, bool):
        if tuple(value.shape) == () and np.dtype(value.dtype).kind == "f":
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{who}: learning_rate() must return a positive finite number, got {type(value).__name__}"
        )
    x = float(value)
    if not (math.isfinite(x) and x > 0.0):
        raise ValueError(f"{who}: learning_rate() must return a positive finite number, got {value!r}")
    return x


def _check_name(value: Any, who: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{who}: name must be a non-empty string, got {value!r}")
    return value


def _var_name(var: Any) -> str:
    name = getattr(var, "name", None)
    return name if isinstance(name, str) else repr(var)


def _base_name(var: Any) -> str:
    name = var.name
    return name[:-2] if name.endswith(":0") else name


# ---------------------------------------------------------------------------------------------
# The base class
# ---------------------------------------------------------------------------------------------

class Optimizer:
    """The shared part of every optimizer: argument checks, ``None`` skipping, slots, ``minimize``.

    A subclass names its slots and their initial values in ``_SLOTS`` and implements
    ``_apply(variables, gradients, slots, learning_rate)``, where ``slots[k]`` lists slot ``k`` of
    each variable; it receives only checked arguments and must change nothing if it raises.

    The Momentum, Adam and RMSProp updates flush subnormal results and operands to zero, as
    TensorFlow's and XLA's CPU kernels do: a slot that decays under zero gradients stops at the
    bottom of the normal range (or at zero) instead of lingering in the slow subnormal range.

    Args:
        learning_rate: a positive finite number, or a callable with no arguments returning one,
            called once per ``apply_gradients`` (as TensorFlow does).
        name: the optimizer's name, used in the names of its slot Variables.
    """

    #: (slot name, initial value) in the order the slots of one variable are created.
    _SLOTS: Tuple[Tuple[str, float], ...] = ()
    #: True when ``_apply`` passes ``iterations=self._step`` to an engine update, which counts the
    #: step; otherwise ``apply_gradients`` counts it after ``_apply`` returns.
    _COUNTS_STEPS = False

    def __init__(self, learning_rate: LearningRate, name: str) -> None:
        who = type(self).__name__
        if type(self) is Optimizer:
            raise TypeError("Optimizer: an abstract base class; use GradientDescent, Momentum, Adam, RMSProp "
                            "or a subclass that implements _apply")
        self._lr = _check_learning_rate(learning_rate, who)
        self._name = _check_name(name, who)
        # A numeric learning rate is also kept in the engine, where a tg.function replay reads it,
        # so assigning optimizer.learning_rate takes effect in compiled steps too.
        self._lr_var = _core.Variable(np.asarray(0.0 if callable(self._lr) else self._lr, np.float64),
                                      trainable=False, name=f"{self._name}/learning_rate", dtype="float64")
        # The step counter lives in the engine, so a tg.function replay counts its updates too.
        self._step = _core.Variable(np.zeros((), np.int64), trainable=False, name=f"{self._name}/iter",
                                    dtype="int64")
        # Each variable's slots (in _SLOTS order), keyed by id(variable); the variable is kept with
        # them so the id is never reused while the slots live.
        self._slots: Dict[int, Tuple[Any, Tuple[Any, ...]]] = {}
        self._slot_variables: List[Any] = []
        # The last successful call's variables and slot lists: a training loop passes the same
        # variables at every step, and then finds its slot lists without a lookup per variable.
        self._last_variables: List[Any] = []
        self._last_slots: List[List[Any]] = []
        # Slot values a tg.Checkpoint restored before the slots existed (see checkpoint.py).
        self._checkpoint_deferred: Any = None

    # -- properties

    @property
    def learning_rate(self) -> LearningRate:
        """The step size (a number or a callable); assigning a new value validates it."""
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        self._lr = _check_learning_rate(value, type(self).__name__)
        if not callable(self._lr):
            self._lr_var.assign(np.asarray(self._lr, np.float64))

    @property
    def name(self) -> str:
        """The optimizer's name (the middle part of its slots' names)."""
        return self._name

    @property
    def iterations(self) -> int:
        """How many ``apply_gradients`` calls have updated variables (failed calls do not count)."""
        return int(np.asarray(self._step))

    # -- slots

    def get_slot_names(self) -> List[str]:
        """The names of the slots created so far, sorted (as TensorFlow; empty before the first
        update). Each variable gets every slot of ``_SLOTS`` on its first update."""
        return sorted(name for name, _ in self._SLOTS) if self._slots else []

    def get_slot(self, var: Any, name: str) -> Optional[Any]:
        """The slot Variable ``name`` of ``var``; ``None`` if ``var`` has none yet (as TensorFlow)."""
        entry = self._slots.get(id(var))
        if entry is None:
            return None
        for (slot_name, _), slot in zip(self._SLOTS, entry[1]):
            if slot_name == name:
                return slot
        return None

    def variables(self) -> List[Any]:
        """The slot Variables, in creation order (slots are created on a variable's first update)."""
        return list(self._slot_variables)

    def _slots_of(self, var: Any, created: List[int]) -> Tuple[Any, ...]:
        key = id(var)
        entry = self._slots.get(key)
        if entry is None:
            base = f"{_base_name(var)}/{self._name}"
            restored = (self._checkpoint_deferred.values(var, [name for name, _ in self._SLOTS])
                        if self._checkpoint_deferred is not None else None)
            slots = tuple(
                _core.Variable(np.full(var.shape, init, var.dtype) if restored is None else restored[i],
                               trainable=False, name=f"{base}/{slot_name}", dtype=var.dtype)
                for i, (slot_name, init) in enumerate(self._SLOTS)
            )
            entry = self._slots[key] = (var, slots)
            self._slot_variables.extend(slots)
            created.append(key)
        return entry[1]

    def _forget(self, created: List[int]) -> None:
        for key in created:
            _, slots = self._slots.pop(key)
            dead = {id(s) for s in slots}
            self._slot_variables = [s for s in self._slot_variables if id(s) not in dead]

    # -- updates

    def _current_learning_rate(self) -> float:
        lr = self._lr
        if callable(lr):
            if _core._tracing():
                raise ValueError(
                    f"{type(self).__name__}.apply_gradients: a callable learning_rate cannot be traced by "
                    f"tg.function: it would be called once, when tracing, and every replay would reuse "
                    f"that value; set optimizer.learning_rate to a number before each call instead "
                    f"(compiled steps read the number when they run)")
            return _learning_rate_value(lr(), type(self).__name__)
        return lr

    def _apply(self, variables: List[Any], gradients: List[Any], slots: List[List[Any]],
               learning_rate: float) -> None:
        raise NotImplementedError

    def _engine_learning_rate(self, learning_rate: float) -> Any:
        """What the engine updates take: the learning-rate Variable for a numeric rate (read again
        by every replay of a traced step), the value itself for a callable one."""
        return learning_rate if callable(self._lr) else self._lr_var

    def apply_gradients(self, grads_and_vars: Iterable[Tuple[Any, Any]]) -> None:
        """Apply one update to each ``(gradient, variable)`` pair.

        Pairs whose gradient is ``None`` are skipped. Every remaining pair is checked (a Variable
        of a float dtype, a gradient of its shape and dtype) before any variable or slot changes;
        a failed call changes nothing and does not count in ``iterations``.

        Raises:
            ValueError: every gradient is ``None`` (or there are no pairs), a shape mismatch, or a
                callable learning rate returned a bad value.
            TypeError: an item is not a ``(grad, var)`` pair, a var is not a Variable, a var is not
                of a float dtype, or a dtype mismatch.
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
        last = self._last_variables
        same = len(last) == len(variables) and all(map(operator.is_, last, variables))
        if not same:
            for var in variables:
                if not isinstance(var, _core.Variable):
                    raise TypeError(f"apply_gradients: expected a Variable, got {type(var)!r}")
        lr = self._current_learning_rate()
        created: List[int] = []
        if same:
            slots = self._last_slots
        else:
            slots = [[] for _ in self._SLOTS]
        try:
            if not same and self._SLOTS:
                for var in variables:
                    for k, slot in enumerate(self._slots_of(var, created)):
                        slots[k].append(slot)
            self._apply(variables, grads, slots, lr)
        except BaseException:
            self._forget(created)
            raise
        if not same:
            self._last_variables, self._last_slots = variables, slots
        if not self._COUNTS_STEPS:
            self._step.assign_add(1)

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
        who = f"{type(self).__name__}.minimize"
        if not callable(loss_fn):
            raise TypeError(f"{who}: loss_fn must be a callable, got {type(loss_fn).__name__}")
        if var_list is None:
            value, grads_and_vars = _implicit_value_and_gradients()(loss_fn)()
            self.apply_gradients(grads_and_vars)
            return value

        try:
            variables = list(var_list) if not isinstance(var_list, _core.Variable) else [var_list]
        except TypeError:
            raise TypeError(
                f"{who}: var_list must be a Variable or a sequence of Variables, "
                f"got {type(var_list).__name__}"
            ) from None
        if not variables:
            raise ValueError(f"{who}: var_list is empty")
        for v in variables:
            if not isinstance(v, _core.Variable):
                raise TypeError(f"{who}: var_list must contain Variables, got {type(v).__name__}")
        with _gradient_tape()(watch_accessed_variables=False) as tape:
            tape.watch(variables)
            value = loss_fn()
        if value is None:
            raise ValueError(f"{who}: loss_fn returned None")
        grads = tape.gradient(value, variables)
        self.apply_gradients(zip(grads, variables))
        return value

    def _hyperparameters(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"<tapegrad.{type(self).__name__} learning_rate={self._lr!r}{self._hyperparameters()}>"


# ---------------------------------------------------------------------------------------------
# The optimizers
# ---------------------------------------------------------------------------------------------

class GradientDescent(Optimizer):
    """Gradient descent (TF's ``GradientDescentOptimizer``): ``var -= learning_rate * grad``.

    Args:
        learning_rate: a positive finite number, or a callable with no arguments returning one.
        name: the optimizer's name.
    """

    _COUNTS_STEPS = True

    def __init__(self, learning_rate: LearningRate, name: str = "GradientDescent") -> None:
        super().__init__(learning_rate, name)

    def _apply(self, variables, gradients, slots, learning_rate):
        _core.sgd_update(variables, gradients, self._engine_learning_rate(learning_rate),
                         iterations=self._step)


class Momentum(Optimizer):
    """Momentum (TF's ``MomentumOptimizer``, kernel ``ApplyMomentum``).

    With the slot ``accum`` ("momentum", starting at zeros)::

        accum = accum * momentum + grad
        var -= learning_rate * accum                                      # use_nesterov=False
        var -= grad * learning_rate + accum * momentum * learning_rate    # use_nesterov=True

    Args:
        learning_rate: a positive finite number, or a callable with no arguments returning one.
        momentum: the accumulator's decay, in [0, 1).
        use_nesterov: Nesterov's variant.
        name: the optimizer's name.
    """

    _SLOTS = (("momentum", 0.0),)

    _COUNTS_STEPS = True

    def __init__(self, learning_rate: LearningRate, momentum: float, use_nesterov: bool = False,
                 name: str = "Momentum") -> None:
        super().__init__(learning_rate, name)
        self._momentum = _check_fraction(momentum, "momentum", "Momentum")
        self._use_nesterov = _check_flag(use_nesterov, "use_nesterov", "Momentum")

    @property
    def momentum(self) -> float:
        return self._momentum

    @property
    def use_nesterov(self) -> bool:
        return self._use_nesterov

    def _apply(self, variables, gradients, slots, learning_rate):
        _core.momentum_update(variables, gradients, slots[0], self._engine_learning_rate(learning_rate),
                              self._momentum,
                              self._use_nesterov, iterations=self._step)

    def _hyperparameters(self) -> str:
        return f" momentum={self._momentum!r} use_nesterov={self._use_nesterov!r}"


class Adam(Optimizer):
    """Adam (TF's ``AdamOptimizer``, kernel ``ApplyAdam``).

    At step ``t`` (``iterations + 1``), with the slots ``m`` and ``v`` (starting at zeros)::

        alpha = learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t)
        m += (grad - m) * (1 - beta1)
        v += (grad * grad - v) * (1 - beta2)
        var -= m * alpha / (sqrt(v) + epsilon)

    ``epsilon`` is added outside the square root and after the bias correction, as TensorFlow
    does (PyTorch's Adam adds it to ``sqrt(v / (1 - beta2**t))``, a different rule unless
    epsilon is negligible). The powers ``beta1**t`` and ``beta2**t`` are computed in float64
    from ``iterations`` (TensorFlow keeps them in the non-slot variables ``beta1_power`` and
    ``beta2_power`` and multiplies them by beta at each step); ``alpha`` is then computed in the
    variable's dtype, as in TensorFlow's kernel.

    Args:
        learning_rate: a positive finite number, or a callable with no arguments returning one.
        beta1: the first moment's decay, in [0, 1).
        beta2: the second moment's decay, in [0, 1).
        epsilon: a positive finite number added to the denominator.
        name: the optimizer's name.
    """

    _SLOTS = (("m", 0.0), ("v", 0.0))

    _COUNTS_STEPS = True

    def __init__(self, learning_rate: LearningRate = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, name: str = "Adam") -> None:
        super().__init__(learning_rate, name)
        self._beta1 = _check_fraction(beta1, "beta1", "Adam")
        self._beta2 = _check_fraction(beta2, "beta2", "Adam")
        self._epsilon = _check_positive(epsilon, "epsilon", "Adam")

    @property
    def beta1(self) -> float:
        return self._beta1

    @property
    def beta2(self) -> float:
        return self._beta2

    @property
    def epsilon(self) -> float:
        return self._epsilon

    def _apply(self, variables, gradients, slots, learning_rate):
        _core.adam_update(variables, gradients, slots[0], slots[1],
                          self._engine_learning_rate(learning_rate), self._beta1, self._beta2, self._epsilon, iterations=self._step)

    def _hyperparameters(self) -> str:
        return f" beta1={self._beta1!r} beta2={self._beta2!r} epsilon={self._epsilon!r}"


class RMSProp(Optimizer):
    """RMSProp (TF's ``RMSPropOptimizer``, kernels ``ApplyRMSProp`` and ``ApplyCenteredRMSProp``).

    With the slots ``rms`` (starting at ONES, as TensorFlow), ``momentum`` (zeros) and, when
    centered, ``mg`` (zeros)::

        rms += (grad * grad - rms) * (1 - decay)
        mom = mom * momentum + grad * learning_rate / sqrt(rms + epsilon)        # centered=False
        mg += (grad - mg) * (1 - decay)                                         # centered=True
        mom = mom * momentum + grad * learning_rate / sqrt(rms - mg * mg + epsilon)
        var -= mom

    (PyTorch's RMSprop starts the mean square at zeros and adds epsilon outside the square root:
    a different rule.)

    Args:
        learning_rate: a positive finite number, or a callable with no arguments returning one.
        decay: the mean square's decay, in [0, 1).
        momentum: the update's momentum, in [0, 1).
        epsilon: a positive finite number added under the square root.
        centered: normalize by the estimated variance of the gradient instead of its mean square.
        name: the optimizer's name.
    """

    _COUNTS_STEPS = True

    def __init__(self, learning_rate: LearningRate, decay: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-10, centered: bool = False, name: str = "RMSProp") -> None:
        super().__init__(learning_rate, name)
        self._decay = _check_fraction(decay, "decay", "RMSProp")
        self._momentum = _check_fraction(momentum, "momentum", "RMSProp")
        self._epsilon = _check_positive(epsilon, "epsilon", "RMSProp")
        self._centered = _check_flag(centered, "centered", "RMSProp")
        self._SLOTS = (("rms", 1.0), ("momentum", 0.0)) + ((("mg", 0.0),) if self._centered else ())

    @property
    def decay(self) -> float:
        return self._decay

    @property
    def momentum(self) -> float:
        return self._momentum

    @property
    def epsilon(self) -> float:
        return self._epsilon

    @property
    def centered(self) -> bool:
        return self._centered

    def _apply(self, variables, gradients, slots, learning_rate):
        _core.rmsprop_update(variables, gradients, slots[0], slots[1],
                             slots[2] if self._centered else None,
                             self._engine_learning_rate(learning_rate), self._decay,
                             self._momentum, self._epsilon, iterations=self._step)

    def _hyperparameters(self) -> str:
        return (f" decay={self._decay!r} momentum={self._momentum!r} epsilon={self._epsilon!r}"
                f" centered={self._centered!r}")


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
