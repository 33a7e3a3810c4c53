// Reading a tokenizer from GGUF metadata (the tokenizer.ggml.* keys) into the neutral
// TokenizerData, with the defaults the reference engine applies when a key is absent; and writing it back.
#pragma once
#include "distilscope/tokenizer.h"
#include "model/gguf.h"

namespace ds {

// Throws ds::Error naming the file and key when the tokenizer keys are missing or malformed.
TokenizerData tokenizer_data_from_gguf(const GgufFile& file);

// The tokenizer.ggml.* keys (and tokenizer.chat_template) for `d`, as tokenizer_data_from_gguf reads them.
void write_tokenizer_gguf(GgufWriter& w, const TokenizerData& d);

}  // namespace ds
