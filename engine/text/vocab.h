// Internal pieces shared by the tokenizer algorithms: Vocab (validated TokenizerData plus the
// text -> id lookup) and TextModel, the interface each algorithm (SPM, BPE) implements over text
// fragments from which special tokens have already been split out.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "distilscope/tokenizer.h"

namespace ds::text {

class Vocab {
 public:
  // Checks lengths (scores, types vs tokens), special ids and duplicates; throws ds::Error.
  explicit Vocab(TokenizerData data);

  const TokenizerData& data() const { return data_; }
  int32_t size() const { return int32_t(data_.tokens.size()); }
  int32_t find(std::string_view text) const;  // -1 when no token has this text
  const std::string& text(int32_t id) const { return data_.tokens[size_t(id)]; }
  TokenType type(int32_t id) const;
  float score(int32_t id) const { return data_.scores.empty() ? 0.0f : data_.scores[size_t(id)]; }
  // Throws "[tokenizer] token id N out of range (vocabulary has M tokens)".
  void check_id(int32_t id) const;
  // Byte value of a <0xXX> token, or -1 when the text is not of that form.
  static int byte_token_value(std::string_view text);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  TokenizerData data_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
};

class TextModel {
 public:
  virtual ~TextModel() = default;
  // Appends the ids of `text`. `at_start`: the text begins the input or follows a special token.
  virtual void encode(std::string_view text, bool at_start, std::vector<int32_t>& out) const = 0;
  // Bytes of a Normal (or Undefined) token: the vocabulary string decoded.
  virtual std::string normal_token_bytes(int32_t id) const = 0;
};

std::unique_ptr<TextModel> make_spm_model(const Vocab& vocab);
std::unique_ptr<TextModel> make_bpe_model(const Vocab& vocab);

}  // namespace ds::text
