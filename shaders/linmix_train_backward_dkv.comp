#version 450
// Training linear mixer backward, key side: workgroup = (block of B keys, kv head hk, sequence) walking the queries
// at or after its first key, for every state head s of hk and every query head h of s (no atomics: each dk, dv,
// dphi_k row has one owner). With the forward's m, den, argmax and the query side's wsum and delta':
//   dv_j      = sum_i a_ij dO'_i                                   (dO' = dout / den, a the pair weight)
//   dk_j      = scale sum_i ds_ij q_i,  ds_ij = wf (g_ij e_ij - [j = j*_i] wsum_i)   (window pairs)
//   dphi_k_j  = lf sum_i g_ij phi_q_i                              (older pairs; per state head)
#include "common.glsl"

layout(push_constant) uniform Push { LinearMixerTrainPush p; };
layout(set = 0, binding = 0) readonly buffer Q { float q[]; };
layout(set = 0, binding = 1) readonly buffer K { float k[]; };
layout(set = 0, binding = 2) readonly buffer V { float v[]; };
layout(set = 0, binding = 3) readonly buffer DO { float d_o[]; };
layout(set = 0, binding = 4) readonly buffer PhiQ { float phi_q[]; };
layout(set = 0, binding = 5) readonly buffer PhiK { float phi_k[]; };
layout(set = 0, binding = 6) readonly buffer Wf { float window_logit[]; };
layout(set = 0, binding = 7) readonly buffer Stats { float stats[]; };     // m, den, argmax
layout(set = 0, binding = 8) readonly buffer Rows { float rows[]; };       // wsum, dL/dwf, delta'
layout(set = 0, binding = 9) buffer DK { float dk[]; };
layout(set = 0, binding = 10) buffer DV { float dv[]; };
layout(set = 0, binding = 11) writeonly buffer DPhiK { float dphi_k[]; };  // [2F, n_state, n_tokens, n_seqs]
#include "linmix_train.glsl"

shared float k_sh[B * STRIDE], v_sh[B * STRIDE], q_sh[B * STRIDE], do_sh[B * STRIDE];
shared float pk_sh[B * PSTRIDE], pq_sh[B * PSTRIDE];
shared float a_sh[B * B], ds_sh[B * B], lin_sh[B * B];
shared float m_sh[B], inv_den_sh[B], dd_sh[B], wsum_sh[B];
shared uint arg_sh[B];

DEFINE_DOT(q_sh, k_sh, HD, STRIDE)
DEFINE_DOT(do_sh, v_sh, HD, STRIDE)
DEFINE_DOT(pq_sh, pk_sh, FF, PSTRIDE)

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint k0 = gl_WorkGroupID.x * B, hk = gl_WorkGroupID.y, seq = gl_WorkGroupID.z;
  const uint i = tid / B, j = tid % B;  // pair phase: query i, key j; accumulation: key row i, entries j + c B
  const uint states_per_kv = p.n_state / p.n_kv, heads_per_state = p.n_heads / p.n_state;

  LOAD_TILE(k_sh, k, seq, k0, hk, p.n_kv, HD, STRIDE, 1.0)
  LOAD_TILE(v_sh, v, seq, k0, hk, p.n_kv, HD, STRIDE, 1.0)
  float acc_k[DPT], acc_v[DPT], acc_p[FPT];
  for (uint c = 0; c < DPT; ++c) acc_k[c] = acc_v[c] = 0.0;

  for (uint s = hk * states_per_kv; s < (hk + 1) * states_per_kv; ++s) {
    barrier();
    LOAD_TILE(pk_sh, phi_k, seq, k0, s, p.n_state, FF, PSTRIDE, 1.0)
    for (uint c = 0; c < FPT; ++c) acc_p[c] = 0.0;
    for (uint h = s * heads_per_state; h < (s + 1) * heads_per_state; ++h) {
      float wf, lf;
      factors(h, wf, lf);
      for (uint q0 = k0; q0 < p.n_tokens; q0 += B) {
        barrier();
        if (tid < B) {
          const uint t = min(q0 + tid, p.n_tokens - 1);  // rows past the end are masked below
          m_sh[tid] = stats[row_at(0, seq, t, h)];
          inv_den_sh[tid] = 1.0 / stats[row_at(1, seq, t, h)];
          arg_sh[tid] = p.window > 0 ? uint(stats[row_at(2, seq, t, h)]) : p.n_tokens;
          wsum_sh[tid] = rows[row_at(0, seq, t, h)];
          dd_sh[tid] = rows[row_at(2, seq, t, h)];
        }
        barrier();
        LOAD_TILE(q_sh, q, seq, q0, h, p.n_heads, HD, STRIDE, 1.0)
        LOAD_TILE(pq_sh, phi_q, seq, q0, h, p.n_heads, FF, PSTRIDE, 1.0)
        LOAD_TILE(do_sh, d_o, seq, q0, h, p.n_heads, HD, STRIDE, inv_den_sh[r_])
        barrier();
        const uint tq = q0 + i, tk = k0 + j;
        float a = 0.0, ds = 0.0, gl = 0.0;
        if (tq < p.n_tokens && tk <= tq) {
          const float g = dot_do_sh_v_sh(i, j) - dd_sh[i];
          if (in_window(tq, tk)) {
            const float e = exp(p.scale * dot_q_sh_k_sh(i, j) - m_sh[i]);
            a = wf * e;
            ds = wf * (g * e - (tk == arg_sh[i] ? wsum_sh[i] : 0.0));
          } else {
            a = lf * dot_pq_sh_pk_sh(i, j);
            gl = lf * g;
          }
        }
        a_sh[i * B + j] = a;
        ds_sh[i * B + j] = ds;
        lin_sh[i * B + j] = gl;
        barrier();
        for (uint ii = 0; ii < B; ++ii) {  // key row i of this block, summed over the tile's queries ii
          const float av = a_sh[ii * B + i], dsv = ds_sh[ii * B + i], linv = lin_sh[ii * B + i];
          for (uint c = 0; c < DPT; ++c) {
            const uint d = j + c * B;
            if (d < HD) {
              acc_v[c] += av * do_sh[ii * STRIDE + d];
              acc_k[c] += dsv * q_sh[ii * STRIDE + d];
            }
          }
          for (uint c = 0; c < FPT; ++c) {
            const uint f = j + c * B;
            if (f < FF) acc_p[c] += linv * pq_sh[ii * PSTRIDE + f];
          }
        }
      }
    }
    if (k0 + i < p.n_tokens)
      for (uint c = 0; c < FPT; ++c) {
        const uint f = j + c * B;
        if (f < FF) dphi_k[at(seq, k0 + i, s, p.n_state, FF, f)] = acc_p[c];
      }
  }

  const uint t = k0 + i;
  if (t >= p.n_tokens) return;
  const bool accumulate = (p.flags & LINMIX_TRAIN_ACCUMULATE) != 0;
  for (uint c = 0; c < DPT; ++c) {
    const uint d = j + c * B;
    if (d >= HD) continue;
    const uint o_at = at(seq, t, hk, p.n_kv, HD, d);
    dk[o_at] = accumulate ? dk[o_at] + p.scale * acc_k[c] : p.scale * acc_k[c];
    dv[o_at] = accumulate ? dv[o_at] + acc_v[c] : acc_v[c];
  }
}
