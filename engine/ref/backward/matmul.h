// Reference matmul forward and backward, templates over the scalar (float; double for gradient checks).
// Shapes row-major: w (N, K) (GGUF [K, N]), x (M, K), y / dy (M, N), bias / dbias (N) or empty.
#pragma once
#include <span>

namespace ds::ref {

// y[m][n] = sum_k w[n][k] x[m][k] + bias[n]
template <class T>
void matmul_forward(std::span<const T> w, std::span<const T> x, std::span<const T> bias, std::span<T> y, int K, int N,
                    int M);

// dx[m][k] = sum_n w[n][k] dy[m][n];  dw[n][k] = sum_m dy[m][n] x[m][k];  dbias[n] = sum_m dy[m][n].
// Each output may be empty (not wanted); all are written, not accumulated.
template <class T>
void matmul_backward(std::span<const T> w, std::span<const T> x, std::span<const T> dy, std::span<T> dx,
                     std::span<T> dw, std::span<T> dbias, int K, int N, int M);

}  // namespace ds::ref
