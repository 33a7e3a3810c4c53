// Reference element-wise ops (plain loops).
#pragma once
#include <span>

namespace ds::ref {

// out[i] = gate[i] / (1 + exp(-gate[i])) * up[i]
void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out);
// out[i] = a[i] + b[i]
void add(std::span<const float> a, std::span<const float> b, std::span<float> out);

}  // namespace ds::ref
