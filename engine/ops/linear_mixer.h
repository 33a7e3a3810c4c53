// The `linear` mixer of hybrid students (LoLCATs recipe): the layer's own Q, K, V (RoPE already applied) mixed by
// Hedgehog linear attention with learned feature maps, optionally plus softmax attention over a sliding window of
// the last N tokens, under one normalizer. Fixed-size state per layer (no growth with context); n_past is read
// from the step tensor at run time, so one decode command buffer is replayed for every token.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
class Arena;
}  // namespace vk
namespace ops {

// Sizes of one layer. Query head h reads kv head h / (n_heads / n_kv) (as the teacher), query feature map
// h / (n_heads / n_fm_q) and state head h / (n_heads / n_state); state head s reads kv head s / (n_state / n_kv).
struct LinearMixerShape {
  int head_dim = 0, n_heads = 0, n_kv = 0;
  int n_fm_q = 0;    // query feature maps: n_heads (LoLCATs) or n_kv
  int n_state = 0;   // key feature maps = linear-state heads: n_heads (LoLCATs) or n_kv
  int features = 0;  // F: phi has 2F entries
  int window = 0;    // N: softmax window in tokens (the query's own key included); 0 = pure linear attention
};

// Learned parameters (GGUF names blk.N.lin_fm_q, blk.N.lin_fm_k, blk.N.lin_window_factor; docs/formats.md).
struct LinearMixerWeights {
  Tensor fm_q;           // F32 [F, head_dim, n_fm_q]: y_f = sum_i x_i W[f, i] (LoLCATs layer (h, d, f) as is)
  Tensor fm_k;           // F32 [F, head_dim, n_state]
  Tensor window_factor;  // F32 [n_heads] logits, factor = sigmoid (LoLCATs window_factors); empty = factor 1
};

struct LinearMixerOptions {
  float scale = 0;              // window score scale; 0 = 1 / sqrt(head_dim) (LoLCATs)
  bool affine_factors = false;  // linear factor = 1 - window factor (LoLCATs affine_attention_factors); else 1
};

// Per-layer state (all F32, zeroed by linear_mixer_reset before a sequence):
//   s      [head_dim, 2F, n_state]  sum over keys that left the window of phi_k(k_j) v_j^T
//   z      [2F, n_state]            sum over the same keys of phi_k(k_j)
//   ring_k [head_dim, N, n_kv]      keys of the last N positions, position j in slot j % N (absent when N = 0)
//   ring_v [head_dim, N, n_kv]      values, likewise
struct LinearMixerState {
  Tensor s, z, ring_k, ring_v;
};

struct LinearMixerStateLayout {
  std::array<int64_t, 4> s, z, ring_k, ring_v;  // ring_* are {head_dim, 0, n_kv, 1} when N = 0
  size_t bytes = 0;                             // all four together; independent of the context length
};
LinearMixerStateLayout linear_mixer_state_layout(const LinearMixerShape& shape);

// Allocates the state tensors, named <prefix>.lin_s, .lin_z, .lin_ring_k, .lin_ring_v.
LinearMixerState make_linear_mixer_state(vk::Arena& arena, const LinearMixerShape& shape, const std::string& prefix);

// Zeroes the state (a new sequence: n_past 0).
void linear_mixer_reset(vk::Recorder& rec, const LinearMixerState& state);

// F32 elements of `scratch` for a batch of n_tokens (phi of queries and keys, the linear part's sums).
size_t linear_mixer_scratch_elems(const LinearMixerShape& shape, int n_tokens);

// The shape implied by the tensors (head_dim, heads, maps, F from q, k and the weights; N from the ring).
LinearMixerShape linear_mixer_shape(const Tensor& q, const Tensor& k, const LinearMixerWeights& w, int window);

// out[:, h, t] for tokens at positions n_past + t (n_past = step[0] at run time), and the state advanced by the
// batch. q, out: F32 [head_dim, n_heads, n_tokens]; k, v: F32 [head_dim, n_kv, n_tokens]; step: I32
// {n_past, n_tokens, 0, 0}; `window` must match the state's ring. Token i attends to
//   keys i - N < j <= i  with  wf exp(scale q.k_j - m_i)   (m_i: max over that window)
//   keys j <= i - N      with  lf phi_q(q_i).phi_k(k_j)    (from the state and this batch)
// normalized by the sum of both (ref/linear_mixer.h has the equations). n_tokens == 1 (decode) and n_tokens > 1
// (chunked prefill) run the same kernels; dispatch sizes depend only on shapes and n_tokens.
void linear_mixer(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, const LinearMixerWeights& w,
                  const LinearMixerState& state, const Tensor& step, int window, const Tensor& out,
                  const Tensor& scratch, const LinearMixerOptions& options = {});

// Host: feature-map weights [F, head_dim] (one map; copy it per head, for q and k) that start the way LoLCATs
// starts Hedgehog maps: the identity when F == head_dim (seed unused); otherwise a seeded random semi-orthogonal
// matrix, the nearest thing to an identity: orthonormal rows when F > head_dim (x W keeps dot products),
// orthonormal columns when F < head_dim (a projection onto F random directions).
std::vector<float> linear_mixer_init(int head_dim, int features, uint64_t seed);

}  // namespace ops
}  // namespace ds
