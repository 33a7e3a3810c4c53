// Training corpus from UTF-8 text: validation (errors name the byte offset), documents (pieces cut at a
// separator, merged up to a minimum size), a seeded train/validation split of whole documents, tokenization,
// and packing into fixed-length sequences in a seeded shuffled order. Every step is deterministic: the same
// text, tokenizer and options give the same sequences on every machine (own Fisher-Yates over SplitMix64,
// no std::shuffle).
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ds {
class Tokenizer;
namespace train {

// Throws ds::Error "[corpus] <what>: invalid UTF-8 at byte offset N (byte 0xXX ...)" at the first bad byte.
void validate_utf8(std::string_view text, std::string_view what);

// Cuts text after every `separator` (kept at the end of its piece), then merges consecutive pieces until
// each document has at least min_bytes (the last may be shorter). Views into `text`; none empty.
std::vector<std::string_view> split_documents(std::string_view text, std::string_view separator, size_t min_bytes);

// Seeded permutation of 0..n-1 (Fisher-Yates over SplitMix64).
std::vector<size_t> seeded_permutation(size_t n, uint64_t seed);

struct DocumentSplit {
  std::vector<std::string_view> train, validation;  // each in the text's order
};
// round(fraction * n) documents (at least one when fraction > 0 and n > 1) chosen by a seeded permutation go
// to validation, the rest to train.
DocumentSplit split_train_validation(std::span<const std::string_view> docs, double fraction, uint64_t seed);

// Fixed-length training sequences: sequence i is tokens[i * (seq_len + 1) ...] of length seq_len + 1; the
// model reads the first seq_len tokens and predicts the last seq_len (inputs(i), targets(i)).
struct PackedSequences {
  int seq_len = 0;
  std::vector<int32_t> tokens;
  size_t size() const { return seq_len ? tokens.size() / size_t(seq_len + 1) : 0; }
  std::span<const int32_t> inputs(size_t i) const { return {tokens.data() + i * size_t(seq_len + 1), size_t(seq_len)}; }
  std::span<const int32_t> targets(size_t i) const {
    return {tokens.data() + i * size_t(seq_len + 1) + 1, size_t(seq_len)};
  }
};

// Cuts the token stream into windows of seq_len + 1 tokens with stride seq_len (each token is a target
// once; the incomplete tail is dropped), in a seeded shuffled order when shuffle.
PackedSequences pack_sequences(std::span<const int32_t> stream, int seq_len, bool shuffle, uint64_t seed);

struct CorpusOptions {
  std::string_view separator = "\n";  // document boundary
  size_t min_doc_bytes = 4096;        // documents are merged up to this size before the split
  double validation_fraction = 0.05;
  int seq_len = 256;
  uint64_t seed = 1;
  bool shuffle = true;         // shuffle the packed sequences (each split with its own seed)
  int32_t doc_end_token = -1;  // appended after every document's tokens (e.g. eos); -1: none
};

struct Corpus {
  PackedSequences train, validation;
  size_t train_docs = 0, validation_docs = 0;
  size_t train_tokens = 0, validation_tokens = 0;  // before packing
};

// validate_utf8, split_documents, split_train_validation, encode each document (no specials), pack both splits.
Corpus build_corpus(std::string_view text, const Tokenizer& tokenizer, const CorpusOptions& options);

}  // namespace train
}  // namespace ds
