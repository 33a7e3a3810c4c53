// Reference sampling: penalty, temperature, softmax weights, threshold filters, inverse CDF.
#include "ref/sample.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace ds::ref {

namespace {

// Logits after the repetition penalty (NaN -> -inf).  // [vocab]
std::vector<float> penalized(std::span<const float> logits, std::span<const int32_t> recent, const SamplerParams& p) {
  std::vector<float> l(logits.begin(), logits.end());
  for (float& x : l)
    if (std::isnan(x)) x = -std::numeric_limits<float>::infinity();
  if (p.repeat_penalty == 1.0f || p.repeat_last_n <= 0) return l;
  std::vector<bool> in_window(l.size(), false);
  size_t n = std::min(recent.size(), size_t(p.repeat_last_n));
  for (int32_t id : recent.subspan(recent.size() - n))
    if (id >= 0 && size_t(id) < l.size()) in_window[size_t(id)] = true;
  float inv = 1.0f / p.repeat_penalty;
  for (size_t i = 0; i < l.size(); ++i)
    if (in_window[i]) l[i] = l[i] > 0.0f ? l[i] * inv : l[i] * p.repeat_penalty;
  return l;
}

int32_t argmax(const std::vector<float>& l) { return int32_t(std::max_element(l.begin(), l.end()) - l.begin()); }

// Softmax weights e = exp(z - m) with z = l * (1/T); the top id has e = 1.  // [vocab]
std::vector<float> weights(const std::vector<float>& l, const SamplerParams& p) {
  float inv_t = 1.0f / p.temperature;
  std::vector<float> z(l.size());
  for (size_t i = 0; i < l.size(); ++i) z[i] = l[i] * inv_t;
  float m = *std::max_element(z.begin(), z.end());
  std::vector<float> e(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    float d = z[i] - m;
    e[i] = std::isnan(d) ? 1.0f : std::exp(d);  // inf - inf: all such ids weigh the same
  }
  return e;
}

// The kept set's threshold: keep e >= t.
float threshold(const std::vector<float>& e, const SamplerParams& p) {
  float t = p.min_p;
  std::vector<float> sorted = e;
  std::sort(sorted.begin(), sorted.end(), std::greater<float>());
  if (p.top_k > 0 && size_t(p.top_k) < e.size()) t = std::max(t, sorted[size_t(p.top_k) - 1]);
  if (p.top_p < 1.0f) {
    double total = 0, cum = 0;
    for (float x : e) total += x;
    for (float x : sorted) {
      cum += x;
      if (cum >= double(p.top_p) * total) {
        t = std::max(t, x);
        break;
      }
    }
  }
  return t;
}

}  // namespace

std::vector<double> sample_probs(std::span<const float> logits, std::span<const int32_t> recent,
                                 const SamplerParams& p) {
  std::vector<float> l = penalized(logits, recent, p);
  std::vector<double> probs(l.size(), 0.0);
  if (p.temperature <= 0.0f) {
    probs[size_t(argmax(l))] = 1.0;
    return probs;
  }
  std::vector<float> e = weights(l, p);
  float t = threshold(e, p);
  double kept = 0;
  for (float x : e)
    if (x >= t) kept += x;
  for (size_t i = 0; i < e.size(); ++i)
    if (e[i] >= t) probs[i] = e[i] / kept;
  return probs;
}

int32_t sample(std::span<const float> logits, std::span<const int32_t> recent, const SamplerParams& p, float u) {
  std::vector<float> l = penalized(logits, recent, p);
  if (p.temperature <= 0.0f) return argmax(l);
  std::vector<float> e = weights(l, p);
  float t = threshold(e, p);
  double kept = 0;
  for (float x : e)
    if (x >= t) kept += x;
  double target = double(u) * kept, cum = 0;
  int32_t last = -1;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e[i] < t || e[i] <= 0.0f) continue;
    cum += e[i];
    last = int32_t(i);
    if (cum > target) return last;
  }
  return last;  // rounding left the target past the final mass
}

}  // namespace ds::ref
