// Reference RoPE forward/backward (rotation in double), instantiated for float and double.
#include "ref/backward/rope.h"

#include <cmath>
#include <cstddef>

namespace ds::ref {
namespace {

// Applies the rotation by +angle (sign 1) or -angle (sign -1) to every pair.
template <class T>
void rotate(std::span<const T> x, std::span<const int32_t> positions, std::span<const float> inv_freq, bool neox,
            std::span<T> y, int head_dim, int n_heads, int n_tokens, double sign) {
  const int half = head_dim / 2;
  for (int t = 0; t < n_tokens; ++t)
    for (int h = 0; h < n_heads; ++h) {
      const size_t base = (size_t(t) * n_heads + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const float angle = float(positions[size_t(t)]) * inv_freq[size_t(i)];
        const double c = std::cos(double(angle)), s = sign * std::sin(double(angle));
        const size_t i0 = base + size_t(neox ? i : 2 * i), i1 = neox ? i0 + size_t(half) : i0 + 1;
        const double x0 = x[i0], x1 = x[i1];
        y[i0] = T(x0 * c - x1 * s);
        y[i1] = T(x0 * s + x1 * c);
      }
    }
}

}  // namespace

template <class T>
void rope_forward(std::span<const T> x, std::span<const int32_t> positions, std::span<const float> inv_freq, bool neox,
                  std::span<T> y, int head_dim, int n_heads, int n_tokens) {
  rotate(x, positions, inv_freq, neox, y, head_dim, n_heads, n_tokens, 1.0);
}

template <class T>
void rope_backward(std::span<const T> dy, std::span<const int32_t> positions, std::span<const float> inv_freq,
                   bool neox, std::span<T> dx, int head_dim, int n_heads, int n_tokens) {
  rotate(dy, positions, inv_freq, neox, dx, head_dim, n_heads, n_tokens, -1.0);
}

#define DS_INSTANTIATE(T)                                                                                    \
  template void rope_forward<T>(std::span<const T>, std::span<const int32_t>, std::span<const float>, bool,  \
                                std::span<T>, int, int, int);                                                \
  template void rope_backward<T>(std::span<const T>, std::span<const int32_t>, std::span<const float>, bool, \
                                 std::span<T>, int, int, int);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
