// Reference `linear` mixer for training: whole sequences from position 0 (zero state), the forward in the
// attention-matrix form and its backward w.r.t. q, k, v, both feature maps and the window-factor logits;
// templates over the scalar (float; double for finite-difference checks). Equations: ref/linear_mixer.h.
// Shapes row-major: q, out, dout, dq (n_seqs, n_tokens, n_heads, head_dim); k, v, dk, dv (n_seqs, n_tokens, n_kv,
// head_dim); fm_q (n_fm_q, head_dim, F), fm_k (n_state, head_dim, F); window_logit (n_heads).
#pragma once
#include <span>

#include "ref/linear_mixer.h"

namespace ds::ref {

template <class T>
struct LinearMixerTrainParams {
  std::span<const T> fm_q, fm_k, window_logit;  // window_logit empty: window factor 1
};

// Gradients, written (=). window_logit may be empty (not wanted); it is 0 when N = 0.
template <class T>
struct LinearMixerGrads {
  std::span<T> q, k, v, fm_q, fm_k, window_logit;
};

// Token i of a sequence: a_ij = wf exp(scale q_i.k_j - m_i) for i - N < j <= i (m_i their max),
// lf phi_q(q_i).phi_k(k_j) for j <= i - N;  out_i = sum_j a_ij v_j / sum_j a_ij.
template <class T>
void linear_mixer_train_forward(std::span<const T> q, std::span<const T> k, std::span<const T> v,
                                const LinearMixerDims& d, const LinearMixerTrainParams<T>& p, int n_tokens, int n_seqs,
                                std::span<T> out);

// With den_i = sum_j a_ij and g_ij = dout_i.(v_j - out_i) / den_i (the gradient of a_ij):
//   dv_j    = sum_i a_ij / den_i dout_i
//   window: ds_ij = g_ij a_ij, and m_i = s_ij* (the first maximal score) adds -sum_{j in window} g_ij a_ij to
//           ds_ij*;  dq_i = scale sum_j ds_ij k_j,  dk_j = scale sum_i ds_ij q_i
//   linear: dphi_q(q_i) = lf sum_j g_ij phi_k(k_j),  dphi_k(k_j) = lf sum_i g_ij phi_q(q_i)
//   factors: dwf = sum_window g_ij exp(s_ij - m_i), dlf = sum_linear g_ij phi_q.phi_k,
//            dlogit = wf (1 - wf) (dwf - dlf if affine)
//   phi = [softmax(y), softmax(-y)] of y = x W: dy = p (dphi+ - p.dphi+) - p' (dphi- - p'.dphi-), entries held at
//   the 1e-12 floor pass nothing; dx = W dy, dW += x dy^T.
template <class T>
void linear_mixer_backward(std::span<const T> q, std::span<const T> k, std::span<const T> v, std::span<const T> dout,
                           const LinearMixerDims& d, const LinearMixerTrainParams<T>& p, int n_tokens, int n_seqs,
                           const LinearMixerGrads<T>& g);

}  // namespace ds::ref
