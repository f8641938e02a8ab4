"""Activation functions by name, as Keras resolves ``Dense(activation="relu")``."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from ._core import elu, gelu, relu, relu6, sigmoid, softmax, softplus, tanh

__all__ = ["get", "names"]


def linear(x: Any) -> Any:
    """The identity activation (``"linear"``, or ``None``)."""
    return x


_BY_NAME: Dict[str, Callable[[Any], Any]] = {
    "linear": linear,
    "relu": relu,
    "relu6": relu6,
    "elu": elu,
    "gelu": gelu,
    "sigmoid": sigmoid,
    "softmax": softmax,
    "softplus": softplus,
    "tanh": tanh,
}


def names() -> list:
    """The activation names ``get`` knows, sorted."""
    return sorted(_BY_NAME)


def get(identifier: Optional[Any], where: str = "activation") -> Callable[[Any], Any]:
    """The activation function for a name, ``None`` (linear) or a callable (returned as is).

    Raises ValueError for an unknown name (listing the known ones) and TypeError for anything
    that is neither a string, ``None`` nor callable; ``where`` starts the messages.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]
        except KeyError:
            known = ", ".join(repr(n) for n in names())
            raise ValueError(f"{where}: unknown activation {identifier!r}; expected one of {known}, "
                             "None or a callable") from None
    if callable(identifier):
        return identifier
    raise TypeError(f"{where}: activation must be a name, None or a callable, got {type(identifier).__name__}")
