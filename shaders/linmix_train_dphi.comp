#version 450
// Training linear mixer backward through the Hedgehog feature maps phi = [softmax(y), softmax(-y)], y = x W:
//   dy = phi+ (dphi+ - phi+.dphi+) - phi- (dphi- - phi-.dphi-)   (entries held at the 1e-12 floor pass nothing)
//   dx += W dy   (added to the tile kernels' dq / dk),  dy saved for the weight gradient (linmix_train_grad.comp).
// Workgroup = (x head, token row). KEYS=0: query head h, one map h / (n_heads / n_fm_q). KEYS=1: kv head hk,
// summing its state heads s (map s) in order.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint HD = 64;  // head_dim
layout(constant_id = 2) const uint F = 64;   // features of the projection
layout(push_constant) uniform Push { LinearMixerTrainPush p; };
layout(set = 0, binding = 0) readonly buffer Phi { float phi[]; };    // [2F, phi heads, rows] (forward)
layout(set = 0, binding = 1) readonly buffer DPhi { float dphi[]; };  // [2F, phi heads, rows]
layout(set = 0, binding = 2) readonly buffer W { float w[]; };        // [F, head_dim, maps]
layout(set = 0, binding = 3) writeonly buffer DY { float dy[]; };     // [F, phi heads, rows]
layout(set = 0, binding = 4) buffer DX { float dx[]; };               // [head_dim, x heads, rows]: dq or dk

#include "reduce.glsl"

const float FLOOR = 1.0e-12;
const uint XPT = (HD + WG - 1) / WG;  // head_dim entries per thread
shared float dy_sh[F];

void main() {
  const uint tid = gl_LocalInvocationID.x, T = WG;
  const uint n_x = KEYS != 0 ? p.n_kv : p.n_heads, n_phi = KEYS != 0 ? p.n_state : p.n_heads;
  const uint idx = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (idx >= n_x * p.n_tokens * p.n_seqs) return;
  const uint xh = idx % n_x, r = idx / n_x;
  const uint per_x = KEYS != 0 ? p.n_state / p.n_kv : 1;
  float acc[XPT];
  for (uint c = 0; c < XPT; ++c) acc[c] = 0.0;

  for (uint ph = xh * per_x; ph < (xh + 1) * per_x; ++ph) {
    const uint map = KEYS != 0 ? ph : ph / (p.n_heads / p.n_fm_q);
    const uint base = (r * n_phi + ph) * 2 * F;
    float sum_pos = 0.0, sum_neg = 0.0;
    for (uint f = tid; f < F; f += T) {
      const float pp = phi[base + f], pn = phi[base + F + f];
      sum_pos += pp > FLOOR ? pp * dphi[base + f] : 0.0;
      sum_neg += pn > FLOOR ? pn * dphi[base + F + f] : 0.0;
    }
    sum_pos = workgroup_sum(sum_pos);
    sum_neg = workgroup_sum(sum_neg);
    for (uint f = tid; f < F; f += T) {
      const float pp = phi[base + f], pn = phi[base + F + f];
      const float gp = pp > FLOOR ? dphi[base + f] : 0.0, gn = pn > FLOOR ? dphi[base + F + f] : 0.0;
      const float g = pp * (gp - sum_pos) - pn * (gn - sum_neg);
      dy_sh[f] = g;
      dy[(r * n_phi + ph) * F + f] = g;
    }
    barrier();
    for (uint c = 0; c < XPT; ++c) {
      const uint d = tid + c * T;
      if (d >= HD) break;
      float t = 0.0;
      for (uint f = 0; f < F; ++f) t += w[(map * HD + d) * F + f] * dy_sh[f];
      acc[c] += t;
    }
    barrier();
  }
  for (uint c = 0; c < XPT; ++c) {
    const uint d = tid + c * T;
    if (d < HD) dx[(r * n_x + xh) * HD + d] += acc[c];
  }
}
