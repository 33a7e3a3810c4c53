#version 450
// Tensor-core matmul for prefill with large tiles (GL_NV_cooperative_matrix, 16x16x16 F16 -> F32):
// y[n, m] = sum_k w[k, n] x[k, m] (+ bias[n]) (+ y[n, m]). 8 subgroups of 32 lanes; the tile shape is
// a compile-time variant (-D SG_N, TN, TM): SG_N subgroups along n, 8 / SG_N along m, each owning TN x TM
// accumulators of 16 x 16, so the workgroup tile is BN = SG_N*TN*16 (n) by BM = (8/SG_N)*TM*16 (m).
// Per K step of 32, each subgroup multiplies the current slice from shared memory, then every lane writes
// the next slice, loaded two steps earlier into registers (16-byte global loads, W dequantized and x
// converted to F16, 8 halves per uvec4), into the other shared buffer and issues the loads of the slice
// three steps ahead: two shared buffers, two register sets, one barrier per K step. Needs K % 32 == 0, subgroups of 32 and 16-byte aligned bindings (host checks).
// Split-K (gl_NumWorkGroups.z = S > 1): workgroup z reduces K slice z (K / S, a multiple of 32) and writes
// its partial product to y at z * M * N, without bias or accumulate; matmul_split_sum.comp adds the S
// partials in order (ops/matmul.cpp). More workgroups for shapes with few output tiles and a long K.
// -DX_F16: x is F16 (written so by the op before), loaded as 8 halves per 16-byte load without conversion.
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
#if defined(X_F16)
layout(set = 0, binding = 1) readonly buffer X8 { uvec4 x8[]; };  // x in F16: 8 halves per uvec4
#else
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
#endif
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(set = 0, binding = 3) readonly buffer Bias { float bias[]; };

shared uvec4 ws[2 * W_ROWS4];       // [buffer][n][k / 8]: 8 halves of W per uvec4
shared uvec4 xs[2 * X_ROWS4];       // [buffer][m][k / 8]: 8 halves of x per uvec4
shared float stage[N_SG * 16 * 16];  // per subgroup: one 16 x 16 result, column-major (m-major)

uvec4 pack8(vec4 lo, vec4 hi) {
  return uvec4(packHalf2x16(lo.xy), packHalf2x16(lo.zw), packHalf2x16(hi.xy), packHalf2x16(hi.zw));
}

// This workgroup's K range (split-K: slice gl_WorkGroupID.z of gl_NumWorkGroups.z).
uint k_begin() { return gl_WorkGroupID.z * (p.K / gl_NumWorkGroups.z); }

