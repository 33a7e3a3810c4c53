#version 450
// Linear mixer: Hedgehog feature map phi(x) = [softmax(x W), softmax(-x W)] (each clamped to >= 1e-12), one
// workgroup per (head, token). W: F32 [F, head_dim, maps] (x W: y_f = sum_i x_i W[f, i]); phi: F32 [2F, heads,
// n_tokens]. KEYS=0: queries, x = q[:, h, t], map h / (n_heads / n_fm_q). KEYS=1: the keys that enter the linear
// state during this batch, one per state head s (map s, kv head s / (n_state / n_kv)): key t is the one at
// position n_past - N + t, read from the ring (slot pos % N) when before n_past, else from k; positions < 0
// give phi = 0.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HD = 64;  // head_dim
layout(constant_id = 2) const uint F = 64;   // features of the projection
layout(push_constant) uniform Push { LinearMixerPush p; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };        // q or k: [head_dim, heads, n_tokens]
layout(set = 0, binding = 1) readonly buffer Ring { float ring[]; };  // ring_k [head_dim, N, n_kv] (KEYS only)
layout(set = 0, binding = 2) readonly buffer W { float w[]; };        // [F, head_dim, maps]
layout(set = 0, binding = 3) readonly buffer Step { int step[]; };    // {n_past, ...}
layout(set = 0, binding = 4) writeonly buffer Phi { float phi[]; };   // [2F, heads, n_tokens]

#include "reduce.glsl"

shared float x_sh[HD];
shared float y_sh[F];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint n_out = KEYS != 0 ? p.n_state : p.n_heads;
  const uint idx = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (idx >= n_out * p.n_tokens) return;
  const uint head = idx % n_out, t = idx / n_out;
  const uint out0 = idx * 2 * F;
#if KEYS
  const int n_past = step[0];
  const int pos = n_past - int(p.window) + int(t);
  if (pos < 0) {  // no such key: contributes nothing
    for (uint f = tid; f < 2 * F; f += gl_WorkGroupSize.x) phi[out0 + f] = 0.0;
    return;
  }
  const uint hk = head / (p.n_state / p.n_kv);
  if (pos < n_past) {
    const uint base = (hk * p.window + uint(pos) % p.window) * HD;
    for (uint i = tid; i < HD; i += gl_WorkGroupSize.x) x_sh[i] = ring[base + i];
  } else {
    const uint base = (uint(pos - n_past) * p.n_kv + hk) * HD;
    for (uint i = tid; i < HD; i += gl_WorkGroupSize.x) x_sh[i] = x[base + i];
  }
  const uint map = head;
#else
  for (uint i = tid; i < HD; i += gl_WorkGroupSize.x) x_sh[i] = x[idx * HD + i];
  const uint map = head / (p.n_heads / p.n_fm_q);
#endif
  barrier();
  // y = x W; each thread owns features f = tid, tid + T, ... (consecutive threads read consecutive W entries).
  float hi = -3.0e38, lo = 3.0e38;
  const uint w0 = map * HD * F;
  for (uint f = tid; f < F; f += gl_WorkGroupSize.x) {
    float y = 0.0;
    for (uint i = 0; i < HD; ++i) y += x_sh[i] * w[w0 + i * F + f];
    y_sh[f] = y;
    hi = max(hi, y);
    lo = min(lo, y);
  }
  hi = workgroup_max(hi);
  lo = -workgroup_max(-lo);
  float sum_pos = 0.0, sum_neg = 0.0;
  for (uint f = tid; f < F; f += gl_WorkGroupSize.x) {
    sum_pos += exp(y_sh[f] - hi);
    sum_neg += exp(lo - y_sh[f]);
  }
  sum_pos = workgroup_sum(sum_pos);
  sum_neg = workgroup_sum(sum_neg);
  for (uint f = tid; f < F; f += gl_WorkGroupSize.x) {
    phi[out0 + f] = max(exp(y_sh[f] - hi) / sum_pos, 1.0e-12);
    phi[out0 + F + f] = max(exp(lo - y_sh[f]) / sum_neg, 1.0e-12);
  }
}
