// Reference attention: scores over the visible positions, softmax, weighted sum of V (double accumulation).
#include "ref/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/dtype.h"

namespace ds::ref {

void kv_store(std::span<const float> src, std::span<float> cache, int head_dim, int n_kv, int n_ctx, int n_tokens,
              int n_past) {
  for (int t = 0; t < n_tokens; ++t)
    for (int h = 0; h < n_kv; ++h)
      for (int d = 0; d < head_dim; ++d) {
        const float x = src[(size_t(t) * n_kv + h) * head_dim + d];
        cache[(size_t(h) * n_ctx + n_past + t) * head_dim + d] = f16_to_f32(f32_to_f16(x));
      }
}

void attention(std::span<const float> q, std::span<const float> k_cache, std::span<const float> v_cache,
               std::span<float> out, int head_dim, int n_heads, int n_kv, int n_ctx, int n_tokens, int n_past,
               float scale) {
  const int group = n_heads / n_kv;
  for (int t = 0; t < n_tokens; ++t)
    for (int h = 0; h < n_heads; ++h) {
      const float* qv = q.data() + (size_t(t) * n_heads + h) * head_dim;
      const size_t kv_base = size_t(h / group) * n_ctx;
      const int n_visible = n_past + t + 1;
      // (n_visible) scores, then softmax
      std::vector<double> p(static_cast<size_t>(n_visible));
      for (int j = 0; j < n_visible; ++j) {
        const float* kv = k_cache.data() + (kv_base + j) * head_dim;
        double dot = 0;
        for (int d = 0; d < head_dim; ++d) dot += double(qv[d]) * kv[d];
        p[size_t(j)] = dot * scale;
      }
      const double mx = *std::max_element(p.begin(), p.end());
      double sum = 0;
      for (double& x : p) sum += (x = std::exp(x - mx));
      // (head_dim) weighted sum of values
      float* o = out.data() + (size_t(t) * n_heads + h) * head_dim;
      for (int d = 0; d < head_dim; ++d) {
        double acc = 0;
        for (int j = 0; j < n_visible; ++j) acc += p[size_t(j)] * v_cache[(kv_base + j) * head_dim + d];
        o[d] = float(acc / sum);
      }
    }
}

}  // namespace ds::ref
