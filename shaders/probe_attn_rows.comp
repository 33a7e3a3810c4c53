#version 450
// Attention-row capture: softmax probabilities of captured query heads over cache positions, recomputed
// from the post-RoPE q and the F16 K cache (the attention op is untouched). Workgroup (chunk c, captured
// head i, query t) covers keys [c * chunk_keys, (c + 1) * chunk_keys) of a row; kv_len = n_past + t + 1,
// n_past read from the step buffer, so the dispatch depends only on shapes.
//   FINAL=0: scaled scores q·k into the row (keys < max_keys), zeros past kv_len, the chunk's (max, sum exp)
//            into partials (keys past max_keys still count toward the normalizer);
//   FINAL=1: every workgroup reduces its row's partials and turns its chunk of scores into probabilities.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HD = 64;  // head_dim (a multiple of 4)
layout(push_constant) uniform Push { ProbeAttnPush p; };
#if FINAL
layout(set = 0, binding = 0) readonly buffer Step { int step[]; };
layout(set = 0, binding = 1) readonly buffer Index { uint frame_index[]; };
layout(set = 0, binding = 2) readonly buffer Partials { vec2 part[]; };
layout(set = 0, binding = 3) buffer Ring { float ring[]; };
#else
layout(set = 0, binding = 0) readonly buffer Q { vec4 q4[]; };     // [head_dim, n_heads, n_tokens]
layout(set = 0, binding = 1) readonly buffer K { f16vec4 k4[]; };  // [head_dim, n_ctx, n_kv]
layout(set = 0, binding = 2) readonly buffer Step { int step[]; };
layout(set = 0, binding = 3) readonly buffer Index { uint frame_index[]; };
layout(set = 0, binding = 4) writeonly buffer Partials { vec2 part[]; };
layout(set = 0, binding = 5) writeonly buffer Ring { float ring[]; };
shared vec4 q_sh[HD / 4];
#endif

#include "reduce.glsl"

const float MASKED = -1.0e30;

#include "probe_heads.glsl"

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint c = gl_WorkGroupID.x, hi = gl_WorkGroupID.y, t = gl_WorkGroupID.z;
  const uint kv_len = min(uint(max(step[0], 0)) + t + 1, p.n_ctx);
  const uint row = p.out_offset + frame_index[0] * p.frame_words + (hi * p.query_stride + t) * p.max_keys;
  const uint part_row = (hi * gl_NumWorkGroups.z + t) * p.n_chunks;
  const uint key0 = c * p.chunk_keys, key_end = key0 + p.chunk_keys;
#if FINAL
  float m = MASKED, l = 0.0;
  for (uint i = tid; i < p.n_chunks; i += gl_WorkGroupSize.x) {
    vec2 v = part[part_row + i];
    float mn = max(m, v.x);
    l = l * exp(m - mn) + v.y * exp(v.x - mn);
    m = mn;
  }
  const float row_max = workgroup_max(m);
  const float inv_sum = 1.0 / workgroup_sum(l * exp(m - row_max));
  const uint live_end = min(key_end, min(kv_len, p.max_keys));
  for (uint j = key0 + tid; j < live_end; j += gl_WorkGroupSize.x) ring[row + j] = exp(ring[row + j] - row_max) * inv_sum;
#else
  const uint h = captured_head(hi);
  const uint hk = h / (p.n_heads / p.n_kv);
  for (uint i = tid; i < HD / 4; i += gl_WorkGroupSize.x) q_sh[i] = q4[(t * p.n_heads + h) * (HD / 4) + i] * p.scale;
  barrier();
  float m = MASKED, l = 0.0;  // running max and sum of exp(score - m) of this invocation's keys
  for (uint j = key0 + tid; j < key_end; j += gl_WorkGroupSize.x) {
    if (j < kv_len) {
      const uint kr = (hk * p.n_ctx + j) * (HD / 4);
      float s = 0.0;
      for (uint i = 0; i < HD / 4; ++i) s += dot(q_sh[i], vec4(k4[kr + i]));
      if (j < p.max_keys) ring[row + j] = s;
      if (s > m) {
        l = l * exp(m - s) + 1.0;
        m = s;
      } else {
        l += exp(s - m);
      }
    } else if (j < p.max_keys) {
      ring[row + j] = 0.0;  // not causal (yet): stored rows are zero past kv_len
    }
  }
  const float wg_max = workgroup_max(m);
  const float wg_sum = workgroup_sum(l * exp(m - wg_max));
  if (tid == 0) part[part_row + c] = vec2(wg_max, wg_sum);
#endif
}
