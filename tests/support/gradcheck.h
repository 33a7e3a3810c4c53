// Gradient checks against the maths: central finite differences in double of a scalar function of a
// tensor, and the error measure the training tests use (max abs difference relative to the largest
// reference gradient). Ops are checked through L = sum(r * y) with a fixed random r, so dL/dy = r.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <span>
#include <vector>

namespace ds::test {

// d f / d x_i by (f(x + h e_i) - f(x - h e_i)) / 2h for every i (x is restored).
inline std::vector<double> finite_diff(std::vector<double>& x, const std::function<double()>& f, double h = 1e-5) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double up = f();
    x[i] = x0 - h;
    const double down = f();
    x[i] = x0;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// max_i |a_i - b_i| / max_i |b_i|  (b: the reference); 0 when both are zero.
inline double rel_max_error(std::span<const double> a, std::span<const double> b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

inline std::vector<double> random_doubles(size_t n, uint32_t seed, double lo = -1, double hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// sum_i r_i y_i
inline double dot(std::span<const double> r, std::span<const double> y) {
  double s = 0;
  for (size_t i = 0; i < r.size(); ++i) s += r[i] * y[i];
  return s;
}

inline std::vector<float> to_float(std::span<const double> v) { return {v.begin(), v.end()}; }
inline std::vector<double> to_double(std::span<const float> v) { return {v.begin(), v.end()}; }

// Error bounds used by the training tests.
inline constexpr double k_fd_bound = 1e-6;  // analytic (double) vs central differences (double, h = 1e-5)

}  // namespace ds::test
