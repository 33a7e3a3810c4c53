#version 450
// RMSNorm backward, one workgroup per row: with rstd = 1 / sqrt(mean(x^2) + eps) and g = dy * w,
// dx = rstd * g - x * rstd^3 * mean(g * x)  (written, or added with GRAD_ACCUMULATE); rstd[row] is saved
// for the weight gradient (sum_rows.comp WEIGHTED: dw = sum over rows of dy * x * rstd).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { NormBackwardPush p; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 3) buffer DX { float dx[]; };
layout(set = 0, binding = 4) writeonly buffer Rstd { float rstd[]; };

#include "reduce.glsl"

float weight(uint i) { return (p.flags & GRAD_HAS_WEIGHT) != 0 ? w[i] : 1.0; }

void main() {
  const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= p.rows) return;
  const uint base = row * p.n;
  float ss = 0.0, gx = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += gl_WorkGroupSize.x) {
    const float xi = x[base + i];
    ss += xi * xi;
    gx += dy[base + i] * weight(i) * xi;
  }
  ss = workgroup_sum(ss);
  gx = workgroup_sum(gx);
  const float r = inversesqrt(ss / float(p.n) + p.eps);
  const float c = r * r * r * gx / float(p.n);
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += gl_WorkGroupSize.x) {
    float v = r * dy[base + i] * weight(i) - x[base + i] * c;
    if ((p.flags & GRAD_ACCUMULATE) != 0) v += dx[base + i];
    dx[base + i] = v;
  }
  if (gl_LocalInvocationID.x == 0) rstd[row] = r;
}
