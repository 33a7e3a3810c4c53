// Probes on a hybrid student (attention, linear and mamba layers) end to end through a Session: logits with
// probes on equal those with probes off; prefill and decode frames carry implied attention of the mixer layers
// (labelled implied, kind set) whose rows sum to 1 and match the CPU reference model's; a prefill that
// captures nothing still feeds the mixer histories; a plan set mid-sequence is a clear error.
#include <cmath>

#include "distilscope/model.h"
#include "distilscope/session.h"
#include "model/gguf.h"
#include "model/synthetic.h"
#include "probe/capture_plan.h"
#include "probe/frame.h"
#include "ref/forward.h"
#include "support/files.h"
#include "support/gpu.h"

namespace ds {
namespace {

constexpr int kHeads = 4, kCtx = 40;
const std::vector<LayerKind> kLayout = {LayerKind::Attention, LayerKind::Linear, LayerKind::Mamba, LayerKind::Linear};
const std::vector<int32_t> kPrompt = {1, 40, 41, 42, 200, 201, 17, 9, 33};
const std::vector<int32_t> kForced = {250, 3, 77, 120, 5};

std::string write_hybrid(const test::TempDir& dir) {
  SyntheticSpec spec;
  spec.config = llama_like(int(kLayout.size()), 64, kHeads, 2, 128, 320);
  set_hybrid_layout(spec.config, kLayout, 8, 3);  // d_state 8, window 3 (prompts reach past it)
  spec.type = DType::F32;
  spec.seed = 3;
  spec.scale = 0.08f;
  const std::string path = dir / "hybrid.gguf";
  write_synthetic_model(path, spec);
  return path;
}

probe::CapturePlan plan_all(int max_queries) {
  probe::CapturePlan p;
  p.layers = {0, 1, 2, 3};
  p.max_queries = max_queries;
  p.max_context = 32;  // rows of the last tokens are truncated (their sums below 1)
  return p;
}

// Every map of a frame against the reference model's rows of its last forward.
int check_maps(const probe::Frame& f, const ref::ReferenceModel& cpu, const std::vector<int>& heads, int max_keys) {
  int rows = 0;
  for (const AttentionMap& m : f.maps) {
    SCOPED_TRACE("layer " + std::to_string(m.layer) + " head " + std::to_string(m.head) + " pass at " +
                 std::to_string(f.n_past));
    EXPECT_EQ(m.kind, kLayout[size_t(m.layer)]);
    EXPECT_EQ(m.implied, m.kind != LayerKind::Attention);
    const size_t i = size_t(std::find(heads.begin(), heads.end(), m.head) - heads.begin());
    const auto want = cpu.attention_rows(m.layer, heads, max_keys);
    for (int t = 0; t < m.n_queries; ++t) {
      double sum = 0, want_sum = 0;
      for (int k = 0; k < m.n_keys; ++k) {
        const float w = want[(i * size_t(f.n_queries) + size_t(t)) * size_t(max_keys) + size_t(k)];
        EXPECT_NEAR(m.at(t, k), w, 3e-5) << "query " << t << " key " << k;  // two F32 forwards apart
        if (k > m.query_begin + t) {
          EXPECT_EQ(m.at(t, k), 0.0f) << "causal";
        }
        sum += m.at(t, k);
        want_sum += w;
      }
      EXPECT_NEAR(sum, want_sum, 1e-5);
      if (m.query_begin + t < max_keys) {
        EXPECT_NEAR(sum, 1.0, 1e-5) << "query " << t;
      }
      ++rows;
    }
  }
  return rows;
}

TEST(ProbeHybrid, ImpliedRowsMatchReferenceInPrefillAndDecode) {
  test::TempDir dir;
  const std::string path = write_hybrid(dir);
  auto model = Model::load(test::device(), path);
  GgufFile file(path);
  ref::ReferenceModel cpu(file, kCtx);
  Session s(*model, SessionOptions{kCtx, 16});
  probe::CapturePlan plan = plan_all(16);
  plan.heads = {0, 3};
  s.set_capture_plan(&plan);
  std::vector<std::vector<int32_t>> passes = {kPrompt};
  for (int32_t t : kForced) passes.push_back({t});
  for (int i = 0; i < 20; ++i) passes.push_back({int32_t(60 + i)});  // past max_context: truncated rows
  int rows = 0;
  for (const auto& pass : passes) {
    s.prefill(pass, false);
    cpu.forward(pass);
    auto frames = s.take_frames();
    ASSERT_EQ(frames.size(), 1u);
    ASSERT_EQ(frames[0].maps.size(), 8u);  // 4 layers x 2 heads, mixers included
    rows += check_maps(frames[0], cpu, plan.heads, plan.max_context);
  }
  EXPECT_EQ(rows, 8 * int(kPrompt.size() + kForced.size() + 20));
}

TEST(ProbeHybrid, PrefillWithoutCapturesStillFeedsTheHistory) {
  test::TempDir dir;
  const std::string path = write_hybrid(dir);
  auto model = Model::load(test::device(), path);
  GgufFile file(path);
  ref::ReferenceModel cpu(file, kCtx);
  SessionOptions so{kCtx, 16};
  so.small_layers = false;
  Session off(*model, so);
  Session s(*model, SessionOptions{kCtx, 16});
  const probe::CapturePlan plan = plan_all(1);  // decode frames only: the prompt runs batched without captures
  s.set_capture_plan(&plan);
  s.prefill(kPrompt, false);
  off.prefill(kPrompt, false);
  cpu.forward(kPrompt);
  EXPECT_EQ(s.logits(), off.logits()) << "probes do not change the output";
  EXPECT_TRUE(s.take_frames().empty());
  for (int32_t t : kForced) {
    s.decode(t, false);
    off.decode(t, false);
    cpu.forward(std::vector<int32_t>{t});
    EXPECT_EQ(s.logits(), off.logits());
    auto frames = s.take_frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(check_maps(frames[0], cpu, {0, 1, 2, 3}, plan.max_context), 16);
  }
}

TEST(ProbeHybrid, PlanSetMidSequenceIsAClearError) {
  test::TempDir dir;
  auto model = Model::load(test::device(), write_hybrid(dir));
  Session s(*model, SessionOptions{kCtx, 16});
  s.prefill(kPrompt, false);
  const probe::CapturePlan plan = plan_all(1);
  s.set_capture_plan(&plan);
  EXPECT_ERROR(s.decode(5, false), "needs every token from position 0");
  s.reset();  // a new sequence: fine
  s.prefill(kPrompt, false);
  s.decode(5, false);
  EXPECT_EQ(s.take_frames().size(), 1u);
  // Attention rows only on attention layers: no history kept, no constraint.
  probe::CapturePlan attn = plan_all(1);
  attn.layers = {0};
  s.set_capture_plan(&attn);
  s.decode(6, false);
  EXPECT_EQ(s.take_frames().size(), 1u);
}

}  // namespace
}  // namespace ds
