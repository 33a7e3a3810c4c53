// Probes wired into a Session, end to end through real (synthetic) models: logits with probes on equal
// those with probes off bit for bit (per-op path), in prefill and decode and for every weight type, and
// the one-dispatch small-layer path to F32 summation order; attention rows of
// prefill and decode frames sum to 1 and match the CPU reference model's; residual norms and top channels
// match the reference; the logit lens of the last layer is the model's own output distribution; frames not
// taken in time are counted as lost; a plan that asks for a missing layer is a clear error.
#include <cmath>

#include "distilscope/model.h"
#include "distilscope/session.h"
#include "model/gguf.h"
#include "model/synthetic.h"
#include "probe/capture_plan.h"
#include "probe/frame.h"
#include "ref/compare.h"
#include "ref/forward.h"
#include "ref/probe.h"
#include "support/files.h"
#include "support/gpu.h"

namespace ds {
namespace {

constexpr int kLayers = 3, kHeads = 4, kCtx = 48;
const std::vector<int32_t> kPrompt = {1, 40, 41, 42, 200, 201, 17, 9};
const std::vector<int32_t> kForced = {250, 3, 77, 120, 5};

std::string write_model(const test::TempDir& dir, DType type, uint64_t seed = 1) {
  SyntheticSpec spec;
  spec.config = llama_like(kLayers, 64, kHeads, 2, 128, 320);
  spec.type = type;
  spec.seed = seed;
  spec.scale = 0.08f;  // peaked enough that attention rows are not near-uniform
  const std::string path = dir / ("model-" + std::string(dtype_name(type)) + ".gguf");
  write_synthetic_model(path, spec);
  return path;
}

probe::CapturePlan full_plan() {
  probe::CapturePlan p;
  p.layers = {0, 1, 2};
  p.logit_lens = true;
  p.max_queries = 16;  // captures the whole prompt in its prefill frame
  p.hist_range = 4;
  return p;
}

// Logits after the prompt and after each forced decode step.
std::vector<std::vector<float>> run_steps(Session& s) {
  std::vector<std::vector<float>> out;
  s.prefill(kPrompt, false);
  out.push_back(s.logits());
  for (int32_t t : kForced) {
    s.decode(t, false);
    out.push_back(s.logits());
  }
  return out;
}

class ProbeOnOff : public testing::TestWithParam<DType> {};

TEST_P(ProbeOnOff, LogitsAreBitIdentical) {
  test::TempDir dir;
  auto model = Model::load(test::device(), write_model(dir, GetParam()));
  // Probes read the per-op tensors, so a capturing decode step never uses the one-dispatch small layer
  // (d_model <= 256): the bit-exact reference is the per-op path, the only one of larger models.
  SessionOptions per_op{kCtx, 16};
  per_op.small_layers = false;
  Session off(*model, per_op);
  const auto want = run_steps(off);
  Session on(*model, SessionOptions{kCtx, 16});
  const probe::CapturePlan plan = full_plan();
  on.set_capture_plan(&plan);
  const auto got = run_steps(on);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want[i]) << "step " << i;
  EXPECT_EQ(on.take_frames().size(), 1 + kForced.size());
  // Against the small-layer path: the same up to F32 summation order.
  Session small(*model, SessionOptions{kCtx, 16});
  const auto fused = run_steps(small);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LT(ref::nmse(got[i], fused[i]), 1e-8) << "step " << i;
  // Sampling on the GPU picks the same tokens too, and clearing the plan leaves a plain session.
  off.reset();
  on.reset();
  on.set_capture_plan(nullptr);
  EXPECT_EQ(on.decode_ring(), nullptr);
  EXPECT_EQ(on.prefill(kPrompt, true), off.prefill(kPrompt, true));
  EXPECT_TRUE(on.take_frames().empty());
}

INSTANTIATE_TEST_SUITE_P(Types, ProbeOnOff, testing::Values(DType::F32, DType::F16, DType::Q8_0, DType::Q4_0),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Decode fusions (ops/matvec_fused.h) with probes on: the attention rows read the q and K cache the fused
// q/k/v mat-vec writes, the sublayer norms rewrite the combine-fused output projection. A cache of 300 splits
// attention in 3 chunks and a 140-token prefix makes 2 of them live, so the partials are merged for real.
TEST(ProbeSession, FusedDecodeCapturesEqualSeparateOps) {
  test::TempDir dir;
  auto model = Model::load(test::device(), write_model(dir, DType::F16));
  SessionOptions fused{300, 64}, separate{300, 64};
  fused.small_layers = separate.small_layers = false;
  fused.fuse_combine = true;  // off by default; tested here
  separate.fuse_decode = false;
  Session a(*model, fused), b(*model, separate);
  std::vector<int32_t> prefix;
  for (int i = 0; i < 140; ++i) prefix.push_back((i * 37 + 3) % 320);
  a.prefill(prefix, false);
  b.prefill(prefix, false);
  const probe::CapturePlan plan = full_plan();
  a.set_capture_plan(&plan);
  b.set_capture_plan(&plan);
  for (int32_t t : kForced) {
    a.decode(t, false);
    b.decode(t, false);
    EXPECT_LT(ref::nmse(a.logits(), b.logits()), 1e-9) << "token " << t;
    auto fa = a.take_frames(), fb = b.take_frames();
    ASSERT_EQ(fa.size(), 1u);
    ASSERT_EQ(fb.size(), 1u);
    ASSERT_EQ(fa[0].maps.size(), fb[0].maps.size());
    for (size_t m = 0; m < fa[0].maps.size(); ++m) {
      const AttentionMap &x = fa[0].maps[m], &y = fb[0].maps[m];
      ASSERT_EQ(x.n_keys, y.n_keys);
      for (int k = 0; k < x.n_keys; ++k) EXPECT_NEAR(x.at(0, k), y.at(0, k), 1e-6) << "map " << m << " key " << k;
    }
    ASSERT_EQ(fa[0].activations.size(), 1u);
    for (int l : plan.layers) {
      const LayerActivation &x = fa[0].activations[0].layers[size_t(l)], &y = fb[0].activations[0].layers[size_t(l)];
      EXPECT_NEAR(x.mixer_out_norm, y.mixer_out_norm, 1e-5 * y.mixer_out_norm) << "layer " << l;
      EXPECT_NEAR(x.residual_norm, y.residual_norm, 1e-5 * y.residual_norm) << "layer " << l;
    }
  }
}

// Frames of a prompt prefill plus forced decode steps against the reference model.
TEST(ProbeSession, AttentionRowsAndResidualsMatchReference) {
  test::TempDir dir;
  const std::string path = write_model(dir, DType::F32);
  auto model = Model::load(test::device(), path);
  GgufFile file(path);
  ref::ReferenceModel cpu(file, kCtx);
  Session s(*model, SessionOptions{kCtx, 16});
  probe::CapturePlan plan = full_plan();
  plan.layers = {2, 0};  // plan order is frame order
  plan.heads = {3, 1};
  plan.max_context = 32;
  s.set_capture_plan(&plan);

  std::vector<std::vector<int32_t>> passes = {kPrompt};
  for (int32_t t : kForced) passes.push_back({t});
  int checked_rows = 0;
  for (const auto& pass : passes) {
    const int n_past = s.n_past();
    s.prefill(pass, false);
    cpu.forward(pass);
    auto frames = s.take_frames();
    ASSERT_EQ(frames.size(), 1u);
    const probe::Frame& f = frames[0];
    SCOPED_TRACE("pass at " + std::to_string(n_past));
    EXPECT_EQ(f.n_past, n_past);
    EXPECT_EQ(f.n_queries, int(pass.size()));
    EXPECT_EQ(f.tokens, pass);
    ASSERT_EQ(f.maps.size(), 4u);
    for (const AttentionMap& m : f.maps) {
      const int i = m.head == 1 ? 0 : 1;  // index among the captured heads (ascending)
      const auto want = cpu.attention_rows(m.layer, {1, 3}, plan.max_context);
      EXPECT_EQ(m.query_begin, n_past);
      EXPECT_EQ(m.n_keys, n_past + int(pass.size()));
      EXPECT_FALSE(m.implied);
      for (int t = 0; t < m.n_queries; ++t) {
        double sum = 0;
        for (int k = 0; k < m.n_keys; ++k) {
          const float w = want[(size_t(i) * pass.size() + size_t(t)) * size_t(plan.max_context) + size_t(k)];
          EXPECT_NEAR(m.at(t, k), w, 2e-6)
              << "layer " << m.layer << " head " << m.head << " query " << t << " key " << k;
          sum += m.at(t, k);
          if (k > n_past + t) {
            EXPECT_EQ(m.at(t, k), 0.0f) << "causal";
          }
        }
        EXPECT_NEAR(sum, 1.0, 1e-5);
        ++checked_rows;
      }
    }
    ASSERT_EQ(f.activations.size(), pass.size());
    for (size_t t = 0; t < pass.size(); ++t)
      for (int l : plan.layers) {
        const LayerActivation& a = f.activations[t].layers[size_t(l)];
        const auto& x = cpu.residual(l);
        std::span<const float> row(x.data() + t * 64, 64);
        const auto st = ref::activation_stats(row, plan.top_channels, plan.hist_bins, -4, 4);
        EXPECT_NEAR(a.residual_norm, st.norm, 1e-4 * st.norm) << "layer " << l;
        ASSERT_EQ(a.top_channels.size(), st.top.size());
        EXPECT_EQ(a.top_channels[0].first, st.top[0].first) << "layer " << l;
        EXPECT_GT(a.mixer_out_norm, 0.0f);
        EXPECT_GT(a.mlp_out_norm, 0.0f);
        uint32_t counted = 0;
        for (uint32_t c : a.histogram) counted += c;
        EXPECT_EQ(counted, 64u);
      }
  }
  EXPECT_EQ(checked_rows, 4 * int(kPrompt.size() + kForced.size()));
}

TEST(ProbeSession, LastLayerLensIsTheModelsOutput) {
  test::TempDir dir;
  auto model = Model::load(test::device(), write_model(dir, DType::F16));
  Session s(*model, SessionOptions{kCtx, 16});
  probe::CapturePlan plan;
  plan.layers = {kLayers - 1};
  plan.attention_rows = false;
  plan.activation_stats = false;
  plan.logit_lens = true;
  s.set_capture_plan(&plan);
  s.prefill(kPrompt, false);
  for (int32_t t : kForced) {
    s.decode(t, false);
    const auto want = ref::logits_top(s.logits(), plan.lens_top);
    auto frames = s.take_frames();
    ASSERT_EQ(frames.size(), 1u);
    const auto& lens = frames[0].activations[0].layers[kLayers - 1].logit_lens;
    ASSERT_EQ(lens.size(), want.size());
    for (size_t r = 0; r < lens.size(); ++r) {
      EXPECT_EQ(lens[r].first, want[r].first) << "rank " << r;
      EXPECT_NEAR(lens[r].second, want[r].second, 1e-5) << "rank " << r;
    }
  }
}

TEST(ProbeSession, FramesNotTakenInTimeAreCountedLost) {
  test::TempDir dir;
  auto model = Model::load(test::device(), write_model(dir, DType::F32));
  Session s(*model, SessionOptions{kCtx, 16});
  probe::CapturePlan plan;
  plan.layers = {1};
  s.set_capture_plan(&plan, nullptr, 4);
  for (int i = 0; i < 10; ++i) s.decode(5 + i, false);
  auto frames = s.take_frames();
  ASSERT_EQ(frames.size(), 4u);  // the last 4 steps; the ring overwrote the first 6
  EXPECT_EQ(s.frames_lost(), 6u);
  EXPECT_EQ(frames.front().n_past, 6);
  EXPECT_EQ(frames.back().n_past, 9);
  EXPECT_TRUE(frames.back().maps[0].n_keys == 10);
}

TEST(ProbeSession, BadPlansAreClearErrors) {
  test::TempDir dir;
  auto model = Model::load(test::device(), write_model(dir, DType::F32));
  Session s(*model, SessionOptions{kCtx, 16});
  probe::CapturePlan plan;
  plan.layers = {7};
  EXPECT_ERROR(s.set_capture_plan(&plan), "layer 7 requested but the model has 3 layers");
  EXPECT_FALSE(s.capturing());
  plan.layers = {0};
  plan.divergence = true;  // a divergence plan needs the teacher's logits linked
  s.set_capture_plan(&plan);
  EXPECT_ERROR(s.decode(3, false), "no teacher logits");
}

}  // namespace
}  // namespace ds
