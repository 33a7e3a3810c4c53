#version 450
// Tensor-core matmul for prefill with large tiles (GL_NV_cooperative_matrix, 16x16x16 F16 -> F32):
// y[n, m] = sum_k w[k, n] x[k, m] (+ bias[n]) (+ y[n, m]). 8 subgroups of 32 lanes; the tile shape is
// a compile-time variant (-D SG_N, TN, TM): SG_N subgroups along n, 8 / SG_N along m, each owning TN x TM
// accumulators of 16 x 16, so the workgroup tile is BN = SG_N*TN*16 (n) by BM = (8/SG_N)*TM*16 (m).
// Per K step of 32, every lane first issues its 16-byte global loads of the *next* W and x slices into
// registers (W dequantized and x converted to F16, 8 halves per uvec4), then multiplies the current
// slice from shared memory, then writes the registers into the other shared buffer: two buffers, one
// barrier per K step. Needs K % 32 == 0, subgroups of 32 and 16-byte aligned bindings (host checks).
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#include "common.glsl"

layout(local_size_x = 256) in;
const uint N_SG = 8;
const uint BN = SG_N * TN * 16, BM = (N_SG / SG_N) * TM * 16, BK = 32;
const uint SA4 = BK / 8 + 1;            // row stride in uvec4 (8 halves): 80 bytes, conflict-free ldmatrix rows
const uint W_CHUNKS = BN * (BK / 8) / 256;  // 8-weight chunks per lane per K step
const uint X_CHUNKS = BM * (BK / 8) / 256;
const uint W_ROWS4 = BN * SA4, X_ROWS4 = BM * SA4;  // one buffer of each tile, in uvec4

layout(push_constant) uniform Push { MatmulPush p; };

#define W_BINDING 0
#include "dequant.glsl"
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(set = 0, binding = 3) readonly buffer Bias { float bias[]; };

shared uvec4 ws[2 * W_ROWS4];       // [buffer][n][k / 8]: 8 halves of W per uvec4
shared uvec4 xs[2 * X_ROWS4];       // [buffer][m][k / 8]: 8 halves of x per uvec4
shared float stage[N_SG * 16 * 16];  // per subgroup: one 16 x 16 result, column-major (m-major)

uvec4 pack8(vec4 lo, vec4 hi) {
  return uvec4(packHalf2x16(lo.xy), packHalf2x16(lo.zw), packHalf2x16(hi.xy), packHalf2x16(hi.zw));
}

// Chunk c of a tile: row c / 4, halves (c % 4) * 8 .. +7 of the K slice.
void load_slice(uint k0, uint n0, uint m0, out uvec4 wr[W_CHUNKS], out uvec4 xr[X_CHUNKS]) {
  const uint tid = gl_LocalInvocationID.x;
  for (uint i = 0; i < W_CHUNKS; ++i) {
    const uint c = tid + 256 * i, r = c / 4, kk = (c % 4) * 8;
    vec4 lo = vec4(0.0), hi = vec4(0.0);
    if (n0 + r < p.N) dequant8((n0 + r) * p.K + k0 + kk, lo, hi);
    wr[i] = pack8(lo, hi);
  }
  for (uint i = 0; i < X_CHUNKS; ++i) {
    const uint c = tid + 256 * i, r = c / 4, kk = (c % 4) * 8;
    vec4 lo = vec4(0.0), hi = vec4(0.0);
    if (m0 + r < p.M) {
      const uint e = ((m0 + r) * p.K + k0 + kk) / 4;
      lo = x4[e];
      hi = x4[e + 1];
    }
    xr[i] = pack8(lo, hi);
  }
}

void store_slice(uint buf, uvec4 wr[W_CHUNKS], uvec4 xr[X_CHUNKS]) {
  const uint tid = gl_LocalInvocationID.x;
  for (uint i = 0; i < W_CHUNKS; ++i) {
    const uint c = tid + 256 * i;
    ws[buf * W_ROWS4 + (c / 4) * SA4 + c % 4] = wr[i];
  }
  for (uint i = 0; i < X_CHUNKS; ++i) {
    const uint c = tid + 256 * i;
    xs[buf * X_ROWS4 + (c / 4) * SA4 + c % 4] = xr[i];
  }
}

void main() {
  const uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;
  const uint sg = gl_SubgroupID;
  const uint sn = (sg % SG_N) * TN * 16, sm = (sg / SG_N) * TM * 16;

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[TN][TM];
  for (uint i = 0; i < TN; ++i)
    for (uint j = 0; j < TM; ++j) acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

  uvec4 wr[W_CHUNKS], xr[X_CHUNKS];
  load_slice(0, n0, m0, wr, xr);
  store_slice(0, wr, xr);
  barrier();
  uint buf = 0;
  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    const bool more = k0 + BK < p.K;
    if (more) load_slice(k0 + BK, n0, m0, wr, xr);  // in flight while the tensor cores work
    for (uint kk = 0; kk < BK / 8; kk += 2) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a[TN], b[TM];
      for (uint i = 0; i < TN; ++i)  // A(n, k) row-major
        coopMatLoadNV(a[i], ws, buf * W_ROWS4 + (sn + 16 * i) * SA4 + kk, SA4, false);
      for (uint j = 0; j < TM; ++j)  // B(k, m) column-major
        coopMatLoadNV(b[j], xs, buf * X_ROWS4 + (sm + 16 * j) * SA4 + kk, SA4, true);
      for (uint i = 0; i < TN; ++i)
        for (uint j = 0; j < TM; ++j) acc[i][j] = coopMatMulAddNV(a[i], b[j], acc[i][j]);
    }
    if (more) store_slice(buf ^ 1u, wr, xr);
    barrier();
    buf ^= 1u;
  }

  const uint lane = gl_SubgroupInvocationID;
  for (uint i = 0; i < TN; ++i)
    for (uint j = 0; j < TM; ++j) {
      coopMatStoreNV(acc[i][j], stage, sg * 256, 16, true);  // stage[m * 16 + n]
      subgroupMemoryBarrierShared();
      subgroupBarrier();
      for (uint e = lane; e < 256; e += 32) {
        const uint n = n0 + sn + 16 * i + e % 16, m = m0 + sm + 16 * j + e / 16;
        if (n >= p.N || m >= p.M) continue;
        float v = stage[sg * 256 + e];
        if ((p.flags & MATMUL_BIAS) != 0) v += bias[n];
        const uint dst = m * p.N + n;
        if ((p.flags & MATMUL_ACCUMULATE) != 0) v += y[dst];
        y[dst] = v;
      }
      subgroupBarrier();
    }
}
