// Binds tg.function's engine side (cpp/function): _Tracer, which records a trace, and
// _ConcreteFunction, which runs one.
#pragma once
#include <pybind11/pybind11.h>

namespace tapegrad::function_bindings {

void bind(pybind11::module_& m);

}  // namespace tapegrad::function_bindings
