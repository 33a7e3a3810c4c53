// Reference Mamba mixer core: the recurrence exactly as the equations read (see docs/formats.md, "Mamba mixer").
#include "ref/mamba.h"

#include <cmath>
#include <cstddef>

namespace ds::ref {
namespace {

double silu(double v) { return v / (1.0 + std::exp(-v)); }
// softplus as the reference kernels compute it: identity above 20.
double softplus(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }

void check_sizes(const MambaDims& dims, std::span<const float> zxbc, std::span<const float> dt, int n_tokens) {
  dims.check("ref::mamba");
  DS_CHECK(zxbc.size() == size_t(dims.zxbc_rows()) * n_tokens, "[ref::mamba] zxbc has ", zxbc.size(),
           " values, expected ", dims.zxbc_rows(), " x ", n_tokens);
  DS_CHECK(dt.size() == size_t(dims.d_inner) * n_tokens, "[ref::mamba] dt has ", dt.size(), " values, expected ",
           dims.d_inner, " x ", n_tokens);
}

}  // namespace

MambaRefState::MambaRefState(const MambaDims& dims)
    : conv(size_t(dims.d_inner) * (dims.d_conv - 1), 0.0f), ssm(size_t(dims.d_inner) * dims.d_state, 0.0f) {}

MambaScanInputs mamba_conv_delta(const MambaDims& dims, std::span<const float> zxbc, std::span<const float> dt,
                                 const MambaParams& w, std::vector<float>& conv_state, int n_tokens) {
  check_sizes(dims, zxbc, dt, n_tokens);
  const int di = dims.d_inner, K = dims.d_conv, rows = dims.zxbc_rows();
  MambaScanInputs out;
  out.u.resize(size_t(di) * n_tokens);
  out.delta.resize(size_t(di) * n_tokens);
  std::vector<double> window(static_cast<size_t>(K));  // channel c's conv inputs for tokens t-K+1 .. t
  for (int t = 0; t < n_tokens; ++t) {
    const float* col = zxbc.data() + size_t(t) * rows;
    for (int c = 0; c < di; ++c) {
      for (int s = 0; s < K - 1; ++s) window[size_t(s)] = conv_state[size_t(s) * di + c];
      window[size_t(K - 1)] = col[dims.x_row(c)];  // x repeated: channel c reads its group's x
      double acc = w.conv_b.empty() ? 0.0 : w.conv_b[size_t(c)];
      for (int k = 0; k < K; ++k) acc += double(w.conv_w[size_t(c) * K + k]) * window[size_t(k)];
      out.u[size_t(t) * di + c] = float(silu(acc));
      // the window slides by one: the state keeps the last K-1 inputs
      for (int s = 0; s < K - 1; ++s) conv_state[size_t(s) * di + c] = float(window[size_t(s) + 1]);
      const double bias = w.dt_bias.empty() ? 0.0 : w.dt_bias[size_t(c)];
      out.delta[size_t(t) * di + c] = float(softplus(double(dt[size_t(t) * di + c]) + bias));
    }
  }
  return out;
}

void mamba_scan(const MambaDims& dims, std::span<const float> zxbc, const MambaScanInputs& in,
                std::span<const float> a_log, std::span<const float> d, std::vector<float>& ssm, std::span<float> y,
                int n_tokens) {
  const int di = dims.d_inner, N = dims.d_state, rows = dims.zxbc_rows();
  for (int t = 0; t < n_tokens; ++t) {
    const float* col = zxbc.data() + size_t(t) * rows;
    for (int c = 0; c < di; ++c) {
      const float* B = col + dims.b_row(c);  // (d_state) of channel c's group
      const float* C = col + dims.c_row(c);  // (d_state) of channel c's head
      const double u = in.u[size_t(t) * di + c], delta = in.delta[size_t(t) * di + c];
      double acc = 0;
      for (int n = 0; n < N; ++n) {
        const double A = -std::exp(double(a_log[size_t(c) * N + n]));
        float& h = ssm[size_t(c) * N + n];
        h = float(std::exp(delta * A) * h + delta * B[n] * u);  // dA = exp(dt A), dBx = dt B x
        acc += double(C[n]) * h;
      }
      y[size_t(t) * di + c] = float(acc + double(d[size_t(c)]) * u);
    }
  }
}

void mamba_mixer(const MambaDims& dims, std::span<const float> zxbc, std::span<const float> dt, const MambaParams& w,
                 MambaRefState& state, std::span<float> y, int n_tokens) {
  MambaScanInputs in = mamba_conv_delta(dims, zxbc, dt, w, state.conv, n_tokens);
  mamba_scan(dims, zxbc, in, w.a_log, w.d, state.ssm, y, n_tokens);
  const int di = dims.d_inner, rows = dims.zxbc_rows();
  for (int t = 0; t < n_tokens; ++t)
    for (int c = 0; c < di; ++c) y[size_t(t) * di + c] = float(y[size_t(t) * di + c] * silu(zxbc[size_t(t) * rows + c]));
}

std::vector<float> mamba_implied_attention_channels(const MambaDims& dims, std::span<const float> zxbc,
                                                    const MambaScanInputs& in, std::span<const float> a_log,
                                                    int n_tokens) {
  const int di = dims.d_inner, N = dims.d_state, rows = dims.zxbc_rows(), T = n_tokens;
  std::vector<float> alpha(size_t(di) * T * T, 0.0f);
  for (int c = 0; c < di; ++c)
    for (int i = 0; i < T; ++i) {
      const float* C = zxbc.data() + size_t(i) * rows + dims.c_row(c);
      for (int n = 0; n < N; ++n) {
        const double A = -std::exp(double(a_log[size_t(c) * N + n]));
        double decay = 1;  // prod_{t=j+1..i} exp(delta_t A), built up as j walks down from i
        for (int j = i; j >= 0; --j) {
          const double B = zxbc[size_t(j) * rows + dims.b_row(c) + n], delta = in.delta[size_t(j) * di + c];
          alpha[(size_t(c) * T + i) * T + j] += float(C[n] * decay * B * delta);
          decay *= std::exp(delta * A);
        }
      }
    }
  return alpha;
}

std::vector<float> mamba_implied_attention_heads(const MambaDims& dims, std::span<const float> alpha, int n_tokens,
                                                 int channels_per_head) {
  const int T = n_tokens, cph = channels_per_head;
  DS_CHECK(cph > 0 && dims.d_inner % cph == 0, "[ref::mamba_implied_attention] ", cph,
           " channels per head do not divide d_inner ", dims.d_inner);
  const int n_heads = dims.d_inner / cph;
  std::vector<float> map(size_t(n_heads) * T * T, 0.0f);
  for (int h = 0; h < n_heads; ++h)
    for (int i = 0; i < T; ++i) {
      float* row = map.data() + (size_t(h) * T + i) * T;
      double sum = 0;
      for (int j = 0; j <= i; ++j) {
        double m = 0;
        for (int c = h * cph; c < (h + 1) * cph; ++c) m += std::fabs(alpha[(size_t(c) * T + i) * T + j]);
        row[j] = float(m / cph);
        sum += row[j];
      }
      if (sum > 0)
        for (int j = 0; j <= i; ++j) row[j] = float(row[j] / sum);
    }
  return map;
}

}  // namespace ds::ref
