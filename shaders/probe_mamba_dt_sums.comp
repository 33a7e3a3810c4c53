#version 450
// Pre-pass of chunked Mamba implied-attention rows (mamba_attention.comp PROBE=1): per key chunk q and channel c,
// dt_sums[q, c] = sum of delta[c, t] = softplus(dt[c, t] + dt_bias[c]) over the chunk's positions up to the
// pass's last captured query. The row kernel then starts each chunk from the decay over the whole chunks above
// it with a few loads instead of re-reading the dt history of every later token (megabytes at long contexts).
// Workgroup (chunk, 64 channels).
#include "common.glsl"

layout(local_size_x = 64) in;
layout(push_constant) uniform Push { ProbeMambaRowsPush p; };
layout(set = 0, binding = 0) readonly buffer Dt { float dt[]; };           // [d_inner, capacity]
layout(set = 0, binding = 1) readonly buffer DtBias { float dt_bias[]; };  // [d_inner]
layout(set = 0, binding = 2) readonly buffer Step { int step[]; };
layout(set = 0, binding = 3) writeonly buffer DtSums { float dt_sums[]; };  // [chunks][d_inner]

float softplus(float v) { return v > 20.0 ? v : (v < -15.0 ? exp(v) : log(1.0 + exp(v))); }

void main() {
  const uint c = gl_WorkGroupID.y * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (c >= p.d_inner) return;
  const uint q = gl_WorkGroupID.x;
  const uint end = min(uint(max(step[0], 0)) + p.n_queries, p.capacity);  // positions [0, end) are valid
  const uint lo = q * p.chunk_keys, hi = min(lo + p.chunk_keys, end);
  const float bias = p.has_dt_bias != 0 ? dt_bias[c] : 0.0;
  float s = 0.0;
  for (uint t = lo; t < hi; ++t) s += softplus(dt[t * p.d_inner + c] + bias);
  dt_sums[q * p.d_inner + c] = s;
}
