#version 450
// Decode attention (one query token), split-K ("flash decoding"). Workgroup (chunk c, kv head hk, head block b)
// attends the QPW query heads of block b, all reading kv head hk, over cache positions
// [c * chunk_keys, (c + 1) * chunk_keys) ∩ [0, kv_len), kv_len = n_past + 1 read from the step buffer at run
// time; chunks past kv_len exit at once, so the dispatch depends only on n_ctx. Keys go in tiles of T:
//   scores:  KSPLIT lanes per key, each reading f16vec4 pieces of the key row (consecutive lanes read
//            consecutive memory), summed with subgroup shuffles;
//   softmax: one subgroup per query head updates the running max m and sum l (online softmax, F32);
//   P·V:     consecutive threads read consecutive pieces of a value row, rows split over PV_ROWS groups.
// With n_chunks == 1 the normalized output is written to dst; otherwise dst is the partials workspace, per
// (head, chunk): NP vec4 of unnormalized sum_j p_j v_j, then vec4(m, l, 0, 0) (attention_combine.comp).
#include "common.glsl"
#extension GL_KHR_shader_subgroup_shuffle : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint T = 128;     // threads = keys per tile
layout(constant_id = 1) const uint HD = 64;     // head_dim (a multiple of 4, at most 4 * T)
layout(constant_id = 2) const uint QPW = 1;     // query heads per workgroup
layout(constant_id = 3) const uint KSPLIT = 4;  // lanes per key in the score phase (power of 2 <= subgroup)
layout(push_constant) uniform Push { AttentionPush p; };
layout(set = 0, binding = 0) readonly buffer Q { vec4 q4[]; };         // [head_dim, n_heads, 1] F32
layout(set = 0, binding = 1) readonly buffer K { f16vec4 k4[]; };      // [head_dim, n_ctx, n_kv] F16
layout(set = 0, binding = 2) readonly buffer V { f16vec4 v4[]; };      // [head_dim, n_ctx, n_kv] F16
layout(set = 0, binding = 3) readonly buffer Step { int step[]; };     // {n_past, ...}
layout(set = 0, binding = 4) writeonly buffer Dst { vec4 dst4[]; };    // output or partials

const uint NP = HD / 4;               // vec4 pieces per head vector
const uint PV_ROWS = T / NP;          // value rows read at once in the P·V phase
const float MASKED = -1.0e30;

