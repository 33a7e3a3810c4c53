#version 450
// One whole decoder layer of a small llama-family model for one decode token, in a single workgroup:
// RMSNorm, q/k/v, RoPE, KV-cache store, causal GQA attention, output projection + residual, RMSNorm,
// gate/up, silu·up, down projection + residual. For models this small (d_model <= 256) the separate
// kernels are each a few microseconds of work and dispatch overhead dominates (lavapipe: tens of µs per
// dispatch); here the intermediates stay in shared memory. F32 or F16 weights (-D W_F16).
//
// Written for CPU Vulkan (llvmpipe), where every buffer or shared-memory load, even one all invocations
// share, is a loop over the SIMD lanes: the model's shapes are specialization constants (loops unroll), a
// mat-vec gives each subgroup whole rows and keeps the input vector in registers (one shared load per
// element and mat-vec, not per multiply-add), attention takes a subgroup per KV head with its lanes over the
// keys, and the F16 KV cache is read and written as half pairs.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x = 64) in;
layout(push_constant) uniform Push { SmallLayerPush p; };
// The model's shapes (the push constants carry the same values; these drive the loops).
layout(constant_id = 0) const uint D = 64;    // d_model, <= 256
layout(constant_id = 1) const uint NH = 8;    // query heads
layout(constant_id = 2) const uint NKV = 4;   // KV heads
layout(constant_id = 3) const uint HD = 8;    // head_dim, even
layout(constant_id = 4) const uint F = 172;   // ffn width
layout(constant_id = 5) const uint SG = 8;    // the device's subgroup size (divides 64)

#ifdef W_F16
#define WT float16_t
#else
#define WT float
#endif
layout(set = 0, binding = 0) buffer X { float x[]; };                      // [d] residual, updated in place
layout(set = 0, binding = 1) readonly buffer Wqkv { WT wqkv[]; };          // [d, q + 2 kv] rows of d
layout(set = 0, binding = 2) readonly buffer Wo { WT wo[]; };              // [q, d]
layout(set = 0, binding = 3) readonly buffer Wgu { WT wgu[]; };            // [d, 2 ffn]
layout(set = 0, binding = 4) readonly buffer Wd { WT wd[]; };              // [ffn, d]
layout(set = 0, binding = 5) readonly buffer N1 { float attn_norm[]; };
layout(set = 0, binding = 6) readonly buffer N2 { float ffn_norm[]; };
layout(set = 0, binding = 7) buffer KC { uint k_cache[]; };  // F16 [hd, n_ctx, n_kv], read as half pairs
layout(set = 0, binding = 8) buffer VC { uint v_cache[]; };
layout(set = 0, binding = 9) readonly buffer Step { int step[]; };         // {n_past, 1, 0, 0}
layout(set = 0, binding = 10) readonly buffer Freq { float inv_freq[]; };  // [hd / 2]

const uint WG = 64, NSG = WG / SG;  // subgroups per workgroup
const uint Q = NH * HD, KV = NKV * HD, HALF = HD / 2, GROUP = NH / NKV;
const uint BLOCK = 256, RPL = BLOCK / SG;  // a mat-vec reads its input in blocks of 256: RPL registers per lane
shared float xs[256], xn[256], qkv[768], att[256], big[4096], red[64];

#include "rope.glsl"

float block_sum(float v) {
  v = subgroupAdd(v);
  barrier();
  if (subgroupElect()) red[gl_SubgroupID] = v;
  barrier();
  float t = 0.0;
  for (uint s = 0; s < gl_NumSubgroups; ++s) t += red[s];
  return t;
}

