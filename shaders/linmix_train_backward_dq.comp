#version 450
// Training linear mixer backward, query side: workgroup = (block of B query rows, query head h, sequence) walking
// the keys up to its last row. With den, m and the argmax j* saved by the forward, dO' = dout / den,
// delta' = dO'.out and g_ij = dO'.v_j - delta' (the gradient of the pair weight a_ij):
//   window keys: dq_i = scale wf (sum_j g_ij e_ij k_j - (sum_j g_ij e_ij) k_j*),  e_ij = exp(scale q_i.k_j - m_i)
//   older keys:  dphi_q_i = lf sum_j g_ij phi_k_j
// and per row wsum = sum_window g e and delta' for the key side, and the row's share of the window-factor gradient
// in a form without cancellation: with A = sum_window e v, l = sum_window e, L = sum_linear phi.phi v and
// Lambda = sum_linear phi.phi, d out_i / d wf = (A Lambda - L l) / den^2 (affine or not), so
// dwf_i = dO'.(A Lambda - L l) / den (it vanishes exactly where the window holds every key, where
// sum g e - sum g phi.phi would leave float noise). dq is written (or added to); the feature-map part follows in
// linmix_train_dphi.comp.
#include "common.glsl"

layout(push_constant) uniform Push { LinearMixerTrainPush p; };
layout(set = 0, binding = 0) readonly buffer Q { float q[]; };
layout(set = 0, binding = 1) readonly buffer K { float k[]; };
layout(set = 0, binding = 2) readonly buffer V { float v[]; };
layout(set = 0, binding = 3) readonly buffer O { float o[]; };
layout(set = 0, binding = 4) readonly buffer DO { float d_o[]; };
layout(set = 0, binding = 5) readonly buffer PhiQ { float phi_q[]; };
layout(set = 0, binding = 6) readonly buffer PhiK { float phi_k[]; };
layout(set = 0, binding = 7) readonly buffer Wf { float window_logit[]; };
layout(set = 0, binding = 8) readonly buffer Stats { float stats[]; };    // m, den, argmax
layout(set = 0, binding = 9) buffer DQ { float dq[]; };
layout(set = 0, binding = 10) writeonly buffer DPhiQ { float dphi_q[]; };  // [2F, n_heads, n_tokens, n_seqs]
layout(set = 0, binding = 11) writeonly buffer Rows { float rows[]; };     // wsum, dwf, delta'
#include "linmix_train.glsl"

shared float q_sh[B * STRIDE], do_sh[B * STRIDE], k_sh[B * STRIDE], v_sh[B * STRIDE];
shared float pq_sh[B * PSTRIDE], pk_sh[B * PSTRIDE];
shared float ge_sh[B * B], lin_sh[B * B], e_sh[B * B], pp_sh[B * B];
shared float m_sh[B], inv_den_sh[B], dd_sh[B], wsum_sh[B], l_sh[B], lambda_sh[B];

