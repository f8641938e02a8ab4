#include "bindings/operator_slots.h"

#include "bindings/convert.h"
#include "bindings/op_bindings.h"
#include "ops/ops.h"

namespace tapegrad::operator_slots {
namespace py = pybind11;
namespace {

TensorPtr plain_matmul(const TensorPtr& a, const TensorPtr& b) {
  return ops::matmul(a, b, false, false);
}

// a OP b for any operands: Python passes them in expression order whichever side's type
// supplied the slot, so one function serves `x + y` and the reflected `y.__radd__(x)`.
template <TensorPtr (*Op)(const TensorPtr&, const TensorPtr&), const char* Name>
PyObject* binary_slot(PyObject* a, PyObject* b) {
  static const OpDef& op = op_bindings::op(Name);
  try {
    const TensorPtr* x = convert::exact_tensor(a);
    const TensorPtr* y = x ? convert::exact_tensor(b) : nullptr;
    if (y) return py::cast(Op(*x, *y)).release().ptr();
    const py::handle args[] = {a, b, Py_False, Py_False};  // matmul: no transposes
    return py::cast(op_bindings::call(op, args)).release().ptr();
  } catch (...) {
    return op_bindings::translate_current_exception();
  }
}

constexpr char kAdd[] = "add";
constexpr char kSubtract[] = "subtract";
constexpr char kMultiply[] = "multiply";
constexpr char kDivide[] = "divide";
constexpr char kMatmul[] = "matmul";
constexpr char kFloorDiv[] = "floordiv";
constexpr char kMod[] = "mod";
constexpr char kPow[] = "pow";

// a ** b, the three-argument slot: a modulo is refused, as pow(tensor, exponent, modulo) has none.
PyObject* power_slot(PyObject* a, PyObject* b, PyObject* modulo) {
  if (modulo != Py_None) {
    PyErr_SetString(PyExc_TypeError, "pow: the modulo argument is not supported");
    return nullptr;
  }
  return binary_slot<ops::pow, kPow>(a, b);
}


}  // namespace

void install(py::handle cls) {
  PyNumberMethods* nb = reinterpret_cast<PyTypeObject*>(cls.ptr())->tp_as_number;
  nb->nb_add = binary_slot<ops::add, kAdd>;
  nb->nb_subtract = binary_slot<ops::subtract, kSubtract>;
  nb->nb_multiply = binary_slot<ops::multiply, kMultiply>;
  nb->nb_true_divide = binary_slot<ops::divide, kDivide>;
  nb->nb_matrix_multiply = binary_slot<plain_matmul, kMatmul>;
  nb->nb_floor_divide = binary_slot<ops::floordiv, kFloorDiv>;
  nb->nb_remainder = binary_slot<ops::mod, kMod>;
  nb->nb_power = power_slot;
  PyType_Modified(reinterpret_cast<PyTypeObject*>(cls.ptr()));
}

}  // namespace tapegrad::operator_slots
