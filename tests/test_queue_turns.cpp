// QueueTurns (a UI and the engine taking turns at one shared queue) and the chunked decode step it
// enables: the turn rules with real threads, and chunked decode giving the same logits as one submit,
// with probes on and off.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "distilscope/model.h"
#include "distilscope/queue_turns.h"
#include "distilscope/session.h"
#include "model/synthetic.h"
#include "probe/capture_plan.h"
#include "probe/frame.h"
#include "ref/compare.h"
#include "support/gpu.h"

namespace ds {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(QueueTurns, DisabledTurnsChangeNothing) {
  QueueTurns t;
  EXPECT_TRUE(t.claim());
  t.before_submit();  // would wait forever-ish if it honoured the claim
  t.after_complete();
  EXPECT_FALSE(t.engine_busy(1000ms));
}

TEST(QueueTurns, ClaimWaitsForWorkInFlightAndHoldsBackNewSubmits) {
  QueueTurns t;
  t.set_enabled(true);
  t.max_claim = 5000ms;
  t.before_submit();  // one engine submission in flight
  EXPECT_TRUE(t.engine_busy(1ms));
  std::atomic<int> idle_calls{0};
  t.set_idle_callback([&] { ++idle_calls; });
  EXPECT_FALSE(t.claim()) << "the queue is not the presenter's while engine work is in flight";
  EXPECT_TRUE(t.claimed());
  t.after_complete();
  EXPECT_EQ(idle_calls.load(), 1) << "the presenter is told at once when the queue becomes free";
  EXPECT_TRUE(t.claim());

  // A new engine submit now waits until the presenter releases its turn.
  std::atomic<bool> submitted{false};
  std::thread engine([&] {
    t.before_submit();
    submitted = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(submitted.load()) << "submitted during the presenter's turn";
  t.release();
  engine.join();
  EXPECT_TRUE(submitted.load());
  t.after_complete();
  EXPECT_EQ(t.stats().engine_waits, 1u);
  EXPECT_GE(t.stats().engine_wait_ms, 50.0);
}

TEST(QueueTurns, AStalledPresenterCannotStallTheEngine) {
  QueueTurns t;
  t.set_enabled(true);
  t.max_claim = 50ms;
  EXPECT_TRUE(t.claim());  // and never released
  const auto t0 = std::chrono::steady_clock::now();
  t.before_submit();
  const double waited = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(waited, 40.0);
  EXPECT_LT(waited, 2000.0);
  t.after_complete();
}

TEST(QueueTurns, EngineWithWorkInFlightDoesNotWaitForAClaim) {
  // The claim waits for the engine's work in flight; the engine waiting for the claim too would deadlock.
  QueueTurns t;
  t.set_enabled(true);
  t.max_claim = 5000ms;
  t.before_submit();
  EXPECT_FALSE(t.claim());
  const auto t0 = std::chrono::steady_clock::now();
  t.before_submit();  // a second chunk, submitted before the first was waited for
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
  t.after_complete();
  EXPECT_FALSE(t.claim());
  t.after_complete();
  EXPECT_TRUE(t.claim());
  t.release();
}

// The decode step split into chunks (a UI sharing the queue) computes exactly what one submit computes.
class ChunkedDecode : public testing::Test {
 protected:
  void SetUp() override { test::device().queue_turns().set_enabled(true); }
  void TearDown() override {
    test::device().queue_turns().set_enabled(false);
    unsetenv("DS_DECODE_CHUNKS");
  }
};

fs::path write_model(const char* name, DType type) {
  SyntheticSpec spec;
  spec.config = llama_like(3, 96, 6, 2, 160, 300);
  spec.type = type;
  spec.scale = 0.08f;
  spec.seed = 11;
  auto p = fs::temp_directory_path() / "distilscope-tests" / name;
  fs::create_directories(p.parent_path());
  write_synthetic_model(p.string(), spec);
  return p;
}

std::vector<std::vector<float>> decode_logits(Model& model, const char* chunks, bool small_layers) {
  setenv("DS_DECODE_CHUNKS", chunks, 1);
  SessionOptions o{64};
  o.small_layers = small_layers;
  Session s(model, o);
  std::vector<int32_t> prompt = {1, 40, 41, 42, 200};
  s.prefill(prompt, false);
  std::vector<std::vector<float>> out;
  for (int32_t tok : {7, 250, 3, 99, 12, 5}) {
    s.decode(tok, false);
    out.push_back(s.logits());
  }
  return out;
}

TEST_F(ChunkedDecode, SameLogitsAsOneSubmit) {
  auto model = Model::load(test::device(), write_model("chunked_decode.gguf", DType::F16).string());
  for (bool small : {false, true}) {
    const auto one = decode_logits(*model, "1", small);
    for (const char* chunks : {"2", "6", "64"}) {
      const auto split = decode_logits(*model, chunks, small);
      ASSERT_EQ(split.size(), one.size());
      for (size_t i = 0; i < one.size(); ++i)
        EXPECT_EQ(ref::nmse(split[i], one[i]), 0.0) << chunks << " chunks, small layers " << small << ", step " << i;
    }
  }
}

// With probes on (the app's chat), the chunks carry the capture nodes: same logits, same attention rows.
TEST_F(ChunkedDecode, ProbeFramesAreTheSame) {
  auto model = Model::load(test::device(), write_model("chunked_decode_probes.gguf", DType::F32).string());
  probe::CapturePlan plan;
  plan.layers = {0, 1, 2};
  plan.logit_lens = true;
  plan.max_queries = 16;
  auto run = [&](const char* chunks, std::vector<std::vector<float>>& logits, std::vector<probe::Frame>& frames) {
    setenv("DS_DECODE_CHUNKS", chunks, 1);
    Session s(*model, SessionOptions{64, 16});
    s.set_capture_plan(&plan);
    s.prefill(std::vector<int32_t>{1, 40, 41, 42, 200}, false);
    for (int32_t tok : {7, 250, 3}) {
      s.decode(tok, false);
      logits.push_back(s.logits());
    }
    frames = s.take_frames();
  };
  std::vector<std::vector<float>> one_logits, split_logits;
  std::vector<probe::Frame> one_frames, split_frames;
  run("1", one_logits, one_frames);
  run("6", split_logits, split_frames);
  EXPECT_EQ(split_logits, one_logits);
  ASSERT_EQ(split_frames.size(), one_frames.size());
  ASSERT_EQ(one_frames.size(), 4u);  // the prompt's prefill frame and three decode frames
  for (size_t f = 0; f < one_frames.size(); ++f) {
    ASSERT_EQ(split_frames[f].maps.size(), one_frames[f].maps.size());
    for (size_t m = 0; m < one_frames[f].maps.size(); ++m)
      EXPECT_EQ(split_frames[f].maps[m].probs, one_frames[f].maps[m].probs) << "frame " << f << " map " << m;
  }
}

TEST_F(ChunkedDecode, EngineCountsNothingInFlightAfterASession) {
  auto model = Model::load(test::device(), write_model("chunked_decode_idle.gguf", DType::F32).string());
  decode_logits(*model, "6", false);
  EXPECT_TRUE(test::device().queue_turns().claim()) << "a chunk was submitted and never counted as finished";
  test::device().queue_turns().release();
}

}  // namespace
}  // namespace ds
