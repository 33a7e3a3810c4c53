// Reference training linear mixer: per query head, every row's pair weights materialized in double (window
// scores with their max, feature-map dot products), then the plain gradient formulas of the header.
#include "ref/backward/linear_mixer.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace ds::ref {
namespace {

constexpr double k_phi_floor = 1e-12;  // as ref::hedgehog_features and the kernels

// One feature map applied to one vector: p = [softmax(y), softmax(-y)] unclamped, phi = max(p, floor).
struct Features {
  std::vector<double> p, phi;  // (2F)
};

template <class T>
Features feature_map(const T* x, const T* w, int head_dim, int F) {
  std::vector<double> y(size_t(F), 0.0);  // y = x W, W (head_dim, F)
  for (int i = 0; i < head_dim; ++i)
    for (int f = 0; f < F; ++f) y[size_t(f)] += double(x[i]) * double(w[size_t(i) * F + f]);
  const double hi = *std::max_element(y.begin(), y.end()), lo = *std::min_element(y.begin(), y.end());
  double sum_pos = 0, sum_neg = 0;
  for (double t : y) sum_pos += std::exp(t - hi), sum_neg += std::exp(lo - t);
  Features out{std::vector<double>(2 * size_t(F)), std::vector<double>(2 * size_t(F))};
  for (int f = 0; f < F; ++f) {
    out.p[size_t(f)] = std::exp(y[size_t(f)] - hi) / sum_pos;
    out.p[size_t(F + f)] = std::exp(lo - y[size_t(f)]) / sum_neg;
  }
  for (size_t i = 0; i < out.p.size(); ++i) out.phi[i] = std::max(out.p[i], k_phi_floor);
  return out;
}

// Backward of the map for one vector x: dphi (2F) -> dx (head_dim) += W dy, dw (head_dim, F) += x dy^T.
template <class T>
void feature_map_backward(const Features& fm, const std::vector<double>& dphi, const T* x, const T* w, int head_dim,
                          int F, double* dx, double* dw) {
  std::vector<double> dy(size_t(F), 0.0);
  for (int half = 0; half < 2; ++half) {  // softmax(y) with sign +1, softmax(-y) with sign -1
    const size_t o = size_t(half) * F;
    auto dp = [&](int f) { return fm.p[o + f] >= k_phi_floor ? dphi[o + f] : 0.0; };  // the floor passes nothing
    double pdp = 0;
    for (int f = 0; f < F; ++f) pdp += fm.p[o + f] * dp(f);
    for (int f = 0; f < F; ++f) dy[size_t(f)] += (half ? -1.0 : 1.0) * fm.p[o + f] * (dp(f) - pdp);
  }
  for (int i = 0; i < head_dim; ++i)
    for (int f = 0; f < F; ++f) {
      dx[i] += double(w[size_t(i) * F + f]) * dy[size_t(f)];
      dw[size_t(i) * F + f] += double(x[i]) * dy[size_t(f)];
    }
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double t = 0;
  for (size_t i = 0; i < a.size(); ++i) t += a[i] * b[i];
  return t;
}

// One query head of one sequence: indexing, factors, feature maps of its queries and keys, and row weights.
template <class T>
struct HeadView {
  const LinearMixerDims& d;
  std::span<const T> q, k;
  const LinearMixerTrainParams<T>& p;
  int n, seq, h, hk, s, map_q;
  double wf = 0, lf = 1;
  std::vector<Features> fq, fk;  // per token

