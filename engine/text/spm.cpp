// SentencePiece-style tokenizer (tokenizer.ggml.model = "llama"): spaces become U+2581, a space is
// put in front of the text (add_space_prefix), then adjacent pieces are merged greedily, best
// vocabulary score first, starting from single UTF-8 characters. Pieces that are not tokens at
// the end fall back to byte tokens <0xXX>. This follows the widely used reference engine's
// SPM tokenizer so that ids match its test vectors exactly.
#include <queue>

#include "text/unicode.h"
#include "text/vocab.h"

namespace ds::text {
namespace {

class SpmModel final : public TextModel {
 public:
  explicit SpmModel(const Vocab& vocab) : vocab_(vocab) {}

  void encode(std::string_view text, bool at_start, std::vector<int32_t>& out) const override {
    std::string escaped;
    if (vocab_.data().add_space_prefix && at_start) escaped += k_spm_space;
    for (char c : text) {
      if (c == ' ')
        escaped += k_spm_space;
      else
        escaped += c;
    }
    merge(escaped, out);
  }

  std::string normal_token_bytes(int32_t id) const override {
    const std::string& t = vocab_.text(id);
    std::string out;
    for (size_t i = 0; i < t.size();) {
      if (t.compare(i, k_spm_space.size(), k_spm_space) == 0) {
        out += ' ';
        i += k_spm_space.size();
      } else {
        out += t[i++];
      }
    }
    return out;
  }

 private:
  // A run of the text; merged symbols grow to the right, absorbed ones get len 0.
  struct Symbol {
    size_t begin, len;
    int prev, next;  // neighbours in the live chain, -1 at the ends
  };
  // A candidate merge of two neighbours whose concatenation is a token.
  struct Pair {
    int left, right;
    float score;
    size_t len;  // bytes of the merged text, to spot pairs made stale by other merges
  };
  // Highest score first; among equals, the leftmost.
  struct Lower {
    bool operator()(const Pair& a, const Pair& b) const {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };

  void merge(const std::string& s, std::vector<int32_t>& out) const {
    std::vector<Symbol> sym;
    for (size_t i = 0; i < s.size();) {
      size_t n = std::min(utf8_lead_len(uint8_t(s[i])), s.size() - i);
      int idx = int(sym.size());
      sym.push_back({i, n, idx - 1, i + n < s.size() ? idx + 1 : -1});
      i += n;
    }
    std::priority_queue<Pair, std::vector<Pair>, Lower> queue;
    auto try_pair = [&](int l, int r) {
      if (l < 0 || r < 0) return;
      size_t len = sym[size_t(l)].len + sym[size_t(r)].len;
      int32_t id = vocab_.find(std::string_view(s).substr(sym[size_t(l)].begin, len));
      if (id >= 0) queue.push({l, r, vocab_.score(id), len});
    };
    for (int i = 1; i < int(sym.size()); ++i) try_pair(i - 1, i);

    while (!queue.empty()) {
      Pair p = queue.top();
      queue.pop();
      Symbol& l = sym[size_t(p.left)];
      Symbol& r = sym[size_t(p.right)];
      if (l.len == 0 || r.len == 0 || l.len + r.len != p.len) continue;  // stale
      l.len += r.len;
      r.len = 0;
      l.next = r.next;
      if (r.next >= 0) sym[size_t(r.next)].prev = p.left;
      try_pair(l.prev, p.left);
      try_pair(p.left, l.next);
    }

    for (int i = sym.empty() ? -1 : 0; i >= 0; i = sym[size_t(i)].next)
      emit(std::string_view(s).substr(sym[size_t(i)].begin, sym[size_t(i)].len), out);
  }

  // A final piece: its token, or one byte token per byte.
  void emit(std::string_view piece, std::vector<int32_t>& out) const {
    if (int32_t id = vocab_.find(piece); id >= 0) {
      out.push_back(id);
      return;
    }
    static constexpr char hex[] = "0123456789ABCDEF";
    for (char c : piece) {
      auto b = uint8_t(c);
      const char name[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
      int32_t id = vocab_.find(std::string_view(name, 6));
      if (id < 0) id = vocab_.find(std::string_view(&c, 1));  // vocabularies without byte tokens
      if (id < 0) id = vocab_.data().unk;
      if (id >= 0) out.push_back(id);
    }
  }

  const Vocab& vocab_;
};

}  // namespace

std::unique_ptr<TextModel> make_spm_model(const Vocab& vocab) { return std::make_unique<SpmModel>(vocab); }

}  // namespace ds::text
