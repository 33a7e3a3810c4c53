// Token sampling on the GPU: greedy argmax (multi-workgroup, the decode hot path) and the full
// stochastic sampler (one workgroup). The host-side driver is run/sampler.h; the CPU reference is ref/sample.h.
//
// Semantics (identical in the reference):
//  * Repetition penalty first, in both modes: every distinct id among the last `repeat_last_n` accepted
//    tokens has its logit l replaced by l * (1/penalty) when l > 0, else by l * penalty (1/penalty is the
//    f32 reciprocal). penalty 1 = off. NaN logits count as -inf.
//  * temperature <= 0: greedy, the argmax of the penalized logits, ties -> lowest id.
//  * otherwise: z = l * (1/temperature); m = max z; weights e = exp(z - m) (so p = e / sum e, and the top
//    token has e = 1 exactly). Filters, each on the full distribution, kept set = tokens passing all three:
//      top-k (k <= 0 or k >= vocab = off): e >= the k-th largest e;
//      top-p (1 = off): e >= c, c the largest value whose tokens {e >= c} carry mass >= top_p * sum e
//        (the smallest high-probability set reaching top_p);
//      min-p (0 = off): p >= min_p * p_max, i.e. e >= min_p.
//    The kept set is {e >= t}, t the largest of the three thresholds: tokens tied with the cut are all kept
//    (top-k may keep more than k). The kept weights are renormalized and the id is chosen by inverse CDF:
//    walking kept ids in increasing order, the first whose running sum exceeds u * (kept sum), u in [0, 1)
//    being the step's uniform number.
#pragma once
#include <cstdint>

#include "ops/push.h"
#include "distilscope/sampling.h"
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}

namespace ops {

// Throws ds::Error naming the offending field and value.
void validate(const SamplerParams& p);
inline bool is_greedy(const SamplerParams& p) { return p.temperature <= 0.0f; }

// The state buffer: SampleStep (shaders/push_constants.h) followed by the penalty mask, in 32-bit words.
int64_t sample_state_words(int64_t vocab);
// SampleStep for params `p` and uniform `u` (use_penalty is set when the penalty is not 1 and the window is on).
push::SampleStep sample_step(const SamplerParams& p, float u);
// Scratch for the greedy path's partial results, in 32-bit words.
int64_t argmax_partial_words(int64_t vocab);

// logits: F32 [vocab] (a single row); state: I32 [sample_state_words(vocab)]; partials: I32
// [argmax_partial_words(vocab)]; token: I32 [1], receives the id. Everything but the logits' values and the
// state's contents is fixed at record time, so the recording can be replayed every step.
void sample_greedy(vk::Recorder& rec, const Tensor& logits, const Tensor& state, const Tensor& partials,
                   const Tensor& token);
void sample_full(vk::Recorder& rec, const Tensor& logits, const Tensor& state, const Tensor& token);

}  // namespace ops
}  // namespace ds
