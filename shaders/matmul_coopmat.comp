#version 450
// Tiled matmul for prefill on tensor cores (GL_NV_cooperative_matrix, 16x16x16 F16 -> F32):
// y[n, m] = sum_k w[k, n] x[k, m] (+ bias[n]) (+ y[n, m]). A workgroup of 8 subgroups computes a
// 128 (n) x 64 (m) tile; per K step of 32 it dequantizes W's 128 x 32 tile and converts x's 64 x 32
// tile to F16 in shared memory, then each subgroup multiplies its 32 x 32 block as 2 x 2 matrices
// of 16 x 16, accumulating in F32. Results go out through a per-subgroup 16 x 16 staging area so
// bias / accumulate / bounds are handled per element. Only built for devices offering the extension.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#include "common.glsl"

layout(local_size_x = 256) in;
const uint BN = 128, BM = 64, BK = 32;
const uint SA = BK + 8;  // row stride in halves (80 bytes: 16-byte aligned rows, fewer bank conflicts)

layout(push_constant) uniform Push { MatmulPush p; };

#define W_BINDING 0
#include "dequant.glsl"
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(set = 0, binding = 3) readonly buffer Bias { float bias[]; };

shared float16_t ws[BN * SA];     // ws[n][k]
shared float16_t xs[BM * SA];     // xs[m][k]
shared float stage[8 * 16 * 16];  // per subgroup: one 16 x 16 result, column-major (m-major)

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;
  const uint sg = gl_SubgroupID;             // 8 subgroups: 4 along n, 2 along m
  const uint sn = (sg % 4) * 32, sm = (sg / 4) * 32;

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[2][2];
  for (uint i = 0; i < 2; ++i)
    for (uint j = 0; j < 2; ++j) acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    // W tile: 128 rows x 4 chunks of 8 = 512 chunks, 2 per invocation.
    for (uint c = tid; c < BN * (BK / 8); c += 256) {
      const uint r = c / (BK / 8), kk = (c % (BK / 8)) * 8;
      vec4 lo = vec4(0.0), hi = vec4(0.0);
      if (n0 + r < p.N && k0 + kk < p.K) dequant8((n0 + r) * p.K + k0 + kk, lo, hi);
      for (uint i = 0; i < 4; ++i) {
        ws[r * SA + kk + i] = float16_t(lo[i]);
        ws[r * SA + kk + 4 + i] = float16_t(hi[i]);
      }
    }
    // x tile: 64 tokens x 8 vec4 = 512 vec4, 2 per invocation.
    for (uint c = tid; c < BM * (BK / 4); c += 256) {
      const uint mm = c / (BK / 4), kk = (c % (BK / 4)) * 4;
      vec4 v = vec4(0.0);
      if (m0 + mm < p.M && k0 + kk < p.K) v = x4[((m0 + mm) * p.K + k0 + kk) / 4];
      for (uint i = 0; i < 4; ++i) xs[mm * SA + kk + i] = float16_t(v[i]);
    }
    barrier();
    for (uint kk = 0; kk < BK; kk += 16) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a[2], b[2];
      for (uint i = 0; i < 2; ++i) coopMatLoadNV(a[i], ws, (sn + 16 * i) * SA + kk, SA, false);  // A(n, k) row-major
      for (uint j = 0; j < 2; ++j) coopMatLoadNV(b[j], xs, (sm + 16 * j) * SA + kk, SA, true);   // B(k, m) column-major
      for (uint i = 0; i < 2; ++i)
        for (uint j = 0; j < 2; ++j) acc[i][j] = coopMatMulAddNV(a[i], b[j], acc[i][j]);
    }
    barrier();
  }

  const uint lane = gl_SubgroupInvocationID;
  for (uint i = 0; i < 2; ++i)
    for (uint j = 0; j < 2; ++j) {
      coopMatStoreNV(acc[i][j], stage, sg * 256, 16, true);  // stage[m * 16 + n]
      subgroupMemoryBarrierShared();
      subgroupBarrier();
      for (uint e = lane; e < 256; e += gl_SubgroupSize) {
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
