"""tapegrad: eager, tape-based reverse-mode autodiff with a C++ engine.

The API follows TensorFlow's eager execution: tensors, Variables, a GradientTape, the four
gradient wrappers, a Dense layer and a gradient-descent optimizer.
"""
from __future__ import annotations

import numpy as _np

from . import _core
from ._core import (
    Tensor,
    Variable,
    add,
    broadcast_to,
    cast,
    constant,
    convert_to_tensor,
    divide,
    matmul,
    multiply,
    negative,
    reduce_mean,
    reduce_sum,
    reshape,
    square,
    subtract,
    transpose,
)
from . import config, random
from .gradients import (
    gradients_function,
    implicit_gradients,
    implicit_value_and_gradients,
    value_and_gradients_function,
)
from .layers import Dense
from .optimizers import GradientDescent
from .tape import GradientTape

float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Variable", "GradientTape", "Dense", "GradientDescent",
    "float32", "float64", "config", "random",
    "constant", "convert_to_tensor", "add", "subtract", "multiply", "divide", "negative",
    "square", "matmul", "reduce_sum", "reduce_mean", "reshape", "transpose", "cast",
    "broadcast_to",
    "implicit_gradients", "implicit_value_and_gradients", "gradients_function",
    "value_and_gradients_function",
]
