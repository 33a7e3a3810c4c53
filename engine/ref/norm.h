// Reference normalization ops (plain loops).
#pragma once
#include <span>

namespace ds::ref {

// x, y: [n, rows]; w: [n] (empty = no weight). y = x / sqrt(mean(x^2) + eps) * w
void rms_norm(std::span<const float> x, std::span<const float> w, std::span<float> y, int n, int rows, float eps);

}  // namespace ds::ref
