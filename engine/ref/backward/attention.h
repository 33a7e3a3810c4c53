// Reference training attention (causal softmax, GQA, per sequence, no KV cache), forward and backward in
// the plain materialized form, templates over the scalar (float; double for gradient checks).
// Shapes row-major: q, out, dout, dq (n_seqs, n_tokens, n_heads, head_dim); k, v, dk, dv (n_seqs, n_tokens,
// n_kv, head_dim); lse (n_seqs, n_tokens, n_heads). Query head h reads kv head h / (n_heads / n_kv); token t
// sees tokens 0 .. t of its sequence.
#pragma once
#include <span>

namespace ds::ref {

struct AttentionShape {
  int head_dim, n_heads, n_kv, n_tokens, n_seqs;
  double scale;
};

// out = softmax(scale q k^T, causal) v; lse (may be empty) = log sum_j exp(scale q.k_j) per row.
template <class T>
void attention_forward(std::span<const T> q, std::span<const T> k, std::span<const T> v, std::span<T> out,
                       std::span<T> lse, const AttentionShape& s);

// With P the softmax, dP = dout v^T, dS = P * (dP - rowsum(P * dP)):
// dq = scale dS k,  dk = scale dS^T q,  dv = P^T dout (summed over the query heads of each kv head).
template <class T>
void attention_backward(std::span<const T> q, std::span<const T> k, std::span<const T> v, std::span<const T> dout,
                        std::span<T> dq, std::span<T> dk, std::span<T> dv, const AttentionShape& s);

}  // namespace ds::ref
