#version 450
// Activation statistics of one token's vector x[:, t] (F32 [d, n_tokens]), one workgroup per token, into
// the token's stat block (words): [0..3) norms (residual, mixer out, MLP out), [3, 3+K) top-|x| values,
// [3+K, 3+2K) their channels, [3+2K, 3+2K+B) histogram counts. Always writes the L2 norm into word
// norm_slot; with `full` also the top-K channels by |x| (ties to the lower channel) and the B-bin
// histogram (bin = floor((x - lo) * scale) clamped to [0, B), so the end bins count under/overflow; NaN
// is not counted).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint K = 8;   // top channels
layout(constant_id = 2) const uint B = 64;  // histogram bins
const uint NL = 1;
layout(push_constant) uniform Push { ProbeStatsPush p; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Index { uint frame_index[]; };
layout(set = 0, binding = 2) buffer Ring { uint ring[]; };

#include "reduce.glsl"
#include "probe_topk.glsl"

shared uint hist_sh[B];

void main() {
  const uint tid = gl_LocalInvocationID.x, t = gl_WorkGroupID.x;
  const uint base = t * p.d;
  const uint block = p.out_offset + frame_index[0] * p.frame_words + t * p.block_words;
  float ss = 0.0;
  for (uint i = tid; i < p.d; i += gl_WorkGroupSize.x) ss += x[base + i] * x[base + i];
  ss = workgroup_sum(ss);
  if (tid == 0) ring[block + p.norm_slot] = floatBitsToUint(sqrt(ss));
  if (p.full == 0) return;  // uniform over the workgroup

  for (uint b = tid; b < B; b += gl_WorkGroupSize.x) hist_sh[b] = 0;
  tk_clear(0);
  barrier();
  for (uint i = tid; i < p.d; i += gl_WorkGroupSize.x) {
    const float v = x[base + i];
    if (isnan(v)) continue;
    tk_push(0, abs(v), i);
    const float bin = clamp(floor((v - p.hist_lo) * p.hist_scale), 0.0, float(B - 1));
    atomicAdd(hist_sh[uint(bin)], 1u);
  }
  tk_merge(0);
  for (uint b = tid; b < B; b += gl_WorkGroupSize.x) ring[block + 3 + 2 * K + b] = hist_sh[b];
  if (tid < K) {
    const uint ch = tk_out_id[0][tid];
    ring[block + 3 + tid] = floatBitsToUint(ch == TK_NONE ? 0.0 : x[base + ch]);
    ring[block + 3 + K + tid] = ch;
  }
}
