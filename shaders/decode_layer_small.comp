#version 450
// One whole decoder layer of a small llama-family model for one decode token, in a single workgroup:
// RMSNorm, q/k/v, RoPE, KV-cache store, causal GQA attention, output projection + residual, RMSNorm,
// gate/up, silu·up, down projection + residual. For models this small (d_model <= 256) the separate
// kernels are each a few microseconds of work and dispatch overhead dominates (lavapipe: tens of µs per
// dispatch); here the intermediates stay in shared memory. F32 or F16 weights (-D W_F16).
#include "common.glsl"

layout(local_size_x = 64) in;
layout(push_constant) uniform Push { SmallLayerPush p; };

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
layout(set = 0, binding = 7) buffer KC { float16_t k_cache[]; };           // [hd, n_ctx, n_kv]
layout(set = 0, binding = 8) buffer VC { float16_t v_cache[]; };
layout(set = 0, binding = 9) readonly buffer Step { int step[]; };         // {n_past, 1, 0, 0}
layout(set = 0, binding = 10) readonly buffer Freq { float inv_freq[]; };  // [hd / 2]

const uint WG = 64;
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

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint d = p.d_model, q = p.n_heads * p.head_dim, kv = p.n_kv * p.head_dim, F = p.ffn;
  const uint pos = uint(step[0]), n_keys = pos + 1, group = p.n_heads / p.n_kv;

  // attention block input: xn = rms_norm(x) * attn_norm
  float ss = 0.0;
  for (uint k = tid; k < d; k += WG) {
    xs[k] = x[k];
    ss += xs[k] * xs[k];
  }
  float inv = inversesqrt(block_sum(ss) / float(d) + p.eps);
  for (uint k = tid; k < d; k += WG) xn[k] = xs[k] * inv * attn_norm[k];
  barrier();
  for (uint n = tid; n < q + 2 * kv; n += WG) {
    float s = 0.0;
    for (uint k = 0; k < d; ++k) s += float(wqkv[n * d + k]) * xn[k];
    qkv[n] = s;
  }
  barrier();
  // RoPE on q and k pairs (in shared memory), then k and v into the caches at pos.
  const uint half_dim = p.head_dim / 2;
  for (uint i = tid; i < (p.n_heads + p.n_kv) * half_dim; i += WG) {
    const uint head = i / half_dim, j = i % half_dim;
    const uvec2 e = head * p.head_dim + rope_pair(j, p.head_dim, p.neox != 0);  // k heads follow q heads
    vec2 r = rope_rotate(vec2(qkv[e.x], qkv[e.y]), rope_cos_sin(int(pos), inv_freq[j]));
    qkv[e.x] = r.x;
    qkv[e.y] = r.y;
  }
  barrier();
  for (uint i = tid; i < kv; i += WG) {
    const uint h = i / p.head_dim, c = i % p.head_dim;
    k_cache[(h * p.n_ctx + pos) * p.head_dim + c] = float16_t(qkv[q + i]);
    v_cache[(h * p.n_ctx + pos) * p.head_dim + c] = float16_t(qkv[q + kv + i]);
  }
  memoryBarrierBuffer();
  barrier();
  // Scores of every (head, key), softmax per head, then the weighted sum of values.
  for (uint i = tid; i < p.n_heads * n_keys; i += WG) {
    const uint h = i / n_keys, j = i % n_keys, g = h / group;
    float s = 0.0;
    for (uint c = 0; c < p.head_dim; ++c)
      s += qkv[h * p.head_dim + c] * float(k_cache[(g * p.n_ctx + j) * p.head_dim + c]);
    big[i] = s * p.scale;
  }
  barrier();
  for (uint h = tid; h < p.n_heads; h += WG) {
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
  for (uint i = tid; i < q; i += WG) {
    const uint h = i / p.head_dim, c = i % p.head_dim, g = h / group;
    float a = 0.0;
    for (uint j = 0; j < n_keys; ++j) a += big[h * n_keys + j] * float(v_cache[(g * p.n_ctx + j) * p.head_dim + c]);
    att[i] = a;
  }
  barrier();
  for (uint n = tid; n < d; n += WG) {
    float s = 0.0;
    for (uint k = 0; k < q; ++k) s += float(wo[n * q + k]) * att[k];
    xs[n] += s;
  }
  barrier();
  // MLP block: xn = rms_norm(x) * ffn_norm; x += down(silu(gate) * up)
  ss = 0.0;
  for (uint k = tid; k < d; k += WG) ss += xs[k] * xs[k];
  inv = inversesqrt(block_sum(ss) / float(d) + p.eps);
  for (uint k = tid; k < d; k += WG) xn[k] = xs[k] * inv * ffn_norm[k];
  barrier();
  for (uint n = tid; n < 2 * F; n += WG) {
    float s = 0.0;
    for (uint k = 0; k < d; ++k) s += float(wgu[n * d + k]) * xn[k];
    big[n] = s;
  }
  barrier();
  for (uint f = tid; f < F; f += WG) big[f] = big[f] / (1.0 + exp(-big[f])) * big[F + f];
  barrier();
  for (uint n = tid; n < d; n += WG) {
    float s = 0.0;
    for (uint f = 0; f < F; ++f) s += float(wd[n * F + f]) * big[f];
    x[n] = xs[n] + s;
  }
}
