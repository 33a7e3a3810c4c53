// Attention for training: a forward that also saves each row's log-sum-exp, and its backward. Causal
// softmax attention with GQA (query head h reads kv head h / (n_heads / n_kv)) over plain q/k/v tensors of
// whole training sequences (no KV cache); token t of a sequence sees tokens 0 .. t of the same sequence.
// Flash-attention style: probabilities are recomputed from q, k and the saved lse in tiles, never stored,
// so memory is O(T) per head. The backward is split in two deterministic kernels: dq per query block, and
// dk/dv per key block (summing over the heads of its group), so no atomics are needed.
#pragma once
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// q, out: F32 [head_dim, n_heads, n_tokens, n_seqs]; k, v: F32 [head_dim, n_kv, n_tokens, n_seqs];
// lse: F32 [n_heads, n_tokens, n_seqs] = log sum_j exp(scale * q.k_j) of each row (saved for the backward).
void attention_train(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                     const Tensor& out, const Tensor& lse);

// From the forward's q, k, v, out, lse and the output gradient d_out (shape of out): dq (shape of q), dk, dv
// (shape of k), all written (not accumulated).
void attention_backward(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& d_out, float scale, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv);

}  // namespace ops
}  // namespace ds