// OUT(n, s) for every row n < N of the row-major [N, K] matrix W times the shared vector VEC[0, K): each
// subgroup takes whole rows, lane l multiplies elements l, l + SG, ...; VEC's block sits in registers `reg`.
// Blocks after the first call OUT again with their partial sums (OUT must accumulate when K > BLOCK).
// A device whose subgroups are not SG wide (variable-width compilers) takes one row per invocation instead.
#define MATVEC(W, N, K, VEC, OUT)                                                         \
  if (gl_SubgroupSize == SG) {                                                            \
    const uint lane = gl_SubgroupInvocationID;                                            \
    [[unroll]] for (uint b = 0; b < ((K) + BLOCK - 1) / BLOCK; ++b) {                     \
      [[unroll]] for (uint i = 0; i < RPL; ++i) {                                         \
        const uint k0 = b * BLOCK + i * SG, k = k0 + lane;                                \
        if (k0 < (K)) reg[i] = k < (K) ? VEC[k] : 0.0;                                    \
      }                                                                                   \
      for (uint n = gl_SubgroupID; n < (N); n += NSG) {                                   \
        float s = 0.0;                                                                    \
        [[unroll]] for (uint i = 0; i < RPL; ++i) {                                       \
          const uint k0 = b * BLOCK + i * SG, k = k0 + lane;                              \
          if (k0 + SG <= (K) || (k0 < (K) && k < (K))) s += float(W[n * (K) + k]) * reg[i]; \
        }                                                                                 \
        s = subgroupAdd(s);                                                               \
        if (subgroupElect()) OUT(n, s);                                                   \
      }                                                                                   \
    }                                                                                     \
  } else {                                                                                \
    for (uint n = gl_LocalInvocationID.x; n < (N); n += WG) {                             \
      float s = 0.0;                                                                      \
      for (uint k = 0; k < (K); ++k) s += float(W[n * (K) + k]) * VEC[k];                 \
      OUT(n, s);                                                                          \
    }                                                                                     \
  }

