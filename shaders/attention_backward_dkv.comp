#version 450
// Training attention backward, key/value side: dv_j = sum_i P_ij dO_i and dk_j = scale * sum_i dS_ij q_i over
// the queries i >= j of every query head sharing kv head hk (GQA), with P and dS recomputed as in the dq
// kernel. Workgroup = (block of B keys, kv head, sequence); no atomics: each dk/dv row has one owner.
#include "common.glsl"
#include "attention_train.glsl"

layout(set = 0, binding = 0) readonly buffer Q { float q[]; };
layout(set = 0, binding = 1) readonly buffer K { float k[]; };
layout(set = 0, binding = 2) readonly buffer V { float v[]; };
layout(set = 0, binding = 3) readonly buffer O { float o[]; };
layout(set = 0, binding = 4) readonly buffer Lse { float lse[]; };
layout(set = 0, binding = 5) readonly buffer DO { float d_o[]; };
layout(set = 0, binding = 6) writeonly buffer DK { float dk[]; };
layout(set = 0, binding = 7) writeonly buffer DV { float dv[]; };

shared float q_sh[B * STRIDE], do_sh[B * STRIDE], k_sh[B * STRIDE], v_sh[B * STRIDE];
shared float p_sh[B * B], ds_sh[B * B];
shared float lse_sh[B], delta_sh[B];

DEFINE_DOT_ROWS(q_sh, k_sh)
DEFINE_DOT_ROWS(do_sh, v_sh)

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint k0 = gl_WorkGroupID.x * B, hk = gl_WorkGroupID.y, seq = gl_WorkGroupID.z;
  const uint group = p.n_heads / p.n_kv;
  const uint i = tid / B, j = tid % B;  // score phase: query i, key j; accumulation: key row i, dims j + c * B

  LOAD_TILE(k_sh, k, seq, k0, hk, p.n_kv)
  LOAD_TILE(v_sh, v, seq, k0, hk, p.n_kv)
  float acc_k[DPT], acc_v[DPT];
  for (uint c = 0; c < DPT; ++c) acc_k[c] = acc_v[c] = 0.0;

  for (uint h = hk * group; h < (hk + 1) * group; ++h) {
    for (uint q0 = k0; q0 < p.n_tokens; q0 += B) {
      barrier();
      LOAD_TILE(q_sh, q, seq, q0, h, p.n_heads)
      LOAD_TILE(do_sh, d_o, seq, q0, h, p.n_heads)
      barrier();
      if (tid < B) {
        const uint t = q0 + tid;
        float delta = 0.0;
        if (t < p.n_tokens)
          for (uint d = 0; d < HD; ++d) delta += do_sh[tid * STRIDE + d] * o[at(seq, t, h, p.n_heads, d)];
        delta_sh[tid] = delta;
        lse_sh[tid] = t < p.n_tokens ? lse[row_at(seq, t, h)] : 0.0;
      }
      barrier();
      const uint tq = q0 + i, tk = k0 + j;
      float pr = 0.0, ds = 0.0;
      if (tq < p.n_tokens && tk <= tq) {
        pr = exp(p.scale * dot_q_sh_k_sh(i, j) - lse_sh[i]);
        ds = pr * (dot_do_sh_v_sh(i, j) - delta_sh[i]);
      }
      p_sh[i * B + j] = pr;
      ds_sh[i * B + j] = ds;
      barrier();
      for (uint ii = 0; ii < B; ++ii) {  // key row i of this block, summed over the tile's queries ii
        const float pv = p_sh[ii * B + i], dsv = ds_sh[ii * B + i];
        for (uint c = 0; c < DPT; ++c) {
          const uint d = j + c * B;
          if (d < HD) {
            acc_v[c] += pv * do_sh[ii * STRIDE + d];
            acc_k[c] += dsv * q_sh[ii * STRIDE + d];
          }
        }
      }
    }
  }

  const uint t = k0 + i;
  if (t >= p.n_tokens) return;
  for (uint c = 0; c < DPT; ++c) {
    const uint d = j + c * B;
    if (d < HD) {
      dk[at(seq, t, hk, p.n_kv, d)] = acc_k[c] * p.scale;
      dv[at(seq, t, hk, p.n_kv, d)] = acc_v[c];
    }
  }
}
