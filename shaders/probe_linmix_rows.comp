#version 450
// Implied attention of a `linear` mixer layer (probes): for captured query head h and the pass's query t at
// position i = n_past + t (n_past from the step buffer), over keys j <= i of the layer's post-RoPE key history,
//   a_j = wf exp(scale q.k_j - m)      for i - N < j <= i   (m: the max of those scores)
//       = lf phi_q(q).phi_k(k_j)       for j <= i - N
//   row_j = a_j / sum_j a_j
// the weights linmix_scan + linmix_window apply to the values under their one normalizer (ref::
// linear_mixer_attention; phi as linmix_features.comp, wf and lf as linmix_window.comp). Keys at or past
// max_keys are not stored but count in the sum; stored keys past i are 0.
// Workgroup (captured head, query, key chunk z): phi_q in shared memory, then each invocation scores its keys of
// the chunk, computing phi_k(k_j) of the keys outside the window in registers. One chunk: the workgroup normalizes
// its row; several (long contexts, to use the whole GPU): each writes its unnormalized part and its sum to
// `partials` and probe_rows_final.comp normalizes.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HD = 64;  // head_dim
layout(constant_id = 2) const uint F = 64;   // features of the maps (phi has 2F entries)
layout(push_constant) uniform Push { ProbeLinmixRowsPush p; };
layout(set = 0, binding = 0) readonly buffer Q { float q[]; };              // [head_dim, n_heads, n_tokens]
layout(set = 0, binding = 1) readonly buffer K { float k[]; };              // [head_dim, n_kv, capacity]
layout(set = 0, binding = 2) readonly buffer FmQ { float fm_q[]; };         // [F, head_dim, n_fm_q]
layout(set = 0, binding = 3) readonly buffer FmK { float fm_k[]; };         // [F, head_dim, n_state]
layout(set = 0, binding = 4) readonly buffer Wf { float window_logit[]; };  // [n_heads] (LINMIX_WINDOW_FACTOR)
layout(set = 0, binding = 5) readonly buffer Step { int step[]; };
layout(set = 0, binding = 6) readonly buffer Index { uint frame_index[]; };
layout(set = 0, binding = 7) buffer Ring { float ring[]; };
layout(set = 0, binding = 8) writeonly buffer Partials { float partials[]; };  // [heads][queries][chunks]

#include "reduce.glsl"
#include "probe_heads.glsl"

const float MASKED = -1.0e30;
const float PHI_FLOOR = 1.0e-12;

shared float q_sh[HD];
shared float y_sh[F];
shared float phi_q[2 * F];

// phi_k(k_j) . phi_q for the key at k[k0 ..], with key map w0 (one invocation). The key is read once into
// registers; the features are computed twice (extremes and both normalizers online, then the floored products)
// rather than kept in a per-invocation array, which would live in slow local memory.
float linear_weight(uint k0, uint w0) {
  float kv[HD];
  for (uint c = 0; c < HD; ++c) kv[c] = k[k0 + c];
  float hi = -3.0e38, lo = 3.0e38, sum_pos = 0.0, sum_neg = 0.0;
  for (uint f = 0; f < F; ++f) {
    float y = 0.0;
    for (uint c = 0; c < HD; ++c) y += kv[c] * fm_k[w0 + c * F + f];
    if (y > hi) {
      sum_pos = sum_pos * exp(hi - y) + 1.0;
      hi = y;
    } else {
      sum_pos += exp(y - hi);
    }
    if (y < lo) {
      sum_neg = sum_neg * exp(y - lo) + 1.0;
      lo = y;
    } else {
      sum_neg += exp(lo - y);
    }
  }
  float d = 0.0;
  for (uint f = 0; f < F; ++f) {
    float y = 0.0;
    for (uint c = 0; c < HD; ++c) y += kv[c] * fm_k[w0 + c * F + f];
    d += phi_q[f] * max(exp(y - hi) / sum_pos, PHI_FLOOR) + phi_q[F + f] * max(exp(lo - y) / sum_neg, PHI_FLOOR);
  }
  return d;
}