DEFINE_DOT(q_sh, k_sh, HD, STRIDE)
DEFINE_DOT(do_sh, v_sh, HD, STRIDE)
DEFINE_DOT(pq_sh, pk_sh, FF, PSTRIDE)

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint q0 = gl_WorkGroupID.x * B, h = gl_WorkGroupID.y, seq = gl_WorkGroupID.z;
  const uint hk = h / (p.n_heads / p.n_kv), s = h / (p.n_heads / p.n_state);
  const uint i = tid / B, j = tid % B, tq = q0 + i;

  if (tid < B) {
    const bool live = q0 + tid < p.n_tokens;
    m_sh[tid] = live ? stats[row_at(0, seq, q0 + tid, h)] : 0.0;
    inv_den_sh[tid] = live ? 1.0 / stats[row_at(1, seq, q0 + tid, h)] : 0.0;
    wsum_sh[tid] = l_sh[tid] = lambda_sh[tid] = 0.0;
  }
  barrier();
  LOAD_TILE(q_sh, q, seq, q0, h, p.n_heads, HD, STRIDE, 1.0)
  LOAD_TILE(pq_sh, phi_q, seq, q0, h, p.n_heads, FF, PSTRIDE, 1.0)
  LOAD_TILE(do_sh, d_o, seq, q0, h, p.n_heads, HD, STRIDE, inv_den_sh[r_])
  barrier();
  if (tid < B) {
    float dd = 0.0;
    if (q0 + tid < p.n_tokens)
      for (uint d = 0; d < HD; ++d) dd += do_sh[tid * STRIDE + d] * o[at(seq, q0 + tid, h, p.n_heads, HD, d)];
    dd_sh[tid] = dd;
  }
  float acc_q[DPT], acc_p[FPT], acc_a[DPT], acc_l[DPT];  // acc_a = A, acc_l = L (entries j + c B)
  for (uint c = 0; c < DPT; ++c) acc_q[c] = acc_a[c] = acc_l[c] = 0.0;
  for (uint c = 0; c < FPT; ++c) acc_p[c] = 0.0;

  for (uint k0 = 0; k0 <= q0; k0 += B) {
    barrier();
    LOAD_TILE(k_sh, k, seq, k0, hk, p.n_kv, HD, STRIDE, 1.0)
    LOAD_TILE(v_sh, v, seq, k0, hk, p.n_kv, HD, STRIDE, 1.0)
    LOAD_TILE(pk_sh, phi_k, seq, k0, s, p.n_state, FF, PSTRIDE, 1.0)
    barrier();
    const uint tk = k0 + j;
    float e = 0.0, pp = 0.0, ge = 0.0, gl = 0.0;  // window: e, g e; older keys: phi_q.phi_k, g
    if (tq < p.n_tokens && tk <= tq) {
      const float g = dot_do_sh_v_sh(i, j) - dd_sh[i];
      if (in_window(tq, tk)) {
        e = exp(p.scale * dot_q_sh_k_sh(i, j) - m_sh[i]);
        ge = g * e;
      } else {
        pp = dot_pq_sh_pk_sh(i, j);
        gl = g;
      }
    }
    e_sh[i * B + j] = e;
    pp_sh[i * B + j] = pp;
    ge_sh[i * B + j] = ge;
    lin_sh[i * B + j] = gl;
    barrier();
    for (uint jj = 0; jj < B; ++jj) {
      const float gev = ge_sh[i * B + jj], linv = lin_sh[i * B + jj], ev = e_sh[i * B + jj], ppv = pp_sh[i * B + jj];
      for (uint c = 0; c < DPT; ++c) {
        const uint d = j + c * B;
        if (d < HD) {
          acc_q[c] += gev * k_sh[jj * STRIDE + d];
          acc_a[c] += ev * v_sh[jj * STRIDE + d];
          acc_l[c] += ppv * v_sh[jj * STRIDE + d];
        }
      }
      for (uint c = 0; c < FPT; ++c) {
        const uint f = j + c * B;
        if (f < FF) acc_p[c] += linv * pk_sh[jj * PSTRIDE + f];
      }
    }
    if (tid < B)
      for (uint jj = 0; jj < B; ++jj) {
        wsum_sh[tid] += ge_sh[tid * B + jj];
        l_sh[tid] += e_sh[tid * B + jj];
        lambda_sh[tid] += pp_sh[tid * B + jj];
      }
  }
  barrier();
  // dwf of the row: each lane's dO'.(A Lambda - L l) over its entries, then summed over the row's lanes
  float part = 0.0;
  for (uint c = 0; c < DPT; ++c) {
    const uint d = j + c * B;
    if (d < HD) part += do_sh[i * STRIDE + d] * (acc_a[c] * lambda_sh[i] - acc_l[c] * l_sh[i]);
  }
  e_sh[i * B + j] = part;
  barrier();
  if (tq >= p.n_tokens) return;
  float wf, lf;
  factors(h, wf, lf);
  const bool accumulate = (p.flags & LINMIX_TRAIN_ACCUMULATE) != 0;
  const uint jstar = p.window > 0 ? uint(stats[row_at(2, seq, tq, h)]) : tq;
  for (uint c = 0; c < DPT; ++c) {
    const uint d = j + c * B;
    if (d >= HD) continue;
    // the max m_i = s_ij* takes -sum_window g a from the scores
    const float val = p.scale * wf * (acc_q[c] - wsum_sh[i] * k[at(seq, jstar, hk, p.n_kv, HD, d)]);
    const uint o_at = at(seq, tq, h, p.n_heads, HD, d);
    dq[o_at] = accumulate ? dq[o_at] + val : val;
  }
  for (uint c = 0; c < FPT; ++c) {
    const uint f = j + c * B;
    if (f < FF) dphi_q[at(seq, tq, h, p.n_heads, FF, f)] = lf * acc_p[c];
  }
  if (j == 0) {
    float dwf = 0.0;
    for (uint jj = 0; jj < B; ++jj) dwf += e_sh[i * B + jj];
    rows[row_at(0, seq, tq, h)] = wsum_sh[i];
    rows[row_at(1, seq, tq, h)] = dwf * inv_den_sh[i];
    rows[row_at(2, seq, tq, h)] = dd_sh[i];
  }
}
