#version 450
// Training forward attention: out = softmax(scale * q k^T, causal) v per head, and the log-sum-exp of each
// row's scaled scores (lse), which the backward uses to recompute the probabilities. Workgroup = (block of B
// query rows, head, sequence); it walks the key blocks up to its diagonal, each K/V tile staged in shared
// memory: scores S (thread (i, j) of the B x B workgroup: query i, key j), online softmax per row (running
// max m and sum l; threads 0..B-1 own one row each), then O = alpha O + P V (thread: row i, DPT dims).
#include "common.glsl"
#include "attention_train.glsl"

layout(set = 0, binding = 0) readonly buffer Q { float q[]; };
layout(set = 0, binding = 1) readonly buffer K { float k[]; };
layout(set = 0, binding = 2) readonly buffer V { float v[]; };
layout(set = 0, binding = 3) writeonly buffer O { float o[]; };
layout(set = 0, binding = 4) writeonly buffer Lse { float lse[]; };

shared float q_sh[B * STRIDE], k_sh[B * STRIDE], v_sh[B * STRIDE], s_sh[B * B];
shared float m_sh[B], l_sh[B], alpha_sh[B];

DEFINE_DOT_ROWS(q_sh, k_sh)

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint q0 = gl_WorkGroupID.x * B, h = gl_WorkGroupID.y, seq = gl_WorkGroupID.z;
  const uint hk = h / (p.n_heads / p.n_kv);
  const uint i = tid / B, j = tid % B;  // score phase: query row i, key j; accumulation: row i, dims j + c * B

  LOAD_TILE(q_sh, q, seq, q0, h, p.n_heads)
  if (tid < B) {
    m_sh[tid] = MASKED;
    l_sh[tid] = 0.0;
  }
  float acc[DPT];
  for (uint c = 0; c < DPT; ++c) acc[c] = 0.0;

  for (uint k0 = 0; k0 <= q0; k0 += B) {
    barrier();  // the previous tile's readers are done
    LOAD_TILE(k_sh, k, seq, k0, hk, p.n_kv)
    LOAD_TILE(v_sh, v, seq, k0, hk, p.n_kv)
    barrier();
    const uint tq = q0 + i, tk = k0 + j;
    s_sh[i * B + j] = (tq < p.n_tokens && tk <= tq) ? p.scale * dot_q_sh_k_sh(i, j) : MASKED;
    barrier();
    if (tid < B) {  // online softmax of row tid: probabilities replace the scores
      float mx = MASKED;
      for (uint jj = 0; jj < B; ++jj) mx = max(mx, s_sh[tid * B + jj]);
      const float m_new = max(m_sh[tid], mx);
      float sum = 0.0;
      for (uint jj = 0; jj < B; ++jj) {
        const float e = exp(s_sh[tid * B + jj] - m_new);
        s_sh[tid * B + jj] = e;
        sum += e;
      }
      const float alpha = exp(m_sh[tid] - m_new);
      l_sh[tid] = l_sh[tid] * alpha + sum;
      m_sh[tid] = m_new;
      alpha_sh[tid] = alpha;
    }
    barrier();
    const float alpha = alpha_sh[i];
    for (uint c = 0; c < DPT; ++c) acc[c] *= alpha;
    for (uint jj = 0; jj < B; ++jj) {
      const float pj = s_sh[i * B + jj];
      for (uint c = 0; c < DPT; ++c) {
        const uint d = j + c * B;
        if (d < HD) acc[c] += pj * v_sh[jj * STRIDE + d];
      }
    }
  }

  const uint t = q0 + i;
  if (t >= p.n_tokens) return;
  const float inv_l = 1.0 / l_sh[i];
  for (uint c = 0; c < DPT; ++c) {
    const uint d = j + c * B;
    if (d < HD) o[at(seq, t, h, p.n_heads, d)] = acc[c] * inv_l;
  }
  if (j == 0) lse[row_at(seq, t, h)] = m_sh[i] + log(l_sh[i]);
}
