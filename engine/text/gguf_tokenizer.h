// Reading a tokenizer from GGUF metadata (the tokenizer.ggml.* keys) into the neutral
// TokenizerData, with the defaults the reference engine applies when a key is absent.
#pragma once
#include "distilscope/tokenizer.h"
#include "model/gguf.h"

namespace ds {

// Throws ds::Error naming the file and key when the tokenizer keys are missing or malformed.
TokenizerData tokenizer_data_from_gguf(const GgufFile& file);

}  // namespace ds
