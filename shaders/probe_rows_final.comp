#version 450
// Normalization pass of chunked implied-attention rows (mamba_attention.comp PROBE=1 and probe_linmix_rows.comp
// with several key chunks): each captured row (query r = workgroup x, captured head slot y) is divided by the
// sum of its chunks' partial sums, over the keys 0 .. i that were stored.
#include "common.glsl"

layout(local_size_x = 128) in;
layout(push_constant) uniform Push { ProbeRowsFinalPush p; };
layout(set = 0, binding = 0) readonly buffer Step { int step[]; };
layout(set = 0, binding = 1) readonly buffer Index { uint frame_index[]; };
layout(set = 0, binding = 2) buffer Out { float map[]; };                     // ring rows
layout(set = 0, binding = 3) readonly buffer Partials { float partials[]; };  // [heads][queries][chunks]

void main() {
  const uint r = gl_WorkGroupID.x, y = gl_WorkGroupID.y;
  const uint i = uint(max(step[0], 0)) + r;
  const uint out_row = p.out_offset + frame_index[0] * p.frame_words + (y * p.query_stride + r) * p.max_keys;
  float total = 0.0;
  for (uint q = 0; q < p.n_chunks; ++q) total += partials[(y * gl_NumWorkGroups.x + r) * p.n_chunks + q];
  const float scale = total > 0.0 ? 1.0 / total : 0.0;
  for (uint j = gl_LocalInvocationID.x; j <= i && j < p.max_keys; j += gl_WorkGroupSize.x) map[out_row + j] *= scale;
}