#define SET_QKV(n, s) qkv[n] = s
#define ADD_XS(n, s) xs[n] += s
#define SET_BIG(n, s) big[n] = s

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint pos = uint(step[0]), n_keys = pos + 1;
  float reg[RPL];

  // attention block input: xn = rms_norm(x) * attn_norm
  float ss = 0.0;
  for (uint k = tid; k < D; k += WG) {
    xs[k] = x[k];
    ss += xs[k] * xs[k];
  }
  float inv = inversesqrt(block_sum(ss) / float(D) + p.eps);
  for (uint k = tid; k < D; k += WG) xn[k] = xs[k] * inv * attn_norm[k];
  barrier();
  MATVEC(wqkv, Q + 2 * KV, D, xn, SET_QKV)
  barrier();
  // RoPE on q and k pairs (in shared memory), then k and v into the caches at pos, as half pairs.
  for (uint i = tid; i < (NH + NKV) * HALF; i += WG) {
    const uint head = i / HALF, j = i % HALF;
    const uvec2 e = head * HD + rope_pair(j, HD, p.neox != 0);  // k heads follow q heads
    vec2 r = rope_rotate(vec2(qkv[e.x], qkv[e.y]), rope_cos_sin(int(pos), inv_freq[j]));
    qkv[e.x] = r.x;
    qkv[e.y] = r.y;
  }
  barrier();
  for (uint i = 2 * tid; i < KV; i += 2 * WG) {  // i even: a pair within one head (HD is even)
    const uint h = i / HD, c = i % HD, at = ((h * p.n_ctx + pos) * HD + c) / 2;
    k_cache[at] = packFloat2x16(f16vec2(qkv[Q + i], qkv[Q + i + 1]));
    v_cache[at] = packFloat2x16(f16vec2(qkv[Q + KV + i], qkv[Q + KV + i + 1]));
  }
  memoryBarrierBuffer();
  barrier();
  // Scores of every (head, key), softmax per head, then the weighted sum of values.
  // With SG-wide subgroups: a subgroup per KV head, its lanes over the keys, the queries of the head's group
  // in registers, so each cached key is read once for the group. Otherwise one (head, key) per invocation.
  if (gl_SubgroupSize == SG) {
    for (uint g = gl_SubgroupID; g < NKV; g += NSG) {
      vec2 qr[GROUP * HALF];
      [[unroll]] for (uint e = 0; e < GROUP * HALF; ++e) qr[e] = vec2(qkv[g * GROUP * HD + 2 * e], qkv[g * GROUP * HD + 2 * e + 1]);
      for (uint j = gl_SubgroupInvocationID; j < n_keys; j += SG) {
        const uint row = (g * p.n_ctx + j) * HALF;
        float sc[GROUP];
        [[unroll]] for (uint a = 0; a < GROUP; ++a) sc[a] = 0.0;
        [[unroll]] for (uint c = 0; c < HALF; ++c) {
          const vec2 k2 = unpackHalf2x16(k_cache[row + c]);
          [[unroll]] for (uint a = 0; a < GROUP; ++a) sc[a] += qr[a * HALF + c].x * k2.x + qr[a * HALF + c].y * k2.y;
        }
        [[unroll]] for (uint a = 0; a < GROUP; ++a) big[(g * GROUP + a) * n_keys + j] = sc[a] * p.scale;
      }
    }
  } else {
    for (uint i = tid; i < NH * n_keys; i += WG) {
      const uint h = i / n_keys, j = i % n_keys, row = ((h / GROUP) * p.n_ctx + j) * HALF;
      float sc = 0.0;
      [[unroll]] for (uint c = 0; c < HALF; ++c) {
        const vec2 k2 = unpackHalf2x16(k_cache[row + c]);
        sc += qkv[h * HD + 2 * c] * k2.x + qkv[h * HD + 2 * c + 1] * k2.y;
      }
      big[i] = sc * p.scale;
    }
  }
  barrier();
  for (uint h = tid; h < NH; h += WG) {
    float m = -1e30;
    for (uint j = 0; j < n_keys; ++j) m = max(m, big[h * n_keys + j]);
    float l = 0.0;
    for (uint j = 0; j < n_keys; ++j) {
      float e = exp(big[h * n_keys + j] - m);
      big[h * n_keys + j] = e;
      l += e;
    }
    for (uint j = 0; j < n_keys; ++j) big[h * n_keys + j] /= l;
  }
  barrier();
  if (gl_SubgroupSize == SG) {  // values likewise: lanes over keys, the group's output pairs in registers
    for (uint g = gl_SubgroupID; g < NKV; g += NSG) {
      vec2 acc[GROUP * HALF];
      [[unroll]] for (uint e = 0; e < GROUP * HALF; ++e) acc[e] = vec2(0.0);
      for (uint j = gl_SubgroupInvocationID; j < n_keys; j += SG) {
        const uint row = (g * p.n_ctx + j) * HALF;
        float pr[GROUP];
        [[unroll]] for (uint a = 0; a < GROUP; ++a) pr[a] = big[(g * GROUP + a) * n_keys + j];
        [[unroll]] for (uint c = 0; c < HALF; ++c) {
          const vec2 v2 = unpackHalf2x16(v_cache[row + c]);
          [[unroll]] for (uint a = 0; a < GROUP; ++a) acc[a * HALF + c] += pr[a] * v2;
        }
      }
      [[unroll]] for (uint e = 0; e < GROUP * HALF; ++e) {
        const vec2 t = subgroupAdd(acc[e]);
        if (subgroupElect()) {
          att[g * GROUP * HD + 2 * e] = t.x;
          att[g * GROUP * HD + 2 * e + 1] = t.y;
        }
      }
    }
  } else {
    for (uint i = tid; i < Q / 2; i += WG) {  // a pair of output columns of one head
      const uint h = i / HALF, c = i % HALF, g = h / GROUP;
      vec2 a = vec2(0.0);
      for (uint j = 0; j < n_keys; ++j) a += big[h * n_keys + j] * unpackHalf2x16(v_cache[(g * p.n_ctx + j) * HALF + c]);
      att[2 * i] = a.x;
      att[2 * i + 1] = a.y;
    }
  }
  barrier();
  MATVEC(wo, D, Q, att, ADD_XS)
  barrier();
  // MLP block: xn = rms_norm(x) * ffn_norm; x += down(silu(gate) * up)
  ss = 0.0;
  for (uint k = tid; k < D; k += WG) ss += xs[k] * xs[k];
  inv = inversesqrt(block_sum(ss) / float(D) + p.eps);
  for (uint k = tid; k < D; k += WG) xn[k] = xs[k] * inv * ffn_norm[k];
  barrier();
  MATVEC(wgu, 2 * F, D, xn, SET_BIG)
  barrier();
  for (uint f = tid; f < F; f += WG) big[f] = big[f] / (1.0 + exp(-big[f])) * big[F + f];
  barrier();
  MATVEC(wd, D, F, big, ADD_XS)
  barrier();
  for (uint n = tid; n < D; n += WG) x[n] = xs[n];
}
