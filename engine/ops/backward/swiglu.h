// SwiGLU backward (out = silu(gate) * up). The residual add needs no backward kernel: its gradient flows
// to both inputs unchanged, so the trainer keeps one residual-gradient buffer and lets the ops that read
// the residual add their input gradients into it (GradMode::accumulate_input); ops::add serves any explicit
// sum of gradients.
#pragma once
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// gate, up, dout, dgate, dup: F32, one shape. dgate may alias gate and dup may alias up.
void swiglu_backward(vk::Recorder& rec, const Tensor& gate, const Tensor& up, const Tensor& dout, const Tensor& dgate,
                     const Tensor& dup);

}  // namespace ops
}  // namespace ds
