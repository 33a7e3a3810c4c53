// Reference RMSNorm forward/backward (accumulation in double), instantiated for float and double.
#include "ref/backward/norm.h"

#include <cmath>
#include <cstddef>
#include <vector>

namespace ds::ref {

template <class T>
void rms_norm_forward(std::span<const T> x, std::span<const T> w, std::span<T> y, int n, int rows, double eps) {
  for (int r = 0; r < rows; ++r) {
    const T* xr = x.data() + size_t(r) * n;
    double ss = 0;
    for (int i = 0; i < n; ++i) ss += double(xr[i]) * xr[i];
    const double rs = 1.0 / std::sqrt(ss / n + eps);
    for (int i = 0; i < n; ++i) y[size_t(r) * n + i] = T(xr[i] * rs * (w.empty() ? 1.0 : double(w[i])));
  }
}

template <class T>
void rms_norm_backward(std::span<const T> x, std::span<const T> w, std::span<const T> dy, std::span<T> dx,
                       std::span<T> dw, int n, int rows, double eps) {
  std::vector<double> dw_acc(w.empty() ? 0 : size_t(n), 0.0);
  for (int r = 0; r < rows; ++r) {
    const size_t base = size_t(r) * n;
    double ss = 0, gx = 0;
    for (int i = 0; i < n; ++i) {
      const double g = double(dy[base + i]) * (w.empty() ? 1.0 : double(w[i]));
      ss += double(x[base + i]) * x[base + i];
      gx += g * x[base + i];
    }
    const double rs = 1.0 / std::sqrt(ss / n + eps);
    const double c = rs * rs * rs * gx / n;
    for (int i = 0; i < n; ++i) {
      const double g = double(dy[base + i]) * (w.empty() ? 1.0 : double(w[i]));
      dx[base + i] = T(rs * g - double(x[base + i]) * c);
      if (!w.empty()) dw_acc[size_t(i)] += double(dy[base + i]) * x[base + i] * rs;
    }
  }
  for (size_t i = 0; i < dw_acc.size(); ++i) dw[i] = T(dw_acc[i]);
}

template <class T>
void sum_rows(std::span<const T> a, std::span<T> out, int n, int rows) {
  for (int i = 0; i < n; ++i) {
    double s = 0;
    for (int r = 0; r < rows; ++r) s += a[size_t(r) * n + i];
    out[size_t(i)] = T(s);
  }
}

#define DS_INSTANTIATE(T)                                                                                      \
  template void rms_norm_forward<T>(std::span<const T>, std::span<const T>, std::span<T>, int, int, double);   \
  template void rms_norm_backward<T>(std::span<const T>, std::span<const T>, std::span<const T>, std::span<T>, \
                                     std::span<T>, int, int, double);                                          \
  template void sum_rows<T>(std::span<const T>, std::span<T>, int, int);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
