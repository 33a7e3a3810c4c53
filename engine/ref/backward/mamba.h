// Reference Mamba mixer core for training (Apriel-H1 "m2"): whole sequences from a zero state, the forward and
// its backward w.r.t. the in_proj output (z, x, B, C), dt and the mixer's own parameters; templates over the
// scalar (float; double for finite-difference checks). Equations: ref/mamba.h, docs/formats.md "Mamba mixer".
// Shapes row-major: zxbc (n_seqs, n_tokens, 2 d_inner + 2 d_xb); dt, y, dy (n_seqs, n_tokens, d_inner);
// conv_w (d_inner, d_conv); a_log (d_inner, d_state); conv_b, dt_bias, d (d_inner).
#pragma once
#include <span>

#include "ops/mamba_dims.h"

namespace ds::ref {

template <class T>
struct MambaTrainParams {
  std::span<const T> conv_w, conv_b, dt_bias, a_log, d;  // conv_b, dt_bias may be empty (none)
};

// Gradients, written (=). zxbc and dt are required; a parameter gradient may be empty (not wanted).
template <class T>
struct MambaGrads {
  std::span<T> zxbc, dt, conv_w, conv_b, dt_bias, a_log, d;
};

// y = (sum_n C h + D u) silu(z) per channel and token (ref::mamba_mixer from a zero state, per sequence).
template <class T>
void mamba_train_forward(const MambaDims& dims, std::span<const T> zxbc, std::span<const T> dt,
                         const MambaTrainParams<T>& p, std::span<T> y, int n_tokens, int n_seqs);

// Per channel c (head k, group g), with pre = conv + bias, u = silu(pre), v = dt + dt_bias, delta = softplus(v),
// a_t = exp(delta_t A), h_t = a_t h_{t-1} + delta_t B_t u_t, ypre = C.h_t + D u, y = ypre silu(z):
//   dz = dy ypre silu'(z);  dypre = dy silu(z)
//   dh_t = dypre_t C_t + a_{t+1} dh_{t+1}                     (reverse scan)
//   dC_t[k] += dypre_t h_t;  dB_t[g] += dh_t delta_t u_t;  dD += dypre u
//   du = dypre D + delta B.dh_t;  ddelta = sum_n dh_t (A a_t h_{t-1} + B u)
//   dA_log = A sum_t dh_t delta_t a_t h_{t-1};  ddt = ddelta softplus'(v);  ddt_bias = sum_t ddt
//   dpre = du silu'(pre);  dconv_b = sum_t dpre;  dconv_w[i] = sum_t dpre_t x_{t-d_conv+1+i};
//   dx (the group's row) += sum_i conv_w[i] dpre_{t+d_conv-1-i}
// ddt is also the gradient of the dt projection's output (its bias gets sum_t ddt from there too).
template <class T>
void mamba_backward(const MambaDims& dims, std::span<const T> zxbc, std::span<const T> dt, const MambaTrainParams<T>& p,
                    std::span<const T> dy, const MambaGrads<T>& g, int n_tokens, int n_seqs);

}  // namespace ds::ref
