// Reference SwiGLU and add.
#include "ref/elementwise.h"

#include <cmath>

namespace ds::ref {

void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    const double g = gate[i];
    out[i] = float(g / (1 + std::exp(-g)) * up[i]);
  }
}

void add(std::span<const float> a, std::span<const float> b, std::span<float> out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = a[i] + b[i];
}

}  // namespace ds::ref
