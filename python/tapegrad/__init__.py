"""tapegrad: eager, tape-based reverse-mode autodiff with a C++ engine.

The API follows TensorFlow's eager execution: tensors, Variables, a GradientTape, the four
gradient wrappers, layers and models, the optimizers of tf.train (GradientDescent, Momentum,
Adam, RMSProp) and mini-batches.
"""
from __future__ import annotations

import numpy as _np

from . import _core
# Tensor, Variable, constant, convert_to_tensor and every op of the engine's registry (add,
# matmul, reduce_sum, ...): the names in _core.__all__.
from ._core import *  # noqa: F401,F403
from ._core import from_dlpack
from . import activations, config, data, debugging, distributed, nn, random
from .gradients import (
    gradients_function,
    implicit_gradients,
    implicit_value_and_gradients,
    value_and_gradients_function,
)
from .clip_ops import clip_by_value
from .creation import eye, fill, linspace, ones, ones_like, range, zeros, zeros_like
from .indexing import gather, one_hot, pad, split, unstack
from .function_trace import TensorSpec, function
from . import pickling as _pickling  # noqa: F401 - installs pickling and copying of Tensor, Variable
from .layers import Dense
from .sequential import Sequential
from .reductions import reduce_logsumexp
from .optimizers import Adam, GradientDescent, Momentum, Optimizer, RMSProp
from .tape import GradientTape
from .checkpoint import Checkpoint, CheckpointManager

float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
int32 = _np.dtype(_np.int32)
int64 = _np.dtype(_np.int64)
bool = _np.dtype(_np.bool_)  # noqa: A001 - TensorFlow's name (tf.bool); the builtin stays in builtins

__version__ = "0.1.0"

__all__ = [
    "GradientTape", "Checkpoint", "CheckpointManager", "debugging", "function", "TensorSpec", "Dense", "Sequential", "Optimizer", "GradientDescent", "Momentum", "Adam", "RMSProp",
    "float32", "float64", "int32", "int64", "bool", "activations", "config", "data", "distributed", "nn", "random",
    "clip_by_value", "reduce_logsumexp", "zeros", "ones", "zeros_like", "ones_like", "fill", "range", "eye",
    "linspace", "from_dlpack", "gather", "one_hot", "pad", "split", "unstack", "implicit_gradients",
    "implicit_value_and_gradients", "gradients_function", "value_and_gradients_function",
    *_core.__all__,
]
