// Reference losses: log-softmax per row in double, then the value and gradient formulas of ops/loss.h.
#include "ref/loss.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace ds::ref {
namespace {

// log softmax(row / temperature), in double.
template <class T>
std::vector<double> log_softmax(const T* row, int n, double temperature) {
  std::vector<double> z(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) z[size_t(i)] = double(row[i]) / temperature;
  const double mx = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (double x : z) sum += std::exp(x - mx);
  const double lse = mx + std::log(sum);
  for (double& x : z) x -= lse;
  return z;
}

}  // namespace

template <class T>
double cross_entropy(std::span<const T> logits, std::span<const int32_t> targets, std::span<T> grad,
                     std::span<T> per_token, int n, int n_tokens) {
  int count = 0;
  for (int t = 0; t < n_tokens; ++t) count += targets[size_t(t)] >= 0 && targets[size_t(t)] < n;
  double total = 0;
  for (int t = 0; t < n_tokens; ++t) {
    const size_t base = size_t(t) * n;
    const int32_t y = targets[size_t(t)];
    const bool counted = y >= 0 && y < n;
    const std::vector<double> ls = log_softmax(logits.data() + base, n, 1.0);
    const double loss = counted ? -ls[size_t(y)] : 0.0;
    total += loss;
    if (!per_token.empty()) per_token[size_t(t)] = T(loss);
    if (!grad.empty())
      for (int i = 0; i < n; ++i)
        grad[base + i] = counted ? T((std::exp(ls[size_t(i)]) - (i == y ? 1.0 : 0.0)) / count) : T(0);
  }
  return count ? total / count : 0.0;
}

template <class T>
double kl_divergence(std::span<const T> student, std::span<const T> teacher, bool reverse, double temperature,
                     std::span<T> grad, std::span<T> per_token, int n, int n_tokens) {
  double total = 0;
  for (int t = 0; t < n_tokens; ++t) {
    const size_t base = size_t(t) * n;
    const std::vector<double> lq = log_softmax(student.data() + base, n, temperature);
    const std::vector<double> lp = log_softmax(teacher.data() + base, n, temperature);
    double kl = 0;
    for (int i = 0; i < n; ++i) {
      const size_t j = size_t(i);
      kl += reverse ? std::exp(lq[j]) * (lq[j] - lp[j]) : std::exp(lp[j]) * (lp[j] - lq[j]);
    }
    const double loss = temperature * temperature * kl;
    total += loss;
    if (!per_token.empty()) per_token[size_t(t)] = T(loss);
    if (!grad.empty())
      for (int i = 0; i < n; ++i) {
        const size_t j = size_t(i);
        const double q = std::exp(lq[j]);
        const double g = reverse ? q * (lq[j] - lp[j] - kl) : q - std::exp(lp[j]);
        grad[base + j] = T(temperature * g / n_tokens);
      }
  }
  return total / n_tokens;
}

template <class T>
double mse(std::span<const T> student, std::span<const T> teacher, std::span<T> grad, std::span<T> per_token, int n,
           int n_tokens) {
  double total = 0;
  for (int t = 0; t < n_tokens; ++t) {
    const size_t base = size_t(t) * n;
    double ss = 0;
    for (int i = 0; i < n; ++i) {
      const double d = double(student[base + i]) - teacher[base + i];
      ss += d * d;
      if (!grad.empty()) grad[base + i] = T(2 * d / (double(n) * n_tokens));
    }
    total += ss / n;
    if (!per_token.empty()) per_token[size_t(t)] = T(ss / n);
  }
  return total / n_tokens;
}

#define DS_INSTANTIATE(T)                                                                                            \
  template double cross_entropy<T>(std::span<const T>, std::span<const int32_t>, std::span<T>, std::span<T>, int,    \
                                   int);                                                                             \
  template double kl_divergence<T>(std::span<const T>, std::span<const T>, bool, double, std::span<T>, std::span<T>, \
                                   int, int);                                                                        \
  template double mse<T>(std::span<const T>, std::span<const T>, std::span<T>, std::span<T>, int, int);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
