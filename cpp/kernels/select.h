// Data movement that ignores the element type: the three-way broadcasting select of `where`, and
// the block copies that join tensors along an axis (concat).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/shape.h"

namespace tapegrad::kernels {

// out[i] = cond[i] ? x[i] : y[i] over `shape`, each input read through its broadcast strides
// (elements, 0 along a broadcast axis). Elements are `elem_size` bytes (1, 4 or 8).
void select(size_t elem_size, const bool* cond, const void* x, const void* y, void* out,
            const Shape& shape, const int64_t* cond_strides, const int64_t* x_strides,
            const int64_t* y_strides);

// Copies `outer` blocks of `block` bytes from src (block after block) into dst, whose blocks are
// `dst_pitch` bytes apart: one input's share of a concatenation.
void copy_blocks(const void* src, void* dst, int64_t outer, int64_t block, int64_t dst_pitch);

}  // namespace tapegrad::kernels
