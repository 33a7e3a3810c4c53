// CapturePlan: what the probes capture each token step (which layers and heads; attention rows,
// activation stats, logit lens, divergence on or off), and FrameLayout, the word offsets of each section
// inside a ring frame, computed and validated on the host against the model config. Probes off = no plan:
// no ring, no capture nodes in the recording, no cost.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "distilscope/model_config.h"
#include "probe/activation_stats.h"

namespace ds::probe {

struct CapturePlan {
  std::vector<int> layers;       // captured layers; frame sections follow this order
  std::vector<int> heads;        // captured heads of attention layers; empty = all heads
  bool attention_rows = true;    // softmax rows of the captured heads (at most 128 heads); for mixer layers their
                                 // implied attention on the same axes (mixer_rows.h)
  bool activation_stats = true;  // per layer: residual norm, top channels, histogram
  bool sublayer_norms = true;    // with activation_stats: mixer-out and MLP-out norms too (those tensors needed)
  bool logit_lens = false;       // per layer: top tokens of lm_head(final_norm(residual))
  bool save_residual = false;    // per layer: the residual vectors (a teacher's, for per-layer cosine)
  bool layer_compare = false;    // per layer: cosine of residuals and JS of attention rows vs a partner ring
  bool divergence = false;       // per query token: teacher-student divergence block
  int max_context = 2048;        // keys stored per attention row (rows cover positions [0, max_context))
  int max_queries = 1;           // query tokens per frame: 1 for decode, the batch for a captured prefill
  int top_channels = 8;          // top-|x| channels per token, 1 .. 16
  int hist_bins = 64;            // 1 .. 1024
  float hist_range = 8.0f;       // histogram over [-hist_range, hist_range]; pick per model (docs/probes.md)
  int lens_top = 5;              // logit-lens tokens, 1 .. 16
  int div_topk = 10;             // k of the top-k overlap, 1 .. 16
  int div_top = 5;               // alternatives listed per model, 1 .. 16
};

constexpr uint32_t k_absent = 0xffffffffu;  // section not in the frame

// Word offsets (from the frame start) of one captured layer's sections; k_absent when not captured.
struct LayerSections {
  int layer = 0;
  LayerKind kind = LayerKind::Attention;
  uint32_t attn_rows = k_absent;  // F32 [max_context, max_queries, n_captured_heads]; implied rows for mixers
  uint32_t stats = k_absent;      // max_queries stat blocks (StatsLayout::block_words each)
  uint32_t lens = k_absent;       // max_queries lens blocks (lens_block_words)
  uint32_t residual = k_absent;   // F32 [d_model, max_queries]
  uint32_t compare = k_absent;    // max_queries x {cosine, js} F32
};

struct FrameLayout {
  CapturePlan plan;
  std::vector<int> heads;  // captured heads, ascending (all heads when the plan lists none)
  int n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, d_model = 0, vocab = 0;
  std::vector<LayerSections> layers;
  uint32_t token_ids = 0;          // max_queries I32 token ids (right after the 16-word header)
  uint32_t divergence = k_absent;  // max_queries divergence blocks
  uint32_t frame_words = 0;        // a multiple of 64 (frames start 256-byte aligned)
  uint32_t tag = 0;                // fingerprint of the layout, stamped into every frame header

  const LayerSections* find(int layer) const;  // null when the layer is not captured
  StatsLayout stats_layout() const;
  uint32_t row_group_words() const { return uint32_t(plan.max_queries) * uint32_t(plan.max_context); }
  uint64_t frame_bytes() const { return uint64_t(frame_words) * 4; }
};

// Why rows of layer l (attention, or a mixer's implied attention) cannot be captured; empty when they can.
std::string rows_unsupported(const ModelConfig& model, int layer);

// Validates the plan against the model ("layer 7 requested but the model has 5 layers") and lays out a
// frame: header, token ids, then per captured layer rows / stats / lens / residual / compare, then
// divergence; every section 16-byte aligned. Throws ds::Error.
FrameLayout plan_frame(const CapturePlan& plan, const ModelConfig& model);

}  // namespace ds::probe
