// Staged distillation end to end. A real teacher (issue 6, item 6): stories260K distilled into a one-mixer
// student (layer 4 -> Mamba, mixers trained by reverse KL on text sampled from the teacher) on this device; its
// KL to the teacher must end well below the untrained student's. Plans: strict keys, and the bad plans (a
// missing layer, a layer converted twice) fail before any work with one message; NaN stops the stage naming the
// step and the last good checkpoint; an interrupted run resumes (stage files kept, the store's steps once each); the
// progress callback reports stages and steps and stops the run resumably.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "distilscope/store.h"
#include "model/model_source.h"
#include "model/synthetic.h"
#include "support/distill_fixture.h"
#include "support/files.h"
#include "support/gpu.h"
#include "train/distill.h"
#include "util/json_parse.h"

namespace ds {
namespace {

namespace fs = std::filesystem;
using test::plan_of;

TEST(TrainDistill, Stories260KOneMambaLayerLearnsTheTeacher) {
  DS_REQUIRE_SHARED("models/stories260K.gguf", path);
  test::TempDir dir;
  const train::DistillPlan plan = plan_of(R"({
    "data": {"corpus": "teacher", "teacher_samples": 80, "validation_fraction": 0.15},
    "train": {"seq_len": 40, "batch_seqs": 4, "seed": 3},
    "optimizer": {"lr": 0.04, "min_lr": 0.004, "warmup_steps": 8, "weight_decay": 0.0},
    "eval": {"sequences": 12, "decode_tokens": 32},
    "output": {"store": "none", "log_interval": 40},
    "stages": [{"layers": [4], "mixer": "mamba", "train": "mixers", "loss": {"reverse_kl": 1.0}, "steps": 80}]
  })");
  train::DistillOptions o;
  o.out_dir = (dir / "out");
  const auto t0 = std::chrono::steady_clock::now();
  const train::DistillResult r = train::distill(test::device(), path.string(), plan, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.stages.size(), 1u);
  const auto& s = r.stages[0];
  std::printf("stories260K, layer 4 -> Mamba, 80 steps of 4 x 40 tokens in %.1f s: KL to teacher %.4f -> %.4f, "
              "top-1 agreement %.3f -> %.3f, perplexity %.3f -> %.3f (teacher %.3f), decode %.0f tok/s\n",
              secs, s.before.kl, s.after.kl, s.before.top1, s.after.top1, s.before.perplexity(), s.after.perplexity(),
              std::exp(s.before.teacher_ce), s.decode_tokens_per_s);
  EXPECT_GT(s.before.kl, 0.05);
  EXPECT_LT(s.after.kl, 0.65 * s.before.kl);
  EXPECT_GT(s.after.top1, s.before.top1);
  EXPECT_EQ(s.layers, std::vector<int>{4});
  auto student = ModelSource::open(s.model);
  EXPECT_EQ(student->config().layer_kind(4), LayerKind::Mamba);
  EXPECT_EQ(student->config().layer_kind(3), LayerKind::Attention);
}

// A tiny synthetic teacher and a text corpus for the plan mechanics.
struct Tiny : test::TinyDistillTeacher {
  std::string plan(const std::string& stages, const std::string& extra = "") const {
    return R"({"data": {"corpus": ")" + corpus + R"(", "validation_fraction": 0.2},
      "train": {"seq_len": 16, "batch_seqs": 2}, "eval": {"sequences": 2, "decode_tokens": 4},
      "mixer": {"d_state": 8, "window": 4}, "output": {"store": ")" + (dir / "store.db") + R"(",
      "checkpoint_interval": 4)" + extra + R"(}, "stages": )" + stages + "}";
  }
};

