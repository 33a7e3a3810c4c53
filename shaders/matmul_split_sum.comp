#version 450
// Split-K matmul, second pass: y[n, m] = sum_z part[z][n, m] (+ bias[n]) (+ y[n, m]), the S partials of
// matmul_coopmat_tiles.comp summed in order z = 0 .. S-1 (the same result every run). One invocation per
// output element; K of the push block carries S.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { MatmulPush p; };
layout(set = 0, binding = 0) readonly buffer Part { float part[]; };  // [S][M][N]
layout(set = 0, binding = 1) buffer Y { float y[]; };                 // [M][N]
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };  // [N]

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint total = p.N * p.M;
  if (i >= total) return;
  float v = 0.0;
  for (uint z = 0; z < p.K; ++z) v += part[z * total + i];
  if ((p.flags & MATMUL_BIAS) != 0) v += bias[i % p.N];
  if ((p.flags & MATMUL_ACCUMULATE) != 0) v += y[i];
  y[i] = v;
}
