#version 450
// Linear mixer, window part and output. Workgroup (query block of BQ tokens, query head h) walks the window keys
// of its block (positions n_past + t0 - N + 1 .. n_past + t_last, from the ring slot pos % N before n_past, else
// from k and v) in tiles of BK, keeping per row the LoLCATs window sums with an online max:
//   m = max over the row's window of s_j (s_j = scale q.k_j),  l = sum e^(s_j - m),  acc = sum e^(s_j - m) v_j
// (a row's window: keys i - N < j <= i). Then it combines them with the linear part written by linmix_scan
// under one normalizer, as LoLCATs does (the window max is not applied to the linear terms):
//   out = (wf acc + lf num) / (wf l + lf den),   wf = sigmoid(logit[h]) (1 without logits), lf = 1 - wf (affine)
// or 1. N = 0: no window, out = num / den.
#include "common.glsl"
#extension GL_KHR_shader_subgroup_shuffle : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint T = 128;       // threads
layout(constant_id = 1) const uint HD = 64;       // head_dim
layout(constant_id = 2) const uint BQ = 16;       // query rows per workgroup (divides T)
layout(constant_id = 3) const uint BK = 16;       // keys per tile
layout(constant_id = 4) const uint SM_LANES = 8;  // softmax lanes per row (power of 2 <= subgroup, <= T / BQ, BK)
layout(push_constant) uniform Push { LinearMixerPush p; };
layout(set = 0, binding = 0) readonly buffer Q { float q[]; };             // [head_dim, n_heads, n_tokens]
layout(set = 0, binding = 1) readonly buffer K { float k[]; };             // [head_dim, n_kv, n_tokens]
layout(set = 0, binding = 2) readonly buffer V { float v[]; };             // [head_dim, n_kv, n_tokens]
layout(set = 0, binding = 3) readonly buffer RingK { float ring_k[]; };    // [head_dim, N, n_kv]
layout(set = 0, binding = 4) readonly buffer RingV { float ring_v[]; };    // [head_dim, N, n_kv]
layout(set = 0, binding = 5) readonly buffer Step { int step[]; };         // {n_past, ...}
layout(set = 0, binding = 6) readonly buffer Wf { float window_logit[]; }; // [n_heads] (LINMIX_WINDOW_FACTOR)
layout(set = 0, binding = 7) readonly buffer Num { float num_in[]; };      // [head_dim, n_heads, n_tokens]
layout(set = 0, binding = 8) readonly buffer Den { float den_in[]; };      // [n_heads, n_tokens]
layout(set = 0, binding = 9) writeonly buffer O { float o[]; };            // [head_dim, n_heads, n_tokens]

const uint QS = HD + 1;                  // padded row stride of q and k in shared memory
const uint TPR = T / BQ;                 // threads per query row
const uint SK = (BK + TPR - 1) / TPR;    // scores per thread
const uint PPT = (HD + TPR - 1) / TPR;   // output columns per thread
const float MASKED = -1.0e30;

