#version 450
// Memory-bandwidth probe: every invocation streams vec4s (grid-stride); read mode folds them into
// one value per workgroup (so the loads cannot be removed), copy mode writes them to dst.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(push_constant) uniform Push { BandwidthPush p; };
layout(set = 0, binding = 0) readonly buffer Src { vec4 src[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { vec4 dst[]; };
layout(set = 0, binding = 2) writeonly buffer Sink { float sink[]; };

#include "reduce.glsl"

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  vec4 acc = vec4(0);
  for (uint i = gl_GlobalInvocationID.x; i < p.n_vec4; i += stride) {
    vec4 v = src[i];
    if (p.copy != 0) dst[i] = v; else acc += v;
  }
  float s = workgroup_sum(acc.x + acc.y + acc.z + acc.w);
  if (gl_LocalInvocationID.x == 0) sink[gl_WorkGroupID.x] = s;
}
