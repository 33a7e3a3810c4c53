// Reference RMSNorm.
#include <cmath>

#include "ref/norm.h"

namespace ds::ref {

void rms_norm(std::span<const float> x, std::span<const float> w, std::span<float> y, int n, int rows, float eps) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x.data() + size_t(r) * n;
    float* yr = y.data() + size_t(r) * n;
    double ss = 0;
    for (int i = 0; i < n; ++i) ss += double(xr[i]) * xr[i];
    float scale = float(1.0 / std::sqrt(ss / n + eps));
    for (int i = 0; i < n; ++i) yr[i] = xr[i] * scale * (w.empty() ? 1.0f : w[i]);
  }
}

}  // namespace ds::ref
