// The arithmetic operators of Tensor and Variable as C type slots (nb_add, nb_multiply, ...).
// Python calls a slot directly, without looking up `__add__` and without pybind11's overload
// dispatcher; for two Tensors the slot calls the op at once. The `__add__`-style methods stay
// defined for explicit calls, and both routes give the same result.
#pragma once
#include <pybind11/pybind11.h>

namespace tapegrad::operator_slots {

// Replaces the arithmetic slots of `cls` (Tensor or Variable).
void install(pybind11::handle cls);

}  // namespace tapegrad::operator_slots
