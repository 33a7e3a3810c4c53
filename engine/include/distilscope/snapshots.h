// Snapshots: plain-value structs (no Vulkan handles, no Qt) carrying what probes captured, what a
// teacher–student pair measured, and throughput samples. The engine's probes produce them, the
// store persists them, the UI panels draw them, exports write them. Copyable; sent by value.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "distilscope/model_config.h"

namespace ds {

// Attention of one head of one layer over a token window. For mixer layers (`implied`), the
// token-to-token weights the mixer effectively applies (linear: normalized kernel weights;
// mamba: the unrolled selective scan reduced per head).
struct AttentionMap {
  int layer = 0;
  int head = 0;
  LayerKind kind = LayerKind::Attention;
  bool implied = false;
  int query_begin = 0;   // absolute position of the first query row
  int n_queries = 0;
  int n_keys = 0;        // keys are positions [0, n_keys)
  std::vector<float> probs;  // [n_queries][n_keys] row-major; non-causal entries are 0
  float at(int q, int k) const { return probs[size_t(q) * size_t(n_keys) + size_t(k)]; }
};

struct AttentionSnapshot {
  std::string model;
  int n_layers = 0, n_heads = 0;
  std::vector<LayerKind> layout;            // per layer
  std::vector<std::string> token_labels;    // per position, display text of the token
  std::vector<AttentionMap> maps;           // the captured (layer, head) pairs
};

struct LayerActivation {
  float residual_norm = 0;   // L2 norm of the residual stream after the layer
  float mixer_out_norm = 0;  // L2 norm of the attention/mixer output added to the residual
  float mlp_out_norm = 0;    // L2 norm of the MLP output added to the residual
  std::vector<std::pair<int, float>> top_channels;     // (channel, value) by |value|, largest first
  std::vector<uint32_t> histogram;                     // fixed bins over [hist_lo, hist_hi]
  float hist_lo = 0, hist_hi = 0;
  std::vector<std::pair<int32_t, float>> logit_lens;   // top tokens (id, probability) of this layer's residual
};

struct TokenActivations {
  int position = 0;
  int32_t token = 0;
  std::vector<LayerActivation> layers;  // per layer
};

struct ActivationSnapshot {
  std::string model;
  std::vector<std::string> token_labels;
  std::vector<TokenActivations> tokens;
};

// One token of a teacher–student comparison (same token stream; one generating, one forced).
struct TokenDivergence {
  int position = 0;
  int32_t token = 0;                 // the token actually emitted at this position
  float kl = 0;                      // KL(teacher || student), nats
  float reverse_kl = 0;              // KL(student || teacher)
  bool top1_agree = true;
  float topk_overlap = 1;            // |top-k(teacher) ∩ top-k(student)| / k
  float entropy_teacher = 0, entropy_student = 0;
  int32_t teacher_top1 = 0, student_top1 = 0;
  float p_teacher = 0, p_student = 0;  // probability of `token` under each model
  std::vector<std::pair<int32_t, float>> teacher_top, student_top;  // top alternatives (id, prob)
  std::vector<float> layer_cosine;     // per layer: cosine of the two residual streams
  std::vector<float> layer_attn_js;    // per layer: JS divergence of attention rows (NaN where n/a)
};

struct DivergenceSnapshot {
  std::string teacher, student;
  std::vector<LayerKind> student_layout;
  std::vector<std::string> token_labels;
  std::vector<TokenDivergence> tokens;
};

struct ThroughputSample {
  std::string model;
  int context = 0;           // tokens in the context when measured
  double tokens_per_s = 0;   // decode
};

}  // namespace ds
