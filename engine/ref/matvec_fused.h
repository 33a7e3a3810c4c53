// References of the decode fusions (ops/matvec_fused.h), written as the ops they replace in sequence.
#pragma once
#include <cstdint>
#include <span>

namespace ds::ref {

// One token's q/k/v: y = W·(rms_norm(x) * norm_w) + bias, then q and k heads rotated at `position` (neox or
// interleaved pairs) and k, v stored F16-rounded into the caches at n_past. y keeps q rotated and v.
// w: (N, K) with N = (n_heads + 2 n_kv) head_dim; x, norm_w: (K); bias: (N) or empty; y: (N);
// k_cache, v_cache: (n_kv, n_ctx, head_dim); inv_freq: (head_dim / 2).
void matvec_rope_store(std::span<const float> w, std::span<const float> x, std::span<const float> norm_w, float eps,
                       std::span<const float> bias, std::span<float> y, std::span<float> k_cache,
                       std::span<float> v_cache, std::span<const float> inv_freq, bool neox, int32_t position,
                       int n_past, int K, int head_dim, int n_heads, int n_kv, int n_ctx);

// One token's attention output projected: y (+)= W·attention(q, caches) + bias.
// q: (n_heads, head_dim); w: (N, n_heads head_dim); y, bias: (N) (bias may be empty).
void matvec_attn_combine(std::span<const float> q, std::span<const float> k_cache, std::span<const float> v_cache,
                         std::span<const float> w, std::span<const float> bias, std::span<float> y, int head_dim,
                         int n_heads, int n_kv, int n_ctx, int n_past, float scale, int N, bool accumulate);

}  // namespace ds::ref
