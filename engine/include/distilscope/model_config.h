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

// What mixes tokens in one layer of a hybrid student (Apriel-H1 style): softmax attention, a
// Mamba2 mixer (Apriel "m2"), or a linear mixer (LoLCATs-style; GGUF layout code "lin", no Apriel code).
enum class LayerKind { Attention, Mamba, Linear };
inline const char* layer_kind_name(LayerKind k) {
  return k == LayerKind::Attention ? "attention" : k == LayerKind::Mamba ? "mamba" : "linear";
}

// Hyper-parameters of the `linear` mixer layers (ops/linear_mixer.h; GGUF keys distilscope.linear.*).
struct LinearMixerConfig {
  int features = 0;    // F: each Hedgehog map projects head_dim -> F (phi has 2F entries)
  int window = 64;     // N: softmax window in tokens (the query's own key included); 0 = pure linear attention
  int query_maps = 0;  // query feature maps: n_heads (LoLCATs) or n_kv_heads
  int key_maps = 0;    // key feature maps = linear-state heads: n_heads (LoLCATs) or n_kv_heads
  bool affine = false; // linear factor = 1 - window factor (LoLCATs affine_attention_factors), else 1
};

// Layer kinds and Mamba2 mixer hyper-parameters of a hybrid, named as in Apriel's config.json
// `ssm_cfg` (see docs/formats.md). A teacher has no layers listed here: every layer is attention.
struct HybridConfig {
  std::vector<LayerKind> layers;  // one per layer, or empty (all attention)
  int d_state = 64;               // SSM state per channel; also the B/C/x head size
  int d_xb = 0;                   // width of x and B (GQA-like: repeated up to d_inner)
  int d_inner = 0;                // width of z, C, dt and of the scan
  int d_conv = 4;                 // causal depthwise conv kernel length
  int dt_rank = 0;                // low-rank dt projection: d_model -> dt_rank -> d_inner
  int expand = 1;                 // d_inner = expand * d_model when d_inner is not given
  bool bias = false;              // in_proj, dt_in_proj, out_proj have biases
  bool conv_bias = true;
  bool dt_proj_bias = true;
  bool repeat_kv_before_conv = true;
  // Initialization of new mixers (dt bias so that softplus(dt) lies in [dt_min, dt_max]).
  float dt_min = 0.001f, dt_max = 0.1f, dt_scale = 1.0f, dt_init_floor = 1e-4f;
  std::string dt_init = "random";  // random | constant
  LinearMixerConfig linear;        // the `linear` layers' hyper-parameters (unused without such layers)

  int count(LayerKind k) const {
    int n = 0;
    for (LayerKind l : layers) n += l == k;
    return n;
  }
  bool is_hybrid() const { return size_t(count(LayerKind::Attention)) != layers.size(); }
  int n_xb_heads() const { return d_state ? d_xb / d_state : 0; }     // groups of x and B
  int n_heads() const { return d_state ? d_inner / d_state : 0; }     // heads of C and of the scan
};

struct ModelConfig {
  std::string arch;        // "llama", "mistral", "qwen2", "apriel_hybrid"
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
  bool attn_out_bias = false;  // o_proj bias (HF llama with attention_bias: true)
  int sliding_window = 0;      // attention window in tokens (Mistral), 0 = full causal attention
  HybridConfig hybrid;

  LayerKind layer_kind(int layer) const {
    return hybrid.layers.empty() ? LayerKind::Attention : hybrid.layers[size_t(layer)];
  }

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

}  // namespace ds