shared vec4 q_red_sh[PV_ROWS * QPW * NP];  // scaled queries [QPW][NP]; at the end, P·V partials [PV_ROWS][QPW][NP]
shared float s_sh[QPW * T];                // scores, then probabilities, of the current tile
shared float m_sh[2][QPW], l_sh[2][QPW];  // running max and sum, double-buffered by tile parity
shared float alpha_sh[QPW];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint group = p.n_heads / p.n_kv;
  const uint blocks = group / QPW;
  const uint hk = gl_WorkGroupID.y / blocks;
  const uint head0 = hk * group + (gl_WorkGroupID.y % blocks) * QPW;
  const uint kv_len = min(uint(max(step[0], 0)) + 1, p.n_ctx);
  const uint key0 = gl_WorkGroupID.x * p.chunk_keys;
  if (key0 >= kv_len) return;  // whole workgroup: chunk past the live cache
  const uint key_end = min(key0 + p.chunk_keys, kv_len);
  const uint kv_row0 = hk * p.n_ctx;  // cache row of position 0 of this kv head

  for (uint i = tid; i < QPW * NP; i += T) q_red_sh[i] = q4[head0 * NP + i] * p.scale;
  if (tid < QPW) {
    m_sh[0][tid] = MASKED;
    l_sh[0][tid] = 0.0;
  }
  barrier();

  const uint lane = tid % KSPLIT, key_slot = tid / KSPLIT;
  const uint col = tid % NP, pv_row = tid / NP;
  vec4 acc[QPW];
  for (uint g = 0; g < QPW; ++g) acc[g] = vec4(0.0);

  uint cur = 0;  // parity of m_sh/l_sh holding the values before this tile
  for (uint tile0 = key0; tile0 < key_end; tile0 += T, cur ^= 1) {
    const uint n_live = min(T, key_end - tile0);
    // Scores s[g][j] = (scale q_g) · k_j.
    for (uint j0 = 0; j0 < T; j0 += T / KSPLIT) {
      const uint j = j0 + key_slot;
      float dot_g[QPW];
      for (uint g = 0; g < QPW; ++g) dot_g[g] = 0.0;
      if (j < n_live) {
        const uint row = (kv_row0 + tile0 + j) * NP;
        for (uint it = 0; it < NP / KSPLIT; ++it) {  // constant trip count: unrolled
          const uint i = lane + it * KSPLIT;
          const vec4 k = vec4(k4[row + i]);
          for (uint g = 0; g < QPW; ++g) dot_g[g] += dot(q_red_sh[g * NP + i], k);
        }
      }
      for (uint g = 0; g < QPW; ++g) {
        for (uint m = KSPLIT / 2; m > 0; m >>= 1) dot_g[g] += subgroupShuffleXor(dot_g[g], m);
        if (lane == 0) s_sh[g * T + j] = j < n_live ? dot_g[g] : MASKED;
      }
    }
    barrier();
    // Online softmax, one subgroup per query head: new max, probabilities, rescale of what came before.
    for (uint g = gl_SubgroupID; g < QPW; g += gl_NumSubgroups) {
      float mx = MASKED;
      for (uint j = gl_SubgroupInvocationID; j < n_live; j += gl_SubgroupSize) mx = max(mx, s_sh[g * T + j]);
      const float m_old = m_sh[cur][g];
      const float m_new = max(m_old, subgroupMax(mx));
      float sum = 0.0;
      for (uint j = gl_SubgroupInvocationID; j < n_live; j += gl_SubgroupSize) {
        float e = exp(s_sh[g * T + j] - m_new);
        s_sh[g * T + j] = e;
        sum += e;
      }
      sum = subgroupAdd(sum);
      if (subgroupElect()) {
        const float alpha = exp(m_old - m_new);
        alpha_sh[g] = alpha;
        l_sh[cur ^ 1][g] = l_sh[cur][g] * alpha + sum;
        m_sh[cur ^ 1][g] = m_new;
      }
    }
    barrier();
    // acc_g = alpha_g acc_g + sum_j p_gj v_j over this thread's value rows.
    if (pv_row < PV_ROWS) {
      for (uint g = 0; g < QPW; ++g) acc[g] *= alpha_sh[g];
      for (uint j = pv_row; j < n_live; j += PV_ROWS) {
        vec4 v = vec4(v4[(kv_row0 + tile0 + j) * NP + col]);
        for (uint g = 0; g < QPW; ++g) acc[g] += s_sh[g * T + j] * v;
      }
    }
    barrier();
  }

  // Sum the PV_ROWS partial accumulators, then write the output or this chunk's partial.
  if (pv_row < PV_ROWS)
    for (uint g = 0; g < QPW; ++g) q_red_sh[(pv_row * QPW + g) * NP + col] = acc[g];
  barrier();
  for (uint i = tid; i < QPW * NP; i += T) {
    const uint g = i / NP, c = i % NP;
    vec4 sum = vec4(0.0);
    for (uint r = 0; r < PV_ROWS; ++r) sum += q_red_sh[(r * QPW + g) * NP + c];
    const uint h = head0 + g;
    if (p.n_chunks == 1) {
      dst4[h * NP + c] = sum / l_sh[cur][g];
    } else {
      const uint part = (h * p.n_chunks + gl_WorkGroupID.x) * (NP + 1);
      dst4[part + c] = sum;
      if (c == 0) dst4[part + NP] = vec4(m_sh[cur][g], l_sh[cur][g], 0.0, 0.0);
    }
  }
}
