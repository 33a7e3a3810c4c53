// Reference LoRA: u = s A x; y = W x + B u; backward dB = dy u^T, du = s B^T dy, dA = du x^T, dx = W^T dy + A^T du.
#include "ref/backward/lora.h"

#include <vector>

#include "ref/backward/matmul.h"

namespace ds::ref {

template <class T>
void lora_forward(std::span<const T> w, std::span<const T> a, std::span<const T> b, double s, std::span<const T> x,
                  std::span<T> y, int K, int N, int r, int M) {
  std::vector<T> u(size_t(r) * M), bu(y.size());
  matmul_forward<T>(a, x, {}, u, K, r, M);
  for (T& e : u) e = T(s * e);
  matmul_forward<T>(w, x, {}, y, K, N, M);
  matmul_forward<T>(b, u, {}, bu, r, N, M);
  for (size_t i = 0; i < y.size(); ++i) y[i] += bu[i];
}

template <class T>
void lora_backward(std::span<const T> w, std::span<const T> a, std::span<const T> b, double s, std::span<const T> x,
                   std::span<const T> dy, std::span<T> dx, std::span<T> da, std::span<T> db, int K, int N, int r,
                   int M) {
  std::vector<T> u(size_t(r) * M), du(u.size());
  matmul_forward<T>(a, x, {}, u, K, r, M);
  for (T& e : u) e = T(s * e);
  matmul_backward<T>(b, u, dy, du, db, {}, r, N, M);
  for (T& e : du) e = T(s * e);
  matmul_backward<T>(a, x, du, {}, da, {}, K, r, M);
  if (!dx.empty()) {
    std::vector<T> dx_lora(dx.size());
    matmul_backward<T>(w, x, dy, dx, {}, {}, K, N, M);
    matmul_backward<T>(a, x, du, dx_lora, {}, {}, K, r, M);
    for (size_t i = 0; i < dx.size(); ++i) dx[i] += dx_lora[i];
  }
}

#define DS_INSTANTIATE(T)                                                                                          \
  template void lora_forward<T>(std::span<const T>, std::span<const T>, std::span<const T>, double,                \
                                std::span<const T>, std::span<T>, int, int, int, int);                             \
  template void lora_backward<T>(std::span<const T>, std::span<const T>, std::span<const T>, double,               \
                                 std::span<const T>, std::span<const T>, std::span<T>, std::span<T>, std::span<T>, \
                                 int, int, int, int);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
