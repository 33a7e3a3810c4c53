// Special-token splitting (see special_tokens.h).
#include "text/special_tokens.h"

#include <algorithm>

namespace ds::text {

std::vector<int32_t> special_tokens_longest_first(const Vocab& vocab, std::span<const TokenType> types) {
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < vocab.size(); ++id)
    if (!vocab.text(id).empty() && std::find(types.begin(), types.end(), vocab.type(id)) != types.end())
      ids.push_back(id);
  std::stable_sort(ids.begin(), ids.end(),
                   [&](int32_t a, int32_t b) { return vocab.text(a).size() > vocab.text(b).size(); });
  return ids;
}

std::vector<Fragment> split_special_tokens(std::string_view text, std::span<const int32_t> specials,
                                           const Vocab& vocab) {
  std::vector<Fragment> frags;
  if (!text.empty()) frags.push_back({text, -1});
  for (int32_t id : specials) {
    const std::string& needle = vocab.text(id);
    std::vector<Fragment> next;
    for (const Fragment& f : frags) {
      if (f.token >= 0 || f.text.size() < needle.size()) {
        next.push_back(f);
        continue;
      }
      std::string_view rest = f.text;
      for (size_t at; (at = rest.find(needle)) != std::string_view::npos;) {
        if (at > 0) next.push_back({rest.substr(0, at), -1});
        next.push_back({rest.substr(at, needle.size()), id});
        rest.remove_prefix(at + needle.size());
      }
      if (!rest.empty()) next.push_back({rest, -1});
    }
    frags = std::move(next);
  }
  return frags;
}

}  // namespace ds::text
