"""Neural-network functions, as TensorFlow's ``tf.nn``: activations (the same functions as the
top-level ``tapegrad`` ops of the same name), softmax and log_softmax, and moments."""
from __future__ import annotations

from ._core import elu, gelu, leaky_relu, log_softmax, relu, relu6, sigmoid, softmax, softplus, tanh
from .reductions import moments

__all__ = ["relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "softplus", "tanh", "softmax",
           "log_softmax", "moments"]
