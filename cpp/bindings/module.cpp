// tapegrad._core: binds the engine. The ops come from the registry (op_bindings.cpp); argument
// handling lives in py_api.cpp and convert.cpp.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/convert.h"
#include "bindings/dlpack.h"
#include "bindings/op_bindings.h"
#include "bindings/operator_slots.h"
#include "bindings/optimizer_bindings.h"
#include "bindings/function_bindings.h"
#include "bindings/py_api.h"
#include "core/allocator.h"
#include "core/errors.h"
#include "core/long_running.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "ops/numerics_check.h"
#include "ops/shortcut_counts.h"

namespace py = pybind11;
using namespace tapegrad;
using py::arg;

namespace {

void register_errors() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const MemoryError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const FloatingPointError& e) {
      PyErr_SetString(PyExc_FloatingPointError, e.what());
    }
  });
}

// The struct-module format of each dtype, for the buffer protocol.
const char* buffer_format(DType d) {
  switch (d) {
    case DType::F32: return "f";
    case DType::F64: return "d";
    case DType::I32: return "i";
    case DType::I64: return "q";
    case DType::Bool: return "?";
  }
  return "B";
}

// Operators shared by Tensor and Variable: every operand goes through the registry op's call.
template <typename Cls>
void def_operators(Cls& c) {
  using H = py::handle;
  static const OpDef& add = op_bindings::op("add");
  static const OpDef& sub = op_bindings::op("subtract");
  static const OpDef& mul = op_bindings::op("multiply");
  static const OpDef& div = op_bindings::op("divide");
  static const OpDef& matmul = op_bindings::op("matmul");
  static const OpDef& neg = op_bindings::op("negative");
  static const OpDef& pow = op_bindings::op("pow");
  static const OpDef& floordiv = op_bindings::op("floordiv");
  static const OpDef& mod = op_bindings::op("mod");
  static const OpDef& less = op_bindings::op("less");
  static const OpDef& less_equal = op_bindings::op("less_equal");
  static const OpDef& greater = op_bindings::op("greater");
  static const OpDef& greater_equal = op_bindings::op("greater_equal");
  auto binary = [](const OpDef& op, H x, H y) {
    const H args[] = {x, y, Py_False, Py_False};  // matmul: no transposes
    return op_bindings::call(op, args);
  };
  c.def("__add__", [=](H s, H o) { return binary(add, s, o); })
      .def("__radd__", [=](H s, H o) { return binary(add, o, s); })
      .def("__sub__", [=](H s, H o) { return binary(sub, s, o); })
      .def("__rsub__", [=](H s, H o) { return binary(sub, o, s); })
      .def("__mul__", [=](H s, H o) { return binary(mul, s, o); })
      .def("__rmul__", [=](H s, H o) { return binary(mul, o, s); })
      .def("__truediv__", [=](H s, H o) { return binary(div, s, o); })
      .def("__rtruediv__", [=](H s, H o) { return binary(div, o, s); })
      .def("__matmul__", [=](H s, H o) { return binary(matmul, s, o); })
      .def("__rmatmul__", [=](H s, H o) { return binary(matmul, o, s); })
      .def("__lt__", [=](H s, H o) { return binary(less, s, o); })
      .def("__le__", [=](H s, H o) { return binary(less_equal, s, o); })
      .def("__gt__", [=](H s, H o) { return binary(greater, s, o); })
      .def("__ge__", [=](H s, H o) { return binary(greater_equal, s, o); })
      .def("__neg__", [](H s) { return op_bindings::call(neg, &s); })
      .def("__floordiv__", [=](H s, H o) { return binary(floordiv, s, o); })
      .def("__rfloordiv__", [=](H s, H o) { return binary(floordiv, o, s); })
      .def("__mod__", [=](H s, H o) { return binary(mod, s, o); })
      .def("__rmod__", [=](H s, H o) { return binary(mod, o, s); })
      .def("__pow__", [=](H s, H e, H m) {
             if (!m.is_none()) throw TypeError("pow: the modulo argument is not supported");
             return binary(pow, s, e);
           }, py::arg("exponent"), py::arg("modulo") = py::none())
      .def("__rpow__", [=](H s, H b, H m) {
             if (!m.is_none()) throw TypeError("pow: the modulo argument is not supported");
             return binary(pow, b, s);
           }, py::arg("base"), py::arg("modulo") = py::none());
  // With no __array_ufunc__ on the class, an ndarray's operators return NotImplemented to any
  // operand of higher __array_priority__, so `array + tensor` reaches our reflected operator (a
  // Tensor a tape records), while numpy functions (np.exp, np.sum) convert us by __array__.
  c.attr("__array_priority__") = 1000;
}

