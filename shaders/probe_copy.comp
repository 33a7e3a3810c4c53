#version 450
// Frame plumbing. COPY: dst[i] = src[i] for i < n, both framed (offset + slot * frame words): publishing
// a ring frame to the host mirror, saving a residual vector into a frame. HEADER: the frame header
// (16 words: magic 'DSPF', seq, n_past, n_tokens, plan tag, slot, 0...) and the batch's first
// max_queries token ids (-1 past n_tokens) right after it.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { ProbeCopyPush p; };
layout(set = 0, binding = 0) readonly buffer Index { uint frame_index[]; };
#if HEADER
layout(set = 0, binding = 1) readonly buffer Step { int step[]; };
layout(set = 0, binding = 2) readonly buffer Ids { int ids[]; };
layout(set = 0, binding = 3) writeonly buffer Dst { uint dst[]; };
#else
layout(set = 0, binding = 1) readonly buffer Src { uint src[]; };
layout(set = 0, binding = 2) writeonly buffer Dst { uint dst[]; };
#endif

void main() {
  const uint slot = frame_index[0];
  const uint base = p.dst_offset + slot * p.dst_frame;
#if HEADER
  const uint i = gl_GlobalInvocationID.x;
  if (i < 16) {
    uint w = 0;
    if (i == 0) w = 0x46505344u;
    if (i == 1) w = frame_index[1];
    if (i == 2) w = uint(step[0]);
    if (i == 3) w = uint(step[1]);
    if (i == 4) w = frame_index[2];
    if (i == 5) w = slot;
    dst[base + i] = w;
  } else if (i < 16 + p.max_queries) {
    const uint t = i - 16;
    dst[base + i] = t < p.n_ids && int(t) < step[1] ? uint(ids[t]) : 0xffffffffu;
  }
#else
  const uint in0 = p.src_offset + slot * p.src_frame;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) dst[base + i] = src[in0 + i];
#endif
}
