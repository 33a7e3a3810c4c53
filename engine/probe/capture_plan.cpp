// CapturePlan validation and frame layout.
#include "probe/capture_plan.h"

#include <algorithm>
#include <set>

#include "model/hybrid_config.h"
#include "probe/frame_ops.h"
#include "probe/mixer_rows.h"
#include "probe/logits_top.h"
#include "util/error.h"

namespace ds::probe {
namespace {

void check_range(const char* what, long long v, long long lo, long long hi) {
  DS_CHECK(v >= lo && v <= hi, "[capture plan] ", what, " ", v, " out of range (", lo, " .. ", hi, ")");
}

uint32_t fnv1a(uint32_t h, uint32_t v) {
  for (int i = 0; i < 4; ++i) h = (h ^ ((v >> (8 * i)) & 0xffu)) * 16777619u;
  return h;
}

}  // namespace

std::string rows_unsupported(const ModelConfig& m, int l) {
  switch (m.layer_kind(l)) {
    case LayerKind::Attention:
      if (m.head_dim % 4 != 0 || m.head_dim > 256)
        return cat("attention rows need head_dim a multiple of 4 up to 256, the model has ", m.head_dim);
      break;
    case LayerKind::Linear:
      if (m.head_dim > 256 || m.hybrid.linear.features > 256)
        return cat("implied attention of linear layer ", l, " needs head_dim and features up to 256, the model has ",
                   m.head_dim, " and ", m.hybrid.linear.features);
      break;
    case LayerKind::Mamba:
      if (mamba_channels_per_head(mamba_dims(m), m.n_heads) == 0)
        return cat("implied attention of mamba layer ", l, " is reduced to the model's ", m.n_heads,
                   " attention heads, which needs d_inner ", m.hybrid.d_inner, " divisible by ", m.n_heads,
                   " with at most 512 channels per head");
      break;
  }
  return {};
}

const LayerSections* FrameLayout::find(int layer) const {
  for (const auto& s : layers)
    if (s.layer == layer) return &s;
  return nullptr;
}

StatsLayout FrameLayout::stats_layout() const {
  return {plan.top_channels, plan.hist_bins, -plan.hist_range, plan.hist_range};
}

FrameLayout plan_frame(const CapturePlan& plan, const ModelConfig& m) {
  const CapturePlan& p = plan;
  const bool per_layer = p.attention_rows || p.activation_stats || p.logit_lens || p.save_residual || p.layer_compare;
  DS_CHECK(!p.layers.empty() || p.divergence,
           "[capture plan] the plan captures nothing (no layers, no divergence); probes off means no plan at all");
  DS_CHECK(p.layers.empty() || per_layer, "[capture plan] layers are listed but every per-layer capture is off");
  std::set<int> seen;
  for (int l : p.layers) {
    DS_CHECK(l >= 0 && l < m.n_layers, "[capture plan] layer ", l, " requested but the model has ", m.n_layers,
             " layers");
    DS_CHECK(seen.insert(l).second, "[capture plan] layer ", l, " is listed twice");
  }
  check_range("max_context", p.max_context, 1, 1 << 20);
  check_range("max_queries", p.max_queries, 1, 4096);
  check_range("top_channels", p.top_channels, 1, 16);
  check_range("hist_bins", p.hist_bins, 1, 1024);
  DS_CHECK(p.hist_range > 0, "[capture plan] hist_range ", p.hist_range, " must be positive");
  check_range("lens_top", p.lens_top, 1, 16);
  check_range("div_topk", p.div_topk, 1, 16);
  check_range("div_top", p.div_top, 1, 16);

  FrameLayout f;
  f.plan = plan;
  f.n_layers = m.n_layers;
  f.n_heads = m.n_heads;
  f.n_kv_heads = m.n_kv_heads;
  f.head_dim = m.head_dim;
  f.d_model = m.d_model;
  f.vocab = m.vocab;
  f.heads = p.heads;
  std::sort(f.heads.begin(), f.heads.end());
  for (size_t i = 0; i < f.heads.size(); ++i) {
    DS_CHECK(f.heads[i] >= 0 && f.heads[i] < m.n_heads, "[capture plan] head ", f.heads[i],
             " requested but the model has ", m.n_heads, " heads");
    DS_CHECK(i == 0 || f.heads[i] != f.heads[i - 1], "[capture plan] head ", f.heads[i], " is listed twice");
  }
  if (f.heads.empty())
    for (int h = 0; h < m.n_heads; ++h) f.heads.push_back(h);
  if (p.attention_rows && !p.layers.empty())
    DS_CHECK(m.n_heads <= 128, "[capture plan] attention rows capture models of at most 128 heads; this one has ",
             m.n_heads);
  for (int l : p.layers)
    if (p.attention_rows) {
      const std::string why = rows_unsupported(m, l);
      DS_CHECK(why.empty(), "[capture plan] ", why);
    }
  DS_CHECK(!p.logit_lens || m.vocab > 0, "[capture plan] logit lens requested but the model has no vocabulary");
  DS_CHECK(!p.divergence || m.vocab > 0, "[capture plan] divergence requested but the model has no vocabulary");

  uint64_t at = k_header_words;
  auto take = [&](uint64_t words) {
    const uint64_t start = at;
    at = (at + words + 3) / 4 * 4;
    DS_CHECK(at < (1ull << 31), "[capture plan] a frame of over 8 GiB: fewer layers, heads or max_context");
    return uint32_t(start);
  };
  const uint64_t q = uint64_t(p.max_queries);
  f.token_ids = take(q);
  for (int l : p.layers) {
    LayerSections s;
    s.layer = l;
    s.kind = m.layer_kind(l);
    if (p.attention_rows) s.attn_rows = take(f.heads.size() * q * p.max_context);
    if (p.activation_stats) s.stats = take(q * f.stats_layout().block_words());
    if (p.logit_lens) s.lens = take(q * lens_block_words(p.lens_top));
    if (p.save_residual) s.residual = take(q * uint64_t(m.d_model));
    if (p.layer_compare) s.compare = take(q * 2);
    f.layers.push_back(s);
  }
  if (p.divergence) f.divergence = take(q * divergence_block_words(p.div_top));
  f.frame_words = uint32_t((at + 63) / 64 * 64);

  uint32_t h = 2166136261u;
  for (uint32_t v : {uint32_t(m.n_layers), uint32_t(m.n_heads), uint32_t(m.d_model), uint32_t(m.vocab),
                     uint32_t(p.max_context), uint32_t(p.max_queries), uint32_t(p.top_channels), uint32_t(p.hist_bins),
                     uint32_t(p.lens_top), uint32_t(p.div_topk), uint32_t(p.div_top), f.frame_words})
    h = fnv1a(h, v);
  for (int hd : f.heads) h = fnv1a(h, uint32_t(hd));
  for (const auto& s : f.layers)
    for (uint32_t v : {uint32_t(s.layer), s.attn_rows, s.stats, s.lens, s.residual, s.compare}) h = fnv1a(h, v);
  f.tag = h;
  return f;
}

}  // namespace ds::probe
