// Hugging Face tokenizer files <-> TokenizerData. tokenizer.json: byte-level BPE as the Llama-3, Mistral
// (Tekken) and Qwen2 families write it (model BPE; pre_tokenizer ByteLevel, or Split regexes then ByteLevel;
// ByteLevel decoder; normalizer null or NFC; added_tokens), the regexes mapped onto the engine's named rule
// sets (text/pretokenize.h). tokenizer_config.json: bos/eos/unk/pad tokens, add_bos_token / add_eos_token,
// chat_template. The Tokenizer engine does the rest (Tokenizer::create). SentencePiece-style tokenizer.json
// files (BPE with byte_fallback, Metaspace) are reported as unsupported.
#pragma once
#include <string>

#include "distilscope/tokenizer.h"
#include "util/json_parse.h"

namespace ds {

// tokenizer.json (required) and tokenizer_config.json (may be null). Errors name the file and key path.
TokenizerData parse_hf_tokenizer(const JsonRef& tokenizer, const JsonRef* config);
// Paths; config_path may be empty.
TokenizerData read_hf_tokenizer(const std::string& tokenizer_path, const std::string& config_path);

// Writes `d` in those two forms (byte-level BPE vocabularies only: throws for SentencePiece-style ones).
std::string hf_tokenizer_json(const TokenizerData& d);
std::string hf_tokenizer_config_json(const TokenizerData& d);

}  // namespace ds
