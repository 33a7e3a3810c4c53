#version 450
// Training attention backward, query side: with P = exp(scale * q k^T - lse) (recomputed from the saved
// lse), dP = dO v^T and delta_i = dO_i . O_i, dS = P * (dP - delta) and dq = scale * dS k. Workgroup =
// (block of B query rows, head, sequence), walking the key blocks up to its diagonal like the forward.
#include "common.glsl"
#include "attention_train.glsl"

layout(set = 0, binding = 0) readonly buffer Q { float q[]; };
layout(set = 0, binding = 1) readonly buffer K { float k[]; };
layout(set = 0, binding = 2) readonly buffer V { float v[]; };
layout(set = 0, binding = 3) readonly buffer O { float o[]; };
layout(set = 0, binding = 4) readonly buffer Lse { float lse[]; };
layout(set = 0, binding = 5) readonly buffer DO { float d_o[]; };
layout(set = 0, binding = 6) writeonly buffer DQ { float dq[]; };

shared float q_sh[B * STRIDE], do_sh[B * STRIDE], k_sh[B * STRIDE], v_sh[B * STRIDE], ds_sh[B * B];
shared float lse_sh[B], delta_sh[B];

DEFINE_DOT_ROWS(q_sh, k_sh)
DEFINE_DOT_ROWS(do_sh, v_sh)

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint q0 = gl_WorkGroupID.x * B, h = gl_WorkGroupID.y, seq = gl_WorkGroupID.z;
  const uint hk = h / (p.n_heads / p.n_kv);
  const uint i = tid / B, j = tid % B;

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
  float acc[DPT];
  for (uint c = 0; c < DPT; ++c) acc[c] = 0.0;

  for (uint k0 = 0; k0 <= q0; k0 += B) {
    barrier();
    LOAD_TILE(k_sh, k, seq, k0, hk, p.n_kv)
    LOAD_TILE(v_sh, v, seq, k0, hk, p.n_kv)
    barrier();
    const uint tq = q0 + i, tk = k0 + j;
    float ds = 0.0;
    if (tq < p.n_tokens && tk <= tq) {
      const float pr = exp(p.scale * dot_q_sh_k_sh(i, j) - lse_sh[i]);
      ds = pr * (dot_do_sh_v_sh(i, j) - delta_sh[i]);
    }
    ds_sh[i * B + j] = ds;
    barrier();
    for (uint jj = 0; jj < B; ++jj) {
      const float dsv = ds_sh[i * B + jj];
      for (uint c = 0; c < DPT; ++c) {
        const uint d = j + c * B;
        if (d < HD) acc[c] += dsv * k_sh[jj * STRIDE + d];
      }
    }
  }

  const uint t = q0 + i;
  if (t >= p.n_tokens) return;
  for (uint c = 0; c < DPT; ++c) {
    const uint d = j + c * B;
    if (d < HD) dq[at(seq, t, h, p.n_heads, d)] = acc[c] * p.scale;
  }
}
