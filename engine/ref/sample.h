// Reference token sampling (plain loops), the semantics documented in ops/sample.h.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "ops/sample.h"

namespace ds::ref {

// logits: [vocab]; recent: accepted ids, oldest first (only the last p.repeat_last_n count).
// The distribution sampling draws from: kept and renormalized probabilities, [vocab], zero for removed ids;
// one-hot at the argmax when greedy.
std::vector<double> sample_probs(std::span<const float> logits, std::span<const int32_t> recent,
                                 const SamplerParams& p);
// The id chosen with uniform u in [0, 1).
int32_t sample(std::span<const float> logits, std::span<const int32_t> recent, const SamplerParams& p, float u);

}  // namespace ds::ref
