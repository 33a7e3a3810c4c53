// Attention-row capture: for chosen query heads, the softmax probabilities of each query token over cache
// positions 0 .. n_past + t, recomputed from the post-RoPE q and the layer's F16 K cache (the attention op
// is not touched, so the model's output cannot change). n_past is read from the step tensor on the GPU.
#pragma once
#include <cstddef>
#include <vector>

#include "probe/span.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace probe {

struct AttentionRowsArgs {
  std::vector<int> heads;  // captured query heads, ascending (model of at most 128 heads)
  int max_keys = 2048;     // keys stored per row = the row stride; positions >= max_keys are not stored
                           // but still count toward the softmax normalizer
  int n_queries = 1;       // captured query tokens: the first n_queries of the batch
  int query_stride = 1;    // rows per captured head in the output (>= n_queries)
  float scale = 0;         // 1 / sqrt(head_dim)
};

// out row (i, t) (F32, max_keys words) at out + (i * query_stride + t) * max_keys: probabilities of head
// heads[i], query t over keys [0, max_keys); 0 at positions past n_past + t. q: F32 [head_dim, n_heads,
// n_tokens] (post-RoPE); k_cache: F16 [head_dim, n_ctx, n_kv], head h reads kv head h / (n_heads / n_kv);
// step: I32 {n_past, n_tokens, ...}; index: the frame-index buffer; partials: F32 scratch of at least
// attention_rows_partials() elements. Two dispatches (scores + chunk partials, then normalization).
void attention_rows(vk::Recorder& rec, const Tensor& q, const Tensor& k_cache, const Tensor& step,
                    const vk::BufferSlice& index, const AttentionRowsArgs& args, const Span& out,
                    const Tensor& partials);

size_t attention_rows_partials(int n_captured_heads, int n_queries, int n_ctx, int max_keys);

}  // namespace probe
}  // namespace ds
