// Reference training Mamba core: per sequence and channel, the forward with every state kept (in double), then
// the reverse-time walk of the header's formulas; gradients summed in double and stored at the end.
#include "ref/backward/mamba.h"

#include <cmath>
#include <cstddef>
#include <vector>

namespace ds::ref {
namespace {

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }
double silu(double v) { return v * sigmoid(v); }
double silu_grad(double v) { return sigmoid(v) * (1.0 + v * (1.0 - sigmoid(v))); }
// softplus as ref::mamba_mixer computes it (identity above 20), and its derivative
double softplus(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }
double softplus_grad(double v) { return v > 20.0 ? 1.0 : sigmoid(v); }

// One channel of one sequence, run forward: everything the backward reads.
template <class T>
struct ChannelRun {
  std::vector<double> pre, delta, h;  // pre, delta (n_tokens); h (n_tokens + 1, d_state): row t + 1 = h_t
  std::vector<double> A;              // (d_state)

  ChannelRun(const MambaDims& dims, std::span<const T> zxbc, std::span<const T> dt, const MambaTrainParams<T>& p,
             int n_tokens, int seq, int c) {
    const int K = dims.d_conv, N = dims.d_state, rows = dims.zxbc_rows();
    const T* col0 = zxbc.data() + size_t(seq) * n_tokens * rows;
    pre.resize(size_t(n_tokens));
    delta.resize(size_t(n_tokens));
    h.assign(size_t(n_tokens + 1) * N, 0.0);
    for (int n = 0; n < N; ++n) A.push_back(-std::exp(double(p.a_log[size_t(c) * N + n])));
    for (int t = 0; t < n_tokens; ++t) {
      double acc = p.conv_b.empty() ? 0.0 : double(p.conv_b[size_t(c)]);
      for (int i = 0; i < K; ++i)
        if (const int s = t - K + 1 + i; s >= 0)
          acc += double(p.conv_w[size_t(c) * K + i]) * double(col0[size_t(s) * rows + dims.x_row(c)]);
      pre[size_t(t)] = acc;
      const double v = double(dt[(size_t(seq) * n_tokens + t) * dims.d_inner + c]) +
                       (p.dt_bias.empty() ? 0.0 : double(p.dt_bias[size_t(c)]));
      delta[size_t(t)] = softplus(v);
      const double u = silu(acc);
      const T* B = col0 + size_t(t) * rows + dims.b_row(c);
      for (int n = 0; n < N; ++n)
        h[size_t(t + 1) * N + n] =
            std::exp(delta[size_t(t)] * A[size_t(n)]) * h[size_t(t) * N + n] + delta[size_t(t)] * double(B[n]) * u;
    }
  }
};

}  // namespace

template <class T>
void mamba_train_forward(const MambaDims& dims, std::span<const T> zxbc, std::span<const T> dt,
                         const MambaTrainParams<T>& p, std::span<T> y, int n_tokens, int n_seqs) {
  dims.check("ref::mamba_train_forward");
  const int N = dims.d_state, rows = dims.zxbc_rows(), di = dims.d_inner;
  for (int seq = 0; seq < n_seqs; ++seq)
    for (int c = 0; c < di; ++c) {
      const ChannelRun<T> run(dims, zxbc, dt, p, n_tokens, seq, c);
      for (int t = 0; t < n_tokens; ++t) {
        const T* col = zxbc.data() + (size_t(seq) * n_tokens + t) * rows;
        double acc = double(p.d[size_t(c)]) * silu(run.pre[size_t(t)]);
        for (int n = 0; n < N; ++n) acc += double(col[dims.c_row(c) + n]) * run.h[size_t(t + 1) * N + n];
        y[(size_t(seq) * n_tokens + t) * di + c] = T(acc * silu(double(col[c])));
      }
    }
}

