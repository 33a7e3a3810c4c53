// The staged-distillation runner behind `distilscope-cli distill TEACHER --plan PLAN.json -o DIR`. Stage N
// starts from stage N-1's student (the first from the teacher), converts its layers with `linearize` (picking
// them by importance when the plan says "auto"), distills the student from the frozen teacher with the stage's
// loss mix, and ends with DIR/stage-N.gguf (written atomically). The store gets one run (kind distill, the plan
// as its config), per-step losses (stage N), and per stage an evaluation before and after training (validation
// perplexity, KL to the teacher, top-1 agreement; decode tokens/s after), and the importance scores of "auto"
// stages. A LoRA stage ("train": "lora") trains adapters on the frozen projections (and the mixers) and merges
// them into the weights before its file is written. Resume: finished stages are kept, an interrupted stage
// continues from DIR/stage-N.checkpoint.gguf (masters, LoRA adapters, moments and step). Progress (stage begun,
// step done, stage done) goes to DistillOptions::progress, which can also stop the run after a step.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "train/distill_plan.h"
#include "train/trainer.h"

namespace ds {
class Device;
namespace train {

struct StageResult;
struct DistillProgress;

struct DistillOptions {
  std::string out_dir = "distill-out";
  bool resume = false;
  std::string store;  // overrides the plan's output.store when not empty
  std::function<void(const std::string&)> log;  // default: stdout
  uint64_t memory_budget = 0;
  // Test hooks: poison the student's output norm before this global step (counted over all stages); return as if
  // killed after this global step.
  int nan_at_step = -1, stop_after_step = -1;
  // Called on the calling thread as the run goes. Returning false after a step stops the run there: a checkpoint of
  // the stage is saved, so `resume` continues from that step (the return value of other events is ignored).
  std::function<bool(const DistillProgress&)> progress;
};

struct LayerScore {
  int layer = 0;
  double score = 0;  // validation KL to the teacher with this layer converted (lower: less important)
};

struct StageResult {
  std::vector<int> layers;             // converted in this stage
  std::vector<LayerScore> importance;  // "auto" stages: every candidate, least important first (also stored)
  std::string model;                   // DIR/stage-N.gguf
  DistillEvalStats before, after;      // the untrained (just converted) and the trained student
  double decode_tokens_per_s = 0;
  std::vector<double> losses;          // per step (this process's steps)
  bool skipped = false;                // finished before a resume
};

// One report to DistillOptions::progress.
struct DistillProgress {
  enum class Event { StageBegun, Step, StageDone };
  Event event = Event::Step;
  int stage = 0, stages = 0;
  int step = 0, steps = 0;  // Step: steps done in this stage (1..steps); steps: the stage's total
  int global_step = 0;      // steps done over all stages
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0;  // Step
  std::vector<std::pair<std::string, double>> terms;           // Step: each loss term by name
  LayerKind mixer = LayerKind::Mamba;
  const StageResult* result = nullptr;  // StageBegun: layers (and `before` unless resumed mid-stage); StageDone: all
};

struct DistillResult {
  int64_t run_id = 0;
  DistillEvalStats teacher;  // the teacher against itself: its own validation CE (KL 0, agreement 1)
  std::vector<StageResult> stages;
  int steps_done = 0;  // global steps done when returning
  bool stopped = false;  // DistillOptions::progress asked to stop (the run is resumable)
};

DistillResult distill(Device& dev, const std::string& teacher_path, const DistillPlan& plan,
                      const DistillOptions& opts);

}  // namespace train
}  // namespace ds
