// Exception types the engine throws; the bindings translate each to the matching Python class.
// Messages always start with the op's name so users know which call failed.
#pragma once
#include <stdexcept>
#include <string>

namespace tapegrad {

struct ValueError : std::runtime_error { using std::runtime_error::runtime_error; };
struct TypeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct RuntimeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct MemoryError : std::runtime_error { using std::runtime_error::runtime_error; };
struct IndexError : std::runtime_error { using std::runtime_error::runtime_error; };
// A NaN or an infinity where tg.debugging.enable_check_numerics forbids one.
struct FloatingPointError : std::runtime_error { using std::runtime_error::runtime_error; };

}  // namespace tapegrad
