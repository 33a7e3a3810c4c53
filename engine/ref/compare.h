// Error metrics for comparing a kernel's output with its CPU reference.
#pragma once
#include <span>

namespace ds::ref {

// Normalized mean-squared error: mse(a, ref) / mse(ref, 0); 0 when both are all zero.
double nmse(std::span<const float> a, std::span<const float> ref);

}  // namespace ds::ref
