// LoRA: a low-rank adapter on a frozen projection, y = W x + s B (A x) with s = alpha / r; only A and B
// train. Composed from the matmul kernels plus a scale: the forward keeps u = s A x for the backward, which
// gives dB = dy u^T, du = s B^T dy, dA = du x^T and dx (+)= W^T dy + A^T du.
#pragma once
#include "ops/backward/grad_mode.h"
#include "ops/matmul.h"

namespace ds::ops {

// out = s * x (F32, same shape; out may alias x).
void scale(vk::Recorder& rec, const Tensor& x, float s, const Tensor& out);

// w: [K, N] any weight type (frozen); a: F32 [K, r]; b: F32 [r, N]; x: F32 [K, M]; u: F32 [r, M] (saved);
// y: F32 [N, M]. `base` applies to the frozen product W x (bias; accumulate into y).
void lora_forward(vk::Recorder& rec, const Tensor& w, const Tensor& a, const Tensor& b, float s, const Tensor& x,
                  const Tensor& u, const Tensor& y, const MatmulOptions& base = {});

// From the forward's x and u and the output gradient dy: da (shape of a), db (shape of b) written or
// accumulated (mode.accumulate_params); dx (may be empty) written or accumulated (mode.accumulate_input);
// du: F32 [r, M] scratch.
void lora_backward(vk::Recorder& rec, const Tensor& w, const Tensor& a, const Tensor& b, float s, const Tensor& x,
                   const Tensor& u, const Tensor& dy, const Tensor& dx, const Tensor& da, const Tensor& db,
                   const Tensor& du, const GradMode& mode = {});

}  // namespace ds::ops
