// Synthetic llama-family models with random weights, written with the project's own GGUF writer:
// the shapes of real models for benchmarks (e.g. a 1B Llama on the H200) and tiny ones for tests.
// The tokenizer is SentencePiece-style: <unk> <s> </s>, the 256 byte tokens, then filler pieces.
#pragma once
#include <cstdint>
#include <string>

#include "distilscope/model_config.h"
#include "model/dtype.h"

namespace ds {

struct SyntheticSpec {
  ModelConfig config;          // arch, dims, vocab (>= 259), rope, tied_embeddings, qkv_bias
  DType type = DType::F16;     // matrices; norms and biases stay F32
  uint64_t seed = 1;
  float scale = 0.02f;         // weights ~ U(-scale*sqrt3, scale*sqrt3): std = scale
};

// A Llama-shaped config: llama-1B-like by default (16 layers, 2048, 32/8 heads, ffn 8192, vocab 32000, tied).
ModelConfig llama_like(int n_layers = 16, int d_model = 2048, int n_heads = 32, int n_kv = 8, int ffn = 8192,
                       int vocab = 32000);

void write_synthetic_model(const std::string& path, const SyntheticSpec& spec);

}  // namespace ds
