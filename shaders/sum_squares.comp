#version 450
// Global gradient norm, deterministic in two steps. PARTIAL (per gradient tensor, a fixed number of
// workgroups): partials[offset + g] = sum of x[i]^2 over workgroup g's grid-stride share of x.
// FINAL (one workgroup): out[0] = sum of partials[0 .. n) (the squared norm; the optimizer takes the root).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { SumSquaresPush p; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Out { float o[]; };

#include "reduce.glsl"

void main() {
  const uint tid = gl_LocalInvocationID.x;
  float acc = 0.0;
#if defined(FINAL)
  for (uint i = tid; i < p.n; i += gl_WorkGroupSize.x) acc += x[i];
  acc = workgroup_sum(acc);
  if (tid == 0) o[0] = acc;
#else
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_WorkGroupID.x * gl_WorkGroupSize.x + tid; i < p.n; i += stride) acc += x[i] * x[i];
  acc = workgroup_sum(acc);
  if (tid == 0) o[p.offset + gl_WorkGroupID.x] = acc;
#endif
}
