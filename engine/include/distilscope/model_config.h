// ModelConfig: the hyper-parameters of a decoder-only model as read from its file, independent of
// any device (so `info` works without a GPU). A teacher is a model whose layers are all attention.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ds {

enum class RopeStyle { Interleaved, Neox };  // GGUF llama: interleaved pairs; qwen2 / HF: rotate-half

struct RopeConfig {
  RopeStyle style = RopeStyle::Interleaved;
  float theta = 10000.0f;
  int dims = 0;                    // rotated dims per head (= head_dim for the families we support)
  std::string scaling = "none";    // none | linear | llama3
  float factor = 1.0f;
  float low_freq_factor = 1.0f, high_freq_factor = 4.0f;
  int original_context = 8192;
};

struct ModelConfig {
  std::string arch;        // "llama", "mistral", "qwen2"
  std::string name;
  int n_layers = 0;
  int d_model = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int ffn_dim = 0;
  int vocab = 0;
  int context_train = 0;   // context length the model was trained with (metadata)
  float norm_eps = 1e-5f;
  RopeConfig rope;
  bool tied_embeddings = false;
  bool qkv_bias = false;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

}  // namespace ds
