"""Neural-network functions, as TensorFlow's ``tf.nn``: activations (the same functions as the
top-level ``tapegrad`` ops of the same name), softmax and log_softmax, the losses (softmax
cross-entropy with sparse or dense labels, sigmoid cross-entropy, l2_loss) and moments."""
from __future__ import annotations

from ._core import (elu, gelu, l2_loss, leaky_relu, log_softmax, relu, relu6, sigmoid,
                    sigmoid_cross_entropy_with_logits, softmax, softmax_cross_entropy_with_logits, softplus,
                    sparse_softmax_cross_entropy_with_logits, tanh)
from .reductions import moments

__all__ = ["relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "softplus", "tanh", "softmax",
           "log_softmax", "sparse_softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits",
           "sigmoid_cross_entropy_with_logits", "l2_loss", "moments"]
