// Byte-level BPE (tokenizer.ggml.model = "gpt2"): the text is cut into words by the family's
// pre-tokenizer, each word's bytes are mapped to GPT-2's printable byte alphabet, then adjacent
// symbols are merged by merge rank (lowest first, leftmost among equals) until none applies.
#include <queue>
#include <unordered_map>

#include "text/pretokenize.h"
#include "text/unicode.h"
#include "text/vocab.h"
#include "util/error.h"

namespace ds::text {
namespace {

// Unambiguous key of a merge pair (token texts may contain any byte, even a space).
std::string pair_key(std::string_view left, std::string_view right) {
  std::string k;
  k.reserve(left.size() + right.size() + 4);
  auto n = uint32_t(left.size());
  k.append(reinterpret_cast<const char*>(&n), sizeof(n));
  k += left;
  k += right;
  return k;
}

class BpeModel final : public TextModel {
 public:
  explicit BpeModel(const Vocab& vocab) : vocab_(vocab), pre_(vocab.data().pre) {
    const auto& merges = vocab.data().merges;
    DS_CHECK(!merges.empty(), "[tokenizer] byte-level BPE vocabulary has no merges (tokenizer.ggml.merges)");
    ranks_.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) ranks_.emplace(pair_key(merges[i].first, merges[i].second), int(i));
  }

  void encode(std::string_view text, bool /*at_start*/, std::vector<int32_t>& out) const override {
    for (std::string_view word : pre_.split(text)) {
      std::string mapped;
      for (char c : word) mapped += byte_to_unicode(uint8_t(c));
      encode_word(mapped, out);
    }
  }

  std::string normal_token_bytes(int32_t id) const override {
    const std::string& t = vocab_.text(id);
    std::string out;
    for (size_t i = 0; i < t.size();) {
      size_t n = utf8_valid_len(t, i);
      int b = n ? unicode_to_byte(utf8_decode(t, i, n)) : -1;
      if (b >= 0) {
        out += char(b);
      } else {  // not from the byte alphabet: keep the text as it is
        n = n ? n : 1;
        out.append(t, i, n);
      }
      i += n;
    }
    return out;
  }

 private:
  struct Symbol {
    size_t begin, len;
    int prev, next;
  };
  struct Pair {
    int left, right;
    int rank;
    size_t len;
  };
  // Lowest rank first; among equals, the leftmost.
  struct Later {
    bool operator()(const Pair& a, const Pair& b) const {
      return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
  };

  void encode_word(const std::string& w, std::vector<int32_t>& out) const {
    if (pre_.ignore_merges()) {
      if (int32_t id = vocab_.find(w); id >= 0) {
        out.push_back(id);
        return;
      }
    }
    std::vector<Symbol> sym;
    for (size_t i = 0; i < w.size();) {
      size_t n = std::min(utf8_lead_len(uint8_t(w[i])), w.size() - i);
      int idx = int(sym.size());
      sym.push_back({i, n, idx - 1, i + n < w.size() ? idx + 1 : -1});
      i += n;
    }
    const std::string_view s(w);
    std::priority_queue<Pair, std::vector<Pair>, Later> queue;
    auto try_pair = [&](int l, int r) {
      if (l < 0 || r < 0) return;
      const Symbol& a = sym[size_t(l)];
      const Symbol& b = sym[size_t(r)];
      auto it = ranks_.find(pair_key(s.substr(a.begin, a.len), s.substr(b.begin, b.len)));
      if (it != ranks_.end()) queue.push({l, r, it->second, a.len + b.len});
    };
    for (int i = 1; i < int(sym.size()); ++i) try_pair(i - 1, i);

    while (!queue.empty()) {
      Pair p = queue.top();
      queue.pop();
      Symbol& l = sym[size_t(p.left)];
      Symbol& r = sym[size_t(p.right)];
      // Stale when either side was absorbed or changed size since the pair was queued.
      if (l.len == 0 || r.len == 0 || l.next != p.right || l.len + r.len != p.len) continue;
      l.len += r.len;
      r.len = 0;
      l.next = r.next;
      if (r.next >= 0) sym[size_t(r.next)].prev = p.left;
      try_pair(l.prev, p.left);
      try_pair(p.left, l.next);
    }

    for (int i = sym.empty() ? -1 : 0; i >= 0; i = sym[size_t(i)].next)
      emit(s.substr(sym[size_t(i)].begin, sym[size_t(i)].len), out);
  }

  // A final symbol: its token, else one token per byte-alphabet character (else unk).
  void emit(std::string_view piece, std::vector<int32_t>& out) const {
    if (int32_t id = vocab_.find(piece); id >= 0) {
      out.push_back(id);
      return;
    }
    for (size_t i = 0; i < piece.size();) {
      size_t n = std::min(utf8_lead_len(uint8_t(piece[i])), piece.size() - i);
      int32_t id = vocab_.find(piece.substr(i, n));
      if (id < 0) id = vocab_.data().unk;
      if (id >= 0) out.push_back(id);
      i += n;
    }
  }

  const Vocab& vocab_;
  PreTokenizer pre_;
  std::unordered_map<std::string, int> ranks_;  // pair_key(left, right) -> merge rank
};

}  // namespace

std::unique_ptr<TextModel> make_bpe_model(const Vocab& vocab) { return std::make_unique<BpeModel>(vocab); }

}  // namespace ds::text
