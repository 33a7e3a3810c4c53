// Synthetic llama-family models and hybrid students with random weights, written with the project's own GGUF
// writer: the shapes of real models for benchmarks (e.g. a 1B Llama and its 50%/75% hybrids on the H200) and
// tiny ones for tests. Mixer layers get sensible random parameters (Mamba: initialized from random attention
// weights as `linearize` would; linear: perturbed identity feature maps).
// The tokenizer is SentencePiece-style (<unk> <s> </s>, the 256 byte tokens, then filler pieces), or with
// byte_level_tokenizer a small byte-level BPE (llama3 rules; exportable to tokenizer.json).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "distilscope/model_config.h"
#include "model/dtype.h"

namespace ds {

struct SyntheticSpec {
  ModelConfig config;          // arch, dims, vocab (>= 300), rope, tied_embeddings, qkv_bias, hybrid layout
  DType type = DType::F16;     // matrices; norms, biases and mixer parameters stay F32
  uint64_t seed = 1;
  float scale = 0.02f;         // weights ~ U(-scale*sqrt3, scale*sqrt3): std = scale
  bool byte_level_tokenizer = false;
};

// A Llama-shaped config: llama-1B-like by default (16 layers, 2048, 32/8 heads, ffn 8192, vocab 32000, tied).
ModelConfig llama_like(int n_layers = 16, int d_model = 2048, int n_heads = 32, int n_kv = 8, int ffn = 8192,
                       int vocab = 32000);

// Makes c a hybrid with this layout (one kind per layer) and the mixer hyper-parameters `linearize` uses:
// Mamba d_inner = q width, d_xb = kv width, d_state, dt_rank = ceil(d_model / 16); linear F = head_dim,
// window N, one feature map per query head.
void set_hybrid_layout(ModelConfig& c, const std::vector<LayerKind>& layout, int d_state = 16, int window = 64);
// A layout with round(fraction * n_layers) layers of `mixer`, spread evenly (mixer k at layer
// floor((k + 1/2) n_layers / n_mixers)): e.g. 8 layers, 0.5 -> AMAMAMAM; 0.75 -> MAMMMAMM.
std::vector<LayerKind> spread_layout(int n_layers, LayerKind mixer, double fraction);

void write_synthetic_model(const std::string& path, const SyntheticSpec& spec);

}  // namespace ds
