#version 450
// Column sums over rows, one invocation per column, rows added in order (deterministic):
// SUM: out[i] = sum_r a[r, i] (bias gradient);  WEIGHTED: out[i] = sum_r a[r, i] * b[r, i] * s[r]
// (RMSNorm weight gradient: a = dy, b = x, s = rstd). GRAD_ACCUMULATE adds into out.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { NormBackwardPush p; };
layout(set = 0, binding = 0) readonly buffer A { float a[]; };  // [n, rows]
layout(set = 0, binding = 1) readonly buffer B { float b[]; };  // [n, rows] (WEIGHTED)
layout(set = 0, binding = 2) readonly buffer S { float s[]; };  // [rows] (WEIGHTED)
layout(set = 0, binding = 3) buffer Out { float o[]; };         // [n]

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  float acc = 0.0;
  for (uint r = 0; r < p.rows; ++r) {
#if defined(WEIGHTED)
    acc += a[r * p.n + i] * b[r * p.n + i] * s[r];
#else
    acc += a[r * p.n + i];
#endif
  }
  if ((p.flags & GRAD_ACCUMULATE) != 0) acc += o[i];
  o[i] = acc;
}
