// Public tokenizer API: text <-> token ids for SentencePiece-style ("llama") and byte-level BPE
// ("gpt2") vocabularies, built from a neutral TokenizerData (filled from GGUF metadata or from a
// Hugging Face tokenizer.json: text/hf_tokenizer.h), plus a StreamDecoder that turns ids into whole UTF-8 text.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ds {

class GgufFile;

// Token kinds, numbered as GGUF's tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,      // <unk>
  Control = 3,      // <s>, </s>, <|im_end|>: markup, never produced from plain text
  UserDefined = 4,  // added tokens matched literally in the text (always, like the reference)
  Unused = 5,
  Byte = 6,         // SPM byte fallback <0xXX>
};

// Everything a tokenizer needs, independent of the file it came from. Token texts are the stored
// vocabulary strings (SPM: with U+2581 for spaces; byte-level BPE: GPT-2 byte-to-unicode chars).
struct TokenizerData {
  std::string model;  // "llama" (SentencePiece-style), "gpt2" (byte-level BPE), "bert" (unsupported)
  std::string pre;    // pre-tokenizer rule set for "gpt2" ("default" when the file names none)
  std::vector<std::string> tokens;
  std::vector<float> scores;     // empty (all 0) or one per token; SPM merge priorities
  std::vector<TokenType> types;  // empty (all Normal) or one per token
  std::vector<std::pair<std::string, std::string>> merges;  // BPE merges, rank = position
  int32_t bos = -1, eos = -1, eot = -1, unk = -1, pad = -1, sep = -1;  // -1 = none
  bool add_bos = false;           // encode(add_special) puts bos first
  bool add_eos = false;           // encode(add_special) puts eos last
  bool add_space_prefix = false;  // SPM: a space before text at the start / after a special token
  std::string chat_template;      // Jinja chat template as the file gives it (tokenizer.chat_template), or ""
};

class Tokenizer {
 public:
  // Validates the data (lengths, ids, model and pre-tokenizer names) and builds the lookups.
  // Throws ds::Error naming what is wrong.
  static std::unique_ptr<Tokenizer> create(TokenizerData data);
  // tokenizer_data_from_gguf(file) then create().
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // add_special: bos first when add_bos(), eos last when the vocabulary says add_eos.
  // parse_special: control/unknown token texts in `text` (like "<|im_end|>") become those tokens;
  // user-defined tokens are matched either way. Invalid UTF-8 is encoded byte by byte.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // Raw bytes of one token: SPM's U+2581 becomes a space and <0xXX> its byte; byte-level BPE maps
  // its chars back to bytes; user-defined tokens give their text; control, unknown and unused
  // tokens give "" (they are markup, not text; piece() shows them). May be part of a UTF-8 char.
  std::string token_bytes(int32_t id) const;
  // Concatenated token_bytes; with add_space_prefix the one space that encode() put in front of
  // the text is removed again. The result can end inside a UTF-8 char when the ids do.
  std::string decode(std::span<const int32_t> ids) const;

  int32_t bos() const;
  int32_t eos() const;
  int32_t eot() const;
  int32_t unk() const;
  // eos, eot, and control tokens whose text marks an end of turn (<|eot_id|>, <|im_end|>, <|end|>,
  // </s>, <|endoftext|>, <end_of_turn>, ...).
  bool is_end_of_generation(int32_t id) const;

  int vocab_size() const;
  std::string_view model() const;  // "llama" or "gpt2"
  std::string_view pre() const;    // pre-tokenizer name as given ("default" for SPM)
  bool add_bos() const;
  bool add_eos() const;
  std::string_view piece(int32_t id) const;  // the stored vocabulary string, for display
  TokenType type(int32_t id) const;
  const TokenizerData& data() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Feeds generated ids one at a time and returns only complete UTF-8: bytes of a character split
// over several tokens (byte fallback, byte-level BPE) are held until the character is complete.
// Bytes that can never form a valid character come out as U+FFFD. No leading space is removed.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}
  std::string feed(int32_t id);
  // Whatever is still held (an incomplete character) as U+FFFD; the decoder is then empty.
  std::string flush();
  bool has_pending() const { return !pending_.empty(); }

 private:
  const Tokenizer* tokenizer_;
  std::string pending_;
};

}  // namespace ds
