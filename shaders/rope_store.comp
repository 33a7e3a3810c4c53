#version 450
// Decode fusion of RoPE + KV-cache store: per token, rotates q in place, rotates k into the F16 K cache
// and copies v into the V cache at position n_past + t (n_past = step[0], read at run time). One
// invocation per pair: q pairs, then k pairs, then v pairs (v pairs are copied unrotated).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { RopeStorePush p; };
layout(set = 0, binding = 0) buffer Q { float q[]; };                      // [head_dim, n_heads, n_tokens]
layout(set = 0, binding = 1) readonly buffer K { float k[]; };             // [head_dim, n_kv, n_tokens]
layout(set = 0, binding = 2) readonly buffer V { float v[]; };             // [head_dim, n_kv, n_tokens]
layout(set = 0, binding = 3) readonly buffer Pos { int positions[]; };     // [n_tokens]
layout(set = 0, binding = 4) readonly buffer Freq { float inv_freq[]; };   // [head_dim / 2]
layout(set = 0, binding = 5) readonly buffer Step { int step[]; };         // {n_past, n_tokens, 0, 0}
layout(set = 0, binding = 6) writeonly buffer KC { float16_t k_cache[]; }; // [head_dim, n_ctx, n_kv]
layout(set = 0, binding = 7) writeonly buffer VC { float16_t v_cache[]; }; // [head_dim, n_ctx, n_kv]

#include "rope.glsl"

void main() {
  const uint half_dim = p.head_dim / 2;
  const uint per_token = (p.n_heads + 2 * p.n_kv) * half_dim;
  const uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (idx >= per_token * p.n_tokens) return;
  const uint t = idx / per_token;
  uint j = idx % per_token;
  const uint i = j % half_dim;
  const uvec2 e = rope_pair(i, p.head_dim, p.neox != 0);
  const uint pos = uint(max(step[0], 0)) + t;
  if (j < p.n_heads * half_dim) {  // q: rotate in place
    const uint base = (t * p.n_heads + j / half_dim) * p.head_dim;
    vec2 r = rope_rotate(vec2(q[base + e.x], q[base + e.y]), rope_cos_sin(positions[t], inv_freq[i]));
    q[base + e.x] = r.x;
    q[base + e.y] = r.y;
    return;
  }
  j -= p.n_heads * half_dim;
  const bool is_v = j >= p.n_kv * half_dim;
  const uint h = (is_v ? j - p.n_kv * half_dim : j) / half_dim;
  const uint src = (t * p.n_kv + h) * p.head_dim;
  if (pos >= p.n_ctx) return;
  const uint dst = (h * p.n_ctx + pos) * p.head_dim;
  if (is_v) {
    v_cache[dst + e.x] = float16_t(v[src + e.x]);
    v_cache[dst + e.y] = float16_t(v[src + e.y]);
  } else {
    vec2 r = rope_rotate(vec2(k[src + e.x], k[src + e.y]), rope_cos_sin(positions[t], inv_freq[i]));
    k_cache[dst + e.x] = float16_t(r.x);
    k_cache[dst + e.y] = float16_t(r.y);
  }
}
