// ReferenceModel: the llama-family forward pass in plain loops on the CPU, built from the op
// references (ref/*.h) over weights dequantized to f32 straight from the GGUF file. It is the
// yardstick the Vulkan forward pass is tested against (normalized MSE of the logits).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "distilscope/model_config.h"

namespace ds {
class GgufFile;

namespace ref {

class ReferenceModel {
 public:
  ReferenceModel(const GgufFile& f, int n_ctx);
  const ModelConfig& config() const { return c_; }
  // Runs tokens at positions n_past.. and returns their logits, [n_tokens][vocab].
  std::vector<std::vector<float>> forward(std::span<const int32_t> tokens);
  void reset() { n_past_ = 0; }
  int n_past() const { return n_past_; }

 private:
  struct Layer {
    std::vector<float> attn_norm, wq, wk, wv, wo, bq, bk, bv, ffn_norm, w_gate, w_up, w_down;
    std::vector<float> k_cache, v_cache;  // (n_kv, n_ctx, head_dim), F16-rounded like the GPU cache
  };
  ModelConfig c_;
  int n_ctx_;
  int n_past_ = 0;
  std::vector<float> tok_embd_, output_norm_, output_, inv_freq_;
  std::vector<Layer> layers_;
};

}  // namespace ref
}  // namespace ds