// Chunk c of a tile: row c / 4, halves (c % 4) * 8 .. +7 of the K slice (k0 relative to k_begin()).
void load_slice(uint k0, uint n0, uint m0, out uvec4 wr[W_CHUNKS], out uvec4 xr[X_CHUNKS]) {
  k0 += k_begin();
  const uint tid = gl_LocalInvocationID.x;
  for (uint i = 0; i < W_CHUNKS; ++i) {
    const uint c = tid + 256 * i, r = c / 4, kk = (c % 4) * 8;
#if defined(W_F16)
    wr[i] = n0 + r < p.N ? w_vec[((n0 + r) * p.K + k0 + kk) / 8] : uvec4(0);  // already 8 halves
#else
    vec4 lo = vec4(0.0), hi = vec4(0.0);
    if (n0 + r < p.N) dequant8((n0 + r) * p.K + k0 + kk, lo, hi);
    wr[i] = pack8(lo, hi);
#endif
  }
  for (uint i = 0; i < X_CHUNKS; ++i) {
    const uint c = tid + 256 * i, r = c / 4, kk = (c % 4) * 8;
#if defined(X_F16)
    xr[i] = m0 + r < p.M ? x8[((m0 + r) * p.K + k0 + kk) / 8] : uvec4(0);
#else
    vec4 lo = vec4(0.0), hi = vec4(0.0);
    if (m0 + r < p.M) {
      const uint e = ((m0 + r) * p.K + k0 + kk) / 4;
      lo = x4[e];
      hi = x4[e + 1];
    }
    xr[i] = pack8(lo, hi);
#endif
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

// Accumulators and fragments are plain variables, not arrays: with a 4 x 2 array of accumulators the
// products alone (no loads in the K loop) ran at 33 TFLOP/s on the H200, as plain variables at 305 (the
// NVIDIA compiler apparently keeps such arrays in local memory). FOR_ACC / FOR_A / FOR_B expand a
// macro once per accumulator (i along n, j along m) and per A / B fragment.
#define FRAG16 fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG32 fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#if TN == 2 && TM == 1
#define FOR_ACC(X) X(0, 0, c00) X(1, 0, c10)
#elif TN == 2 && TM == 2
#define FOR_ACC(X) X(0, 0, c00) X(1, 0, c10) X(0, 1, c01) X(1, 1, c11)
#elif TN == 4 && TM == 2
#define FOR_ACC(X) X(0, 0, c00) X(1, 0, c10) X(2, 0, c20) X(3, 0, c30) X(0, 1, c01) X(1, 1, c11) X(2, 1, c21) X(3, 1, c31)
#else
#error "tile variants: TN x TM = 2x1, 2x2, 4x2"
#endif
#if TN == 2
#define FOR_A(X) X(0, a0) X(1, a1)
#else
#define FOR_A(X) X(0, a0) X(1, a1) X(2, a2) X(3, a3)
#endif
#if TM == 1
#define FOR_B(X) X(0, b0)
#else
#define FOR_B(X) X(0, b0) X(1, b1)
#endif

// One 16 x 16 result out through the subgroup's staging area: bias, accumulate and bounds per element.
void store_result(FRAG32 c, uint n_base, uint m_base) {
  const uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  coopMatStoreNV(c, stage, sg * 256, 16, true);  // stage[m * 16 + n]
  subgroupMemoryBarrierShared();
  subgroupBarrier();
  for (uint e = lane; e < 256; e += 32) {
    const uint n = n_base + e % 16, m = m_base + e / 16;
    if (n >= p.N || m >= p.M) continue;
    float v = stage[sg * 256 + e];
    const uint dst = m * p.N + n;
    if (gl_NumWorkGroups.z > 1) {  // split-K partial: summed (with bias and accumulate) by the next pass
      y[gl_WorkGroupID.z * p.M * p.N + dst] = v;
      continue;
    }
    if ((p.flags & MATMUL_BIAS) != 0) v += bias[n];
    if ((p.flags & MATMUL_ACCUMULATE) != 0) v += y[dst];
    y[dst] = v;
  }
  subgroupBarrier();
}

void main() {
  const uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;
  const uint sg = gl_SubgroupID;
  const uint sn = (sg % SG_N) * TN * 16, sm = (sg / SG_N) * TM * 16;

#define DECLARE_ACC(i, j, c) FRAG32 c = FRAG32(0.0);
  FOR_ACC(DECLARE_ACC)
#define LOAD_A(i, a) FRAG16 a; coopMatLoadNV(a, ws, abase + (sn + 16 * i) * SA4, SA4, false);  // A(n, k) row-major
#define LOAD_B(j, b) FRAG16 b; coopMatLoadNV(b, xs, bbase + (sm + 16 * j) * SA4, SA4, true);  // B(k, m) column-major
#define MMA(i, j, c) c = coopMatMulAddNV(a##i, b##j, c);

#define PRODUCTS(b)                                                     \
  for (uint kk = 0; kk < BK / 8; kk += 2) {                             \
    const uint abase = (b) * W_ROWS4 + kk, bbase = (b) * X_ROWS4 + kk;  \
    FOR_A(LOAD_A)                                                       \
    FOR_B(LOAD_B)                                                       \
    FOR_ACC(MMA)                                                        \
  }
#if defined(PROBE_MMA)  // timing only: fragments loaded once, the K loop multiplies (wrong results)
  {
    const uint abase = 0, bbase = 0;
    FOR_A(LOAD_A)
    FOR_B(LOAD_B)
    for (uint k0 = 0; k0 < p.K; k0 += 16) { FOR_ACC(MMA) }
  }
  const uint k_end = 0;  // skip the real loop but keep the epilogue, so the products are used
#else
  const uint k_end = p.K / gl_NumWorkGroups.z;
#endif
  const uint k_len = p.K / gl_NumWorkGroups.z;  // this workgroup's share of K
#if defined(PROBE_SMEM)
#define STORE_SLICE(b, w, x)
#define LOAD_SLICE(k, w, x)
#else
#define STORE_SLICE(b, w, x) store_slice(b, w, x);
#define LOAD_SLICE(k, w, x) load_slice(k, n0, m0, w, x);
#endif

#if defined(PREFETCH_ONE)
  // Slice s + 2 is loaded before the barrier that ends step s and stored after step s + 1's products: the
  // barrier keeps the compiler from sinking the loads next to their use, so their latency hides behind a
  // whole step of tensor-core work (loading right before the products and storing right after: 94 TFLOP/s
  // on the H200 for the 128 x 128 tile at 2048 x 8192 x 512; this order: 105).
  uvec4 wr[W_CHUNKS], xr[X_CHUNKS];
  load_slice(0, n0, m0, wr, xr);
  store_slice(0, wr, xr);
  if (BK < k_len) load_slice(BK, n0, m0, wr, xr);
  barrier();
  uint buf = 0;
  for (uint k0 = 0; k0 < k_end; k0 += BK) {
    PRODUCTS(buf)
    if (k0 + BK < k_len) STORE_SLICE(buf ^ 1u, wr, xr)
    if (k0 + 2 * BK < k_len) LOAD_SLICE(k0 + 2 * BK, wr, xr)
    barrier();
    buf ^= 1u;
  }
#else
  // Two register sets: slice s + 3 is loaded at the end of step s and stored at the end of step s + 2, so
  // its loads have two steps of tensor-core work to arrive. Slice j lives in set j % 2 and buffer j % 2;
  // the loop takes two steps at a time so that both are fixed per step.
  uvec4 w0[W_CHUNKS], x0[X_CHUNKS], w1[W_CHUNKS], x1[X_CHUNKS];
  load_slice(0, n0, m0, w0, x0);
  store_slice(0, w0, x0);
  if (BK < k_len) load_slice(BK, n0, m0, w1, x1);
  if (2 * BK < k_len) load_slice(2 * BK, n0, m0, w0, x0);
  barrier();
  for (uint k0 = 0; k0 < k_end; k0 += 2 * BK) {
    PRODUCTS(0)
    if (k0 + BK < k_len) STORE_SLICE(1, w1, x1)
    if (k0 + 3 * BK < k_len) LOAD_SLICE(k0 + 3 * BK, w1, x1)
    barrier();
    if (k0 + BK >= k_end) break;
    PRODUCTS(1)
    if (k0 + 2 * BK < k_len) STORE_SLICE(0, w0, x0)
    if (k0 + 4 * BK < k_len) LOAD_SLICE(k0 + 4 * BK, w0, x0)
    barrier();
  }
#endif

#define STORE(i, j, c) store_result(c, n0 + sn + 16 * i, m0 + sm + 16 * j);
  FOR_ACC(STORE)
}
