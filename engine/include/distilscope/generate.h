// generate(): the generation loop over a Session: tokenize, prefill, then decode token by token
// with GPU sampling, streaming complete UTF-8 text to a callback, stopping at end-of-generation
// tokens, stop strings, max_tokens, a full context, or when the callback returns false.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "distilscope/session.h"
#include "distilscope/sampling.h"

namespace ds {

enum class StopReason { MaxTokens, EndOfGeneration, StopString, ContextFull, Cancelled };
const char* stop_reason_name(StopReason r);

struct GenerateOptions {
  int max_tokens = 128;
  SamplerParams sampling;
  std::vector<std::string> stop;  // stop strings (not included in the output)
  bool add_bos = true;            // add the tokenizer's BOS (if it uses one) before the prompt
  bool parse_special = true;      // control tokens written in the prompt (<|im_start|>) are parsed as such
};

struct TokenEvent {
  int32_t id = 0;
  int index = 0;         // 0-based index among generated tokens
  std::string text;      // new complete UTF-8 text released by this token (may be empty)
  double ms = 0;         // wall time of this token (prefill for index 0)
};

struct GenerateStats {
  int prompt_tokens = 0;
  int generated = 0;
  int decode_steps = 0;   // decode passes run (the prefill samples the first token)
  double prefill_ms = 0;  // prompt pass including the first sampled token
  double decode_ms = 0;   // all later tokens
  double prefill_tokens_per_s() const { return prefill_ms > 0 ? prompt_tokens * 1000.0 / prefill_ms : 0; }
  double decode_tokens_per_s() const { return decode_ms > 0 ? decode_steps * 1000.0 / decode_ms : 0; }
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (without the prompt)
  std::string text;             // generated text, stop string removed
  StopReason reason = StopReason::MaxTokens;
  GenerateStats stats;
};

using TokenCallback = std::function<bool(const TokenEvent&)>;  // return false to stop

GenerateResult generate(Session& s, std::string_view prompt, const GenerateOptions& opts, const TokenCallback& cb = {});
// The prompt already tokenized (e.g. by a chat template).
GenerateResult generate_tokens(Session& s, std::span<const int32_t> prompt, const GenerateOptions& opts,
                               const TokenCallback& cb = {});

}  // namespace ds
