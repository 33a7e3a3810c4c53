#version 450
// Teacher-student comparison per token t, one workgroup per token:
//   COSINE: cos(a_t, b_t) = a·b / (|a| |b|) of rows of n floats (0 when either row is all zero);
//   JS:     mean over the n_groups rows (g, t) of JS(a, b) = 1/2 sum_i [a_i ln(2 a_i / (a_i + b_i)) +
//           b_i ln(2 b_i / (a_i + b_i))], natural log, terms with a zero weight count 0; in [0, ln 2]
//           for probability rows. Each term is >= 0 mathematically and clamped there.
// Inputs and output are framed spans (offset + slot * frame words), so rows may live in ring frames.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { ProbeComparePush p; };
layout(set = 0, binding = 0) readonly buffer Index { uint frame_index[]; };
layout(set = 0, binding = 1) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) readonly buffer B { float b[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

#include "reduce.glsl"

void main() {
  const uint tid = gl_LocalInvocationID.x, t = gl_WorkGroupID.x, slot = frame_index[0];
  const uint a0 = p.a_offset + slot * p.a_frame + t * p.n;
  const uint b0 = p.b_offset + slot * p.b_frame + t * p.n;
#if COSINE
  float ab = 0.0, aa = 0.0, bb = 0.0;
  for (uint i = tid; i < p.n; i += gl_WorkGroupSize.x) {
    const float x = a[a0 + i], y = b[b0 + i];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  ab = workgroup_sum(ab);
  aa = workgroup_sum(aa);
  bb = workgroup_sum(bb);
  const float value = aa > 0.0 && bb > 0.0 ? ab / sqrt(aa * bb) : 0.0;
#else
  float total = 0.0;
  for (uint g = 0; g < p.n_groups; ++g) {
    float s = 0.0;
    for (uint i = tid; i < p.n; i += gl_WorkGroupSize.x) {
      const float x = a[a0 + g * p.group_stride + i], y = b[b0 + g * p.group_stride + i];
      const float m = 0.5 * (x + y);
      float term = 0.0;
      if (x > 0.0) term += x * log(x / m);
      if (y > 0.0) term += y * log(y / m);
      s += max(term, 0.0);
    }
    total += workgroup_sum(s);
  }
  const float value = 0.5 * total / float(p.n_groups);
#endif
  if (tid == 0) result[p.out_offset + slot * p.out_frame + t * p.out_stride] = value;
}
