#version 450
// KV-cache store: cache[d, n_past + t, h] = f16(src[d, h, t]) with n_past = step[0] read at run time, so a
// recorded decode step can be replayed. Positions at or past n_ctx are skipped (the op checks n_tokens).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { KvStorePush p; };
layout(set = 0, binding = 0) readonly buffer Src { float src[]; };     // [head_dim, n_kv, n_tokens]
layout(set = 0, binding = 1) readonly buffer Step { int step[]; };     // {n_past, n_tokens, 0, 0}
layout(set = 0, binding = 2) writeonly buffer Cache { float16_t cache[]; };  // [head_dim, n_ctx, n_kv]

void main() {
  uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (idx >= p.head_dim * p.n_kv * p.n_tokens) return;
  uint d = idx % p.head_dim;
  uint h = (idx / p.head_dim) % p.n_kv;
  uint t = idx / (p.head_dim * p.n_kv);
  uint pos = uint(max(step[0], 0)) + t;
  if (pos >= p.n_ctx) return;
  cache[(h * p.n_ctx + pos) * p.head_dim + d] = float16_t(src[idx]);
}
