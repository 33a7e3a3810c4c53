// SamplerParams: how the next token is chosen (the semantics are in engine/ops/sample.h). Public, so a
// UI can keep per-model sampling settings without including engine internals.
#pragma once
#include <cstdint>

namespace ds {

struct SamplerParams {
  float temperature = 0.8f;  // <= 0: greedy
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // in (0, 1]; 1: off
  float min_p = 0.05f;       // in [0, 1); 0: off
  float repeat_penalty = 1.0f;  // > 0; 1: off
  int repeat_last_n = 64;       // >= 0; window of accepted tokens the penalty looks at (0: off)
  uint64_t seed = 0;
};

}  // namespace ds
