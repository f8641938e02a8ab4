// The op registry's entry type. One OpDef describes an op completely: its name and Python
// signature (from which the bindings are generated), the function that computes it, what its
// backward rule reads from the tape, and that rule. Tape entries point at their OpDef, so a rule
// is bound to its op by identity, never by position in a list.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace tapegrad {

struct TapeEntry;

// What an op's backward rule reads besides the shapes and dtypes every entry keeps.
enum class Saves : uint8_t { Nothing, Inputs, Output, InputsAndOutput };

// Non-tensor values an op records for its backward rule (normalised: axes as a mask, perm full).
struct OpAttrs {
  bool trans_a = false, trans_b = false;  // matmul
  bool keepdims = false;                  // reductions
  uint32_t axes_mask = 0;                 // reductions: bit d set when axis d is reduced
  int8_t perm[kMaxRank] = {};             // transpose
  bool approximate = false;               // gelu: the tanh form
  bool exclusive = false, reverse = false;  // cumsum, cumprod
  // Integers too many for the fields above (slice specs, gather's axes), shared between the
  // entries that read them; null for every other op.
  std::shared_ptr<const std::vector<int64_t>> ints;
};

// The kinds of non-tensor Python arguments; each has one converter in the bindings.
enum class AttrKind : uint8_t {
  None,          // no attribute in this place
  Bool,          // a flag, default False
  Axes,          // None (every axis), an int or a sequence of ints; default None
  Ints,          // an int or a sequence of ints, required
  OptionalInts,  // None or a sequence of ints, default None
  Shape,         // a shape of at most kMaxRank dimensions, required
  DType,         // any dtype, required; Python values given as inputs take it
  Number,        // a Python int or float, required
  Axis,          // one axis (an int, negative allowed; None means 0), default `number_default`
  OptionalNumber,  // a Python int or float, default `number_default`
  RequiredAxis,    // one axis, as Axis, but required
  String,          // a str, required (check_numerics' message)
};

struct AttrSpec {
  const char* name = nullptr;
  AttrKind kind = AttrKind::None;
  double number_default = 0.0;  // OptionalNumber and Axis
};

// The attributes of one call, as the bindings (or C++ callers) parsed them. Each kind has its own
// field; an op has at most one attribute of the Axes/Ints/OptionalInts/Shape family.
struct OpArguments {
  int n_inputs = 0;                // the number of tensors in a variadic op's sequence argument
  bool flags[2] = {false, false};  // Bool attributes, in the order they are declared
  bool has_ints = false;           // false: None was given for Axes or OptionalInts
  std::vector<int64_t> ints;
  DType dtype = DType::F32;
  double number = 0.0;
  std::string text;  // a String attribute
};

struct OpDef;

// Computes the op on already converted inputs and records it on the active tapes.
using ForwardFn = TensorPtr (*)(const OpDef& op, const TensorPtr* inputs, const OpArguments& args);

// The most tensor arguments an op names; a variadic op takes one sequence of any length instead.
constexpr int kMaxNamedInputs = 3;
// The most non-tensor arguments an op takes.
constexpr int kMaxAttrs = 3;

// Given the recorded entry and the gradient of the output, fills in the gradients of the inputs
// whose `need` flag is set (both arrays have one element per recorded input). Rules are written with the ops themselves, so a tape that records
// during backward sees them and higher-order gradients come for free.
using BackwardRule = void (*)(const TapeEntry& e, const TensorPtr& g, const bool* need,
                              TensorPtr* grads);

struct OpDef {
  const char* name;       // the Python name, and the op named in error messages
  const char* doc;        // the Python docstring
  const char* inputs[kMaxNamedInputs];  // names of the tensor arguments; arity = how many are set
  AttrSpec attrs[kMaxAttrs];            // the non-tensor arguments after them
  Saves saves;
  // null: the op is never recorded. Either it is composite (its gradient comes from the ops it
  // runs) or nothing flows back through it (stop_gradient).
  BackwardRule backward;
  ForwardFn forward;
  int kernel;  // the kernel enum value a family's shared forward passes on (elementwise ops)
  // Elementwise ops: whether int32/int64 tensors are computed (else only floats are).
  bool takes_integers = false;
  // A helper of backward rules with no Python name (it is never bound).
  bool internal = false;
  // The op's one tensor argument is a sequence of tensors (concat, stack): the forward receives
  // `OpArguments::n_inputs` of them and the tape records each as an input.
  bool variadic = false;
  // An internal op that tapegrad's own Python functions call with normalised arguments: bound as
  // tapegrad._core._<name>. Its forward checks every argument as a public op's does.
  bool private_binding = false;
  // The bindings convert each tensor argument on its own, integer data (numpy arrays, ints and
  // lists of ints) keeping an integer dtype (class labels beside float logits), instead of giving
  // a weak argument the other's dtype.
  bool inputs_converted_apart = false;

  // The number of tensor parameters (a variadic op's sequence counts as one).
  int arity() const {
    int n = 0;
    while (n < kMaxNamedInputs && inputs[n]) ++n;
    return n;
  }
  bool recorded() const { return backward != nullptr; }
};

// A family's share of the registry: a file of ops lists its entries in one array.
struct OpList {
  const OpDef* const* ops;
  size_t size;
};

// Every op, in a fixed order (family by family, each in its file's order).
const std::vector<const OpDef*>& registry();
// The entry named `name`, or null.
const OpDef* find_op(const char* name);

}  // namespace tapegrad
