// Byte-level BPE training (see bpe_trainer.h): word counts, pair counts with an index from pair to the
// words holding it, and a max-heap of (count, pair) with lazy invalidation; a merge rewrites only the
// words that hold the pair and applies the pair-count changes it caused.
#include "train/bpe_trainer.h"

#include <algorithm>
#include <map>
#include <queue>
#include <unordered_map>

#include "text/pretokenize.h"
#include "text/unicode.h"
#include "train/corpus.h"
#include "util/error.h"

namespace ds::train {
namespace {

using PairKey = uint64_t;  // left id << 32 | right id
PairKey key_of(int32_t a, int32_t b) { return uint64_t(uint32_t(a)) << 32 | uint32_t(b); }

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

struct HeapEntry {
  int64_t count;
  PairKey key;
  bool operator<(const HeapEntry& o) const {  // top = highest count, then smallest key
    return count < o.count || (count == o.count && key > o.key);
  }
};

class Trainer {
 public:
  explicit Trainer(std::vector<Word> words) : words_(std::move(words)) {
    for (uint32_t w = 0; w < words_.size(); ++w) add_pairs(w, +1);
    for (auto& [k, c] : counts_) heap_.push({c, k});
  }

  // The most frequent pair with at least min_count occurrences, or false.
  bool best(int64_t min_count, PairKey& key) {
    while (!heap_.empty()) {
      HeapEntry e = heap_.top();
      auto it = counts_.find(e.key);
      if (it == counts_.end() || it->second != e.count) {
        heap_.pop();  // stale
        continue;
      }
      if (e.count < min_count) return false;
      key = e.key;
      return true;
    }
    return false;
  }

  void merge(PairKey key, int32_t new_id) {
    const int32_t a = int32_t(key >> 32), b = int32_t(key & 0xffffffffu);
    std::vector<uint32_t> affected = std::move(where_[key]);
    where_.erase(key);
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    delta_.clear();
    for (uint32_t w : affected) {
      std::vector<int32_t>& s = words_[w].symbols;
      bool found = false;
      for (size_t i = 0; i + 1 < s.size() && !found; ++i) found = s[i] == a && s[i + 1] == b;
      if (!found) continue;
      add_pairs(w, -1);
      std::vector<int32_t> merged;
      merged.reserve(s.size());
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          merged.push_back(new_id);
          ++i;
        } else {
          merged.push_back(s[i]);
        }
      }
      s = std::move(merged);
      add_pairs(w, +1);
    }
    for (auto& [k, d] : delta_) {
      if (d == 0) continue;
      const int64_t c = counts_[k];
      if (c <= 0) {
        counts_.erase(k);
      } else {
        heap_.push({c, k});
      }
    }
  }

 private:
  // Adds (sign +1) or removes (-1) the pair occurrences of word w.
  void add_pairs(uint32_t w, int sign) {
    const Word& word = words_[w];
    for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const PairKey k = key_of(word.symbols[i], word.symbols[i + 1]);
      counts_[k] += sign * word.count;
      delta_[k] += sign * word.count;
      if (sign > 0) where_[k].push_back(w);
    }
  }

  std::vector<Word> words_;
  std::unordered_map<PairKey, int64_t> counts_, delta_;
  std::unordered_map<PairKey, std::vector<uint32_t>> where_;  // may hold stale or repeated word indices
  std::priority_queue<HeapEntry> heap_;
};

}  // namespace

TokenizerData train_bpe(std::string_view text, const BpeTrainerOptions& o, BpeTrainStats* stats) {
  validate_utf8(text, "tokenizer training text");
  const int n_special = int(o.special_tokens.size());
  DS_CHECK(o.vocab_size >= 256 + n_special, "[bpe_trainer] vocabulary of ", o.vocab_size,
           " tokens cannot hold the 256 byte tokens and ", n_special, " special tokens");
  const text::PreTokenizer pre(o.pre);

  // Unique words (sorted, so ids and ties do not depend on hashing) with their counts.
  std::map<std::string_view, int64_t> word_counts;
  size_t n_words = 0;
  for (std::string_view w : pre.split(text)) {
    ++word_counts[w];
    ++n_words;
  }
  std::vector<Word> words;
  words.reserve(word_counts.size());
  for (auto& [w, c] : word_counts) {
    Word word{{}, c};
    for (char ch : w) word.symbols.push_back(int32_t(uint8_t(ch)));
    words.push_back(std::move(word));
  }

  TokenizerData d;
  d.model = "gpt2";
  d.pre = o.pre;
  for (int b = 0; b < 256; ++b) d.tokens.push_back(text::byte_to_unicode(uint8_t(b)));
  Trainer trainer(std::move(words));
  const int n_merges = o.vocab_size - 256 - n_special;
  PairKey key;
  while (int(d.merges.size()) < n_merges && trainer.best(o.min_pair_count, key)) {
    const std::string& left = d.tokens[size_t(key >> 32)];
    const std::string& right = d.tokens[size_t(key & 0xffffffffu)];
    d.merges.emplace_back(left, right);
    d.tokens.push_back(left + right);
    trainer.merge(key, int32_t(d.tokens.size() - 1));
  }
  d.types.assign(d.tokens.size(), TokenType::Normal);
  for (const std::string& s : o.special_tokens) {
    d.tokens.push_back(s);
    d.types.push_back(TokenType::Control);
  }
  if (n_special > 0) d.bos = d.eos = int32_t(d.tokens.size()) - n_special;
  if (stats) *stats = {n_words, word_counts.size(), d.merges.size()};
  return d;
}

}  // namespace ds::train
