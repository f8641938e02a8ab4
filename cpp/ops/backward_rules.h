// The backward rule of each op in the table: given the recorded entry and the gradient of the
// output, fill in the gradients of the inputs whose `need` flag is set.
#pragma once
#include "tape/tape.h"

namespace tapegrad {

using BackwardRule = void (*)(const TapeEntry& e, const TensorPtr& g, const bool need[2],
                              TensorPtr grads[2]);

BackwardRule backward_rule(OpKind op);

}  // namespace tapegrad
