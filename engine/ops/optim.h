// Optimizer kernels over F32 tensors: the global gradient norm (sum of squares over a list of gradient
// tensors, deterministic two-step reduction), the AdamW update of one parameter tensor (its F32 master,
// gradient and moments; the per-step scalars come from a host-written AdamWStep buffer so one recording
// serves every step), and the F32 master -> F16/BF16 copy for models whose inference weights are half.
// The host side (parameter groups, schedule, moments) is train/optimizer.h.
#pragma once
#include <span>

#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// Workgroups (= partial sums) given to one gradient tensor of n elements by grad_norm_sq.
uint32_t grad_norm_partials(int64_t n);

// norm_sq F32 [1] = sum over `grads` (F32, any shape) of sum(g^2). partials: F32 scratch of at least
// sum of grad_norm_partials(g.n_elements()) values.
void grad_norm_sq(vk::Recorder& rec, std::span<const Tensor> grads, const Tensor& partials, const Tensor& norm_sq);

struct AdamWParams {
  float lr_scale = 1.0f;      // the tensor's group multiplies the step's learning rate
  float weight_decay = 0.0f;  // decoupled: p *= 1 - lr * weight_decay
};

// One AdamW step of param (F32 master) from grad, updating the moments m, v (F32, same shape, zero at
// the start). step: the AdamWStep buffer (shaders/push_constants.h; lr, betas, eps, bias corrections,
// max_grad_norm, grad_scale). norm_sq: the global squared gradient norm (grad_norm_sq) when clipping,
// else empty (no clipping whatever max_grad_norm says).
void adamw(vk::Recorder& rec, const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
           const vk::BufferSlice& step, const Tensor& norm_sq, const AdamWParams& params);

// dst F16|BF16 = src F32 rounded to nearest even (same element count).
void cast_half(vk::Recorder& rec, const Tensor& src, const Tensor& dst);

}  // namespace ops
}  // namespace ds
