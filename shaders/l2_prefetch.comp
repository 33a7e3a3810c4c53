#version 450
// Pulls a byte range of a weight into the GPU's L2 cache ahead of the kernel that needs it (ops/prefetch.h):
// every invocation reads 16-byte words of the range and folds them into one value, written to the sink only
// if it equals a magic number the host never expects, so the loads cannot be optimized away. Recorded next
// to a kernel that reads little memory (decode attention), it streams the next mat-vec's weights while the
// memory would otherwise idle.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { PrefetchPush p; };
layout(set = 0, binding = 0) readonly buffer Data { uvec4 data[]; };
layout(set = 0, binding = 1) buffer Sink { uint sink[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  uvec4 acc = uvec4(0);
  for (uint i = gl_GlobalInvocationID.x; i < p.n_vec4; i += stride) acc ^= data[i];
  const uint folded = acc.x ^ acc.y ^ acc.z ^ acc.w;
  if (folded == p.magic) sink[0] = folded;
}
