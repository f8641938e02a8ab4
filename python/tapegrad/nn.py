"""Neural-network functions, as TensorFlow's ``tf.nn``: activations (the same functions as the
top-level ``tapegrad`` ops of the same name) and moments."""
from __future__ import annotations

from ._core import elu, gelu, leaky_relu, relu, relu6, sigmoid, softplus, tanh
from .reductions import moments

__all__ = ["relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "softplus", "tanh", "moments"]
