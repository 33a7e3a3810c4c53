// Top-k with probabilities over logits rows, on the GPU: the logit lens (one row per token: softmax
// normalizer and the top ids with their probabilities) and teacher-student divergence (two rows per token,
// same tokenizer: KL both ways, entropies, top-1 agreement, top-k overlap, p(token), top alternatives).
// Numerically stable (running max / log-sum-exp in F32); vocab up to a few million.
#pragma once
#include <cstddef>
#include <cstdint>

#include "probe/span.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace probe {

// Lens block of a token: [n_top ids (U32)][n_top probabilities (F32)], best first, ties to the lower id.
inline uint32_t lens_block_words(int n_top) { return uint32_t(2 * n_top); }

// logits: F32 [vocab, >= n_tokens]; block t at out + t * lens_block_words(n_top); n_top in 1 .. 16.
// partials: F32 scratch of at least logits_partials(vocab, n_tokens, n_top, false, chunk) elements.
// chunk: ids per pass-1 workgroup (a multiple of 256 up to 2048); 0 = the device's choice (GPU: about 128
// workgroups; CPU device: 2048 ids each).
void logits_top(vk::Recorder& rec, const Tensor& logits, int n_tokens, int n_top, const vk::BufferSlice& index,
                const Span& out, const Tensor& partials, int chunk = 0);

struct DivergenceArgs {
  int topk_overlap = 10;  // k of the top-k overlap, 1 .. 16
  int n_top = 5;          // alternatives listed per model, 1 .. 16
  int chunk = 0;          // ids per pass-1 workgroup, as for logits_top (0 = the device's choice)
};

// Divergence block of a token (words):
//   [0] KL(teacher || student)  [1] KL(student || teacher)  (nats)   [2] top-1 agree (1.0 / 0.0)
//   [3] |top-k(teacher) ∩ top-k(student)| / k                         [4] entropy teacher [5] entropy student
//   [6] teacher top-1 id (U32)   [7] student top-1 id (U32)            [8] p_teacher(token) [9] p_student(token)
//   [10] token (I32; p = 0 when outside the vocabulary)                [11] 0
//   [12 ...] teacher ids, teacher probs, student ids, student probs (n_top each)
inline uint32_t divergence_block_words(int n_top) { return uint32_t(12 + 4 * n_top); }

// teacher, student: F32 [vocab, >= n_tokens]; tokens: I32 [>= n_tokens] (the token emitted at each row);
// block t at out + t * divergence_block_words(n_top). partials: logits_partials(vocab, n_tokens, K, true,
// args.chunk) with K = max(topk_overlap, n_top).
void divergence(vk::Recorder& rec, const Tensor& teacher, const Tensor& student, const Tensor& tokens, int n_tokens,
                const DivergenceArgs& args, const vk::BufferSlice& index, const Span& out, const Tensor& partials);

// F32 elements of pass-1 partials for a list length k (one list, or a pair); chunk 0 = enough for any
// device's choice.
size_t logits_partials(int vocab, int n_tokens, int k, bool pair, int chunk = 0);

}  // namespace probe
}  // namespace ds
