// Binds the optimizer updates (tape/optimizer_updates.h): sgd_update, momentum_update, adam_update
// and rmsprop_update, the engine side of tapegrad.optimizers.
#pragma once
#include <pybind11/pybind11.h>

namespace tapegrad::optimizer_bindings {

void bind(pybind11::module_& m);

}  // namespace tapegrad::optimizer_bindings
