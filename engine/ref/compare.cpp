// Normalized MSE, the metric every op test uses against its reference.
#include <cstddef>

#include "ref/compare.h"

namespace ds::ref {

double nmse(std::span<const float> a, std::span<const float> ref) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double d = double(a[i]) - ref[i];
    err += d * d;
    norm += double(ref[i]) * ref[i];
  }
  if (norm == 0) return err == 0 ? 0 : 1e30;
  return err / norm;
}

}  // namespace ds::ref
