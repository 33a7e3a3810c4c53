// Reference probes (plain loops, double accumulation): attention rows, activation statistics, logit top-k
// with probabilities, teacher-student divergence, cosine and Jensen-Shannon. Ties in top-k lists go to
// the lower id, as on the GPU.
#pragma once
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "distilscope/snapshots.h"

namespace ds::ref {

// Softmax probabilities of query heads `heads` over positions 0 .. n_past + t (t < n_queries), stored for
// positions < max_keys (0 past n_past + t). q: (n_tokens, n_heads, head_dim); k_cache: (n_kv, n_ctx,
// head_dim), F16-rounded values. Returns (heads.size(), n_queries, max_keys).
std::vector<float> attention_rows(std::span<const float> q, std::span<const float> k_cache,
                                  const std::vector<int>& heads, int head_dim, int n_heads, int n_kv, int n_ctx,
                                  int n_past, int n_queries, int max_keys, float scale);

struct ActivationStats {
  float norm = 0;
  std::vector<std::pair<int, float>> top;  // (channel, value) by |value|, largest first
  std::vector<uint32_t> histogram;         // bin = floor((x - lo) * (bins / (hi - lo))) in F32, clamped
};
// x: (d)
ActivationStats activation_stats(std::span<const float> x, int top_k, int bins, float lo, float hi);

// The n_top most likely ids of a logits row (vocab) with their softmax probabilities.
std::vector<std::pair<int32_t, float>> logits_top(std::span<const float> logits, int n_top);

// Divergence of one token (teacher, student: (vocab)); fills the scalar fields and the top lists of
// TokenDivergence (not layer_cosine / layer_attn_js). topk_overlap counts ids common to both top-k.
TokenDivergence divergence(std::span<const float> teacher, std::span<const float> student, int32_t token,
                           int topk_overlap, int n_top);

double cosine(std::span<const float> a, std::span<const float> b);  // 0 when either is all zero
double js_divergence(std::span<const float> p, std::span<const float> q);  // natural log, in [0, ln 2]

}  // namespace ds::ref
