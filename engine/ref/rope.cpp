// Reference RoPE.
#include "ref/rope.h"

#include <cmath>

namespace ds::ref {

void rope(std::span<const float> x, std::span<const int32_t> positions, std::span<const float> inv_freq, bool neox,
          std::span<float> y, int head_dim, int n_heads, int n_tokens) {
  const int half = head_dim / 2;
  for (int t = 0; t < n_tokens; ++t)
    for (int h = 0; h < n_heads; ++h) {
      const size_t base = (size_t(t) * n_heads + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const float angle = float(positions[t]) * inv_freq[i];
        const double c = std::cos(double(angle)), s = std::sin(double(angle));
        const size_t i0 = base + (neox ? i : 2 * i), i1 = neox ? i0 + half : i0 + 1;
        const double x0 = x[i0], x1 = x[i1];
        y[i0] = float(x0 * c - x1 * s);
        y[i1] = float(x0 * s + x1 * c);
      }
    }
}

}  // namespace ds::ref