void main() {
  const uint tid = gl_LocalInvocationID.x, T = gl_WorkGroupSize.x;
  const uint hi_index = gl_WorkGroupID.x, t = gl_WorkGroupID.y;
  const uint h = captured_head(hi_index);
  const uint hk = h / (p.n_heads / p.n_kv), s = h / (p.n_heads / p.n_state), map = h / (p.n_heads / p.n_fm_q);
  const int N = int(p.window);
  const uint i = uint(max(step[0], 0)) + t;  // the query's position
  const uint row = p.out_offset + frame_index[0] * p.frame_words + (hi_index * p.query_stride + t) * p.max_keys;

  // phi_q(q) as linmix_features.comp computes it.
  for (uint c = tid; c < HD; c += T) q_sh[c] = q[(t * p.n_heads + h) * HD + c];
  barrier();
  float y_hi = -3.0e38, y_lo = 3.0e38;
  for (uint f = tid; f < F; f += T) {
    float y = 0.0;
    for (uint c = 0; c < HD; ++c) y += q_sh[c] * fm_q[map * HD * F + c * F + f];
    y_sh[f] = y;
    y_hi = max(y_hi, y);
    y_lo = min(y_lo, y);
  }
  y_hi = workgroup_max(y_hi);
  y_lo = -workgroup_max(-y_lo);
  float sum_pos = 0.0, sum_neg = 0.0;
  for (uint f = tid; f < F; f += T) {
    sum_pos += exp(y_sh[f] - y_hi);
    sum_neg += exp(y_lo - y_sh[f]);
  }
  sum_pos = workgroup_sum(sum_pos);
  sum_neg = workgroup_sum(sum_neg);
  for (uint f = tid; f < F; f += T) {
    phi_q[f] = max(exp(y_sh[f] - y_hi) / sum_pos, PHI_FLOOR);
    phi_q[F + f] = max(exp(y_lo - y_sh[f]) / sum_neg, PHI_FLOOR);
  }
  barrier();

  float wf = 0.0, lf = 1.0;
  if (N > 0) {
    wf = (p.flags & LINMIX_WINDOW_FACTOR) != 0 ? 1.0 / (1.0 + exp(-window_logit[h])) : 1.0;
    lf = (p.flags & LINMIX_AFFINE) != 0 ? 1.0 - wf : 1.0;
  }
  // The window's max score (as linmix_window.comp: q scaled first).
  const int first_window = max(0, int(i) - N + 1);
  float m = MASKED;
  for (int j = first_window + int(tid); N > 0 && j <= int(i); j += int(T)) {
    const uint k0 = (uint(j) * p.n_kv + hk) * HD;
    float sc = 0.0;
    for (uint c = 0; c < HD; ++c) sc += (q_sh[c] * p.scale) * k[k0 + c];
    m = max(m, sc);
  }
  m = workgroup_max(m);

  const uint n_chunks = gl_NumWorkGroups.z, chunk = gl_WorkGroupID.z;
  const uint chunk_keys = n_chunks == 1 ? max(p.max_keys, i + 1) : p.chunk_keys;
  const uint lo = chunk * chunk_keys, hi = lo + chunk_keys;  // this workgroup's positions [lo, hi)
  float sum = 0.0;
  for (uint j = lo + tid; j <= i && j < hi; j += T) {
    const uint k0 = (j * p.n_kv + hk) * HD;
    float a;
    if (int(j) >= first_window && N > 0) {
      float sc = 0.0;
      for (uint c = 0; c < HD; ++c) sc += (q_sh[c] * p.scale) * k[k0 + c];
      a = wf * exp(sc - m);
    } else {
      a = lf * linear_weight(k0, s * HD * F);
    }
    sum += a;
    if (j < p.max_keys) ring[row + j] = a;
  }
  for (uint j = max(lo, i + 1) + tid; j < min(hi, p.max_keys); j += T) ring[row + j] = 0.0;
  sum = workgroup_sum(sum);
  if (n_chunks > 1) {
    if (tid == 0) partials[(hi_index * gl_NumWorkGroups.y + t) * n_chunks + chunk] = sum;
    return;
  }
  const float inv = 1.0 / sum;
  for (uint j = tid; j <= i && j < p.max_keys; j += T) ring[row + j] *= inv;  // entries this invocation wrote
}
