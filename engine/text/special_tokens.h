// Splitting special-token texts (control "<|im_end|>", user-defined added tokens) out of the input
// before the tokenizer algorithm sees it, longest token text first, like the reference engine.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "text/vocab.h"

namespace ds::text {

struct Fragment {
  std::string_view text;  // raw text (token < 0) or the matched special text
  int32_t token = -1;     // the special token, or -1 for raw text
};

// Ids of the tokens of the given types, ordered by text length, longest first (stable by id).
std::vector<int32_t> special_tokens_longest_first(const Vocab& vocab, std::span<const TokenType> types);

// Cuts `text` at every occurrence of the given tokens' texts (in the given order: a longer token
// claims its text before a shorter one can). Raw fragments are never empty.
std::vector<Fragment> split_special_tokens(std::string_view text, std::span<const int32_t> specials,
                                           const Vocab& vocab);

}  // namespace ds::text
