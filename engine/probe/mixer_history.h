// MixerHistory: what the implied-attention rows of mixer layers read about past tokens, kept by the probes
// because the mixers' fixed-size states forget it: per captured `linear` layer its post-RoPE keys, per captured
// Mamba layer its zxbc and dt columns, n_ctx positions each, appended by a node after the mixer in every pass
// while a plan is set (graph_capture.h). Only layers whose rows the plan captures get one.
#pragma once
#include <vector>

#include "distilscope/model_config.h"
#include "ops/tensor.h"
#include "probe/capture_plan.h"

namespace ds {
namespace vk {
class Arena;
}
namespace probe {

class MixerHistory {
 public:
  struct Layer {
    int layer = -1;
    Tensor k;         // linear: F32 [head_dim, n_kv, n_ctx]
    Tensor zxbc, dt;  // mamba: F32 [2 d_inner + 2 d_xb, n_ctx], [d_inner, n_ctx]
    Tensor dt_sums;   // mamba: F32 [d_inner, k_max_key_chunks], scratch of the chunked rows (mixer_rows.h)
  };
  // For the mixer layers of `layout` with attention rows; allocates nothing when there are none.
  MixerHistory(vk::Arena& arena, const FrameLayout& layout, const ModelConfig& model, int n_ctx);

  bool empty() const { return layers_.empty(); }
  const Layer* find(int layer) const;  // null when the layer keeps no history

 private:
  std::vector<Layer> layers_;
};

}  // namespace probe
}  // namespace ds