  HeadView(const LinearMixerDims& dims, std::span<const T> q_, std::span<const T> k_,
           const LinearMixerTrainParams<T>& params, int n_tokens, int seq_, int head)
      : d(dims), q(q_), k(k_), p(params), n(n_tokens), seq(seq_), h(head) {
    hk = h / (d.n_heads / d.n_kv);
    s = h / (d.n_heads / d.n_state);
    map_q = h / (d.n_heads / d.n_fm_q);
    if (d.window > 0) {
      wf = p.window_logit.empty() ? 1.0 : 1.0 / (1.0 + std::exp(-double(p.window_logit[size_t(h)])));
      lf = d.affine ? 1.0 - wf : 1.0;
    }
    const size_t wsize = size_t(d.head_dim) * d.features;
    for (int t = 0; t < n; ++t) {
      fq.push_back(feature_map(q_row(t), &p.fm_q[map_q * wsize], d.head_dim, d.features));
      fk.push_back(feature_map(k_row(t), &p.fm_k[s * wsize], d.head_dim, d.features));
    }
  }
  size_t q_off(int t) const { return ((size_t(seq) * n + t) * d.n_heads + h) * d.head_dim; }
  size_t k_off(int t) const { return ((size_t(seq) * n + t) * d.n_kv + hk) * d.head_dim; }
  const T* q_row(int t) const { return q.data() + q_off(t); }
  const T* k_row(int t) const { return k.data() + k_off(t); }
  bool in_window(int i, int j) const { return j > i - d.window; }
  double score(int i, int j) const {
    double t = 0;
    for (int c = 0; c < d.head_dim; ++c) t += double(q_row(i)[c]) * double(k_row(j)[c]);
    return t * d.scale;
  }
  // Row i: a (j = 0..i), e = exp(s_ij - m) in the window (0 elsewhere), the window's first argmax jstar.
  void row(int i, std::vector<double>& a, std::vector<double>& e, int& jstar) const {
    a.assign(size_t(i) + 1, 0.0);
    e.assign(size_t(i) + 1, 0.0);
    double m = -INFINITY;
    jstar = -1;
    for (int j = std::max(0, i - d.window + 1); j <= i && d.window > 0; ++j)
      if (const double sc = score(i, j); sc > m) m = sc, jstar = j;
    for (int j = 0; j <= i; ++j) {
      if (in_window(i, j)) {
        e[size_t(j)] = std::exp(score(i, j) - m);
        a[size_t(j)] = wf * e[size_t(j)];
      } else {
        a[size_t(j)] = lf * dot(fq[size_t(i)].phi, fk[size_t(j)].phi);
      }
    }
  }
};

}  // namespace

template <class T>
void linear_mixer_train_forward(std::span<const T> q, std::span<const T> k, std::span<const T> v,
                                const LinearMixerDims& d, const LinearMixerTrainParams<T>& p, int n_tokens, int n_seqs,
                                std::span<T> out) {
  std::vector<double> a, e;
  for (int seq = 0; seq < n_seqs; ++seq)
    for (int h = 0; h < d.n_heads; ++h) {
      const HeadView<T> hv(d, q, k, p, n_tokens, seq, h);
      for (int i = 0; i < n_tokens; ++i) {
        int jstar;
        hv.row(i, a, e, jstar);
        double den = 0;
        for (double x : a) den += x;
        for (int c = 0; c < d.head_dim; ++c) {
          double num = 0;
          for (int j = 0; j <= i; ++j) num += a[size_t(j)] * double(v[hv.k_off(j) + c]);
          out[hv.q_off(i) + c] = T(num / den);
        }
      }
    }
}

