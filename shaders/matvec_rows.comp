#version 450
#extension GL_EXT_control_flow_attributes : require
// Mat-vec for decode, one subgroup per output row: y[n, m] = sum_k w[k, n] x[k, m] (+ bias) (+ y).
// The workgroup first stages its column of x in shared memory (with the decode fusions applied: NORM
// scales by norm_w and, at the end, by 1/rms of the column; GLU reads silu(gate) * up), then each
// subgroup reduces ROWS rows of W: its lanes take consecutive 8-weight chunks (16-byte loads, so a
// subgroup reads 512 contiguous bytes of F16 per step), UNROLL chunks per lane in flight before any
// arithmetic, so many loads are outstanding per lane. No barrier after staging, one subgroupAdd per
// row. Needs K % 8 == 0, 16-byte aligned bindings and K <= KMAX (the host checks; otherwise matvec.comp).
// One column per workgroup (gl_WorkGroupID.z); weight type by -D (see dequant.glsl).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint ROWS = 2;      // output rows per subgroup
layout(constant_id = 2) const uint KMAX = 8192;   // staged x capacity (floats, multiple of 4)
layout(constant_id = 3) const uint UNROLL = 4;    // 8-weight chunks per lane per step

layout(push_constant) uniform Push { MatmulPush p; };

#define W_BINDING 0
#include "dequant.glsl"
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(set = 0, binding = 3) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 4) readonly buffer NormW4 { vec4 norm_w4[]; };

shared vec4 xs[KMAX / 4];
shared float sg_sums[WG];  // per-subgroup partial sums of squares (NORM); WG >= number of subgroups

vec4 silu4(vec4 v) { return v / (1.0 + exp(-v)); }

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint lane = gl_SubgroupInvocationID, sg_size = gl_SubgroupSize;
  const bool glu = (p.flags & MATMUL_GLU) != 0;
  const bool norm = (p.flags & MATMUL_NORM) != 0;
  const uint K4 = p.K / 4;
  const uint col = gl_WorkGroupID.z;
  const uint x_base4 = col * (glu ? 2 * K4 : K4);

  // Stage x (fused), and the column's sum of squares for NORM.
  float ss = 0.0;
  for (uint i = tid; i < K4; i += WG) {
    vec4 v = x4[x_base4 + i];
    if (glu) v = silu4(v) * x4[x_base4 + K4 + i];
    if (norm) {
      ss += dot(v, v);
      v *= norm_w4[i];
    }
    xs[i] = v;
  }
  float scale = 1.0;
  if (norm) {
    ss = subgroupAdd(ss);
    if (subgroupElect()) sg_sums[gl_SubgroupID] = ss;
  }
  barrier();
  if (norm) {
    float t = 0.0;
    for (uint s = 0; s < gl_NumSubgroups; ++s) t += sg_sums[s];
    scale = inversesqrt(t / float(p.K) + p.eps);
  }

  const uint wg_index = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  const uint row0 = (wg_index * gl_NumSubgroups + gl_SubgroupID) * ROWS;
  if (row0 >= p.N) return;  // uniform over the subgroup; no barrier follows

  uint row_base[ROWS];
  for (uint r = 0; r < ROWS; ++r) row_base[r] = min(row0 + r, p.N - 1) * p.K;  // clamped: results dropped
  float acc[ROWS];
  for (uint r = 0; r < ROWS; ++r) acc[r] = 0.0;

  const uint n_chunks = p.K / 8, step = sg_size * UNROLL;
  uint ch = lane;
  // Main loop: UNROLL chunks per lane per row, all loads issued before the dot products.
  for (; ch + (UNROLL - 1) * sg_size < n_chunks; ch += step) {
    vec4 wlo[ROWS * UNROLL], whi[ROWS * UNROLL];
    [[unroll]] for (uint r = 0; r < ROWS; ++r)
      [[unroll]] for (uint u = 0; u < UNROLL; ++u)
        dequant8(row_base[r] + (ch + u * sg_size) * 8, wlo[r * UNROLL + u], whi[r * UNROLL + u]);
    [[unroll]] for (uint u = 0; u < UNROLL; ++u) {
      const uint c = ch + u * sg_size;
      const vec4 xlo = xs[2 * c], xhi = xs[2 * c + 1];
      [[unroll]] for (uint r = 0; r < ROWS; ++r)
        acc[r] += dot(wlo[r * UNROLL + u], xlo) + dot(whi[r * UNROLL + u], xhi);
    }
  }
  // Remainder: fewer than UNROLL chunks per lane left.
  for (; ch < n_chunks; ch += sg_size) {
    const vec4 xlo = xs[2 * ch], xhi = xs[2 * ch + 1];
    [[unroll]] for (uint r = 0; r < ROWS; ++r) {
      vec4 wlo, whi;
      dequant8(row_base[r] + ch * 8, wlo, whi);
      acc[r] += dot(wlo, xlo) + dot(whi, xhi);
    }
  }

  for (uint r = 0; r < ROWS; ++r) {
    float sum = subgroupAdd(acc[r]);
    const uint n = row0 + r;
    if (lane != 0 || n >= p.N) continue;
    sum *= scale;
    if ((p.flags & MATMUL_BIAS) != 0) sum += bias[n];
    const uint dst = col * p.N + n;
    if ((p.flags & MATMUL_ACCUMULATE) != 0) sum += y[dst];
    y[dst] = sum;
  }
}
