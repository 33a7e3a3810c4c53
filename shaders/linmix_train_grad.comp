#version 450
// Training linear mixer, parameter gradients (deterministic: one invocation per element, rows in order):
//   FM=1, KEYS=0: dfm_q[map][d, f] (=|+=) sum over token rows and the query heads of the map of q[d] dy[f]
//   FM=1, KEYS=1: dfm_k[s][d, f]   (=|+=) sum over token rows of k[kv head of s][d] dy_k[s][f]
//   FM=0: dlogit[h] (=|+=) wf (1 - wf) sum over token rows of the rows' dL/dwf (N > 0; linmix_train_backward_dq)
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HD = 64;  // head_dim
layout(constant_id = 2) const uint F = 64;   // features
layout(push_constant) uniform Push { LinearMixerTrainPush p; };
#if FM
layout(set = 0, binding = 0) readonly buffer X { float x[]; };    // q or k: [head_dim, x heads, rows]
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };  // [F, phi heads, rows]
layout(set = 0, binding = 2) buffer DW { float dw[]; };           // [F, head_dim, maps]

void main() {
  const uint e = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint n_maps = KEYS != 0 ? p.n_state : p.n_fm_q;
  if (e >= n_maps * HD * F) return;
  const uint f = e % F, d = (e / F) % HD, map = e / (F * HD);
  const uint n_x = KEYS != 0 ? p.n_kv : p.n_heads, n_phi = KEYS != 0 ? p.n_state : p.n_heads;
  const uint per_map = KEYS != 0 ? 1 : p.n_heads / p.n_fm_q;
  float acc = 0.0;
  for (uint r = 0; r < p.n_tokens * p.n_seqs; ++r)
    for (uint ph = map * per_map; ph < (map + 1) * per_map; ++ph) {
      const uint xh = KEYS != 0 ? ph / (p.n_state / p.n_kv) : ph;
      acc += x[(r * n_x + xh) * HD + d] * dy[(r * n_phi + ph) * F + f];
    }
  dw[e] = (p.flags & LINMIX_TRAIN_ACCUMULATE) != 0 ? dw[e] + acc : acc;
}

#else
layout(set = 0, binding = 0) readonly buffer Rows { float rows[]; };        // wsum, dL/dwf, delta' per row
layout(set = 0, binding = 1) readonly buffer Wf { float window_logit[]; };  // [n_heads]
layout(set = 0, binding = 2) buffer DWf { float dlogit[]; };                // [n_heads]

void main() {
  const uint h = gl_GlobalInvocationID.x;
  if (h >= p.n_heads) return;
  const uint n_rows = p.n_tokens * p.n_seqs;
  float sum = 0.0;
  for (uint r = 0; r < n_rows; ++r) sum += rows[(n_rows + r) * p.n_heads + h];
  const float wf = 1.0 / (1.0 + exp(-window_logit[h]));
  const float g = wf * (1.0 - wf) * sum;
  dlogit[h] = (p.flags & LINMIX_TRAIN_ACCUMULATE) != 0 ? dlogit[h] + g : g;
}
#endif
