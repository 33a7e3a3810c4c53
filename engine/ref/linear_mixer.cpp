// Reference linear mixer: the quadratic (masked weight matrix) form and the recurrent form with its state.
#include "ref/linear_mixer.h"

#include <algorithm>
#include <cmath>

namespace ds::ref {
namespace {

constexpr double k_phi_floor = 1e-12;  // LoLCATs clamps the feature map at eps = 1e-12

// Which query map, state head and kv head a query head uses.
int fm_q_of(const LinearMixerDims& d, int h) { return h / (d.n_heads / d.n_fm_q); }
int state_of(const LinearMixerDims& d, int h) { return h / (d.n_heads / d.n_state); }
int kv_of(const LinearMixerDims& d, int h) { return h / (d.n_heads / d.n_kv); }
int kv_of_state(const LinearMixerDims& d, int s) { return s / (d.n_state / d.n_kv); }

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double t = 0;
  for (size_t i = 0; i < a.size(); ++i) t += a[i] * b[i];
  return t;
}

double score(const float* q, const float* k, int head_dim, float scale) {
  double t = 0;
  for (int i = 0; i < head_dim; ++i) t += double(q[i]) * k[i];
  return t * scale;
}

}  // namespace

std::vector<double> hedgehog_features(const float* x, const float* w, int head_dim, int features) {
  std::vector<double> y(features, 0.0);  // (F)
  for (int i = 0; i < head_dim; ++i)
    for (int f = 0; f < features; ++f) y[f] += double(x[i]) * w[size_t(i) * features + f];
  const double hi = *std::max_element(y.begin(), y.end()), lo = *std::min_element(y.begin(), y.end());
  double sum_pos = 0, sum_neg = 0;
  for (double t : y) {
    sum_pos += std::exp(t - hi);
    sum_neg += std::exp(lo - t);
  }
  std::vector<double> phi(2 * size_t(features));  // (2F)
  for (int f = 0; f < features; ++f) {
    phi[f] = std::max(std::exp(y[f] - hi) / sum_pos, k_phi_floor);
    phi[features + f] = std::max(std::exp(lo - y[f]) / sum_neg, k_phi_floor);
  }
  return phi;
}

void linear_mixer_factors(const LinearMixerDims& d, const LinearMixerParams& p, int h, double& wf, double& lf) {
  if (d.window == 0) {
    wf = 0;
    lf = 1;
    return;
  }
  wf = p.window_logit.empty() ? 1.0 : 1.0 / (1.0 + std::exp(-double(p.window_logit[h])));
  lf = d.affine ? 1.0 - wf : 1.0;
}

std::vector<double> linear_mixer_attention(std::span<const float> q, std::span<const float> k,
                                           const LinearMixerDims& d, const LinearMixerParams& p, int n_tokens) {
  const int hd = d.head_dim, F = d.features, n = n_tokens, N = d.window;
  const size_t wsize = size_t(hd) * F;
  std::vector<double> a(size_t(d.n_heads) * n * n, 0.0);  // (n_heads, n, n)
  for (int h = 0; h < d.n_heads; ++h) {
    const int hk = kv_of(d, h);
    double wf, lf;
    linear_mixer_factors(d, p, h, wf, lf);
    std::vector<std::vector<double>> phi_k(n);  // (n, 2F)
    for (int j = 0; j < n; ++j)
      phi_k[j] = hedgehog_features(&k[(size_t(j) * d.n_kv + hk) * hd], &p.fm_k[state_of(d, h) * wsize], hd, F);
    for (int i = 0; i < n; ++i) {
      const float* qi = &q[(size_t(i) * d.n_heads + h) * hd];
      const auto phi_q = hedgehog_features(qi, &p.fm_q[fm_q_of(d, h) * wsize], hd, F);
      double* row = &a[(size_t(h) * n + i) * n];
      double m = -INFINITY;
      for (int j = std::max(0, i - N + 1); j <= i && N > 0; ++j)
        m = std::max(m, score(qi, &k[(size_t(j) * d.n_kv + hk) * hd], hd, d.scale));
      double sum = 0;
      for (int j = 0; j <= i; ++j) {
        row[j] = j > i - N ? wf * std::exp(score(qi, &k[(size_t(j) * d.n_kv + hk) * hd], hd, d.scale) - m)
                           : lf * dot(phi_q, phi_k[j]);
        sum += row[j];
      }
      for (int j = 0; j <= i; ++j) row[j] /= sum;
    }
  }
  return a;
}