shared float q_sh[BQ * QS];
shared float k_sh[BK * QS];
shared float v_sh[BK * HD];
shared float s_sh[BQ * BK];
shared float alpha_sh[BQ], l_sh[BQ];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint h = gl_WorkGroupID.y;
  const uint hk = h / (p.n_heads / p.n_kv);
  const uint t0 = gl_WorkGroupID.x * BQ;
  const int n_past = step[0];
  const int N = int(p.window);
  const uint row = tid / TPR, lane = tid % TPR;
  const int row_pos = n_past + int(min(t0 + row, p.n_tokens - 1));  // rows past n_tokens act as the last token
  const uint sm_row = tid / SM_LANES, sm_lane = tid % SM_LANES;
  float m_run = MASKED, l_run = 0.0;
  float acc[PPT];
  for (uint c = 0; c < PPT; ++c) acc[c] = 0.0;

  if (N > 0) {
    for (uint i = tid; i < BQ * HD; i += T) {
      const uint r = i / HD, c = i % HD;
      const uint t = min(t0 + r, p.n_tokens - 1);
      q_sh[r * QS + c] = q[(t * p.n_heads + h) * HD + c] * p.scale;
    }
    const int lo = max(0, n_past + int(t0) - N + 1);
    const int hi = n_past + int(min(t0 + BQ, p.n_tokens)) - 1;  // inclusive
    for (int tile0 = lo; tile0 <= hi; tile0 += int(BK)) {
      const uint n_live = uint(min(int(BK), hi + 1 - tile0));
      barrier();  // the previous tile's readers are done
      for (uint i = tid; i < n_live * HD; i += T) {
        const uint j = i / HD, c = i % HD;
        const int pos = tile0 + int(j);
        uint src;
        if (pos < n_past) {
          src = (hk * p.window + uint(pos) % p.window) * HD + c;
          k_sh[j * QS + c] = ring_k[src];
          v_sh[i] = ring_v[src];
        } else {
          src = (uint(pos - n_past) * p.n_kv + hk) * HD + c;
          k_sh[j * QS + c] = k[src];
          v_sh[i] = v[src];
        }
      }
      barrier();
      // Scores of row `row` against keys lane, lane + TPR, ... of the tile; outside the row's window: MASKED.
      for (uint c = 0; c < SK; ++c) {
        const uint j = lane + c * TPR;
        if (j >= BK) break;
        const int pos = tile0 + int(j);
        float sc = MASKED;
        if (j < n_live && pos <= row_pos && pos > row_pos - N) {
          sc = 0.0;
          for (uint i = 0; i < HD; ++i) sc += q_sh[row * QS + i] * k_sh[j * QS + i];
        }
        s_sh[row * BK + j] = sc;
      }
      barrier();
      // Online max and sum per row by SM_LANES lanes of one subgroup (xor shuffles leave the result in all).
      if (tid < BQ * SM_LANES) {
        float mx = MASKED;
        for (uint j = sm_lane; j < n_live; j += SM_LANES) mx = max(mx, s_sh[sm_row * BK + j]);
        for (uint m = SM_LANES / 2; m > 0; m >>= 1) mx = max(mx, subgroupShuffleXor(mx, m));
        const float m_new = max(m_run, mx);
        float sum = 0.0;
        for (uint j = sm_lane; j < BK; j += SM_LANES) {
          const float sc = s_sh[sm_row * BK + j];
          const float e = (j < n_live && sc > 0.5 * MASKED) ? exp(sc - m_new) : 0.0;
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
      const float alpha = alpha_sh[row];
      for (uint c = 0; c < PPT; ++c) acc[c] *= alpha;
      for (uint j = 0; j < n_live; ++j) {
        const float e = s_sh[row * BK + j];
        for (uint c = 0; c < PPT; ++c) {
          const uint col = lane + c * TPR;
          if (col < HD) acc[c] += e * v_sh[j * HD + col];
        }
      }
    }
    if (tid < BQ * SM_LANES && sm_lane == 0) l_sh[sm_row] = l_run;
    barrier();
  }

  const uint t = t0 + row;
  if (t >= p.n_tokens) return;
  float wf = 0.0, lf = 1.0;
  if (N > 0) {
    wf = (p.flags & LINMIX_WINDOW_FACTOR) != 0 ? 1.0 / (1.0 + exp(-window_logit[h])) : 1.0;
    lf = (p.flags & LINMIX_AFFINE) != 0 ? 1.0 - wf : 1.0;
  }
  const float l = N > 0 ? l_sh[row] : 0.0;
  const uint o0 = (t * p.n_heads + h) * HD;
  const float inv_den = 1.0 / (wf * l + lf * den_in[t * p.n_heads + h]);
  for (uint c = 0; c < PPT; ++c) {
    const uint col = lane + c * TPR;
    if (col < HD) o[o0 + col] = (wf * acc[c] + lf * num_in[o0 + col]) * inv_den;
  }
}
