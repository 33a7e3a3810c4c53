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

  // Probe references over the last forward(): the attention probabilities of query heads `heads` of its
  // tokens over positions [0, max_keys), (heads, n_tokens, max_keys) as ref::attention_rows; and the
  // residual stream after a layer, (n_tokens, d_model).
  std::vector<float> attention_rows(int layer, const std::vector<int>& heads, int max_keys) const;
  const std::vector<float>& residual(int layer) const { return layers_[size_t(layer)].last_x; }

 private:
  struct Layer {
    std::vector<float> attn_norm, wq, wk, wv, wo, bq, bk, bv, ffn_norm, w_gate, w_up, w_down;
    std::vector<float> k_cache, v_cache;  // (n_kv, n_ctx, head_dim), F16-rounded like the GPU cache
    std::vector<float> last_q, last_x;    // of the last forward: post-RoPE q, residual after the layer
  };
  ModelConfig c_;
  int n_ctx_;
  int n_past_ = 0;
  int last_n_past_ = 0, last_n_ = 0;
  std::vector<float> tok_embd_, output_norm_, output_, inv_freq_;
  std::vector<Layer> layers_;
};

}  // namespace ref
}  // namespace ds
