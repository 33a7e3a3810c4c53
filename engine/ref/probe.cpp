// Reference probes.
#include "ref/probe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ds::ref {
namespace {

// Indices of the k largest keys, largest first, ties to the lower index.
std::vector<int> top_indices(const std::vector<double>& key, int k) {
  std::vector<int> idx(key.size());
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min<int>(k, int(idx.size()));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int a, int b) { return key[a] > key[b] || (key[a] == key[b] && a < b); });
  idx.resize(size_t(k));
  return idx;
}

struct Softmax {
  std::vector<double> logp;  // (vocab)
  double entropy = 0;
};

Softmax log_softmax(std::span<const float> l) {
  double mx = -INFINITY;
  for (float v : l) mx = std::max(mx, double(v));
  double z = 0;
  for (float v : l) z += std::exp(double(v) - mx);
  const double lse = mx + std::log(z);
  Softmax s;
  s.logp.resize(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    s.logp[i] = double(l[i]) - lse;
    s.entropy -= std::exp(s.logp[i]) * s.logp[i];
  }
  return s;
}

std::vector<double> as_double(std::span<const float> v) { return {v.begin(), v.end()}; }

}  // namespace

std::vector<float> attention_rows(std::span<const float> q, std::span<const float> k_cache,
                                  const std::vector<int>& heads, int head_dim, int n_heads, int n_kv, int n_ctx,
                                  int n_past, int n_queries, int max_keys, float scale) {
  const int group = n_heads / n_kv;
  std::vector<float> rows(heads.size() * size_t(n_queries) * size_t(max_keys), 0.0f);
  for (size_t i = 0; i < heads.size(); ++i)
    for (int t = 0; t < n_queries; ++t) {
      const int h = heads[i];
      const float* qv = q.data() + (size_t(t) * n_heads + h) * head_dim;
      const int kv_len = std::min(n_past + t + 1, n_ctx);
      std::vector<double> s(static_cast<size_t>(kv_len));  // (kv_len) scores
      for (int j = 0; j < kv_len; ++j) {
        const float* kv = k_cache.data() + (size_t(h / group) * n_ctx + j) * head_dim;
        double dot = 0;
        for (int d = 0; d < head_dim; ++d) dot += double(qv[d]) * kv[d];
        s[size_t(j)] = dot * scale;
      }
      const double mx = *std::max_element(s.begin(), s.end());
      double z = 0;
      for (double& x : s) z += (x = std::exp(x - mx));
      float* row = rows.data() + (i * n_queries + t) * size_t(max_keys);
      for (int j = 0; j < std::min(kv_len, max_keys); ++j) row[j] = float(s[size_t(j)] / z);
    }
  return rows;
}

ActivationStats activation_stats(std::span<const float> x, int top_k, int bins, float lo, float hi) {
  ActivationStats st;
  double ss = 0;
  std::vector<double> mag(x.size());
  st.histogram.assign(size_t(bins), 0);
  const float scale = float(bins) / (hi - lo);
  for (size_t i = 0; i < x.size(); ++i) {
    ss += double(x[i]) * x[i];
    mag[i] = std::isnan(x[i]) ? -1.0 : std::fabs(double(x[i]));
    if (std::isnan(x[i])) continue;
    const float bin = std::clamp(std::floor((x[i] - lo) * scale), 0.0f, float(bins - 1));
    ++st.histogram[size_t(bin)];
  }
  st.norm = float(std::sqrt(ss));
  for (int i : top_indices(mag, top_k)) st.top.emplace_back(i, x[size_t(i)]);
  return st;
}

std::vector<std::pair<int32_t, float>> logits_top(std::span<const float> logits, int n_top) {
  const Softmax s = log_softmax(logits);
  std::vector<std::pair<int32_t, float>> out;
  for (int i : top_indices(as_double(logits), n_top)) out.emplace_back(i, float(std::exp(s.logp[size_t(i)])));
  return out;
}

TokenDivergence divergence(std::span<const float> teacher, std::span<const float> student, int32_t token,
                           int topk_overlap, int n_top) {
  const Softmax t = log_softmax(teacher), s = log_softmax(student);
  TokenDivergence d;
  d.token = token;
  double kl = 0, rkl = 0;
  for (size_t i = 0; i < teacher.size(); ++i) {
    kl += std::exp(t.logp[i]) * (t.logp[i] - s.logp[i]);
    rkl += std::exp(s.logp[i]) * (s.logp[i] - t.logp[i]);
  }
  d.kl = float(kl);
  d.reverse_kl = float(rkl);
  d.entropy_teacher = float(t.entropy);
  d.entropy_student = float(s.entropy);
  const auto tt = top_indices(as_double(teacher), std::max(topk_overlap, n_top));
  const auto st = top_indices(as_double(student), std::max(topk_overlap, n_top));
  d.teacher_top1 = tt[0];
  d.student_top1 = st[0];
  d.top1_agree = tt[0] == st[0];
  const size_t k = std::min(size_t(topk_overlap), tt.size());  // vocab may be smaller than k
  int common = 0;
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j) common += tt[i] == st[j];
  d.topk_overlap = float(common) / float(topk_overlap);
  const bool known = token >= 0 && size_t(token) < teacher.size();
  d.p_teacher = known ? float(std::exp(t.logp[size_t(token)])) : 0.0f;
  d.p_student = known ? float(std::exp(s.logp[size_t(token)])) : 0.0f;
  for (size_t i = 0; i < std::min(size_t(n_top), tt.size()); ++i) {
    d.teacher_top.emplace_back(tt[i], float(std::exp(t.logp[size_t(tt[i])])));
    d.student_top.emplace_back(st[i], float(std::exp(s.logp[size_t(st[i])])));
  }
  return d;
}

double cosine(std::span<const float> a, std::span<const float> b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

double js_divergence(std::span<const float> p, std::span<const float> q) {
  double s = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double m = 0.5 * (double(p[i]) + q[i]);
    if (p[i] > 0) s += p[i] * std::log(p[i] / m);
    if (q[i] > 0) s += q[i] * std::log(q[i] / m);
  }
  return 0.5 * s;
}

}  // namespace ds::ref
