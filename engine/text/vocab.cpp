// Vocab: validation of TokenizerData and the text -> id lookup (see vocab.h).
#include "text/vocab.h"

#include "util/error.h"

namespace ds::text {

Vocab::Vocab(TokenizerData data) : data_(std::move(data)) {
  const size_t n = data_.tokens.size();
  DS_CHECK(n > 0, "[tokenizer] the vocabulary has no tokens");
  DS_CHECK(n < size_t(INT32_MAX), "[tokenizer] vocabulary of ", n, " tokens is too large");
  DS_CHECK(data_.scores.empty() || data_.scores.size() == n, "[tokenizer] scores has ", data_.scores.size(),
           " entries but tokens has ", n, " (expected one score per token)");
  DS_CHECK(data_.types.empty() || data_.types.size() == n, "[tokenizer] token types has ", data_.types.size(),
           " entries but tokens has ", n, " (expected one type per token)");
  for (size_t i = 0; i < data_.types.size(); ++i) {
    auto t = int32_t(data_.types[i]);
    DS_CHECK(t >= 0 && t <= 6, "[tokenizer] token ", i, " has type ", t, " (GGUF token types are 0..6)");
  }
  const std::pair<const char*, int32_t> specials[] = {{"bos", data_.bos}, {"eos", data_.eos}, {"eot", data_.eot},
                                                      {"unk", data_.unk}, {"pad", data_.pad}, {"sep", data_.sep}};
  for (auto [name, id] : specials)
    DS_CHECK(id >= -1 && id < int32_t(n), "[tokenizer] ", name, " token id ", id, " out of range (vocabulary has ",
             n, " tokens)");
  DS_CHECK(!data_.add_bos || data_.bos >= 0, "[tokenizer] add_bos is set but there is no bos token");
  DS_CHECK(!data_.add_eos || data_.eos >= 0, "[tokenizer] add_eos is set but there is no eos token");

  ids_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (data_.tokens[i].empty()) continue;  // an empty token can never be matched
    auto [it, inserted] = ids_.emplace(data_.tokens[i], int32_t(i));
    DS_CHECK(inserted, "[tokenizer] duplicate token '", data_.tokens[i], "' has ids ", it->second, " and ", i);
  }
}

int32_t Vocab::find(std::string_view text) const {
  auto it = ids_.find(text);
  return it == ids_.end() ? -1 : it->second;
}

TokenType Vocab::type(int32_t id) const { return data_.types.empty() ? TokenType::Normal : data_.types[size_t(id)]; }

void Vocab::check_id(int32_t id) const {
  DS_CHECK(id >= 0 && id < size(), "[tokenizer] token id ", id, " out of range (vocabulary has ", size(), " tokens)");
}

int Vocab::byte_token_value(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(text[3]), lo = hex(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace ds::text
