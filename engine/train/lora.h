// LoRA adapters for distillation stages ("train": "lora", LoLCATs' second stage): which projections of each
// layer get a rank-r pair (A, B) with y = W x + (alpha / r) B (A x), W frozen, A random small and B zero (the
// adapted model starts as the base model). The adapters live in LlamaParams as tensors "blk.N.<proj>.lora_a"
// (F32 [K, r]) and ".lora_b" (F32 [r, N]); merge_lora folds a pair into W (W += s B A) so a stage's file stays
// a plain model. The ops: ops/backward/lora.h.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "distilscope/model_config.h"

namespace ds::train {

// The projections an adapter may sit on, in the order of LlamaParams::Layer::lora_a.
enum class LoraTarget { Q, K, V, O, Gate, Up, Down };
constexpr int kLoraTargets = 7;

const char* lora_target_name(LoraTarget t);                          // "q", ..., "down"
std::optional<LoraTarget> parse_lora_target(const std::string& s);  // nullopt: unknown name
std::string lora_tensor_stem(LoraTarget t);                         // "attn_q", ..., "ffn_down"
// The projection's [K inputs, N outputs] in a model of this configuration.
std::pair<int64_t, int64_t> lora_target_dims(const ModelConfig& c, LoraTarget t);

struct LoraSpec {
  int rank = 0;  // 0: no adapters
  float alpha = 16.0f;
  std::vector<LoraTarget> targets = {LoraTarget::Q,    LoraTarget::K,  LoraTarget::V,   LoraTarget::O,
                                     LoraTarget::Gate, LoraTarget::Up, LoraTarget::Down};
  uint64_t seed = 1;  // A's initialization
  float scale() const { return rank > 0 ? alpha / float(rank) : 0.0f; }
  bool has(LoraTarget t) const;
};

// Adapter tensor names of a projection weight ("blk.3.attn_q.weight" -> "blk.3.attn_q.lora_a" / "lora_b").
std::string lora_a_name(int layer, LoraTarget t);
std::string lora_b_name(int layer, LoraTarget t);
bool is_lora_tensor(const std::string& name);

// W += s B A on the host, GGUF element order: w [N][K], a [r][K], b [N][r].
void merge_lora(std::vector<float>& w, const std::vector<float>& a, const std::vector<float>& b, int64_t K, int64_t N,
                int r, float s);

}  // namespace ds::train