void linear_mixer_quadratic(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                            const LinearMixerDims& d, const LinearMixerParams& p, int n_tokens, std::span<float> out) {
  const int hd = d.head_dim, n = n_tokens;
  const auto a = linear_mixer_attention(q, k, d, p, n_tokens);
  for (int h = 0; h < d.n_heads; ++h)
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < hd; ++c) {
        double t = 0;
        for (int j = 0; j <= i; ++j)
          t += a[(size_t(h) * n + i) * n + j] * v[(size_t(j) * d.n_kv + kv_of(d, h)) * hd + c];
        out[(size_t(i) * d.n_heads + h) * hd + c] = float(t);
      }
}

LinearMixerRefState make_linear_mixer_ref_state(const LinearMixerDims& d) {
  LinearMixerRefState st;
  st.s.assign(size_t(d.n_state) * 2 * d.features * d.head_dim, 0.0);
  st.z.assign(size_t(d.n_state) * 2 * d.features, 0.0);
  st.ring_k.assign(size_t(d.n_kv) * d.window * d.head_dim, 0.0f);
  st.ring_v = st.ring_k;
  return st;
}

void linear_mixer_recurrent(LinearMixerRefState& st, std::span<const float> q, std::span<const float> k,
                            std::span<const float> v, const LinearMixerDims& d, const LinearMixerParams& p,
                            int n_tokens, std::span<float> out) {
  const int hd = d.head_dim, F = d.features, N = d.window;
  const size_t wsize = size_t(hd) * F;
  for (int t = 0; t < n_tokens; ++t) {
    const int64_t pos = st.n_past + t;
    // 1. The key at pos - N leaves the window (or, N = 0, the token itself) and enters s, z.
    if (pos - N >= 0)
      for (int s = 0; s < d.n_state; ++s) {
        const int hk = kv_of_state(d, s);
        const float* kj = N ? &st.ring_k[(size_t(hk) * N + pos % N) * hd] : &k[(size_t(t) * d.n_kv + hk) * hd];
        const float* vj = N ? &st.ring_v[(size_t(hk) * N + pos % N) * hd] : &v[(size_t(t) * d.n_kv + hk) * hd];
        const auto phi = hedgehog_features(kj, &p.fm_k[s * wsize], hd, F);
        for (int f = 0; f < 2 * F; ++f) {
          st.z[size_t(s) * 2 * F + f] += phi[f];
          for (int c = 0; c < hd; ++c) st.s[(size_t(s) * 2 * F + f) * hd + c] += phi[f] * vj[c];
        }
      }
    // 2. The token takes its ring slot (the one just emptied).
    if (N)
      for (int hk = 0; hk < d.n_kv; ++hk)
        for (int c = 0; c < hd; ++c) {
          st.ring_k[(size_t(hk) * N + pos % N) * hd + c] = k[(size_t(t) * d.n_kv + hk) * hd + c];
          st.ring_v[(size_t(hk) * N + pos % N) * hd + c] = v[(size_t(t) * d.n_kv + hk) * hd + c];
        }
    // 3. Output: the window from the ring, the rest from the state, one normalizer.
    for (int h = 0; h < d.n_heads; ++h) {
      const int s = state_of(d, h), hk = kv_of(d, h);
      double wf, lf;
      linear_mixer_factors(d, p, h, wf, lf);
      const float* qi = &q[(size_t(t) * d.n_heads + h) * hd];
      const auto phi_q = hedgehog_features(qi, &p.fm_q[fm_q_of(d, h) * wsize], hd, F);
      std::vector<double> num(hd, 0.0);
      double den = 0;
      for (int f = 0; f < 2 * F; ++f) {
        den += lf * phi_q[f] * st.z[size_t(s) * 2 * F + f];
        for (int c = 0; c < hd; ++c) num[c] += lf * phi_q[f] * st.s[(size_t(s) * 2 * F + f) * hd + c];
      }
      const int64_t first = std::max<int64_t>(0, pos - N + 1);
      double m = -INFINITY;
      for (int64_t j = first; j <= pos && N > 0; ++j)
        m = std::max(m, score(qi, &st.ring_k[(size_t(hk) * N + j % N) * hd], hd, d.scale));
      for (int64_t j = first; j <= pos && N > 0; ++j) {
        const size_t slot = (size_t(hk) * N + j % N) * hd;
        const double e = wf * std::exp(score(qi, &st.ring_k[slot], hd, d.scale) - m);
        den += e;
        for (int c = 0; c < hd; ++c) num[c] += e * st.ring_v[slot + c];
      }
      for (int c = 0; c < hd; ++c) out[(size_t(t) * d.n_heads + h) * hd + c] = float(num[c] / den);
    }
  }
  st.n_past += n_tokens;
}

}  // namespace ds::ref
