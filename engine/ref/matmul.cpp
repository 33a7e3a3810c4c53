// Reference matmul.
#include "ref/matmul.h"

#include <cstddef>

namespace ds::ref {

void matmul(std::span<const float> w, std::span<const float> x, std::span<const float> bias, std::span<float> y,
            int K, int N, int M, bool accumulate) {
  for (int m = 0; m < M; ++m) {
    const float* xm = x.data() + size_t(m) * K;  // (K)
    for (int n = 0; n < N; ++n) {
      const float* wn = w.data() + size_t(n) * K;  // (K)
      double sum = 0;
      for (int k = 0; k < K; ++k) sum += double(wn[k]) * xm[k];
      if (!bias.empty()) sum += bias[n];
      float& out = y[size_t(m) * N + n];
      out = accumulate ? float(out + sum) : float(sum);
    }
  }
}

}  // namespace ds::ref

namespace ds::ref {

void matmul_parts(std::span<const float> w, std::span<const float> x, std::span<const float> bias,
                  std::span<const std::span<float>> parts, std::span<const int> rows, int K, int M, bool accumulate) {
  int first = 0;  // first output row of the current part
  for (size_t i = 0; i < parts.size(); ++i) {
    const int n_rows = rows[i];
    const std::span<const float> w_part = w.subspan(size_t(first) * K, size_t(n_rows) * K);  // (n_rows, K)
    const std::span<const float> b_part = bias.empty() ? bias : bias.subspan(size_t(first), size_t(n_rows));
    matmul(w_part, x, b_part, parts[i], K, n_rows, M, accumulate);  // parts[i]: (M, n_rows)
    first += n_rows;
  }
}

}  // namespace ds::ref