template <class T>
void linear_mixer_backward(std::span<const T> q, std::span<const T> k, std::span<const T> v, std::span<const T> dout,
                           const LinearMixerDims& d, const LinearMixerTrainParams<T>& p, int n_tokens, int n_seqs,
                           const LinearMixerGrads<T>& g) {
  const int hd = d.head_dim, F = d.features, n = n_tokens;
  const size_t wsize = size_t(hd) * F;
  std::vector<double> dq(q.size(), 0.0), dk(k.size(), 0.0), dv(v.size(), 0.0), dfm_q(p.fm_q.size(), 0.0),
      dfm_k(p.fm_k.size(), 0.0), dlogit(size_t(d.n_heads), 0.0);
  std::vector<double> a, e, gr, out_i(static_cast<size_t>(hd)), dphi_q(2 * static_cast<size_t>(F));
  for (int seq = 0; seq < n_seqs; ++seq) {
    // dphi_k of every (token, state head) of this sequence, filled by all query heads first
    std::vector<std::vector<double>> dphi_k(size_t(n) * d.n_state, std::vector<double>(2 * size_t(F), 0.0));
    std::vector<HeadView<T>> views;
    for (int h = 0; h < d.n_heads; ++h) views.emplace_back(d, q, k, p, n, seq, h);
    for (int h = 0; h < d.n_heads; ++h) {
      const HeadView<T>& hv = views[size_t(h)];
      double dwf = 0, dlf = 0;
      for (int i = 0; i < n; ++i) {
        int jstar;
        hv.row(i, a, e, jstar);
        double den = 0;
        for (double x : a) den += x;
        const T* dout_i = dout.data() + hv.q_off(i);
        double d_dot_out = 0;  // dout_i . out_i
        for (int c = 0; c < hd; ++c) {
          double num = 0;
          for (int j = 0; j <= i; ++j) num += a[size_t(j)] * double(v[hv.k_off(j) + c]);
          out_i[size_t(c)] = num / den;
          d_dot_out += double(dout_i[c]) * out_i[size_t(c)];
        }
        gr.assign(size_t(i) + 1, 0.0);
        for (int j = 0; j <= i; ++j) {
          double dv_dot = 0;
          for (int c = 0; c < hd; ++c) dv_dot += double(dout_i[c]) * double(v[hv.k_off(j) + c]);
          gr[size_t(j)] = (dv_dot - d_dot_out) / den;
          for (int c = 0; c < hd; ++c) dv[hv.k_off(j) + c] += a[size_t(j)] / den * double(dout_i[c]);
        }
        // window part: ds_ij, with the max's share on jstar
        std::vector<double> ds(size_t(i) + 1, 0.0);
        double window_sum = 0;  // sum over the window of g_ij a_ij
        for (int j = 0; j <= i; ++j)
          if (hv.in_window(i, j)) {
            ds[size_t(j)] = gr[size_t(j)] * a[size_t(j)];
            window_sum += ds[size_t(j)];
            dwf += gr[size_t(j)] * e[size_t(j)];
          }
        if (jstar >= 0) ds[size_t(jstar)] -= window_sum;
        for (int j = 0; j <= i; ++j)
          for (int c = 0; c < hd && ds[size_t(j)] != 0; ++c) {
            dq[hv.q_off(i) + c] += d.scale * ds[size_t(j)] * double(hv.k_row(j)[c]);
            dk[hv.k_off(j) + c] += d.scale * ds[size_t(j)] * double(hv.q_row(i)[c]);
          }
        // linear part: the feature maps
        std::fill(dphi_q.begin(), dphi_q.end(), 0.0);
        for (int j = 0; j <= i; ++j) {
          if (hv.in_window(i, j)) continue;
          const auto& pk = hv.fk[size_t(j)].phi;
          const auto& pq = hv.fq[size_t(i)].phi;
          auto& dpk = dphi_k[size_t(j) * d.n_state + hv.s];
          for (int f = 0; f < 2 * F; ++f) {
            dphi_q[size_t(f)] += hv.lf * gr[size_t(j)] * pk[size_t(f)];
            dpk[size_t(f)] += hv.lf * gr[size_t(j)] * pq[size_t(f)];
          }
          dlf += gr[size_t(j)] * dot(pq, pk);
        }
        feature_map_backward(hv.fq[size_t(i)], dphi_q, hv.q_row(i), &p.fm_q[hv.map_q * wsize], hd, F, &dq[hv.q_off(i)],
                             &dfm_q[hv.map_q * wsize]);
      }
      if (d.window > 0 && !p.window_logit.empty())
        dlogit[size_t(h)] += hv.wf * (1 - hv.wf) * (dwf - (d.affine ? dlf : 0.0));
    }
    // keys: every state head's map, into its kv head
    for (int j = 0; j < n; ++j)
      for (int s = 0; s < d.n_state; ++s) {
        const auto& hv = views[size_t(s) * (d.n_heads / d.n_state)];  // a query head of state head s
        feature_map_backward(hv.fk[size_t(j)], dphi_k[size_t(j) * d.n_state + s], hv.k_row(j), &p.fm_k[s * wsize], hd,
                             F, &dk[hv.k_off(j)], &dfm_k[s * wsize]);
      }
  }
  auto store = [](const std::vector<double>& from, std::span<T> to) {
    for (size_t i = 0; i < to.size(); ++i) to[i] = T(from[i]);
  };
  store(dq, g.q);
  store(dk, g.k);
  store(dv, g.v);
  store(dfm_q, g.fm_q);
  store(dfm_k, g.fm_k);
  store(dlogit, g.window_logit);
}

#define DS_INSTANTIATE(T)                                                                                              \
  template void linear_mixer_train_forward<T>(std::span<const T>, std::span<const T>, std::span<const T>,              \
                                              const LinearMixerDims&, const LinearMixerTrainParams<T>&, int, int,      \
                                              std::span<T>);                                                           \
  template void linear_mixer_backward<T>(std::span<const T>, std::span<const T>, std::span<const T>,                   \
                                         std::span<const T>, const LinearMixerDims&, const LinearMixerTrainParams<T>&, \
                                         int, int, const LinearMixerGrads<T>&);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
