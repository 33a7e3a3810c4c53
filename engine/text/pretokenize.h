// Pre-tokenization for byte-level BPE: the text is cut into words by each model family's regex
// sequence (chosen by tokenizer.ggml.pre), compiled with PCRE2 in UTF + Unicode-property mode.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ds::text {

class PreTokenizer {
 public:
  // Throws ds::Error for a name it does not know, listing the supported names.
  explicit PreTokenizer(std::string_view name);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Applies the regexes in order; each one cuts every piece further into its matches and the
  // text between them (nothing is dropped, so the pieces concatenate back to `text`). Bytes that
  // are not valid UTF-8 become one-byte pieces and are left alone by the regexes.
  std::vector<std::string_view> split(std::string_view text) const;

  // A word that is itself in the vocabulary is taken whole, without merges (llama-3 style).
  bool ignore_merges() const { return ignore_merges_; }

  static bool is_supported(std::string_view name);
  static std::string supported_names();  // "default, gpt-2, ..." for error messages
  // Whether this family's models want BOS by default (when the file does not say).
  static bool default_add_bos(std::string_view name);
  // The rule set's regexes in order (for writing a tokenizer.json); throws for an unknown name.
  static std::vector<std::string> regexes_of(std::string_view name);
  static bool ignore_merges_of(std::string_view name);
  // The first rule-set name whose regexes are exactly `regexes` (in order) and whose ignore_merges is
  // `ignore_merges`, or "" (reading a tokenizer.json's Split patterns).
  static std::string name_for(const std::vector<std::string>& regexes, bool ignore_merges);

 private:
  struct Regex;
  std::vector<std::unique_ptr<Regex>> regexes_;
  bool ignore_merges_ = false;
};

}  // namespace ds::text
