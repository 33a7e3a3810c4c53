#version 450
// RMSNorm, one workgroup per row: y = x * inversesqrt(mean(x^2) + eps) * w.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { RmsNormPush p; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };

#include "reduce.glsl"

void main() {
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= p.rows) return;
  uint base = row * p.n;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += gl_WorkGroupSize.x) ss += x[base + i] * x[base + i];
  ss = workgroup_sum(ss);
  float scale = inversesqrt(ss / float(p.n) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += gl_WorkGroupSize.x)
    y[base + i] = x[base + i] * scale * (p.has_weight != 0 ? w[i] : 1.0);
}
