#version 450
// Mat-vec for decode (few columns): y[n, m] = sum_k w[k, n] x[k, m] (+ bias[n]) (+ y[n, m]).
// Decode fusions: NORM applies RMSNorm (with weight norm_w) to each x column on the fly, GLU reads
// x as silu(gate) * up from a [gate | up] column; both save a dispatch and a round trip per layer.
// Memory-bandwidth bound. A workgroup computes ROWS consecutive output rows for NCOLS columns: its
// threads stride along K in chunks of 8 weights (one 16-byte load for F16/BF16, adjacent threads on
// adjacent chunks, so reads are coalesced), accumulate ROWS x NCOLS partial dots in F32 registers,
// then reduce them with subgroupAdd and one shared-memory pass. Weight type by -D (see dequant.glsl).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
layout(constant_id = 1) const uint ROWS = 2;     // output rows per workgroup
layout(constant_id = 2) const uint NCOLS = 1;    // columns of x per workgroup (gl_WorkGroupID.z picks which)
layout(constant_id = 3) const bool ALIGNED = true;  // 8-weight vector chunks (else one weight at a time)
const uint RC = ROWS * NCOLS;

layout(push_constant) uniform Push { MatmulPush p; };

#define W_BINDING 0
#include "dequant.glsl"
#include "x_input.glsl"
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(set = 0, binding = 3) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 4) readonly buffer NormW { float norm_w[]; };
layout(set = 0, binding = 4) readonly buffer NormW4 { vec4 norm_w4[]; };

// One slot per (subgroup, row, column); subgroups are at least 4 invocations wide on every device
// we target (lavapipe 8, NVIDIA 32).
shared float partial[(WG / 4) * RC];
shared float col_scale[NCOLS];

float silu(float v) { return v / (1.0 + exp(-v)); }
vec4 silu4(vec4 v) { return v / (1.0 + exp(-v)); }

// NORM: 1 / rms of each column of x, in col_scale (every invocation takes part).
void column_inv_rms(uint col_base[NCOLS], uint tid) {
  for (uint c = 0; c < NCOLS; ++c) {
    float ss = 0.0;
    for (uint k = tid; k < p.K; k += WG) ss += x_at(col_base[c] + k) * x_at(col_base[c] + k);
    ss = subgroupAdd(ss);
    if (subgroupElect()) partial[gl_SubgroupID] = ss;
    barrier();
    if (tid == 0) {
      float t = 0.0;
      for (uint s = 0; s < gl_NumSubgroups; ++s) t += partial[s];
      col_scale[c] = inversesqrt(t / float(p.K) + p.eps);
    }
    barrier();
  }
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * ROWS;
  const uint col0 = gl_WorkGroupID.z * NCOLS;
  if (row0 >= p.N) return;  // uniform over the workgroup

  float acc[RC];
  for (uint i = 0; i < RC; ++i) acc[i] = 0.0;

  // Rows past N and columns past M are clamped to the last valid one (reads stay in bounds, the
  // results are dropped at the end).
  uint row_base[ROWS];
  for (uint r = 0; r < ROWS; ++r) row_base[r] = min(row0 + r, p.N - 1) * p.K;
  const bool glu = (p.flags & MATMUL_GLU) != 0;
  const bool norm = (p.flags & MATMUL_NORM) != 0;
  uint col_base[NCOLS];  // GLU columns hold 2K values: gate then up
  for (uint c = 0; c < NCOLS; ++c) col_base[c] = min(col0 + c, p.M - 1) * (glu ? 2 * p.K : p.K);
  if (norm) column_inv_rms(col_base, tid);

  if (ALIGNED) {
    const uint n_chunks = p.K / 8;
    for (uint ch = tid; ch < n_chunks; ch += WG) {
      const uint k = ch * 8;
      vec4 xlo[NCOLS], xhi[NCOLS];
      for (uint c = 0; c < NCOLS; ++c) {
        xlo[c] = x_vec4((col_base[c] + k) / 4);
        xhi[c] = x_vec4((col_base[c] + k) / 4 + 1);
        if (glu) {
          xlo[c] = silu4(xlo[c]) * x_vec4((col_base[c] + p.K + k) / 4);
          xhi[c] = silu4(xhi[c]) * x_vec4((col_base[c] + p.K + k) / 4 + 1);
        }
        if (norm) {
          xlo[c] *= norm_w4[k / 4];
          xhi[c] *= norm_w4[k / 4 + 1];
        }
      }
      for (uint r = 0; r < ROWS; ++r) {
        vec4 wlo, whi;
        dequant8(row_base[r] + k, wlo, whi);
        for (uint c = 0; c < NCOLS; ++c) acc[r * NCOLS + c] += dot(wlo, xlo[c]) + dot(whi, xhi[c]);
      }
    }
  } else {
    for (uint k = tid; k < p.K; k += WG) {
      float xv[NCOLS];
      for (uint c = 0; c < NCOLS; ++c) {
        xv[c] = x_at(col_base[c] + k);
        if (glu) xv[c] = silu(xv[c]) * x_at(col_base[c] + p.K + k);
        if (norm) xv[c] *= norm_w[k];
      }
      for (uint r = 0; r < ROWS; ++r) {
        float wv = dequant1(row_base[r] + k);
        for (uint c = 0; c < NCOLS; ++c) acc[r * NCOLS + c] += wv * xv[c];
      }
    }
  }

  for (uint i = 0; i < RC; ++i) acc[i] = subgroupAdd(acc[i]);
  if (gl_NumSubgroups > 1) {
    barrier();  // partial[] may still be read by column_inv_rms
    if (subgroupElect())
      for (uint i = 0; i < RC; ++i) partial[gl_SubgroupID * RC + i] = acc[i];
    barrier();
  }

  for (uint i = tid; i < RC; i += WG) {
    float sum;
    if (gl_NumSubgroups > 1) {
      sum = 0.0;
      for (uint s = 0; s < gl_NumSubgroups; ++s) sum += partial[s * RC + i];
    } else {
      sum = acc[i];  // every invocation holds the subgroup's total
    }
    const uint n = row0 + i / NCOLS, m = col0 + i % NCOLS;
    if (n >= p.N || m >= p.M) continue;
    if (norm) sum *= col_scale[i % NCOLS];
    if ((p.flags & MATMUL_BIAS) != 0) sum += bias[n];
    const uint dst = m * p.N + n;
    if ((p.flags & MATMUL_ACCUMULATE) != 0) sum += y[dst];
    y[dst] = sum;
  }
}
