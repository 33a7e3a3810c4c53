// RMSNorm backward: the input gradient and the weight gradient (reduced over rows).
#pragma once
#include "ops/backward/grad_mode.h"
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// Forward: y = x / sqrt(mean(x^2) + eps) * w.  x, dy, dx: F32 [n, rows]; w, dw: F32 [n] (both empty for a
// norm without weight; dw alone empty for a frozen weight); rstd: F32 [rows] scratch (receives 1 / sqrt(mean(x^2) + eps) per row).
// dx must not overlap x or dy. Deterministic: dw sums the rows in order, one invocation per column.
void rms_norm_backward(vk::Recorder& rec, const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx,
                       const Tensor& dw, const Tensor& rstd, float eps, const GradMode& mode = {});

// Column sums over rows: out F32 [n] (+)= sum_r a[:, r]  (a: F32 [n, rows]) -- the bias gradient.
void sum_rows(vk::Recorder& rec, const Tensor& a, const Tensor& out, bool accumulate);

}  // namespace ops
}  // namespace ds
