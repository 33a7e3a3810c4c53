#version 450
// out[i] = s * x[i], one invocation per element (out may be the memory of x). Used by LoRA's scale alpha / r.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { ScalePush p; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i < p.n) o[i] = p.s * x[i];
}
