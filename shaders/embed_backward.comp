#version 450
// get_rows backward: dtable[:, v] += sum of dout[:, m] over the tokens m with ids[m] == v. Deterministic
// without atomics: workgroup m acts only when m is the first token with its id, and then adds the columns
// of that id's tokens in token order (O(M^2) id reads in all, fine for training batches of a few thousand).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { EmbedBackwardPush p; };
layout(set = 0, binding = 0) readonly buffer DOut { float dout[]; };  // [K, M]
layout(set = 0, binding = 1) readonly buffer Ids { int ids[]; };      // [M]
layout(set = 0, binding = 2) buffer DTable { float dtable[]; };       // [K, V]

#include "reduce.glsl"

void main() {
  const uint m = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (m >= p.M) return;
  const int id = ids[m];  // the same for the whole workgroup, so these returns are uniform
  if (id < 0 || uint(id) >= p.V) return;
  float earlier = 0.0;
  for (uint j = gl_LocalInvocationID.x; j < m; j += gl_WorkGroupSize.x)
    if (ids[j] == id) earlier = 1.0;
  if (workgroup_sum(earlier) > 0.0) return;
  for (uint k = gl_LocalInvocationID.x; k < p.K; k += gl_WorkGroupSize.x) {
    float acc = 0.0;
    for (uint j = m; j < p.M; ++j)
      if (ids[j] == id) acc += dout[j * p.K + k];
    dtable[uint(id) * p.K + k] += acc;
  }
}
