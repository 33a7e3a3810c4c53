// Reference matrix multiply (plain loops, double accumulation) on weights already dequantized to
// F32, so a kernel is compared against the same weights it reads.
#pragma once
#include <span>

namespace ds::ref {

// w: (N, K) row n = weights of output n (GGUF [K, N]); x: (M, K) (GGUF [K, M]); bias: (N) or empty;
// y: (M, N) (GGUF [N, M]).  y[m][n] = sum_k w[n][k] x[m][k] + bias[n]  (+ y[m][n] when accumulate)
void matmul(std::span<const float> w, std::span<const float> x, std::span<const float> bias, std::span<float> y,
            int K, int N, int M, bool accumulate);

}  // namespace ds::ref
