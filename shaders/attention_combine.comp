#version 450
// Split-K combine for decode attention: one workgroup per query head merges the live chunks' partials
// (acc_c, m_c, l_c) written by attention_decode.comp: out = sum_c w_c acc_c / sum_c w_c l_c with
// w_c = exp(m_c - max_c m_c). Threads split the chunks into T / NP slices so the loads overlap.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint T = 256;
layout(constant_id = 1) const uint HD = 64;
layout(constant_id = 2) const uint MAX_CHUNKS = 128;
layout(push_constant) uniform Push { AttentionPush p; };
layout(set = 0, binding = 0) readonly buffer Part { vec4 part4[]; };  // [n_heads][n_chunks][NP + 1]
layout(set = 0, binding = 1) readonly buffer Step { int step[]; };
layout(set = 0, binding = 2) writeonly buffer O { vec4 o4[]; };      // [head_dim, n_heads, 1]

#include "reduce.glsl"

const uint NP = HD / 4;
const uint SLICES = T / NP;
shared float w_sh[MAX_CHUNKS];
shared vec4 acc_sh[SLICES * NP];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint h = gl_WorkGroupID.x;
  const uint kv_len = min(uint(max(step[0], 0)) + 1, p.n_ctx);
  const uint n_live = (kv_len + p.chunk_keys - 1) / p.chunk_keys;
  const uint base = h * p.n_chunks * (NP + 1);

  float mx = -1.0e30;
  for (uint c = tid; c < n_live; c += T) mx = max(mx, part4[base + c * (NP + 1) + NP].x);
  mx = workgroup_max(mx);
  float l = 0.0;
  for (uint c = tid; c < n_live; c += T) {
    const vec4 ml = part4[base + c * (NP + 1) + NP];
    const float w = exp(ml.x - mx);
    w_sh[c] = w;
    l += w * ml.y;
  }
  l = workgroup_sum(l);
  barrier();

  const uint piece = tid % NP, slice = tid / NP;
  if (slice < SLICES) {
    vec4 acc = vec4(0.0);
    for (uint c = slice; c < n_live; c += SLICES) acc += part4[base + c * (NP + 1) + piece] * w_sh[c];
    acc_sh[slice * NP + piece] = acc;
  }
  barrier();
  if (tid < NP) {
    vec4 sum = vec4(0.0);
    for (uint s = 0; s < SLICES; ++s) sum += acc_sh[s * NP + tid];
    o4[h * NP + tid] = sum / l;
  }
}
