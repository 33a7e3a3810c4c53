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
