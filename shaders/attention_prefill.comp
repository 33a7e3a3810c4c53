#version 450
// Prefill attention (n_tokens > 1), flash-attention style: workgroup (query block qb, head h) keeps BQ scaled
// query rows in shared memory and walks the cache of kv head h / (n_heads / n_kv) in tiles of BK keys, each
// tile's K and V staged in shared memory with coalesced loads. Token t sees positions 0 .. n_past + t
// (n_past read from the step buffer at run time). Per tile:
//   scores  S = Q K^T (each thread: one query row, SK keys), causal mask;
//   softmax online per row (SM_LANES lanes per row, subgroup shuffles): running max m, sum l, rescale alpha;
//   output  O = alpha O + P V (each thread: one row, PPT vec4 pieces of head_dim).
// Rows past n_tokens (last block) act as the last token and are not written. -DOUT_F16: O in F16 (the input
// of prefill's tensor-core output projection).
#include "common.glsl"
#extension GL_KHR_shader_subgroup_shuffle : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint T = 128;        // threads
layout(constant_id = 1) const uint HD = 64;        // head_dim (a multiple of 4)
layout(constant_id = 2) const uint BQ = 16;        // query rows per workgroup (divides T)
layout(constant_id = 3) const uint BK = 32;        // keys per tile (BQ * BK a multiple of T)
layout(constant_id = 4) const uint SM_LANES = 8;   // softmax lanes per row (power of 2 <= subgroup, <= T / BQ)
layout(push_constant) uniform Push { AttentionPush p; };
layout(set = 0, binding = 0) readonly buffer Q { vec4 q4[]; };       // [head_dim, n_heads, n_tokens] F32
layout(set = 0, binding = 1) readonly buffer K { f16vec4 k4[]; };    // [head_dim, n_ctx, n_kv] F16
layout(set = 0, binding = 2) readonly buffer V { f16vec4 v4[]; };    // [head_dim, n_ctx, n_kv] F16
layout(set = 0, binding = 3) readonly buffer Step { int step[]; };   // {n_past, ...}
#if defined(OUT_F16)
layout(set = 0, binding = 4) writeonly buffer O { f16vec4 o4[]; };   // [head_dim, n_heads, n_tokens] F16
#define OUT4(v) f16vec4(v)
#else
layout(set = 0, binding = 4) writeonly buffer O { vec4 o4[]; };      // [head_dim, n_heads, n_tokens] F32
#define OUT4(v) (v)
#endif

const uint NP = HD / 4;                     // vec4 pieces per head vector
const uint STRIDE = NP + 1;                 // padded row stride of Q and K in shared memory (bank spread)
const uint TPR = T / BQ;                    // threads per query row
const uint SK = BQ * BK / T;                // scores per thread
const uint PPT = (NP + TPR - 1) / TPR;      // output pieces per thread
const float MASKED = -1.0e30;

shared vec4 q_sh[BQ * STRIDE];
shared f16vec4 k_sh[BK * STRIDE];
shared f16vec4 v_sh[BK * NP];
shared float s_sh[BQ * BK];
shared float alpha_sh[BQ], l_sh[BQ];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint h = gl_WorkGroupID.y;
  const uint hk = h / (p.n_heads / p.n_kv);
  const uint q0 = gl_WorkGroupID.x * BQ;
  const uint n_past = uint(max(step[0], 0));
  const uint last_t = min(q0 + BQ, p.n_tokens) - 1;
  const uint kv_end = min(n_past + last_t + 1, p.n_ctx);  // keys any row of this block sees
  const uint kv_row0 = hk * p.n_ctx;

  for (uint i = tid; i < BQ * NP; i += T) {
    const uint r = i / NP, c = i % NP;
    const uint t = min(q0 + r, p.n_tokens - 1);
    q_sh[r * STRIDE + c] = q4[(t * p.n_heads + h) * NP + c] * p.scale;
  }
  const uint sm_row = tid / SM_LANES, sm_lane = tid % SM_LANES;  // softmax phase
  float m_run = MASKED, l_run = 0.0;

  const uint row = tid / TPR, lane = tid % TPR;  // score and output phases
  const uint row_last_key = n_past + min(q0 + row, p.n_tokens - 1);
  vec4 acc[PPT];
  for (uint c = 0; c < PPT; ++c) acc[c] = vec4(0.0);

  for (uint tile0 = 0; tile0 < kv_end; tile0 += BK) {
    const uint n_live = min(BK, kv_end - tile0);
    barrier();  // previous tile's readers are done
    for (uint i = tid; i < n_live * NP; i += T) {
      const uint j = i / NP, c = i % NP;
      k_sh[j * STRIDE + c] = k4[(kv_row0 + tile0) * NP + i];
      v_sh[i] = v4[(kv_row0 + tile0) * NP + i];
    }
    barrier();
    // Scores of row `row` against keys lane, lane + TPR, ...
    float s[SK];
    for (uint c = 0; c < SK; ++c) s[c] = 0.0;
    for (uint i = 0; i < NP; ++i) {
      const vec4 qv = q_sh[row * STRIDE + i];
      for (uint c = 0; c < SK; ++c) {
        const uint j = lane + c * TPR;
        if (j < n_live) s[c] += dot(qv, vec4(k_sh[j * STRIDE + i]));
      }
    }
    for (uint c = 0; c < SK; ++c) {
      const uint j = lane + c * TPR;
      s_sh[row * BK + j] = (j < n_live && tile0 + j <= row_last_key) ? s[c] : MASKED;
    }
    barrier();
    // Online softmax per row. A row keeps the same SM_LANES threads in every tile, and the xor reductions
    // leave the same values in all of them, so each holds its row's running max and sum in registers.
    if (tid < BQ * SM_LANES) {
      float mx = MASKED;
      for (uint j = sm_lane; j < n_live; j += SM_LANES) mx = max(mx, s_sh[sm_row * BK + j]);
      for (uint m = SM_LANES / 2; m > 0; m >>= 1) mx = max(mx, subgroupShuffleXor(mx, m));
      const float m_new = max(m_run, mx);
      float sum = 0.0;
      for (uint j = sm_lane; j < n_live; j += SM_LANES) {
        const float e = exp(s_sh[sm_row * BK + j] - m_new);
        s_sh[sm_row * BK + j] = e;
        sum += e;
      }
      for (uint m = SM_LANES / 2; m > 0; m >>= 1) sum += subgroupShuffleXor(sum, m);
      const float alpha = exp(m_run - m_new);
      l_run = l_run * alpha + sum;
      m_run = m_new;
      if (sm_lane == 0) alpha_sh[sm_row] = alpha;
    }
    barrier();
    // O = alpha O + P V for this thread's pieces of row `row`.
    const float alpha = alpha_sh[row];
    for (uint c = 0; c < PPT; ++c) acc[c] *= alpha;
    for (uint j = 0; j < n_live; ++j) {
      const float pj = s_sh[row * BK + j];
      for (uint c = 0; c < PPT; ++c) {
        const uint piece = lane + c * TPR;
        if (piece < NP) acc[c] += pj * vec4(v_sh[j * NP + piece]);
      }
    }
  }

  if (tid < BQ * SM_LANES && sm_lane == 0) l_sh[sm_row] = l_run;
  barrier();
  const uint t = q0 + row;
  if (t >= p.n_tokens) return;
  const float inv_l = 1.0 / l_sh[row];
  for (uint c = 0; c < PPT; ++c) {
    const uint piece = lane + c * TPR;
    if (piece < NP) o4[(t * p.n_heads + h) * NP + piece] = OUT4(acc[c] * inv_l);
  }
}
