#version 450
// Embedding lookup: out[:, m] = dequant(table[:, ids[m]]) for a table of any weight type.
// Invocation i of column m writes weights 8i .. 8i+7 (or weight i on the unaligned path). An id
// outside [0, V) cannot raise an error here: its column is written as zeros (callers validate ids).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const bool ALIGNED = true;  // K % 8 == 0: 8-weight chunks

layout(push_constant) uniform Push { GetRowsPush p; };

#define W_BINDING 0
#include "dequant.glsl"
layout(set = 0, binding = 1) readonly buffer Ids { int ids[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float out_f[]; };
layout(set = 0, binding = 2) writeonly buffer Out4 { vec4 out_v[]; };

void main() {
  const uint m = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
  if (m >= p.M) return;
  const int id = ids[m];
  const bool valid = id >= 0 && uint(id) < p.V;
  const uint i = gl_GlobalInvocationID.x;
  if (ALIGNED) {
    const uint k = i * 8;
    if (k >= p.K) return;
    vec4 lo = vec4(0.0), hi = vec4(0.0);
    if (valid) dequant8(uint(id) * p.K + k, lo, hi);
    out_v[(m * p.K + k) / 4] = lo;
    out_v[(m * p.K + k) / 4 + 1] = hi;
  } else {
    if (i >= p.K) return;
    out_f[m * p.K + i] = valid ? dequant1(uint(id) * p.K + i) : 0.0;
  }
}
