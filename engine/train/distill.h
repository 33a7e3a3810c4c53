// The staged-distillation runner behind `distilscope-cli distill TEACHER --plan PLAN.json -o DIR`. Stage N
// starts from stage N-1's student (the first from the teacher), converts its layers with `linearize` (picking
// them by importance when the plan says "auto"), distills the student from the frozen teacher with the stage's
// loss mix, and ends with DIR/stage-N.gguf (written atomically). The store gets one run (kind distill, the plan
// as its config), per-step losses (stage N), and per stage an evaluation before and after training (validation
// perplexity, KL to the teacher, top-1 agreement; decode tokens/s after), and the importance scores of "auto"
// stages. A LoRA stage ("train": "lora") trains adapters on the frozen projections (and the mixers) and merges
// them into the weights before its file is written. Resume: finished stages are kept, an interrupted stage
// continues from DIR/stage-N.checkpoint.gguf (masters, LoRA adapters, moments and step).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/distill_plan.h"
#include "train/trainer.h"

namespace ds {
class Device;
namespace train {

struct DistillOptions {
  std::string out_dir = "distill-out";
  bool resume = false;
  std::string store;  // overrides the plan's output.store when not empty
  std::function<void(const std::string&)> log;  // default: stdout
  uint64_t memory_budget = 0;
  // Test hooks: poison the student's output norm before this global step (counted over all stages); return as if
  // killed after this global step.
  int nan_at_step = -1, stop_after_step = -1;
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

struct DistillResult {
  int64_t run_id = 0;
  DistillEvalStats teacher;  // the teacher against itself: its own validation CE (KL 0, agreement 1)
  std::vector<StageResult> stages;
  int steps_done = 0;  // global steps done when returning
};

DistillResult distill(Device& dev, const std::string& teacher_path, const DistillPlan& plan,
                      const DistillOptions& opts);

}  // namespace train
}  // namespace ds
