// Byte-level BPE tokenizer training (GPT-2 style): the text is cut into words by a pre-tokenizer rule set
// (text::PreTokenizer, PCRE2; "gpt-2" by default), words become sequences of the 256 byte tokens (GPT-2's
// byte-to-unicode alphabet), and the most frequent adjacent pair (counted over word frequencies) is merged
// into a new token until the vocabulary is full. Ties go to the pair of smaller token ids, words are
// processed in sorted order: the result is deterministic. The TokenizerData feeds Tokenizer::create and
// write_tokenizer_gguf (text/gguf_tokenizer.h).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "distilscope/tokenizer.h"

namespace ds::train {

struct BpeTrainerOptions {
  int vocab_size = 4096;  // 256 byte tokens + merges + special tokens
  std::string pre = "gpt-2";
  // Control tokens appended last; the first is bos and eos (GPT-2's <|endoftext|> convention).
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
  int min_pair_count = 2;  // stop early when the best pair occurs fewer times
};

struct BpeTrainStats {
  size_t words = 0, unique_words = 0, merges = 0;
};

// Throws ds::Error for invalid UTF-8 (naming the byte offset), an unknown pre-tokenizer, or a vocabulary
// too small for the bytes and special tokens.
TokenizerData train_bpe(std::string_view text, const BpeTrainerOptions& options, BpeTrainStats* stats = nullptr);

}  // namespace ds::train