TEST(TrainDistill, BadPlansFailBeforeAnyWork) {
  Tiny t;
  const ModelConfig teacher = ModelSource::open(t.teacher)->config();
  EXPECT_ERROR(train::check_plan(plan_of(t.plan(R"([{"layers": [3], "steps": 2}])")), teacher),
               "[distill] stage 0 converts layer 3, but the teacher has 3 layers (0..2)");
  EXPECT_ERROR(train::check_plan(plan_of(t.plan(R"([{"layers": [1], "steps": 2}, {"layers": [0, 1]}])")), teacher),
               "[distill] stage 1 converts layer 1 again: stage 0 already converts it");
  EXPECT_ERROR(train::check_plan(plan_of(t.plan(R"([{"layers": [2, 2]}])")), teacher),
               "[distill] stage 0 lists layer 2 twice");
  EXPECT_ERROR(train::check_plan(plan_of(t.plan(R"([{"layers": [0]}, {"layers": {"auto": 2}}, {"layers": [2]}])")),
                                 teacher),
               "stage 1 converts 2 layers by importance, but only 1 attention layers are left for it");
  EXPECT_ERROR(plan_of(t.plan(R"([{"layers": [0], "mixer": "rwkv"}])")), "key 'stages[0].mixer' is 'rwkv'");
  EXPECT_ERROR(plan_of(t.plan(R"([{"layers": [0], "los": {}}])")), "is not a known setting");
  // distill() checks too, before creating anything.
  train::DistillOptions o;
  o.out_dir = (t.dir / "never");
  EXPECT_ERROR(train::distill(test::device(), t.teacher, plan_of(t.plan(R"([{"layers": [7]}])")), o),
               "converts layer 7");
  EXPECT_FALSE(fs::exists(o.out_dir));
}

TEST(TrainDistill, StagesAutoPicksNanAndResume) {
  Tiny t;
  // Stage 0: layer 1 -> linear, everything trains; stage 1: the least important remaining layer by
  // leave-one-out -> Mamba, with hidden-state and CE terms.
  const std::string stages = R"([{"layers": [1], "mixer": "linear", "train": "all", "steps": 6},
      {"layers": {"auto": 1, "by": "leave-one-out"}, "mixer": "mamba",
       "loss": {"reverse_kl": 1, "forward_kl": 0.5, "ce": 0.1, "hidden": 0.1, "temperature": 2}, "steps": 6}])";
  const train::DistillPlan plan = plan_of(t.plan(stages));
  train::DistillOptions o;
  o.out_dir = (t.dir / "out");
  o.log = [](const std::string&) {};
  o.stop_after_step = 11;  // killed in stage 1 after 5 of its 6 steps (its checkpoint after 4)
  const train::DistillResult r1 = train::distill(test::device(), t.teacher, plan, o);
  EXPECT_EQ(r1.steps_done, 11);
  EXPECT_TRUE(fs::exists(o.out_dir + "/stage-1.checkpoint.gguf"));
  EXPECT_TRUE(fs::exists(o.out_dir + "/stage-0.gguf"));
  EXPECT_FALSE(fs::exists(o.out_dir + "/stage-1.gguf"));
  ASSERT_EQ(r1.stages.size(), 2u);
  ASSERT_EQ(r1.stages[1].importance.size(), 2u);  // layers 0 and 2
  // Without --resume the directory is refused.
  o.stop_after_step = -1;
  EXPECT_ERROR(train::distill(test::device(), t.teacher, plan, o), "pass --resume");
  o.resume = true;
  const train::DistillResult r2 = train::distill(test::device(), t.teacher, plan, o);
  ASSERT_EQ(r2.stages.size(), 2u);
  EXPECT_TRUE(r2.stages[0].skipped);
  EXPECT_EQ(r2.stages[1].layers, r1.stages[1].layers);  // kept from the interrupted attempt
  auto student = ModelSource::open(o.out_dir + "/stage-1.gguf");
  EXPECT_EQ(student->config().layer_kind(1), LayerKind::Linear);
  EXPECT_EQ(student->config().layer_kind(r1.stages[1].layers[0]), LayerKind::Mamba);
  Store st((t.dir / "store.db"));
  const auto runs = st.list_runs(RunKind::Distill);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::Done);
  EXPECT_EQ(st.list_train_steps(runs[0].id).size(), 12u);  // each step once
  const auto evals = st.list_stage_evals(runs[0].id);
  ASSERT_EQ(evals.size(), 4u);  // before and after each stage
  EXPECT_GT(evals[1].decode_tokens_per_s, 0);
  // Stage 1's leave-one-out scores, kept across the resume (its layers were kept too).
  const auto importance = st.list_layer_importance(runs[0].id);
  ASSERT_EQ(importance.size(), 2u);
  EXPECT_EQ(importance[0].stage, 1);
  EXPECT_EQ(importance[0].method, "leave-one-out");
  EXPECT_TRUE(importance[0].converted);
  EXPECT_EQ(importance[0].layer, r1.stages[1].layers[0]);
  EXPECT_DOUBLE_EQ(importance[0].score, r1.stages[1].importance[0].score);
  EXPECT_LE(importance[0].score, importance[1].score);
  EXPECT_FALSE(importance[1].converted);

  // NaN at global step 8 (stage 1, step 2; nothing saved in the stage yet): the stage stops naming the step.
  train::DistillOptions n;
  n.out_dir = (t.dir / "nan");
  n.log = o.log;
  n.nan_at_step = 8;
  EXPECT_ERROR(train::distill(test::device(), t.teacher, plan, n),
               "at step 2; stopped. The last good checkpoint is the stage's start: " + n.out_dir + "/stage-0.gguf");
  EXPECT_TRUE(fs::exists(n.out_dir + "/stage-0.gguf"));
  EXPECT_FALSE(fs::exists(n.out_dir + "/stage-1.gguf"));
}

