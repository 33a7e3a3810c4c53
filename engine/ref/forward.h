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

  // Probe references over the last forward(): the attention probabilities of query heads `heads` of its
  // tokens over positions [0, max_keys), (heads, n_tokens, max_keys) as ref::attention_rows (for a mixer layer
  // its implied attention over the whole sequence: ref::linear_mixer_attention, or the Mamba scan unrolled and
  // reduced to heads of d_inner / n_heads channels); and the residual stream after a layer, (n_tokens, d_model).
  std::vector<float> attention_rows(int layer, const std::vector<int>& heads, int max_keys) const;
  const std::vector<float>& residual(int layer) const { return layers_[size_t(layer)].last_x; }

 private:
  struct Layer {
    std::vector<float> attn_norm, wq, wk, wv, wo, bq, bk, bv, bo, ffn_norm, w_gate, w_up, w_down;
    std::vector<float> k_cache, v_cache;  // attention: (n_kv, n_ctx, head_dim), F16-rounded like the GPU cache
    std::vector<float> fm_q, fm_k, window_logit;  // linear
    LinearMixerRefState lin_state;
    std::vector<float> ssm_in, ssm_in_b, ssm_dt_in, ssm_dt_in_b, ssm_dt, ssm_dt_b, conv_w, conv_b, a_log, ssm_d,
        ssm_out, ssm_out_b;  // mamba
    std::unique_ptr<MambaRefState> ssm_state;
    std::vector<float> last_q, last_x;    // of the last forward: post-RoPE q, residual after the layer
    std::vector<float> all_q, all_k;      // linear: post-RoPE q and k of every position so far (implied rows)
    std::vector<float> all_zxbc, all_dt;  // mamba: in_proj and dt columns of every position so far
  };
  void load(const ModelSource& src);
  void attention_or_linear(Layer& L, LayerKind kind, std::span<const int32_t> positions, std::vector<float>& x,
                           const std::vector<float>& xn, int n);
  void mamba(Layer& L, std::vector<float>& x, const std::vector<float>& xn, int n);
  LinearMixerDims linear_dims() const;
  std::vector<float> implied_rows(const Layer& L, LayerKind kind, const std::vector<int>& heads, int max_keys) const;

  ModelConfig c_;
  int n_ctx_;
  int n_past_ = 0;
  int last_n_past_ = 0, last_n_ = 0;
  std::vector<float> tok_embd_, output_norm_, output_, inv_freq_;
  std::vector<Layer> layers_;
};

}  // namespace ref
}  // namespace ds
