// Element-wise F32 ops of the transformer block: SwiGLU gating and the residual add.
#pragma once
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// out = silu(gate) * up = gate / (1 + exp(-gate)) * up; same shape; gate, up F32, out F32 or F16 (F16: the
// input of a tensor-core matmul).
void swiglu(vk::Recorder& rec, const Tensor& gate, const Tensor& up, const Tensor& out);
// out = a + b; all F32, same shape; out may alias a (or b).
void add(vk::Recorder& rec, const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace ops
}  // namespace ds
