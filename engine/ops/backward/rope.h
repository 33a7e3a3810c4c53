// RoPE backward: the rotation is orthogonal, so the input gradient is the output gradient turned back
// by the same angles (R^T dy = R(-angle) dy), for both pair conventions.
#pragma once
#include "ops/rope.h"

namespace ds::ops {

// dy, dx: F32 [head_dim, n_heads, n_tokens] (dx may alias dy); positions and inv_freq as in the forward rope().
void rope_backward(vk::Recorder& rec, const Tensor& dy, const Tensor& positions, const Tensor& inv_freq, RopeMode mode,
                   const Tensor& dx);

}  // namespace ds::ops
