// Reference matmul forward/backward (plain loops, double accumulation), instantiated for float and double.
#include "ref/backward/matmul.h"

#include <cstddef>

#include "ref/backward/norm.h"

namespace ds::ref {

template <class T>
void matmul_forward(std::span<const T> w, std::span<const T> x, std::span<const T> bias, std::span<T> y, int K, int N,
                    int M) {
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double acc = bias.empty() ? 0.0 : double(bias[size_t(n)]);
      for (int k = 0; k < K; ++k) acc += double(w[size_t(n) * K + k]) * x[size_t(m) * K + k];
      y[size_t(m) * N + n] = T(acc);
    }
}

template <class T>
void matmul_backward(std::span<const T> w, std::span<const T> x, std::span<const T> dy, std::span<T> dx,
                     std::span<T> dw, std::span<T> dbias, int K, int N, int M) {
  if (!dx.empty())
    for (int m = 0; m < M; ++m)
      for (int k = 0; k < K; ++k) {
        double acc = 0;
        for (int n = 0; n < N; ++n) acc += double(w[size_t(n) * K + k]) * dy[size_t(m) * N + n];
        dx[size_t(m) * K + k] = T(acc);
      }
  if (!dw.empty())
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < K; ++k) {
        double acc = 0;
        for (int m = 0; m < M; ++m) acc += double(dy[size_t(m) * N + n]) * x[size_t(m) * K + k];
        dw[size_t(n) * K + k] = T(acc);
      }
  if (!dbias.empty()) sum_rows(dy, dbias, N, M);
}

#define DS_INSTANTIATE(T)                                                                                             \
  template void matmul_forward<T>(std::span<const T>, std::span<const T>, std::span<const T>, std::span<T>, int, int, \
                                  int);                                                                               \
  template void matmul_backward<T>(std::span<const T>, std::span<const T>, std::span<const T>, std::span<T>,          \
                                   std::span<T>, std::span<T>, int, int, int);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
