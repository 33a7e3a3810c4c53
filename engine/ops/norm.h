// RMSNorm dispatch: y = x / sqrt(mean(x^2) + eps) * w, per row.
#pragma once
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// x: F32 [n, rows]; y: F32 or F16 [n, rows] (F16: the input of a tensor-core matmul); w: F32 [n] or empty.
void rms_norm(vk::Recorder& rec, const Tensor& x, const Tensor& w, const Tensor& y, float eps);

}  // namespace ops
}  // namespace ds