template <class T>
void mamba_backward(const MambaDims& dims, std::span<const T> zxbc, std::span<const T> dt, const MambaTrainParams<T>& p,
                    std::span<const T> dy, const MambaGrads<T>& g, int n_tokens, int n_seqs) {
  dims.check("ref::mamba_backward");
  const int N = dims.d_state, K = dims.d_conv, rows = dims.zxbc_rows(), di = dims.d_inner;
  std::vector<double> dzxbc(zxbc.size(), 0.0), ddt(dt.size(), 0.0), dconv_w(size_t(di) * K, 0.0),
      dconv_b(size_t(di), 0.0), ddt_bias(size_t(di), 0.0), da_log(size_t(di) * N, 0.0), dd(size_t(di), 0.0);
  std::vector<double> dh(static_cast<size_t>(N)), dpre(static_cast<size_t>(n_tokens));
  for (int seq = 0; seq < n_seqs; ++seq)
    for (int c = 0; c < di; ++c) {
      const ChannelRun<T> run(dims, zxbc, dt, p, n_tokens, seq, c);
      const size_t col0 = size_t(seq) * n_tokens * rows;
      std::fill(dh.begin(), dh.end(), 0.0);
      for (int t = n_tokens - 1; t >= 0; --t) {
        const size_t col = col0 + size_t(t) * rows, row = (size_t(seq) * n_tokens + t) * di + c;
        const T* B = zxbc.data() + col + dims.b_row(c);
        const T* C = zxbc.data() + col + dims.c_row(c);
        const double u = silu(run.pre[size_t(t)]), delta = run.delta[size_t(t)], z = double(zxbc[col + c]);
        const double* h_t = &run.h[size_t(t + 1) * N];
        const double* h_prev = &run.h[size_t(t) * N];
        double ypre = double(p.d[size_t(c)]) * u;
        for (int n = 0; n < N; ++n) ypre += double(C[n]) * h_t[n];
        dzxbc[col + c] += double(dy[row]) * ypre * silu_grad(z);
        const double dypre = double(dy[row]) * silu(z);
        const double delta_next = t + 1 < n_tokens ? run.delta[size_t(t + 1)] : 0.0;
        double du = dypre * double(p.d[size_t(c)]), ddelta = 0;
        for (int n = 0; n < N; ++n) {
          const double a = std::exp(delta * run.A[size_t(n)]);
          dh[size_t(n)] = std::exp(delta_next * run.A[size_t(n)]) * dh[size_t(n)] + dypre * double(C[n]);
          dzxbc[col + dims.c_row(c) + n] += dypre * h_t[n];
          dzxbc[col + dims.b_row(c) + n] += dh[size_t(n)] * delta * u;
          du += dh[size_t(n)] * delta * double(B[n]);
          ddelta += dh[size_t(n)] * (run.A[size_t(n)] * a * h_prev[n] + double(B[n]) * u);
          da_log[size_t(c) * N + n] += run.A[size_t(n)] * dh[size_t(n)] * delta * a * h_prev[n];
        }
        dd[size_t(c)] += dypre * u;
        const double v = double(dt[row]) + (p.dt_bias.empty() ? 0.0 : double(p.dt_bias[size_t(c)]));
        ddt[row] = ddelta * softplus_grad(v);
        ddt_bias[size_t(c)] += ddt[row];
        dpre[size_t(t)] = du * silu_grad(run.pre[size_t(t)]);
      }
      // the conv: pre_t = b + sum_i w_i x_{t-K+1+i}
      for (int t = 0; t < n_tokens; ++t) {
        dconv_b[size_t(c)] += dpre[size_t(t)];
        for (int i = 0; i < K; ++i)
          if (const int s = t - K + 1 + i; s >= 0) {
            const size_t x_at = col0 + size_t(s) * rows + dims.x_row(c);
            dconv_w[size_t(c) * K + i] += dpre[size_t(t)] * double(zxbc[x_at]);
            dzxbc[x_at] += dpre[size_t(t)] * double(p.conv_w[size_t(c) * K + i]);
          }
      }
    }
  auto store = [](const std::vector<double>& from, std::span<T> to) {
    for (size_t i = 0; i < to.size(); ++i) to[i] = T(from[i]);
  };
  store(dzxbc, g.zxbc);
  store(ddt, g.dt);
  store(dconv_w, g.conv_w);
  store(dconv_b, g.conv_b);
  store(ddt_bias, g.dt_bias);
  store(da_log, g.a_log);
  store(dd, g.d);
}

#define DS_INSTANTIATE(T)                                                                        \
  template void mamba_train_forward<T>(const MambaDims&, std::span<const T>, std::span<const T>, \
                                       const MambaTrainParams<T>&, std::span<T>, int, int);      \
  template void mamba_backward<T>(const MambaDims&, std::span<const T>, std::span<const T>,      \
                                  const MambaTrainParams<T>&, std::span<const T>, const MambaGrads<T>&, int, int);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