// The Python scalar protocols of Tensor and Variable; `value` gives the tensor to convert.
template <typename Cls, typename Value>
void def_scalar_protocols(Cls& c, Value value) {
  c.def("__float__", [=](py::handle s) { return py_api::tensor_float(value(s)); },
        "float(x) of a one-element tensor.")
      .def("__int__", [=](py::handle s) { return py_api::tensor_int(value(s)); },
           "int(x) of a one-element tensor, truncated toward zero.")
      .def("__complex__", [=](py::handle s) { return py_api::tensor_complex(value(s)); },
           "complex(x) of a one-element tensor.")
      .def("__index__", [=](py::handle s) { return py_api::tensor_index(value(s)); },
           "operator.index(x) of a rank-0 int32 or int64 tensor (so it can index a list).")
      .def("__bool__", [=](py::handle s) { return py_api::tensor_bool(value(s)); },
           "The truth value of a one-element tensor.")
      .def("__len__", [=](py::handle s) { return py_api::tensor_len(value(s)); },
           "The size of the first axis.");
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "tapegrad's C++ engine: tensors, the tape, ops and kernels.";
  register_errors();
  const py::handle none = py::none();

  auto tensor = py::class_<TensorImpl, TensorPtr>(m, "Tensor", py::buffer_protocol(),
      "An immutable N-d array of float32, float64, int32, int64 or bool values. Create one with "
      "tapegrad.constant.");
  tensor
      .def_property_readonly("shape", [](const TensorImpl& t) { return convert::shape_tuple(t.shape()); },
                             "The dimensions, as a tuple of ints.")
      .def_property_readonly("dtype", [](const TensorImpl& t) { return convert::to_numpy_dtype(t.dtype()); },
                             "The numpy dtype: float32, float64, int32, int64 or bool.")
      .def_property_readonly("ndim", &TensorImpl::rank)
      .def_property_readonly("size", &TensorImpl::numel)
      .def("numpy", [](py::handle self) {
             return convert::numpy_view(py::cast<TensorPtr>(self), self);
           }, "A read-only numpy array sharing this tensor's memory.")
      .def("__array__", [](py::handle self, py::handle dtype, py::handle copy) {
             return py_api::tensor_array(py::cast<TensorPtr>(self), self, dtype, copy);
           }, arg("dtype") = none, arg("copy") = none)
      .def_buffer([](TensorImpl& t) {
        std::vector<py::ssize_t> shape(t.shape().dims, t.shape().dims + t.rank()), strides(t.rank());
        py::ssize_t st = static_cast<py::ssize_t>(dtype_size(t.dtype()));
        for (int d = t.rank() - 1; d >= 0; --d) { strides[d] = st; st *= t.shape().dims[d]; }
        return py::buffer_info(t.raw(), static_cast<py::ssize_t>(dtype_size(t.dtype())),
                               buffer_format(t.dtype()), t.rank(), shape, strides,
                               /*readonly=*/true);
      })
      .def("__dlpack__", &dlpack::export_tensor, arg("stream") = none, py::kw_only(),
           arg("max_version") = none, arg("dl_device") = none, arg("copy") = none,
           "A DLPack capsule sharing this tensor's memory, read-only (for np.from_dlpack, "
           "torch.from_dlpack, jax.dlpack.from_dlpack).")
      .def("__dlpack_device__", [](const TensorImpl&) { return dlpack::device(); },
           "(1, 0): host memory, as DLPack names it.")
      .def("__repr__", [](py::handle self) { return py_api::tensor_repr(py::cast<TensorPtr>(self), self); })
      .def("__str__", [](py::handle self) { return py_api::tensor_str(py::cast<TensorPtr>(self), self); },
           "The values as numpy prints them.")
      .def("__format__", [](py::handle self, py::handle spec) {
             return py_api::tensor_format(py::cast<TensorPtr>(self), self, spec);
           }, arg("format_spec"), "numpy's formatting of the values (a spec for a rank-0 tensor).");
  def_scalar_protocols(tensor, [](py::handle s) { return py::cast<TensorPtr>(s); });
  def_operators(tensor);

  auto variable = py::class_<Variable, VariablePtr>(m, "Variable",
      "A mutable, named container of a Tensor; trainable variables read under a GradientTape are "
      "watched by it.");
  variable
      .def(py::init(&py_api::make_variable), arg("initial_value"), arg("trainable") = true,
           arg("name") = none, arg("dtype") = none)
      .def("read_value", &Variable::read, "The current value as a Tensor (no copy).")
      .def("value", &Variable::read, "Same as read_value().")
      .def("numpy", [](const VariablePtr& v) {
             py::object owner = py::cast(v->peek());
             return convert::numpy_view(v->peek(), owner);
           }, "A read-only numpy array of the current value; later updates do not change it.")
      .def("__array__", [](const VariablePtr& v, py::handle dtype, py::handle copy) {
             py::object owner = py::cast(v->peek());
             return py_api::tensor_array(v->peek(), owner, dtype, copy);
           }, arg("dtype") = none, arg("copy") = none)
      .def("assign", [](py::handle self, py::handle value) {
             auto& v = py::cast<Variable&>(self);
             v.assign(convert::to_tensor_as(value, v.dtype(), "assign", "value"), "assign");
             return self;
           }, arg("value"))
      .def("assign_add", [](py::handle self, py::handle value) {
             auto& v = py::cast<Variable&>(self);
             v.assign_add(convert::to_tensor_as(value, v.dtype(), "assign_add", "delta"), "assign_add");
             return self;
           }, arg("delta"))
      .def("assign_sub", [](py::handle self, py::handle value) {
             auto& v = py::cast<Variable&>(self);
             v.assign_sub(convert::to_tensor_as(value, v.dtype(), "assign_sub", "delta"), "assign_sub");
             return self;
           }, arg("delta"))
      .def_property_readonly("name", &Variable::name)
      .def_property_readonly("trainable", &Variable::trainable)
      .def_property_readonly("shape", [](const Variable& v) { return convert::shape_tuple(v.shape()); })
      .def_property_readonly("dtype", [](const Variable& v) { return convert::to_numpy_dtype(v.dtype()); })
      .def_property_readonly("ndim", [](const Variable& v) { return v.shape().rank; })
      .def_property_readonly("_unique_id", &Variable::unique_id)
      .def("__repr__", &py_api::variable_repr)
      .def("__str__", [](const VariablePtr& v) {
             return py_api::tensor_str(v->peek(), py::cast(v->peek()));
           }, "The current values as numpy prints them.")
      .def("__format__", [](const VariablePtr& v, py::handle spec) {
             return py_api::tensor_format(v->peek(), py::cast(v->peek()), spec);
           }, arg("format_spec"), "numpy's formatting of the current values (a spec for rank 0).");
  def_scalar_protocols(variable, [](py::handle s) { return py::cast<Variable&>(s).peek(); });
  def_operators(variable);

  py::class_<Tape, TapePtr>(m, "_Tape", "Engine side of GradientTape (see tapegrad.GradientTape).")
      .def(py::init<bool, bool>(), arg("persistent"), arg("watch_accessed_variables"))
      .def("push", [](const TapePtr& t) { tape_stack::push(t); })
      .def("pop", [](const TapePtr& t) { tape_stack::pop(t); })
      .def("watch", &py_api::tape_watch)
      .def("gradient", &py_api::tape_gradient, arg("target"), arg("sources"),
           arg("output_gradients") = none, arg("unconnected_zero") = false)
      .def("gradient_streaming", &py_api::tape_gradient_streaming, arg("target"), arg("sources"),
           arg("on_final"))
      .def("jacobian", &py_api::tape_jacobian, arg("target"), arg("sources"),
           arg("unconnected_zero") = false)
      .def("batch_jacobian", &py_api::tape_batch_jacobian, arg("target"), arg("source"),
           arg("unconnected_zero") = false)
      .def_property("recording", &Tape::recording, &Tape::set_recording)
      .def_property_readonly("persistent", &Tape::persistent)
      .def_property_readonly("watch_accessed_variables", &Tape::watch_accessed_variables)
      .def_property_readonly("num_entries", &Tape::num_entries)
      .def("watched_variables", [](const Tape& t) {
        py::tuple out(t.watched_variables().size());
        for (size_t i = 0; i < t.watched_variables().size(); ++i) out[i] = py::cast(t.watched_variables()[i]);
        return out;
      });

  op_bindings::bind_all(m);
  operator_slots::install(tensor);
  operator_slots::install(variable);
  m.def("constant", &py_api::constant, arg("value"), arg("dtype") = none,
        "A Tensor from a number, nested list, numpy array or Tensor (always float32/float64).");
  m.def("from_dlpack", &dlpack::import_tensor, arg("x"),
        "A new Tensor holding a copy of a DLPack tensor: an object with __dlpack__ (numpy array, "
        "torch or jax tensor, ...) or a DLPack capsule, in host memory.");
  m.def("convert_to_tensor", &py_api::convert_to_tensor, arg("value"), arg("dtype") = none,
        "Like constant, but Tensors and Variables of another dtype are an error.");
  optimizer_bindings::bind(m);
  function_bindings::bind(m);

  m.def("_differentiate", &py_api::differentiate, arg("f"), arg("args"), arg("kwargs"), arg("watch"),
        "The primitive behind the gradient wrappers (see tapegrad.gradients).");

  m.def("isa", [] { return std::string(kernels::active().isa); }, "The kernel instruction set in use.");
  m.def("available_isas", &kernels::available, "Instruction sets this CPU can run.");
  m.def("select_isa", &kernels::select, arg("isa"), "Force an instruction set (testing).");
  m.def("num_threads", &threads::num_threads, "Threads used by large kernels.");
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw ValueError("set_num_threads: expected a positive count, got " + std::to_string(n));
    threads::set_num_threads(n);
  }, arg("n"), "Sets the threads used by large kernels (results do not depend on it).");
  m.def("_parallel_thresholds", [] {
    const auto t = kernels::parallel_thresholds();
    py::dict d;
    d["gemm_madds"] = t.gemm_madds;
    d["few_columns_madds"] = t.few_columns_madds;
    d["gemv_madds"] = t.gemv_madds;
    d["elementwise"] = threads::parallel_elements();
    return d;
  }, "Sizes from which kernels use several threads: GEMM paths in multiply-adds, elementwise ops "
     "and full sums in elements.");
  m.def("_set_parallel_thresholds", [](double gemm_madds, double few_columns_madds, double gemv_madds,
                                       int64_t elementwise) {
    if (!(gemm_madds >= 0) || !(few_columns_madds >= 0) || !(gemv_madds >= 0) || elementwise < 0)
      throw ValueError("_set_parallel_thresholds: expected non-negative sizes");
    kernels::set_parallel_thresholds({gemm_madds, few_columns_madds, gemv_madds});
    threads::set_parallel_elements(elementwise);
  }, arg("gemm_madds"), arg("few_columns_madds"), arg("gemv_madds"), arg("elementwise"),
     "For bench/thread_thresholds.py: sets every threshold (see _parallel_thresholds).");
  m.def("_set_check_numerics", &ops::numerics::set_enabled, arg("on"),
        "tapegrad.debugging.enable_check_numerics / disable_check_numerics.");
  m.def("_check_numerics_enabled", &ops::numerics::enabled,
        "True while tapegrad.debugging.enable_check_numerics is in effect.");
  m.def("_shortcut_hits", [] {
    py::dict d;
    for (int s = 0; s < static_cast<int>(ops::Shortcut::Count); ++s)
      d[ops::shortcut_name(static_cast<ops::Shortcut>(s))] = ops::g_shortcut_hits[s].load();
    return d;
  }, "How often each fused backward shortcut was taken, by rule, since the start (for tests).");
  m.def("_thread_stalls", &threads::stalls,
        "Parallel jobs that waited for a thread the OS had not scheduled (the other core busy), "
        "since the start: a gauge for the benchmarks.");
  m.def("live_tensors", &TensorImpl::live_count, "Number of tensors alive in the engine.");
  m.def("live_tapes", &Tape::live_count, "Number of tapes alive in the engine.");
  m.def("allocator_stats", [] {
    auto s = allocator::stats();
    py::dict d;
    d["live_blocks"] = s.live_blocks;
    d["live_bytes"] = s.live_bytes;
    d["cached_blocks"] = s.cached_blocks;
    d["cached_bytes"] = s.cached_bytes;
    d["system_allocs"] = s.system_allocs;
    d["peak_live_bytes"] = s.peak_live_bytes;
    return d;
  });
  m.def("reset_peak_bytes", &allocator::reset_peak,
        "Start a new peak_live_bytes measurement (allocator_stats) from the bytes live now.");
  m.def("empty_cache", &allocator::empty_cache, "Return cached tensor memory to the system.");

  // Large kernels release the GIL (see core/long_running.h).
  set_long_running_hooks([]() -> void* { return PyEval_SaveThread(); },
                         [](void* s) { PyEval_RestoreThread(static_cast<PyThreadState*>(s)); });

  kernels::active();  // choose the ISA now, so a bad TAPEGRAD_ISA fails at import
}
