// Backward of y = W x (+ b), ops::matmul's forward (y[n, m] = sum_k w[k, n] x[k, m] + b[n]):
//   dX = W^T dY   -- the forward tiled kernel reading W transposed (MatmulOptions::transpose_w), any weight type;
//   dW = dY X^T   -- shaders/matmul_grad_w.comp, a tiled matmul over the token dimension, F32;
//   db = sum over tokens of dY   -- shaders/sum_rows.comp.
// Training keeps F32 master weights: dX reads whichever copy of W the caller passes -- the F32 master (exact
// gradient of the F32 model) or the F16/BF16 inference copy the forward used (cast_half after each step);
// dW and db are always F32. All are deterministic (no atomics).
#pragma once
#include "ops/backward/grad_mode.h"
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// dx F32 [K, M] (+)= W^T dy; w: [K, N] F32|F16|BF16|Q8_0|Q4_0; dy: F32 [N, M].
void matmul_backward_input(vk::Recorder& rec, const Tensor& w, const Tensor& dy, const Tensor& dx, bool accumulate);

// dw F32 [K, N] (+)= sum_m dy[:, m] x[:, m]^T; x: F32 [K, M]; dy: F32 [N, M].
void matmul_backward_weight(vk::Recorder& rec, const Tensor& x, const Tensor& dy, const Tensor& dw, bool accumulate);

// All three at once; dx, dw, db may each be empty (not wanted).
void matmul_backward(vk::Recorder& rec, const Tensor& w, const Tensor& x, const Tensor& dy, const Tensor& dx,
                     const Tensor& dw, const Tensor& db, const GradMode& mode = {});

}  // namespace ops
}  // namespace ds
