#version 450
// Tiled matmul for prefill (many columns): y[n, m] = sum_k w[k, n] x[k, m] (+ bias[n]) (+ y[n, m]).
// A workgroup computes a BN x BM output tile. Per step of BK = 32 along K it dequantizes a BN x BK
// tile of W and copies a BM x BK tile of x into shared memory (both F32, stored k-major so the inner
// loop reads them along n and m), then each thread accumulates its TN x TM register block, whose
// outputs are spaced TG_N / TG_M apart so shared reads are conflict-free and the stores coalesce.
// TRANSPOSE_W (the backward's dX = W^T dY): the weight of output n, input k is stored at k * N + n (a
// forward weight [N, K] read as its transpose), so runs of 8 weights are contiguous along n, not k.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint TG_N = 16;  // threads along n (TG_M = WG / TG_N along m)
layout(constant_id = 2) const uint TN = 4;     // outputs per thread along n
layout(constant_id = 3) const uint TM = 4;     // outputs per thread along m
layout(constant_id = 4) const bool ALIGNED = true;  // K % 8 == 0 (TRANSPOSE_W: also N % 8 == 0): vector loads
const uint TG_M = WG / TG_N;
const uint BN = TG_N * TN;
const uint BM = TG_M * TM;
const uint BK = 32;
const uint WS_STRIDE = BN + 1;  // +1: the transposing stores hit distinct banks
const uint XS_STRIDE = BM + 1;

layout(push_constant) uniform Push { MatmulPush p; };

#define W_BINDING 0
#include "dequant.glsl"
#include "x_input.glsl"
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(set = 0, binding = 3) readonly buffer Bias { float bias[]; };

shared float ws[BK * WS_STRIDE];  // ws[k][n]
shared float xs[BK * XS_STRIDE];  // xs[k][m]

// Weight tile (n0.., k0..) -> ws[k][n]; zeros outside the matrix.
void load_w_tile(uint n0, uint k0) {
  const uint tid = gl_LocalInvocationID.x;
#if defined(TRANSPOSE_W)
  if (ALIGNED) {  // N % 8 == 0: 8 weights along n at a time
    for (uint c = tid; c < BK * (BN / 8); c += WG) {
      const uint kk = c / (BN / 8), r = (c % (BN / 8)) * 8;
      const uint n = n0 + r, k = k0 + kk;
      vec4 lo = vec4(0.0), hi = vec4(0.0);
      if (n < p.N && k < p.K) dequant8(k * p.N + n, lo, hi);
      for (uint i = 0; i < 4; ++i) {
        ws[kk * WS_STRIDE + r + i] = lo[i];
        ws[kk * WS_STRIDE + r + 4 + i] = hi[i];
      }
    }
  } else {
    for (uint c = tid; c < BN * BK; c += WG) {
      const uint kk = c / BN, r = c % BN;
      const uint n = n0 + r, k = k0 + kk;
      ws[kk * WS_STRIDE + r] = (n < p.N && k < p.K) ? dequant1(k * p.N + n) : 0.0;
    }
  }
#else
  if (ALIGNED) {  // K % 8 == 0: 8 weights along k at a time
    for (uint c = tid; c < BN * (BK / 8); c += WG) {
      const uint r = c / (BK / 8), kk = (c % (BK / 8)) * 8;
      const uint n = n0 + r, k = k0 + kk;
      vec4 lo = vec4(0.0), hi = vec4(0.0);
      if (n < p.N && k < p.K) dequant8(n * p.K + k, lo, hi);
      for (uint i = 0; i < 4; ++i) {
        ws[(kk + i) * WS_STRIDE + r] = lo[i];
        ws[(kk + 4 + i) * WS_STRIDE + r] = hi[i];
      }
    }
  } else {
    for (uint c = tid; c < BN * BK; c += WG) {
      const uint r = c / BK, kk = c % BK;
      const uint n = n0 + r, k = k0 + kk;
      ws[kk * WS_STRIDE + r] = (n < p.N && k < p.K) ? dequant1(n * p.K + k) : 0.0;
    }
  }
#endif
}

// Input tile (m0.., k0..) -> xs[k][m]; zeros outside the matrix.
void load_x_tile(uint m0, uint k0) {
  const uint tid = gl_LocalInvocationID.x;
  if (ALIGNED) {  // K % 4 == 0 (the host checks K % 8)
    for (uint c = tid; c < BM * (BK / 4); c += WG) {
      const uint mm = c / (BK / 4), kk = (c % (BK / 4)) * 4;
      const uint m = m0 + mm, k = k0 + kk;
      vec4 v = vec4(0.0);
      if (m < p.M && k < p.K) v = x_vec4((m * p.K + k) / 4);
      for (uint i = 0; i < 4; ++i) xs[(kk + i) * XS_STRIDE + mm] = v[i];
    }
  } else {
    for (uint c = tid; c < BM * BK; c += WG) {
      const uint mm = c / BK, kk = c % BK;
      const uint m = m0 + mm, k = k0 + kk;
      xs[kk * XS_STRIDE + mm] = (m < p.M && k < p.K) ? x_at(m * p.K + k) : 0.0;
    }
  }
}

void load_tiles(uint n0, uint m0, uint k0) {
  load_w_tile(n0, k0);
  load_x_tile(m0, k0);
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tn = tid % TG_N, tm = tid / TG_N;
  const uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;

  float acc[TN * TM];
  for (uint i = 0; i < TN * TM; ++i) acc[i] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    load_tiles(n0, m0, k0);
    barrier();
    for (uint kk = 0; kk < BK; ++kk) {
      float a[TN], b[TM];
      for (uint i = 0; i < TN; ++i) a[i] = ws[kk * WS_STRIDE + tn + i * TG_N];
      for (uint j = 0; j < TM; ++j) b[j] = xs[kk * XS_STRIDE + tm + j * TG_M];
      for (uint i = 0; i < TN; ++i)
        for (uint j = 0; j < TM; ++j) acc[i * TM + j] += a[i] * b[j];
    }
    barrier();
  }

  for (uint j = 0; j < TM; ++j) {
    const uint m = m0 + tm + j * TG_M;
    if (m >= p.M) break;
    for (uint i = 0; i < TN; ++i) {
      const uint n = n0 + tn + i * TG_N;
      if (n >= p.N) break;
      float v = acc[i * TM + j];
      if ((p.flags & MATMUL_BIAS) != 0) v += bias[n];
      const uint dst = m * p.N + n;
      if ((p.flags & MATMUL_ACCUMULATE) != 0) v += y[dst];
      y[dst] = v;
    }
  }
}
