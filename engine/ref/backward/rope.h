// Reference RoPE forward and backward, templates over the scalar (float; double for gradient checks).
// x, y, dy, dx row-major (n_tokens, n_heads, head_dim); the angle of pair i of token t is the float product
// float(positions[t]) * inv_freq[i], as in ref::rope and the kernel. Pairs: (2i, 2i+1), or (i, i + head_dim/2)
// when neox.
#pragma once
#include <cstdint>
#include <span>

namespace ds::ref {

// (y0, y1) = (x0 c - x1 s, x0 s + x1 c)
template <class T>
void rope_forward(std::span<const T> x, std::span<const int32_t> positions, std::span<const float> inv_freq, bool neox,
                  std::span<T> y, int head_dim, int n_heads, int n_tokens);

// The transpose of the rotation: (dx0, dx1) = (dy0 c + dy1 s, -dy0 s + dy1 c)
template <class T>
void rope_backward(std::span<const T> dy, std::span<const int32_t> positions, std::span<const float> inv_freq,
                   bool neox, std::span<T> dx, int head_dim, int n_heads, int n_tokens);

}  // namespace ds::ref
