#version 450
// Mixer history for implied-attention probes: the pass's columns (n_cols of `rows` words: a linear layer's
// post-RoPE keys, a Mamba layer's zxbc or dt) stored at columns n_past .. of the history, n_past read from
// the step buffer, so one decode recording appends a column per replay. Columns at or past capacity dropped.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { ProbeHistoryPush p; };
layout(set = 0, binding = 0) readonly buffer Step { int step[]; };
layout(set = 0, binding = 1) readonly buffer Src { uint src[]; };   // [rows, n_cols]
layout(set = 0, binding = 2) writeonly buffer Dst { uint dst[]; };  // [rows, capacity]

void main() {
  const uint n = p.rows * p.n_cols, col0 = uint(max(step[0], 0));
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
    const uint col = col0 + i / p.rows;
    if (col < p.capacity) dst[col * p.rows + i % p.rows] = src[i];
  }
}
