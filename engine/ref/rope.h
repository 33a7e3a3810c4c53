// Reference rotary position embedding (plain loops).
#pragma once
#include <cstdint>
#include <span>

namespace ds::ref {

// x, y: (n_tokens, n_heads, head_dim); positions: (n_tokens); inv_freq: (head_dim / 2).
// Pair i of each head vector, (2i, 2i+1) or with neox (i, i + head_dim/2), turns by
// angle = float(positions[t]) * inv_freq[i] (the float product the GPU uses; sin/cos in double).
void rope(std::span<const float> x, std::span<const int32_t> positions, std::span<const float> inv_freq, bool neox,
          std::span<float> y, int head_dim, int n_heads, int n_tokens);

}  // namespace ds::ref
