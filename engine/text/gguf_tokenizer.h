// Reading a tokenizer from GGUF metadata (the tokenizer.ggml.* keys) into the neutral
// TokenizerData, with the defaults the reference engine applies when a key is absent; and writing
// TokenizerData back as those keys (for self-trained tokenizers).
#pragma once
#include "distilscope/tokenizer.h"
#include "model/gguf.h"

namespace ds {

// Throws ds::Error naming the file and key when the tokenizer keys are missing or malformed.
TokenizerData tokenizer_data_from_gguf(const GgufFile& file);

// Sets the tokenizer.ggml.* keys (model, pre, tokens, scores and token_type when present, merges as
// "left right", every special id (0xFFFFFFFF for none, so reading applies no family default),
// add_bos/add_eos/add_space_prefix, tokenizer.chat_template when set) so that reading the file back gives
// `data` again.
void write_tokenizer_gguf(GgufWriter& writer, const TokenizerData& data);

}  // namespace ds
