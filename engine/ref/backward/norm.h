// Reference RMSNorm forward and backward, templates over the scalar (float; double for gradient checks).
// Shapes row-major: x, y, dy, dx (rows, n); w, dw (n), both empty for a norm without weight.
#pragma once
#include <span>

namespace ds::ref {

// y = x / sqrt(mean(x^2) + eps) * w
template <class T>
void rms_norm_forward(std::span<const T> x, std::span<const T> w, std::span<T> y, int n, int rows, double eps);

// With r = 1 / sqrt(mean(x^2) + eps) and g = dy * w:  dx = r g - x r^3 mean(g x);  dw = sum_rows dy x r.
template <class T>
void rms_norm_backward(std::span<const T> x, std::span<const T> w, std::span<const T> dy, std::span<T> dx,
                       std::span<T> dw, int n, int rows, double eps);

// out[i] = sum over rows of a[r][i]  (a: (rows, n)) -- e.g. a bias gradient.
template <class T>
void sum_rows(std::span<const T> a, std::span<T> out, int n, int rows);

}  // namespace ds::ref
