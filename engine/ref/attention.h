// Reference attention and KV-cache store (plain loops; the cache holds the F16-rounded values as floats).
#pragma once
#include <span>

namespace ds::ref {

// cache[h][n_past + t][:] = f16_round(src[t][h][:]).  src: (n_tokens, n_kv, head_dim);
// cache: (n_kv, n_ctx, head_dim).
void kv_store(std::span<const float> src, std::span<float> cache, int head_dim, int n_kv, int n_ctx, int n_tokens,
              int n_past);

// Causal attention with GQA: query head h reads kv head h / (n_heads / n_kv); token t sees positions
// 0 .. n_past + t.  q, out: (n_tokens, n_heads, head_dim); k_cache, v_cache: (n_kv, n_ctx, head_dim).
void attention(std::span<const float> q, std::span<const float> k_cache, std::span<const float> v_cache,
               std::span<float> out, int head_dim, int n_heads, int n_kv, int n_ctx, int n_tokens, int n_past,
               float scale);

}  // namespace ds::ref
