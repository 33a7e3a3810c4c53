#version 450
// SwiGLU backward, one invocation per element: out = silu(g) * u with silu(g) = g * sigmoid(g), so
// dgate = dout * u * sigmoid(g) * (1 + g * (1 - sigmoid(g))) and dup = dout * silu(g). dgate may be the
// memory of gate and dup the memory of up (each invocation reads its element before writing it).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { ElementwisePush p; };
layout(set = 0, binding = 0) readonly buffer Gate { float gate[]; };
layout(set = 0, binding = 1) readonly buffer Up { float up[]; };
layout(set = 0, binding = 2) readonly buffer DOut { float dout[]; };
layout(set = 0, binding = 3) writeonly buffer DGate { float dgate[]; };
layout(set = 0, binding = 4) writeonly buffer DUp { float dup[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const float g = gate[i], u = up[i], d = dout[i];
  const float sg = 1.0 / (1.0 + exp(-g));
  dgate[i] = d * u * sg * (1.0 + g * (1.0 - sg));
  dup[i] = d * g * sg;
}
