// CPU references of every op: plain loops that read like the maths, used by the op tests and
// by the reference forward pass. Shapes in comments follow GGUF order (fastest dimension first).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace ds::ref {

// x, y: [n, rows]; w: [n] (empty = no weight). y = x / sqrt(mean(x^2) + eps) * w
void rms_norm(std::span<const float> x, std::span<const float> w, std::span<float> y, int n, int rows, float eps);

// Normalized mean-squared error: mse(a, ref) / mse(ref, 0) (0 when both are all zero).
double nmse(std::span<const float> a, std::span<const float> ref);

}  // namespace ds::ref
