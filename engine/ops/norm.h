// RMSNorm dispatch: y = x / sqrt(mean(x^2) + eps) * w, per row.
#pragma once
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// x, y: F32 [n, rows]; w: F32 [n] or empty (no weight).
void rms_norm(vk::Recorder& rec, const Tensor& x, const Tensor& w, const Tensor& y, float eps);

}  // namespace ops
}  // namespace ds
