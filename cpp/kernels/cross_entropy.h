// Cross-entropy losses, computed stably and fused: a row's maximum is subtracted before
// exponentiating, so logits of any finite size give finite losses and gradients. Each row is read
// from memory once per call and then worked on in cache (maximum, sum of exponentials, result).
//
// The row loops (maximum, exponentials and their sum, scaling) are those of the active instruction
// set's table (kernels/softmax_rows.h), which give the same bits on every ISA; the remaining steps
// are portable code with no contraction into FMA. The label-weighted sums of the dense loss run in
// kCrossEntropyLanes interleaved partial sums combined by a fixed tree, like the table's. Rows are
// independent, so splitting rows between threads never changes a result.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/softmax_rows.h"

namespace tapegrad::kernels {

constexpr int kCrossEntropyLanes = kSoftmaxLanes;

// loss[r] = log(sum_j exp(logits[r, j])) - logits[r, labels[r]] for logits [rows, classes].
// labels are int32 or int64 (`label_dtype`) and already checked to lie in [0, classes).
// When `probs` is not null it receives softmax(logits) [rows, classes], with the bits the gradient
// below computes it with.
void sparse_softmax_cross_entropy(DType dtype, const void* logits, DType label_dtype,
                                  const void* labels, void* loss, void* probs, int64_t rows,
                                  int64_t classes);

// out[r, j] = (softmax(logits[r])[j] - (j == labels[r])) * g[r], or without the factor when g is
// null: the gradient of the loss above with respect to the logits. With g, each element is the
// product of the value without g and g[r], rounded once (the bits of multiplying afterwards).
void sparse_softmax_cross_entropy_grad(DType dtype, const void* logits, DType label_dtype,
                                       const void* labels, const void* g, void* out, int64_t rows,
                                       int64_t classes);
// The same gradient times g from the forward's probabilities: one streaming pass, same bits.
void sparse_softmax_cross_entropy_grad_from_probs(DType dtype, const void* probs,
                                                  DType label_dtype, const void* labels,
                                                  const void* g, void* out, int64_t rows,
                                                  int64_t classes);

// For labels and logits viewed as [outer, n, inner], along n:
// loss[o, i] = -sum_k labels[o, k, i] * log_softmax(logits[o, :, i])[k].
void softmax_cross_entropy(DType dtype, const void* labels, const void* logits, void* loss,
                           int64_t outer, int64_t n, int64_t inner);

// For labels z and logits x viewed as [outer, n, inner], along n, with s = softmax(x):
// d_logits = (s sum(z) - z) g and d_labels = (log(sum(exp(x))) - x) g (that is -log_softmax(x) g),
// g[o, i] one factor per row (the loss's layout), or 1 when g is null. Either output may be
// null; labels may be null when d_logits is. Each element is the value without g times g, rounded
// once (the bits of multiplying afterwards).
void softmax_cross_entropy_grad(DType dtype, const void* labels, const void* logits, const void* g,
                                void* d_logits, void* d_labels, int64_t outer, int64_t n,
                                int64_t inner);

// out = max(x, 0) - x z + log1p(exp(-|x|)) elementwise, x the logits and z the labels.
void sigmoid_cross_entropy(DType dtype, const void* labels, const void* logits, void* out,
                           int64_t n);

// The gradients of the above times g, elementwise: d_logits = g (s - z) with s = sigmoid(x) as the
// sigmoid op computed it (d_logits may be s itself, overwritten), and d_labels = -(g x). Either
// output may be null. Each is rounded as the separate ops would round it.
void sigmoid_cross_entropy_grad(DType dtype, const void* sigmoid, const void* labels,
                                const void* logits, const void* g, void* d_logits, void* d_labels,
                                int64_t n);

}  // namespace tapegrad::kernels
