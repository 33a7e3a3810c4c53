#version 450
// Weight gradient of y = W x: dw[n, k] = sum_m dy[n, m] x[k, m]  (x: K x M, dy: N x M, dw: K x N, all F32),
// a tiled matmul over the token dimension m. A workgroup owns a BK_OUT x BN_OUT tile of dw; per step of BM
// tokens it copies the tokens' x rows (along k) and dy rows (along n) into shared memory, both contiguous in
// memory, then each thread accumulates its TK x TN register block (outputs TG_K / TG_N apart: conflict-free
// shared reads, stores coalesced along k). No atomics: every dw element is summed by one thread, in order.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint TG_K = 16;  // threads along k (TG_N = WG / TG_K along n)
layout(constant_id = 2) const uint TK = 4;     // outputs per thread along k
layout(constant_id = 3) const uint TN = 4;     // outputs per thread along n
const uint TG_N = WG / TG_K;
const uint BK_OUT = TG_K * TK;
const uint BN_OUT = TG_N * TN;
const uint BM = 16;

layout(push_constant) uniform Push { MatmulPush p; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };   // [K, M]
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; }; // [N, M]
layout(set = 0, binding = 2) buffer DW { float dw[]; };          // [K, N]

shared float xs[BM * BK_OUT];   // xs[m][k]
shared float dys[BM * BN_OUT];  // dys[m][n]

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tk = tid % TG_K, tn = tid / TG_K;
  const uint k0 = gl_WorkGroupID.x * BK_OUT, n0 = gl_WorkGroupID.y * BN_OUT;

  float acc[TK * TN];
  for (uint i = 0; i < TK * TN; ++i) acc[i] = 0.0;

  for (uint m0 = 0; m0 < p.M; m0 += BM) {
    for (uint c = tid; c < BM * BK_OUT; c += WG) {
      const uint mm = c / BK_OUT, kk = c % BK_OUT;
      const uint m = m0 + mm, k = k0 + kk;
      xs[c] = (m < p.M && k < p.K) ? x[m * p.K + k] : 0.0;
    }
    for (uint c = tid; c < BM * BN_OUT; c += WG) {
      const uint mm = c / BN_OUT, nn = c % BN_OUT;
      const uint m = m0 + mm, n = n0 + nn;
      dys[c] = (m < p.M && n < p.N) ? dy[m * p.N + n] : 0.0;
    }
    barrier();
    for (uint mm = 0; mm < BM; ++mm) {
      float a[TK], b[TN];
      for (uint i = 0; i < TK; ++i) a[i] = xs[mm * BK_OUT + tk + i * TG_K];
      for (uint j = 0; j < TN; ++j) b[j] = dys[mm * BN_OUT + tn + j * TG_N];
      for (uint j = 0; j < TN; ++j)
        for (uint i = 0; i < TK; ++i) acc[j * TK + i] += a[i] * b[j];
    }
    barrier();
  }

  for (uint j = 0; j < TN; ++j) {
    const uint n = n0 + tn + j * TG_N;
    if (n >= p.N) break;
    for (uint i = 0; i < TK; ++i) {
      const uint k = k0 + tk + i * TG_K;
      if (k >= p.K) break;
      const uint dst = n * p.K + k;
      float v = acc[j * TK + i];
      if ((p.flags & MATMUL_ACCUMULATE) != 0) v += dw[dst];
      dw[dst] = v;
    }
  }
}
