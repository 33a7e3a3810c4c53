#version 450
// AdamW (decoupled weight decay, as PyTorch's AdamW) on one F32 master parameter tensor, one invocation per
// element. g = grad * grad_scale * clip, clip = min(1, max_grad_norm / (norm + 1e-6)) from the global squared
// norm when clipping; m, v: F32 moments; lr = step.lr * lr_scale;
//   p *= 1 - lr * weight_decay;  p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)   (bc = 1 - beta^t).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { AdamWPush p; };
layout(set = 0, binding = 0) buffer Param { float param[]; };
layout(set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(set = 0, binding = 2) buffer M { float m1[]; };
layout(set = 0, binding = 3) buffer V { float m2[]; };
layout(set = 0, binding = 4) readonly buffer Step { AdamWStep st; };
layout(set = 0, binding = 5) readonly buffer NormSq { float norm_sq[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  float gs = st.grad_scale;
  if (p.clip != 0 && st.max_grad_norm > 0.0) {
    const float norm = sqrt(norm_sq[0]) * st.grad_scale;
    gs *= min(1.0, st.max_grad_norm / (norm + 1.0e-6));
  }
  const float g = grad[i] * gs;
  const float m = st.beta1 * m1[i] + (1.0 - st.beta1) * g;
  const float v = st.beta2 * m2[i] + (1.0 - st.beta2) * g * g;
  m1[i] = m;
  m2[i] = v;
  const float lr = st.lr * p.lr_scale;
  float w = param[i] * (1.0 - lr * p.weight_decay);
  w -= (lr / st.bias_correction1) * m / (sqrt(v) / sqrt(st.bias_correction2) + st.eps);
  param[i] = w;
}
