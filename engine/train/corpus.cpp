// Corpus pipeline (see corpus.h).
#include "train/corpus.h"

#include <cmath>
#include <cstdio>
#include <numeric>

#include "distilscope/tokenizer.h"
#include "run/sampler.h"
#include "text/unicode.h"
#include "util/error.h"

namespace ds::train {

void validate_utf8(std::string_view text, std::string_view what) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = text::utf8_valid_len(text, i);
    if (n > 0) {
      i += n;
      continue;
    }
    std::string bytes;
    for (size_t j = i; j < std::min(text.size(), i + 4); ++j) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "%s0x%02X", j > i ? " " : "", unsigned(uint8_t(text[j])));
      bytes += hex;
    }
    const char* why = text::utf8_incomplete_tail(text, i) ? " (a character cut off by the end of the text)" : "";
    fail("[corpus] ", what, ": invalid UTF-8 at byte offset ", i, " (bytes ", bytes, ")", why);
  }
}

std::vector<std::string_view> split_documents(std::string_view text, std::string_view separator, size_t min_bytes) {
  DS_CHECK(!separator.empty(), "[corpus] the document separator is empty");
  std::vector<std::string_view> docs;
  size_t start = 0, pos = 0;
  while (start < text.size()) {
    const size_t hit = text.find(separator, pos);
    const size_t end = hit == std::string_view::npos ? text.size() : hit + separator.size();
    if (end - start >= min_bytes || end == text.size()) {
      docs.push_back(text.substr(start, end - start));
      start = end;
    }
    pos = end;
  }
  return docs;
}

std::vector<size_t> seeded_permutation(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  std::iota(p.begin(), p.end(), size_t(0));
  SplitMix64 rng(seed);
  for (size_t i = n; i > 1; --i) std::swap(p[i - 1], p[size_t(rng.next() % i)]);
  return p;
}

DocumentSplit split_train_validation(std::span<const std::string_view> docs, double fraction, uint64_t seed) {
  DS_CHECK(fraction >= 0 && fraction < 1, "[corpus] validation fraction ", fraction, " is not in [0, 1)");
  size_t n_val = size_t(std::llround(fraction * double(docs.size())));
  if (fraction > 0 && n_val == 0 && docs.size() > 1) n_val = 1;
  std::vector<bool> is_val(docs.size(), false);
  const auto perm = seeded_permutation(docs.size(), seed);
  for (size_t i = 0; i < n_val; ++i) is_val[perm[i]] = true;
  DocumentSplit s;
  for (size_t i = 0; i < docs.size(); ++i) (is_val[i] ? s.validation : s.train).push_back(docs[i]);
  return s;
}

PackedSequences pack_sequences(std::span<const int32_t> stream, int seq_len, bool shuffle, uint64_t seed) {
  DS_CHECK(seq_len >= 1, "[corpus] sequence length ", seq_len, " must be at least 1");
  PackedSequences out;
  out.seq_len = seq_len;
  const size_t window = size_t(seq_len) + 1;
  const size_t n = stream.size() >= window ? (stream.size() - 1) / size_t(seq_len) : 0;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  if (shuffle) order = seeded_permutation(n, seed);
  out.tokens.reserve(n * window);
  for (size_t i = 0; i < n; ++i) {
    const size_t src = order[i] * size_t(seq_len);
    out.tokens.insert(out.tokens.end(), stream.begin() + src, stream.begin() + src + window);
  }
  return out;
}

namespace {

std::vector<int32_t> encode_all(std::span<const std::string_view> docs, const Tokenizer& tok, int32_t doc_end) {
  std::vector<int32_t> stream;
  for (std::string_view d : docs) {
    const auto ids = tok.encode(d, /*add_special=*/false, /*parse_special=*/false);
    stream.insert(stream.end(), ids.begin(), ids.end());
    if (doc_end >= 0) stream.push_back(doc_end);
  }
  return stream;
}

}  // namespace

Corpus build_corpus(std::string_view text, const Tokenizer& tokenizer, const CorpusOptions& o) {
  validate_utf8(text, "corpus text");
  DS_CHECK(o.doc_end_token < tokenizer.vocab_size(), "[corpus] document end token ", o.doc_end_token,
           " is outside the vocabulary of ", tokenizer.vocab_size());
  const auto docs = split_documents(text, o.separator, o.min_doc_bytes);
  const DocumentSplit split = split_train_validation(docs, o.validation_fraction, o.seed);
  Corpus c;
  c.train_docs = split.train.size();
  c.validation_docs = split.validation.size();
  const auto train_stream = encode_all(split.train, tokenizer, o.doc_end_token);
  const auto val_stream = encode_all(split.validation, tokenizer, o.doc_end_token);
  c.train_tokens = train_stream.size();
  c.validation_tokens = val_stream.size();
  c.train = pack_sequences(train_stream, o.seq_len, o.shuffle, o.seed + 1);
  c.validation = pack_sequences(val_stream, o.seq_len, o.shuffle, o.seed + 2);
  return c;
}

}  // namespace ds::train
