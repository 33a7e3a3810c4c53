// Reference matrix multiply (plain loops, double accumulation) on weights already dequantized to
// F32, so a kernel is compared against the same weights it reads.
#pragma once
#include <span>

namespace ds::ref {

// w: (N, K) row n = weights of output n (GGUF [K, N]); x: (M, K) (GGUF [K, M]); bias: (N) or empty;
// y: (M, N) (GGUF [N, M]).  y[m][n] = sum_k w[n][k] x[m][k] + bias[n]  (+ y[m][n] when accumulate)
void matmul(std::span<const float> w, std::span<const float> x, std::span<const float> bias, std::span<float> y,
            int K, int N, int M, bool accumulate);

// The same product with its output rows routed (ops::matmul_parts): part i is (M, rows[i]) (GGUF [rows[i], M]),
// rows [0, rows[0]) of the product go to parts[0], the next rows[1] to parts[1], and so on; sum rows = N.
// parts[i][m][n - first row of part i] = sum_k w[n][k] x[m][k] + bias[n]  (+ the part's own value when accumulate)
void matmul_parts(std::span<const float> w, std::span<const float> x, std::span<const float> bias,
                  std::span<const std::span<float>> parts, std::span<const int> rows, int K, int M, bool accumulate);

}  // namespace ds::ref
