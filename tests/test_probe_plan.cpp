// CapturePlan validation (clear errors naming the numbers) and frame layout: sections disjoint and
// aligned, sizes as documented, no rows for non-attention layers, a ring too large for the device refused.
#include <algorithm>

#include "probe/capture_plan.h"
#include "probe/frame_ops.h"
#include "probe/logits_top.h"
#include "probe/ring.h"
#include "support/gpu.h"

namespace ds {
namespace {

ModelConfig small_model() {
  ModelConfig c;
  c.arch = "llama";
  c.n_layers = 5;
  c.d_model = 64;
  c.n_heads = 8;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.ffn_dim = 128;
  c.vocab = 512;
  return c;
}

std::string plan_error(const probe::CapturePlan& p, const ModelConfig& c = small_model()) {
  try {
    probe::plan_frame(p, c);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CapturePlan, ErrorsNameTheProblem) {
  probe::CapturePlan p;
  p.layers = {1, 7};
  EXPECT_EQ(plan_error(p), "[capture plan] layer 7 requested but the model has 5 layers");
  p.layers = {2, 2};
  EXPECT_EQ(plan_error(p), "[capture plan] layer 2 is listed twice");
  p.layers = {0};
  p.heads = {3, 8};
  EXPECT_EQ(plan_error(p), "[capture plan] head 8 requested but the model has 8 heads");
  p.heads = {3, 3};
  EXPECT_EQ(plan_error(p), "[capture plan] head 3 is listed twice");
  p.heads = {};
  p.top_channels = 17;
  EXPECT_EQ(plan_error(p), "[capture plan] top_channels 17 out of range (1 .. 16)");
  p.top_channels = 8;
  p.hist_range = 0;
  EXPECT_EQ(plan_error(p), "[capture plan] hist_range 0 must be positive");
  p.hist_range = 4;
  p.max_context = 0;
  EXPECT_EQ(plan_error(p), "[capture plan] max_context 0 out of range (1 .. 1048576)");
  p.max_context = 64;
  p.div_top = 0;
  EXPECT_EQ(plan_error(p), "[capture plan] div_top 0 out of range (1 .. 16)");
  EXPECT_EQ(plan_error(probe::CapturePlan{}),
            "[capture plan] the plan captures nothing (no layers, no divergence); probes off means no plan at all");
  probe::CapturePlan off;
  off.layers = {0};
  off.attention_rows = off.activation_stats = false;
  EXPECT_EQ(plan_error(off), "[capture plan] layers are listed but every per-layer capture is off");
  ModelConfig wide = small_model();
  wide.n_heads = wide.n_kv_heads = 160;
  probe::CapturePlan rows;
  rows.layers = {0};
  EXPECT_EQ(plan_error(rows, wide),
            "[capture plan] attention rows capture models of at most 128 heads; this one has 160");
  rows.attention_rows = false;
  EXPECT_EQ(plan_error(rows, wide), "(no error)");
}

TEST(CapturePlan, LayoutSectionsAreDisjointAndSized) {
  ModelConfig c = small_model();
  c.hybrid.layers = {LayerKind::Attention, LayerKind::Mamba, LayerKind::Attention, LayerKind::Attention,
                     LayerKind::Attention};
  c.hybrid.d_state = 8;
  c.hybrid.d_inner = 64;  // 8 channels per attention head: implied rows on the teacher's heads
  c.hybrid.d_xb = 16;
  c.hybrid.dt_rank = 4;
  probe::CapturePlan p;
  p.layers = {3, 1};
  p.heads = {6, 2};
  p.logit_lens = p.save_residual = p.layer_compare = p.divergence = true;
  p.max_context = 100;
  p.max_queries = 3;
  const probe::FrameLayout f = probe::plan_frame(p, c);
  EXPECT_EQ(f.heads, (std::vector<int>{2, 6}));
  ASSERT_EQ(f.layers.size(), 2u);
  EXPECT_EQ(f.layers[0].layer, 3);
  EXPECT_EQ(f.layers[1].kind, LayerKind::Mamba);
  EXPECT_NE(f.layers[1].attn_rows, probe::k_absent) << "a Mamba layer has implied attention rows";
  EXPECT_EQ(f.frame_words % 64, 0u);
  EXPECT_EQ(f.token_ids, probe::k_header_words);
  // (start, words) of every section, then check order-free disjointness and bounds.
  std::vector<std::pair<uint32_t, uint32_t>> sec{{0, probe::k_header_words}, {f.token_ids, 3}};
  for (const auto& s : f.layers) {
    if (s.attn_rows != probe::k_absent) sec.emplace_back(s.attn_rows, 2 * 3 * 100);
    sec.emplace_back(s.stats, 3 * f.stats_layout().block_words());
    sec.emplace_back(s.lens, 3 * probe::lens_block_words(5));
    sec.emplace_back(s.residual, 3 * 64);
    sec.emplace_back(s.compare, 3 * 2);
  }
  sec.emplace_back(f.divergence, 3 * probe::divergence_block_words(5));
  std::sort(sec.begin(), sec.end());
  for (size_t i = 0; i < sec.size(); ++i) {
    EXPECT_EQ(sec[i].first % 4, 0u) << "section " << i << " not 16-byte aligned";
    if (i + 1 < sec.size()) {
      EXPECT_LE(sec[i].first + sec[i].second, sec[i + 1].first) << "sections overlap";
    }
  }
  EXPECT_LE(sec.back().first + sec.back().second, f.frame_words);
  EXPECT_EQ(f.find(2), nullptr);
  probe::CapturePlan q = p;
  q.heads = {2, 7};
  EXPECT_NE(probe::plan_frame(q, c).tag, f.tag) << "the tag tells plans apart";
}

TEST(CapturePlan, RingTooLargeForTheDeviceIsRefused) {
  ModelConfig c = small_model();
  c.n_heads = c.n_kv_heads = 64;
  probe::CapturePlan p;
  p.layers = {0, 1, 2, 3, 4};
  p.max_context = 1 << 20;  // 5 layers x 64 heads x 4 MiB rows = 1.25 GiB a frame
  const auto f = probe::plan_frame(p, c);
  EXPECT_GT(f.frame_bytes(), 1ull << 30);
  try {
    probe::Ring ring(test::device(), f, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceed the device's storage-buffer range"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ds
