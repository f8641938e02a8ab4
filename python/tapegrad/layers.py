"""``Dense``: a fully connected layer, ``outputs = activation(inputs @ kernel + bias)``.

As in Keras, the layer's Variables are created lazily on the first call, when the
input's last dimension is known; until then ``layer.variables == []``.
"""

from __future__ import annotations

import itertools
import math
import numbers
import operator
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import activations as _activations
from . import random as _random
from ._core import Tensor, Variable, add, cast, convert_to_tensor, matmul

__all__ = ["Dense"]

Initializer = Union[str, Callable[[Tuple[int, ...], np.dtype], Any]]

# Auto-generated layer names: "dense", "dense_1", ... unique per process.
_name_counter = itertools.count()


def _unique_dense_name() -> str:
    n = next(_name_counter)  # itertools.count is atomic under the GIL
    return "dense" if n == 0 else f"dense_{n}"


# ---------------------------------------------------------------------------
# initializers: (shape, dtype) -> numpy array or Tensor


def _fans(shape: Tuple[int, ...]) -> Tuple[int, int]:
    """fan_in, fan_out as Keras computes them (a 1-D shape uses its length for both)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[-2], shape[-1]


def _zeros(shape: Tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def _ones(shape: Tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return np.ones(shape, dtype=dtype)


def _glorot_uniform(shape: Tuple[int, ...], dtype: np.dtype):
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / max(1, fan_in + fan_out))
    return _random.uniform(shape, -limit, limit, dtype=dtype)


def _glorot_normal(shape: Tuple[int, ...], dtype: np.dtype):
    # Plain (untruncated) Glorot normal: stddev = sqrt(2 / (fan_in + fan_out)).
    fan_in, fan_out = _fans(shape)
    return _random.normal(shape, 0.0, math.sqrt(2.0 / max(1, fan_in + fan_out)), dtype=dtype)


def _random_normal(shape: Tuple[int, ...], dtype: np.dtype):
    return _random.normal(shape, 0.0, 0.05, dtype=dtype)  # Keras' default stddev


_INITIALIZERS: Dict[str, Callable[[Tuple[int, ...], np.dtype], Any]] = {
    "glorot_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "random_normal": _random_normal,
    "zeros": _zeros,
    "ones": _ones,
}


def _resolve_initializer(what: str, init: Initializer) -> Callable[[Tuple[int, ...], np.dtype], Any]:
    if isinstance(init, str):
        try:
            return _INITIALIZERS[init]
        except KeyError:
            known = ", ".join(repr(k) for k in _INITIALIZERS)
            raise ValueError(f"Dense: unknown {what} {init!r}; expected one of {known} or a callable") from None
    if callable(init):
        return init
    raise TypeError(f"Dense: {what} must be a string or a callable (shape, dtype) -> array, got {type(init).__name__}")


# ---------------------------------------------------------------------------


class Dense:
    """A densely connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        units: number of outputs (a positive int).
        activation: a name ("relu", "tanh", "sigmoid", "softmax", "softplus", "gelu", "elu",
            "relu6", "linear"), any callable applied to the result, or ``None`` for identity.
        use_bias: whether to add a bias vector.
        kernel_initializer: "glorot_uniform" (default), "glorot_normal", "random_normal",
            "zeros", "ones", or a callable ``(shape, dtype) -> array``.
        bias_initializer: same choices; default "zeros".
        name: the layer name; by default a unique "dense", "dense_1", ...

    The kernel (shape ``(in_dim, units)``) and bias (``(units,)``) are created on the first
    call, named ``"{name}/kernel"`` and ``"{name}/bias"``, with the input's float dtype
    (float32 if the input is not floating). Inputs must have rank >= 2; for rank > 2 the
    last axis is contracted. Later inputs of another float dtype are cast to the layer's.
    """

    def __init__(
        self,
        units: int,
        activation: Union[str, Callable[[Any], Any], None] = None,
        use_bias: bool = True,
        kernel_initializer: Initializer = "glorot_uniform",
        bias_initializer: Initializer = "zeros",
        name: Optional[str] = None,
    ) -> None:
        if isinstance(units, bool) or not isinstance(units, numbers.Integral):
            raise TypeError(f"Dense: units must be a positive integer, got {type(units).__name__}")
        if units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units}")
        resolved = _activations.get(activation, "Dense")
        if not isinstance(use_bias, (bool, np.bool_)):
            raise TypeError(f"Dense: use_bias must be a bool, got {type(use_bias).__name__}")
        if name is None:
            name = _unique_dense_name()
        elif not isinstance(name, str) or not name:
            raise TypeError(f"Dense: name must be a non-empty string or None, got {name!r}")

        self.units: int = int(units)
        # None for the identity, so the call skips it.
        self.activation = None if resolved is _activations.linear else resolved
        self.use_bias: bool = bool(use_bias)
        self.name: str = name
        self._kernel_init = _resolve_initializer("kernel_initializer", kernel_initializer)
        self._bias_init = _resolve_initializer("bias_initializer", bias_initializer)
        self._kernel: Optional[Variable] = None
        self._bias: Optional[Variable] = None
        self._dtype: Optional[np.dtype] = None

    # -- state -----------------------------------------------------------------

    @property
    def built(self) -> bool:
        """True once the variables exist (after the first call or ``build``)."""
        return self._kernel is not None

    @property
    def kernel(self) -> Optional[Variable]:
        """The ``(in_dim, units)`` weight Variable, or None before the first call."""
        return self._kernel

    @property
    def bias(self) -> Optional[Variable]:
        """The ``(units,)`` bias Variable, or None before the first call / without bias."""
        return self._bias

    @property
    def dtype(self) -> Optional[np.dtype]:
        """The variables' dtype, or None before the first call."""
        return self._dtype

    @property
    def variables(self) -> List[Variable]:
        """``[kernel, bias]`` (``[kernel]`` without bias); ``[]`` before the first call."""
        if self._kernel is None:
            return []
        return [self._kernel] if self._bias is None else [self._kernel, self._bias]

    @property
    def trainable_variables(self) -> List[Variable]:
        """The trainable ones among ``variables``."""
        return [v for v in self.variables if v.trainable]

    @property
    def non_trainable_variables(self) -> List[Variable]:
        """The non-trainable ones among ``variables``."""
        return [v for v in self.variables if not v.trainable]

    # -- building --------------------------------------------------------------

    def build(self, input_shape: Sequence[int], dtype: Any = np.float32) -> None:
        """Create the variables for inputs of ``input_shape`` (rank >= 2) and ``dtype``.

        Called by the first ``__call__``; call it yourself to create the variables early.
        Raises ValueError if the layer is already built.
        """
        if self._kernel is not None:
            raise ValueError(f"Dense: layer {self.name!r} is already built")
        try:
            shape = tuple(operator.index(d) for d in input_shape)
        except TypeError:
            raise TypeError(f"Dense: input_shape must be a sequence of ints, got {input_shape!r}") from None
        if len(shape) < 2:
            raise ValueError(
                f"Dense: layer {self.name!r} expects inputs of rank >= 2, got shape {shape}"
            )
        in_dim = shape[-1]
        if in_dim <= 0:
            raise ValueError(
                f"Dense: layer {self.name!r} needs a positive last input dimension, got shape {shape}"
            )
        try:
            dt = np.dtype(dtype) if dtype is not None else None
        except TypeError:
            dt = None
        if dt is None or dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"Dense: dtype must be float32 or float64, got {dtype!r}")

        # Values a tg.Checkpoint restored before the layer was built replace the initializers
        # (which then draw nothing from tg.random, so a resumed run draws what the original did).
        deferred = self.__dict__.get("_checkpoint_deferred")
        if deferred is not None:
            kernel_value = deferred.value("kernel", (in_dim, self.units), dt)
            bias_value = deferred.value("bias", (self.units,), dt) if self.use_bias else None
        else:
            kernel_value = self._initial_value("kernel_initializer", self._kernel_init, (in_dim, self.units), dt)
            bias_value = (
                self._initial_value("bias_initializer", self._bias_init, (self.units,), dt)
                if self.use_bias
                else None
            )
        # Assign only after both initial values succeeded, so a failing initializer
        # leaves the layer unbuilt rather than half built.
        self._kernel = Variable(kernel_value, name=f"{self.name}/kernel", dtype=dt)
        if bias_value is not None:
            self._bias = Variable(bias_value, name=f"{self.name}/bias", dtype=dt)
        self._dtype = dt
        self.__dict__.pop("_checkpoint_deferred", None)

    def _initial_value(self, what: str, init: Callable, shape: Tuple[int, ...], dtype: np.dtype):
        """Run an initializer and check that it returned ``shape``; coerce it to ``dtype``."""
        value = init(shape, dtype)
        if isinstance(value, (Tensor, Variable)):
            if value.dtype != dtype:
                value = cast(value, dtype)
        else:
            try:
                value = np.asarray(value, dtype=dtype)
            except (TypeError, ValueError) as e:
                raise TypeError(
                    f"Dense: {what} for layer {self.name!r} returned a value that is not a "
                    f"{dtype} array: {e}"
                ) from e
        got = tuple(value.shape)
        if got != shape:
            raise ValueError(f"Dense: {what} returned shape {got} for layer {self.name!r}, expected {shape}")
        return value

    # -- calling ---------------------------------------------------------------

    def __call__(self, inputs: Any) -> Tensor:
        """Return ``activation(inputs @ kernel + bias)``; builds the variables on first use."""
        x = inputs if isinstance(inputs, (Tensor, Variable)) else self._convert(inputs)
        if self._kernel is None:
            self._build_for(x)
        # The hot path checks nothing itself: matmul validates shapes and dtypes anyway,
        # and its errors are turned into the layer's behaviour only when they happen.
        try:
            y = matmul(x, self._kernel)
        except (TypeError, ValueError) as err:
            y = matmul(self._fix_input(x, err), self._kernel)
        if self._bias is not None:
            y = add(y, self._bias)
        if self.activation is not None:
            y = self.activation(y)
        return y

    def _convert(self, inputs: Any) -> Tensor:
        """Turn a non-tensor input (numpy array, list, ...) into a Tensor of the layer's dtype."""
        try:
            if self._dtype is None:
                return convert_to_tensor(inputs)
            # Convert straight to the layer's dtype: no float32 detour for float64 layers.
            return convert_to_tensor(inputs, dtype=self._dtype)
        except (TypeError, ValueError) as e:
            cls = TypeError if isinstance(e, TypeError) else ValueError
            raise cls(
                f"Dense: layer {self.name!r} could not convert its input of type "
                f"{type(inputs).__name__} to a tensor: {e}"
            ) from e

    def _build_for(self, x: Any) -> None:
        dt = x.dtype if x.dtype in (np.dtype(np.float32), np.dtype(np.float64)) else np.dtype(np.float32)
        self.build(tuple(x.shape), dt)

    def _fix_input(self, x: Any, err: Exception) -> Any:
        """After matmul refused ``x`` with ``err``: raise a Dense-specific error if the input's
        rank or last dimension is wrong, return ``x`` cast to the layer's dtype if only that
        differs, and otherwise raise ``err``."""
        shape = tuple(x.shape)
        if len(shape) < 2:
            raise ValueError(f"Dense: layer {self.name!r} expects inputs of rank >= 2, got shape {shape}")
        in_dim = int(self._kernel.shape[0])
        if shape[-1] != in_dim:
            raise ValueError(
                f"Dense: layer {self.name!r} was built for inputs with last dimension {in_dim}, "
                f"got last dimension {shape[-1]} (input shape {shape})"
            )
        if x.dtype != self._dtype:
            return cast(x, self._dtype)  # later inputs take the layer's dtype
        raise err

    def __repr__(self) -> str:
        state = f"kernel shape={tuple(self._kernel.shape)} dtype={self._dtype}" if self.built else "not built"
        return f"<tapegrad.Dense name={self.name!r} units={self.units} {state}>"