TEST(TrainDistill, ProgressReportsStepsAndStopsResumably) {
  Tiny t;
  const train::DistillPlan plan = plan_of(t.plan(R"([{"layers": [1], "mixer": "mamba", "steps": 6},
      {"layers": [2], "mixer": "linear", "steps": 2}])"));
  using Event = train::DistillProgress::Event;
  std::vector<std::string> events;  // "begin 0", "step 0.1 (global 1)", "done 0"
  int stop_at = 3;
  train::DistillOptions o;
  o.out_dir = (t.dir / "out");
  o.log = [](const std::string&) {};
  o.progress = [&](const train::DistillProgress& p) {
    EXPECT_EQ(p.stages, 2);
    if (p.event == Event::StageBegun) {
      events.push_back(cat("begin ", p.stage));
      EXPECT_EQ(p.result->layers, std::vector<int>{p.stage + 1});
    } else if (p.event == Event::Step) {
      events.push_back(cat("step ", p.stage, ".", p.step, " (global ", p.global_step, ")"));
      EXPECT_TRUE(std::isfinite(p.loss));
      EXPECT_GT(p.loss, 0);
      EXPECT_EQ(p.terms.size(), 1u);  // reverse_kl
    } else {
      events.push_back(cat("done ", p.stage));
      EXPECT_GT(p.result->after.tokens, 0);
      EXPECT_TRUE(std::filesystem::exists(p.result->model));
    }
    return p.event != Event::Step || p.step != stop_at;
  };
  const train::DistillResult r1 = train::distill(test::device(), t.teacher, plan, o);
  EXPECT_TRUE(r1.stopped);
  EXPECT_EQ(r1.steps_done, 3);
  EXPECT_EQ(events, (std::vector<std::string>{"begin 0", "step 0.1 (global 1)", "step 0.2 (global 2)",
                                              "step 0.3 (global 3)"}));
  EXPECT_TRUE(fs::exists(o.out_dir + "/stage-0.checkpoint.gguf"));  // checkpoint_interval 4: saved by the stop
  EXPECT_FALSE(fs::exists(o.out_dir + "/stage-0.gguf"));

  events.clear();
  stop_at = -1;
  o.resume = true;
  const train::DistillResult r2 = train::distill(test::device(), t.teacher, plan, o);
  EXPECT_FALSE(r2.stopped);
  EXPECT_EQ(events, (std::vector<std::string>{"begin 0", "step 0.4 (global 4)", "step 0.5 (global 5)",
                                              "step 0.6 (global 6)", "done 0", "begin 1", "step 1.1 (global 7)",
                                              "step 1.2 (global 8)", "done 1"}));
  EXPECT_TRUE(fs::exists(o.out_dir + "/stage-1.gguf"));
  Store st((t.dir / "store.db"));
  const auto runs = st.list_runs(RunKind::Distill);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(st.list_train_steps(runs[0].id).size(), 8u);  // each step once
}

}  // namespace
}  // namespace ds
