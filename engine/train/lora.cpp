// LoRA adapter names, dimensions and the host merge (see lora.h).
#include "train/lora.h"

#include <algorithm>

#include "util/error.h"

namespace ds::train {
namespace {

constexpr const char* kNames[kLoraTargets] = {"q", "k", "v", "o", "gate", "up", "down"};
constexpr const char* kStems[kLoraTargets] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                              "ffn_gate", "ffn_up", "ffn_down"};

}  // namespace

const char* lora_target_name(LoraTarget t) { return kNames[int(t)]; }
std::string lora_tensor_stem(LoraTarget t) { return kStems[int(t)]; }

std::optional<LoraTarget> parse_lora_target(const std::string& s) {
  for (int i = 0; i < kLoraTargets; ++i)
    if (s == kNames[i]) return LoraTarget(i);
  return std::nullopt;
}

std::pair<int64_t, int64_t> lora_target_dims(const ModelConfig& c, LoraTarget t) {
  const int64_t d = c.d_model, q = c.q_dim(), kv = c.kv_dim(), f = c.ffn_dim;
  switch (t) {
    case LoraTarget::Q: return {d, q};
    case LoraTarget::K:
    case LoraTarget::V: return {d, kv};
    case LoraTarget::O: return {q, d};
    case LoraTarget::Gate:
    case LoraTarget::Up: return {d, f};
    case LoraTarget::Down: return {f, d};
  }
  return {0, 0};
}

bool LoraSpec::has(LoraTarget t) const { return std::find(targets.begin(), targets.end(), t) != targets.end(); }

std::string lora_a_name(int layer, LoraTarget t) { return cat("blk.", layer, ".", kStems[int(t)], ".lora_a"); }
std::string lora_b_name(int layer, LoraTarget t) { return cat("blk.", layer, ".", kStems[int(t)], ".lora_b"); }
bool is_lora_tensor(const std::string& name) { return name.ends_with(".lora_a") || name.ends_with(".lora_b"); }

void merge_lora(std::vector<float>& w, const std::vector<float>& a, const std::vector<float>& b, int64_t K, int64_t N,
                int r, float s) {
  DS_CHECK(int64_t(w.size()) == K * N && int64_t(a.size()) == K * r && int64_t(b.size()) == N * r,
           "[lora] merging a rank-", r, " pair into a ", K, " x ", N, " weight: W has ", w.size(), ", A ", a.size(),
           ", B ", b.size(), " values");
  for (int64_t n = 0; n < N; ++n)
    for (int j = 0; j < r; ++j) {
      const double bs = double(s) * double(b[size_t(n * r + j)]);
      if (bs == 0) continue;
      float* wn = w.data() + n * K;
      const float* aj = a.data() + int64_t(j) * K;
      for (int64_t k = 0; k < K; ++k) wn[k] = float(double(wn[k]) + bs * double(aj[k]));
    }
}

}  // namespace ds::train
