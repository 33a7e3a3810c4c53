// Reference training attention: each row's probabilities materialized in double, then the plain
// gradient formulas; instantiated for float and double.
#include "ref/backward/attention.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace ds::ref {
namespace {

// Probabilities of query (seq, t, h) over keys 0..t, in double; returns log-sum-exp of the scores.
template <class T>
double row_probs(std::span<const T> q, std::span<const T> k, const AttentionShape& s, int seq, int t, int h,
                 std::vector<double>& p) {
  const int hd = s.head_dim, hk = h / (s.n_heads / s.n_kv);
  const T* qv = q.data() + ((size_t(seq) * s.n_tokens + t) * s.n_heads + h) * hd;
  p.assign(size_t(t) + 1, 0.0);
  for (int j = 0; j <= t; ++j) {
    const T* kv = k.data() + ((size_t(seq) * s.n_tokens + j) * s.n_kv + hk) * hd;
    double dot = 0;
    for (int d = 0; d < hd; ++d) dot += double(qv[d]) * kv[d];
    p[size_t(j)] = s.scale * dot;
  }
  const double mx = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (double& x : p) sum += (x = std::exp(x - mx));
  for (double& x : p) x /= sum;
  return mx + std::log(sum);
}

}  // namespace

template <class T>
void attention_forward(std::span<const T> q, std::span<const T> k, std::span<const T> v, std::span<T> out,
                       std::span<T> lse, const AttentionShape& s) {
  const int hd = s.head_dim;
  std::vector<double> p;
  for (int seq = 0; seq < s.n_seqs; ++seq)
    for (int t = 0; t < s.n_tokens; ++t)
      for (int h = 0; h < s.n_heads; ++h) {
        const double l = row_probs(q, k, s, seq, t, h, p);
        const size_t row = (size_t(seq) * s.n_tokens + t) * s.n_heads + h;
        if (!lse.empty()) lse[row] = T(l);
        const int hk = h / (s.n_heads / s.n_kv);
        for (int d = 0; d < hd; ++d) {
          double acc = 0;
          for (int j = 0; j <= t; ++j) acc += p[size_t(j)] * v[((size_t(seq) * s.n_tokens + j) * s.n_kv + hk) * hd + d];
          out[row * hd + d] = T(acc);
        }
      }
}

template <class T>
void attention_backward(std::span<const T> q, std::span<const T> k, std::span<const T> v, std::span<const T> dout,
                        std::span<T> dq, std::span<T> dk, std::span<T> dv, const AttentionShape& s) {
  const int hd = s.head_dim;
  std::vector<double> dq_acc(dq.size(), 0.0), dk_acc(dk.size(), 0.0), dv_acc(dv.size(), 0.0), p, dp;
  for (int seq = 0; seq < s.n_seqs; ++seq)
    for (int t = 0; t < s.n_tokens; ++t)
      for (int h = 0; h < s.n_heads; ++h) {
        row_probs(q, k, s, seq, t, h, p);
        const int hk = h / (s.n_heads / s.n_kv);
        const size_t row = (size_t(seq) * s.n_tokens + t) * s.n_heads + h;
        auto kv_at = [&](int j) { return ((size_t(seq) * s.n_tokens + j) * s.n_kv + hk) * hd; };
        // dp_j = dout . v_j; delta = sum_j p_j dp_j
        dp.assign(size_t(t) + 1, 0.0);
        double delta = 0;
        for (int j = 0; j <= t; ++j) {
          for (int d = 0; d < hd; ++d) dp[size_t(j)] += double(dout[row * hd + d]) * v[kv_at(j) + d];
          delta += p[size_t(j)] * dp[size_t(j)];
        }
        for (int j = 0; j <= t; ++j) {
          const double ds = p[size_t(j)] * (dp[size_t(j)] - delta);
          for (int d = 0; d < hd; ++d) {
            dq_acc[row * hd + d] += s.scale * ds * k[kv_at(j) + d];
            dk_acc[kv_at(j) + d] += s.scale * ds * q[row * hd + d];
            dv_acc[kv_at(j) + d] += p[size_t(j)] * dout[row * hd + d];
          }
        }
      }
  for (size_t i = 0; i < dq.size(); ++i) dq[i] = T(dq_acc[i]);
  for (size_t i = 0; i < dk.size(); ++i) dk[i] = T(dk_acc[i]);
  for (size_t i = 0; i < dv.size(); ++i) dv[i] = T(dv_acc[i]);
}

#define DS_INSTANTIATE(T)                                                                                             \
  template void attention_forward<T>(std::span<const T>, std::span<const T>, std::span<const T>, std::span<T>,        \
                                     std::span<T>, const AttentionShape&);                                            \
  template void attention_backward<T>(std::span<const T>, std::span<const T>, std::span<const T>, std::span<const T>, \
                                      std::span<T>, std::span<T>, std::span<T>, const AttentionShape&);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
