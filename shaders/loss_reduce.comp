#version 450
// One workgroup, deterministic order. COUNT: stats[1] = number of targets in [0, n) (the tokens a
// cross-entropy counts). MEAN: stats[0] = sum(per_token) / divisor, divisor = stats[1] (use_count) or rows
// (then also written to stats[1]); 0 when the divisor is 0.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { LossReducePush p; };
#if defined(COUNT)
layout(set = 0, binding = 0) readonly buffer Targets { int targets[]; };
#else
layout(set = 0, binding = 0) readonly buffer PerToken { float per_token[]; };
#endif
layout(set = 0, binding = 1) buffer Stats { float stats[]; };

#include "reduce.glsl"

void main() {
  const uint tid = gl_LocalInvocationID.x;
  float acc = 0.0;
#if defined(COUNT)
  for (uint r = tid; r < p.rows; r += gl_WorkGroupSize.x)
    if (targets[r] >= 0 && uint(targets[r]) < p.n) acc += 1.0;
  acc = workgroup_sum(acc);
  if (tid == 0) stats[1] = acc;
#else
  for (uint r = tid; r < p.rows; r += gl_WorkGroupSize.x) acc += per_token[r];
  acc = workgroup_sum(acc);
  if (tid == 0) {
    const float divisor = p.use_count != 0 ? stats[1] : float(p.rows);
    stats[0] = divisor > 0.0 ? acc / divisor : 0.0;
    stats[1] = divisor;
  }
#endif
}
