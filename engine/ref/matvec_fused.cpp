// References of the decode fusions: the unfused reference ops in sequence.
#include "ref/matvec_fused.h"

#include <vector>

#include "ref/attention.h"
#include "ref/matmul.h"
#include "ref/norm.h"
#include "ref/rope.h"

namespace ds::ref {

void matvec_rope_store(std::span<const float> w, std::span<const float> x, std::span<const float> norm_w, float eps,
                       std::span<const float> bias, std::span<float> y, std::span<float> k_cache,
                       std::span<float> v_cache, std::span<const float> inv_freq, bool neox, int32_t position,
                       int n_past, int K, int head_dim, int n_heads, int n_kv, int n_ctx) {
  const size_t q_dim = size_t(n_heads) * head_dim, kv_dim = size_t(n_kv) * head_dim, N = q_dim + 2 * kv_dim;
  std::vector<float> xn(static_cast<size_t>(K)), k_rot(kv_dim);
  rms_norm(x, norm_w, xn, K, 1, eps);
  matmul(w, xn, bias, y, K, int(N), 1, false);
  const int32_t pos[1] = {position};
  const std::vector<float> q(y.begin(), y.begin() + long(q_dim));
  rope(q, pos, inv_freq, neox, y.subspan(0, q_dim), head_dim, n_heads, 1);
  rope(y.subspan(q_dim, kv_dim), pos, inv_freq, neox, k_rot, head_dim, n_kv, 1);
  kv_store(k_rot, k_cache, head_dim, n_kv, n_ctx, 1, n_past);
  kv_store(y.subspan(q_dim + kv_dim, kv_dim), v_cache, head_dim, n_kv, n_ctx, 1, n_past);
}

void matvec_attn_combine(std::span<const float> q, std::span<const float> k_cache, std::span<const float> v_cache,
                         std::span<const float> w, std::span<const float> bias, std::span<float> y, int head_dim,
                         int n_heads, int n_kv, int n_ctx, int n_past, float scale, int N, bool accumulate) {
  std::vector<float> attn(size_t(n_heads) * head_dim);
  attention(q, k_cache, v_cache, attn, head_dim, n_heads, n_kv, n_ctx, 1, n_past, scale);
  matmul(w, attn, bias, y, n_heads * head_dim, N, 1, accumulate);
}

}  // namespace ds::ref
