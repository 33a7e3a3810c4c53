// MixerHistory allocation.
#include "probe/mixer_history.h"

#include <string>

#include "model/hybrid_config.h"
#include "probe/mixer_rows.h"

namespace ds::probe {

MixerHistory::MixerHistory(vk::Arena& arena, const FrameLayout& layout, const ModelConfig& c, int n_ctx) {
  for (const LayerSections& s : layout.layers) {
    if (s.attn_rows == k_absent || s.kind == LayerKind::Attention) continue;
    Layer h;
    h.layer = s.layer;
    const std::string p = "probe.blk." + std::to_string(s.layer);
    if (s.kind == LayerKind::Linear) {
      h.k = make_tensor(arena, DType::F32, {c.head_dim, c.n_kv_heads, n_ctx, 1}, p + ".k_history");
    } else {
      const MambaDims d = mamba_dims(c);
      h.zxbc = make_tensor(arena, DType::F32, {d.zxbc_rows(), n_ctx, 1, 1}, p + ".zxbc_history");
      h.dt = make_tensor(arena, DType::F32, {d.d_inner, n_ctx, 1, 1}, p + ".dt_history");
      h.dt_sums = make_tensor(arena, DType::F32, {d.d_inner, k_max_key_chunks, 1, 1}, p + ".dt_sums");
    }
    layers_.push_back(h);
  }
}

const MixerHistory::Layer* MixerHistory::find(int layer) const {
  for (const Layer& l : layers_)
    if (l.layer == layer) return &l;
  return nullptr;
}

}  // namespace ds::probe
