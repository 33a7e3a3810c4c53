#version 450
// Training linear mixer, forward: workgroup = (block of B query rows, query head h, sequence). Pass 1 walks the
// window keys for each row's max score m (and its first argmax); pass 2 walks every key up to the block's last
// row with the pair weights a = wf exp(scale q.k - m) (window) or lf phi_q.phi_k (older keys, phi saved by the
// feature kernels), out = sum a v / sum a. Saves m, den = sum a and the argmax per row for the backward.
#include "common.glsl"

layout(push_constant) uniform Push { LinearMixerTrainPush p; };
layout(set = 0, binding = 0) readonly buffer Q { float q[]; };            // [head_dim, n_heads, n_tokens, n_seqs]
layout(set = 0, binding = 1) readonly buffer K { float k[]; };            // [head_dim, n_kv, n_tokens, n_seqs]
layout(set = 0, binding = 2) readonly buffer V { float v[]; };
layout(set = 0, binding = 3) readonly buffer PhiQ { float phi_q[]; };     // [2F, n_heads, n_tokens, n_seqs]
layout(set = 0, binding = 4) readonly buffer PhiK { float phi_k[]; };     // [2F, n_state, n_tokens, n_seqs]
layout(set = 0, binding = 5) readonly buffer Wf { float window_logit[]; };  // [n_heads] (LINMIX_WINDOW_FACTOR)
layout(set = 0, binding = 6) writeonly buffer O { float o[]; };           // [head_dim, n_heads, n_tokens, n_seqs]
layout(set = 0, binding = 7) writeonly buffer Stats { float stats[]; };   // [n_heads, n_tokens, n_seqs, 3]
#include "linmix_train.glsl"

shared float q_sh[B * STRIDE], k_sh[B * STRIDE], v_sh[B * STRIDE], pq_sh[B * PSTRIDE], pk_sh[B * PSTRIDE];
shared float a_sh[B * B], m_sh[B], den_sh[B];
shared uint arg_sh[B];

DEFINE_DOT(q_sh, k_sh, HD, STRIDE)
DEFINE_DOT(pq_sh, pk_sh, FF, PSTRIDE)

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint q0 = gl_WorkGroupID.x * B, h = gl_WorkGroupID.y, seq = gl_WorkGroupID.z;
  const uint hk = h / (p.n_heads / p.n_kv), s = h / (p.n_heads / p.n_state);
  const uint i = tid / B, j = tid % B, tq = q0 + i;
  float wf, lf;
  factors(h, wf, lf);

  LOAD_TILE(q_sh, q, seq, q0, h, p.n_heads, HD, STRIDE, 1.0)
  LOAD_TILE(pq_sh, phi_q, seq, q0, h, p.n_heads, FF, PSTRIDE, 1.0)
  if (tid < B) {
    m_sh[tid] = MASKED;
    arg_sh[tid] = 0;
    den_sh[tid] = 0.0;
  }
  // Pass 1: the window max of each row (keys q0 - N + 1 .. q0 + B - 1).
  if (p.window > 0) {
    for (uint k0 = uint(max(int(q0) - int(p.window) + 1, 0)) / B * B; k0 <= q0; k0 += B) {
      barrier();
      LOAD_TILE(k_sh, k, seq, k0, hk, p.n_kv, HD, STRIDE, 1.0)
      barrier();
      const uint tk = k0 + j;
      a_sh[i * B + j] = tq < p.n_tokens && tk <= tq && in_window(tq, tk) ? p.scale * dot_q_sh_k_sh(i, j) : MASKED;
      barrier();
      if (tid < B)
        for (uint jj = 0; jj < B; ++jj)
          if (a_sh[tid * B + jj] > m_sh[tid]) {  // strictly greater: the first maximal key
            m_sh[tid] = a_sh[tid * B + jj];
            arg_sh[tid] = k0 + jj;
          }
    }
  }
  // Pass 2: numerator and denominator over every key.
  float acc[DPT];
  for (uint c = 0; c < DPT; ++c) acc[c] = 0.0;
  for (uint k0 = 0; k0 <= q0; k0 += B) {
    barrier();
    LOAD_TILE(k_sh, k, seq, k0, hk, p.n_kv, HD, STRIDE, 1.0)
    LOAD_TILE(v_sh, v, seq, k0, hk, p.n_kv, HD, STRIDE, 1.0)
    LOAD_TILE(pk_sh, phi_k, seq, k0, s, p.n_state, FF, PSTRIDE, 1.0)
    barrier();
    const uint tk = k0 + j;
    float a = 0.0;
    if (tq < p.n_tokens && tk <= tq)
      a = in_window(tq, tk) ? wf * exp(p.scale * dot_q_sh_k_sh(i, j) - m_sh[i]) : lf * dot_pq_sh_pk_sh(i, j);
    a_sh[i * B + j] = a;
    barrier();
    for (uint jj = 0; jj < B; ++jj) {
      const float av = a_sh[i * B + jj];
      for (uint c = 0; c < DPT; ++c) {
        const uint d = j + c * B;
        if (d < HD) acc[c] += av * v_sh[jj * STRIDE + d];
      }
    }
    if (tid < B)
      for (uint jj = 0; jj < B; ++jj) den_sh[tid] += a_sh[tid * B + jj];
  }
  barrier();
  if (tq >= p.n_tokens) return;
  const float inv_den = 1.0 / den_sh[i];
  for (uint c = 0; c < DPT; ++c) {
    const uint d = j + c * B;
    if (d < HD) o[at(seq, tq, h, p.n_heads, HD, d)] = acc[c] * inv_den;
  }
  if (j == 0) {
    stats[row_at(0, seq, tq, h)] = m_sh[i];
    stats[row_at(1, seq, tq, h)] = den_sh[i];
    stats[row_at(2, seq, tq, h)] = float(arg_sh[i]);
  }
}
