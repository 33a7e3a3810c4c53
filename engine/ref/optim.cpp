// Reference AdamW and gradient norm.
#include "ref/optim.h"

#include <algorithm>
#include <cmath>

namespace ds::ref {

double grad_norm_sq(std::span<const std::span<const float>> grads) {
  double s = 0;
  for (auto g : grads)
    for (float x : g) s += double(x) * x;
  return s;
}

void adamw(std::span<float> param, std::span<const float> grad, std::span<float> m, std::span<float> v,
           const AdamWHyper& h) {
  double gs = h.grad_scale;
  if (h.max_grad_norm > 0) gs *= std::min(1.0, h.max_grad_norm / (h.norm * h.grad_scale + 1e-6));
  const double bc1 = 1 - std::pow(h.beta1, h.step), bc2 = 1 - std::pow(h.beta2, h.step);
  for (size_t i = 0; i < param.size(); ++i) {
    const double g = grad[i] * gs;
    const double mi = h.beta1 * m[i] + (1 - h.beta1) * g;
    const double vi = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    m[i] = float(mi);
    v[i] = float(vi);
    double p = param[i] * (1 - h.lr * h.weight_decay);
    p -= h.lr / bc1 * mi / (std::sqrt(vi) / std::sqrt(bc2) + h.eps);
    param[i] = float(p);
  }
}

}  // namespace ds::ref
