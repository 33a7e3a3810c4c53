// Reference LoRA forward and backward (y = W x + s B (A x)), composed from the matmul references;
// templates over the scalar (float; double for gradient checks). Row-major: w (N, K), a (r, K), b (N, r),
// x (M, K), y / dy (M, N); da, db, dx written (dx may be empty).
#pragma once
#include <span>

namespace ds::ref {

template <class T>
void lora_forward(std::span<const T> w, std::span<const T> a, std::span<const T> b, double s, std::span<const T> x,
                  std::span<T> y, int K, int N, int r, int M);

template <class T>
void lora_backward(std::span<const T> w, std::span<const T> a, std::span<const T> b, double s, std::span<const T> x,
                   std::span<const T> dy, std::span<T> dx, std::span<T> da, std::span<T> db, int K, int N, int r,
                   int M);

}  // namespace ds::ref
