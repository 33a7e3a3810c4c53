// Reference optimizer steps (plain loops) for the kernels of ops/optim.h and the host schedule.
#pragma once
#include <span>

namespace ds::ref {

// sum of g^2 over every tensor, in double.
double grad_norm_sq(std::span<const std::span<const float>> grads);

struct AdamWHyper {
  double lr, beta1, beta2, eps, weight_decay;
  int step;               // 1-based: bias corrections 1 - beta^step
  double grad_scale = 1;  // times the clip factor min(1, max_norm / (norm * grad_scale + 1e-6)) when clipping
  double max_grad_norm = 0;
  double norm = 0;  // global gradient norm (before grad_scale)
};

// PyTorch AdamW: p *= 1 - lr wd; m, v updated; p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps).
void adamw(std::span<float> param, std::span<const float> grad, std::span<float> m, std::span<float> v,
           const AdamWHyper& h);

}  // namespace ds::ref
