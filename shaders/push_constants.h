// Push-constant structs, one per shader family: included by the GLSL kernels and by the C++ ops
// (engine/ops/push.h), so both sides share one layout. Scalars only (4 bytes each): the std430
// layout GLSL gives push constants then matches C++ exactly; sizes are static_asserted in C++.
#ifndef DS_PUSH_CONSTANTS_H
#define DS_PUSH_CONSTANTS_H

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w      (x, y: rows x n; w: n)
struct RmsNormPush {
  uint n;
  uint rows;
  float eps;
  uint has_weight;
};

#ifdef __cplusplus
static_assert(sizeof(RmsNormPush) == 16);
#endif

// ---- attn helper: RoPE, KV-cache store, attention, SwiGLU/add (shaders/rope.comp, kv_store.comp,
// attention_*.comp, elementwise.comp) ----

// y[:, h, t] = x[:, h, t] with pairs rotated by positions[t] * inv_freq[i]   (x, y: [head_dim, n_heads, n_tokens])
struct RopePush {
  uint head_dim;
  uint n_heads;
  uint n_tokens;
  uint neox;  // 0: pairs (2i, 2i+1) (GGUF llama); 1: pairs (i, i + head_dim/2) (rotate-half)
};

// cache[:, n_past + t, h] = f16(src[:, h, t]); n_past = step[0] read at run time
struct KvStorePush {
  uint head_dim;
  uint n_kv;
  uint n_tokens;
  uint n_ctx;
};

// Causal GQA attention over the F16 cache (head_dim is a specialization constant of each kernel).
struct AttentionPush {
  uint n_heads;
  uint n_kv;
  uint n_ctx;
  uint n_tokens;
  float scale;
  uint chunk_keys;  // decode: keys per split-K chunk (a multiple of the workgroup size)
  uint n_chunks;    // decode: chunks covering n_ctx; 1 = write the output directly, no combine
  uint pad;
};

// out[i] = silu(a[i]) * b[i]  or  a[i] + b[i], for i < n
struct ElementwisePush {
  uint n;
};

#ifdef __cplusplus
static_assert(sizeof(RopePush) == 16);
static_assert(sizeof(KvStorePush) == 16);
static_assert(sizeof(AttentionPush) == 32);
static_assert(sizeof(ElementwisePush) == 4);
#endif
// ---- end attn helper ----

#endif
