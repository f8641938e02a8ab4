"""Neural-network functions, as TensorFlow's ``tf.nn``: activations (the same functions as the
top-level ``tapegrad`` ops of the same name) and moments."""
from __future__ import annotations

from ._core import relu, relu6, sigmoid, softplus, tanh
from .reductions import moments

__all__ = ["relu", "relu6", "sigmoid", "softplus", "tanh", "moments"]
