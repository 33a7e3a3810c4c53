// Reference `linear` mixer (LoLCATs-style Hedgehog linear attention + sliding softmax window), written from
// the equations with plain loops and double sums: the quadratic "attention matrix" form (ground truth, and the
// implied attention weights probes show) and the recurrent token-by-token form with its fixed-size state.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace ds::ref {

// Sizes of one layer. Query head h reads kv head h / (n_heads / n_kv), query feature map h / (n_heads / n_fm_q)
// and state head (= key feature map) h / (n_heads / n_state); state head s reads kv head s / (n_state / n_kv).
struct LinearMixerDims {
  int head_dim = 0, n_heads = 0, n_kv = 0;
  int n_fm_q = 0;    // query feature maps: n_heads (LoLCATs) or n_kv
  int n_state = 0;   // key feature maps = linear-state heads: n_heads (LoLCATs) or n_kv
  int features = 0;  // F: the map projects head_dim -> F, and phi has 2F entries
  int window = 0;    // N: softmax over the last N keys (the query's own included); 0 = pure linear attention
  float scale = 0;   // window score scale (LoLCATs: 1 / sqrt(head_dim))
  bool affine = false;  // linear factor = 1 - window factor (else 1)
};

// Weights. fm_q: (n_fm_q, head_dim, F), fm_k: (n_state, head_dim, F) (GGUF ne [F, head_dim, maps]);
// window_logit: (n_heads), window factor = sigmoid(logit); empty = factor 1.
struct LinearMixerParams {
  std::span<const float> fm_q, fm_k, window_logit;
};

// Hedgehog feature map: y = x W (W: (head_dim, F)), phi = [softmax(y), softmax(-y)] each clamped to >= 1e-12.
// x: (head_dim); returns (2F).
std::vector<double> hedgehog_features(const float* x, const float* w, int head_dim, int features);

// Window factor wf and linear factor lf of query head h (N = 0: wf = 0, lf = 1).
void linear_mixer_factors(const LinearMixerDims& d, const LinearMixerParams& p, int h, double& wf, double& lf);

// Implied attention of a whole sequence starting at position 0: A[h][i][j] for keys j <= i, normalized rows:
//   a_ij = wf exp(scale q_i.k_j - m_i)  for i - N < j <= i   (m_i = max of those scores)
//        = lf phi_q(q_i).phi_k(k_j)     for j <= i - N
//   A_ij = a_ij / sum_j a_ij.
// q: (n_tokens, n_heads, head_dim); k: (n_tokens, n_kv, head_dim). Returns (n_heads, n_tokens, n_tokens).
std::vector<double> linear_mixer_attention(std::span<const float> q, std::span<const float> k,
                                           const LinearMixerDims& d, const LinearMixerParams& p, int n_tokens);

// out = A v with A from linear_mixer_attention.  v: (n_tokens, n_kv, head_dim); out: (n_tokens, n_heads, head_dim).
void linear_mixer_quadratic(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                            const LinearMixerDims& d, const LinearMixerParams& p, int n_tokens, std::span<float> out);

// Fixed-size recurrent state, laid out like the GPU state (ops/linear_mixer.h):
//   s: (n_state, 2F, head_dim) = sum phi_k(k_j) v_j^T over keys that left the window (j <= n_past - 1 - N)
//   z: (n_state, 2F)           = sum phi_k(k_j) over the same keys
//   ring_k, ring_v: (n_kv, N, head_dim): key/value of position j in slot j % N, for the last N positions.
struct LinearMixerRefState {
  std::vector<double> s, z;
  std::vector<float> ring_k, ring_v;
  int64_t n_past = 0;
};
LinearMixerRefState make_linear_mixer_ref_state(const LinearMixerDims& d);

// Feeds n_tokens tokens one at a time at positions state.n_past.. and advances the state. Per token p:
// the key/value at p - N (ring slot p % N; the token itself when N = 0) enters s and z, the token goes into
// the ring, then out = (sum_window wf e^(s - m) v + lf phi_q.s) / (sum_window wf e^(s - m) + lf phi_q.z).
void linear_mixer_recurrent(LinearMixerRefState& state, std::span<const float> q, std::span<const float> k,
                            std::span<const float> v, const LinearMixerDims& d, const LinearMixerParams& p,
                            int n_tokens, std::span<float> out);

}  // namespace ds::ref
