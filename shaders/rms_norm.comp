#version 450
// RMSNorm, one workgroup per row: y = x * inversesqrt(mean(x^2) + eps) * w. -DOUT_F16: y in F16 (the
// input of prefill's tensor-core matmuls, which read F16 anyway).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { RmsNormPush p; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
#if defined(OUT_F16)
layout(set = 0, binding = 2) writeonly buffer Y { float16_t y[]; };
#define OUT(v) float16_t(v)
#else
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };
#define OUT(v) (v)
#endif

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
    y[base + i] = OUT(x[base + i] * scale * (p.has_weight != 0 ? w[i] : 1.0));
}
