// ReferenceModel: the llama-family forward pass and its hybrid students in plain loops on the CPU, built from
// the op references (ref/*.h: attention, ref::linear_mixer, ref::mamba) over weights dequantized to f32 straight
// from the file (GGUF or Hugging Face directory). It is the yardstick the Vulkan forward pass is tested against
// (normalized MSE of the logits).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "distilscope/model_config.h"
#include "ref/linear_mixer.h"
#include "ref/mamba.h"

namespace ds {
class GgufFile;
class ModelSource;

namespace ref {

class ReferenceModel {
 public:
  ReferenceModel(const GgufFile& f, int n_ctx);
  ReferenceModel(const ModelSource& src, int n_ctx);
  const ModelConfig& config() const { return c_; }
  // Runs tokens at positions n_past.. and returns their logits, [n_tokens][vocab].
  std::vector<std::vector<float>> forward(std::span<const int32_t> tokens);
  void reset();
  int n_past() const { return n_past_; }

 private:
  struct Layer {
    std::vector<float> attn_norm, wq, wk, wv, wo, bq, bk, bv, bo, ffn_norm, w_gate, w_up, w_down;
    std::vector<float> k_cache, v_cache;  // attention: (n_kv, n_ctx, head_dim), F16-rounded like the GPU cache
    std::vector<float> fm_q, fm_k, window_logit;  // linear
    LinearMixerRefState lin_state;
    std::vector<float> ssm_in, ssm_in_b, ssm_dt_in, ssm_dt_in_b, ssm_dt, ssm_dt_b, conv_w, conv_b, a_log, ssm_d,
        ssm_out, ssm_out_b;  // mamba
    std::unique_ptr<MambaRefState> ssm_state;
  };
  void load(const ModelSource& src);
  void attention_or_linear(Layer& L, LayerKind kind, std::span<const int32_t> positions, std::vector<float>& x,
                           const std::vector<float>& xn, int n);
  void mamba(Layer& L, std::vector<float>& x, const std::vector<float>& xn, int n);
  LinearMixerDims linear_dims() const;

  ModelConfig c_;
  int n_ctx_;
  int n_past_ = 0;
  std::vector<float> tok_embd_, output_norm_, output_, inv_freq_;
  std::vector<Layer> layers_;
};

}  // namespace ref
}  // namespace ds
