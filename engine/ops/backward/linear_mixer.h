// The `linear` mixer for training: a forward over whole sequences from position 0 (no state, no ring) that saves
// what the backward needs, and the backward w.r.t. q, k, v (after RoPE), both feature maps and the window-factor
// logits. Maths in ref/backward/linear_mixer.h. GPU strategy: the attention-matrix form in B x B tiles, like
// attention_train -- the pair weights are recomputed from q, k, the saved phi and the saved per-row max and
// denominator, never stored: O(T^2) work per head (no chunked state scan) and O(T) memory. Saved per token: phi of
// the queries (2F per head) and keys (2F per state head) and 3 floats per query head (max, denominator, argmax).
#pragma once
#include <cstddef>

#include "ops/backward/grad_mode.h"
#include "ops/linear_mixer.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// F32 elements of `saved` (forward -> backward) and of the backward's `scratch`.
size_t linear_mixer_train_saved_elems(const LinearMixerShape& shape, int n_tokens, int n_seqs);
size_t linear_mixer_backward_scratch_elems(const LinearMixerShape& shape, int n_tokens, int n_seqs);

// out = the mixer over n_seqs sequences of n_tokens, each from position 0 (ops::linear_mixer's maths with a
// fresh state). q, out: F32 [head_dim, n_heads, n_tokens, n_seqs]; k, v: F32 [head_dim, n_kv, n_tokens, n_seqs];
// w, window, options as for ops::linear_mixer; saved: F32, linear_mixer_train_saved_elems.
void linear_mixer_train(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v,
                        const LinearMixerWeights& w, int window, const Tensor& out, const Tensor& saved,
                        const LinearMixerOptions& options = {});

// From the forward's q, k, v, out and saved, and d_out (shape of out): dq, dk, dv (shapes of q, k, v; = or +=
// by mode.accumulate_input), and the parameter gradients dw.fm_q, dw.fm_k (shapes of w.fm_q, w.fm_k) and
// dw.window_factor ([n_heads], only where w has logits; 0 when window = 0), each may be empty (not wanted), = or
// += by mode.accumulate_params. scratch: F32, linear_mixer_backward_scratch_elems. Deterministic (no atomics).
void linear_mixer_backward(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v,
                           const LinearMixerWeights& w, int window, const Tensor& out, const Tensor& saved,
                           const Tensor& d_out, const Tensor& dq, const Tensor& dk, const Tensor& dv,
                           const LinearMixerWeights& dw, const Tensor& scratch, const LinearMixerOptions& options = {},
                           const GradMode& mode = {});

}  // namespace ops
}  // namespace ds
