// A staged-distillation plan (`distilscope-cli distill TEACHER --plan PLAN.json`): the data (a UTF-8 text file or
// text sampled from the teacher itself), batch and optimizer settings, the mixers' hyper-parameters, and the
// stages -- each converting some attention layers (listed, or the K least important picked by leave-one-out or
// probe), to a linear or Mamba mixer, training the mixers, everything, or the mixers plus LoRA adapters on the frozen
// projections (merged into the weights at the stage's end), with its loss mix and steps. Read with
// strict keys (docs/training.md, "Distillation"); check_plan validates it against the teacher before any work.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "distilscope/model_config.h"
#include "model/dtype.h"
#include "train/objective.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace ds::train {

enum class Importance { LeaveOneOut, Probe };

struct StageLoss {
  float reverse_kl = 1.0f, forward_kl = 0.0f, ce = 0.0f, hidden = 0.0f;
  float temperature = 1.0f;  // of both KL terms
};

struct StagePlan {
  std::vector<int> layers;  // explicit layers, or empty with auto_count > 0 (or, for a LoRA stage, none)
  int auto_count = 0;       // convert the auto_count least important remaining attention layers
  Importance by = Importance::LeaveOneOut;
  LayerKind mixer = LayerKind::Mamba;
  TrainGroup train = TrainGroup::Mixers;
  LoraSpec lora;  // train == Lora: rank (default 8), alpha (16), targets (all seven); seed set by the runner
  StageLoss loss;
  int steps = 100;
  float lr = 0;  // 0: the plan's optimizer.lr
};

struct DistillPlan {
  // data
  std::string corpus;                // UTF-8 text file, or "teacher": text sampled from the teacher
  int teacher_samples = 64;          // "teacher": sequences generated (from BOS)
  float sample_temperature = 1.0f;   // "teacher": sampling temperature
  std::string separator = "\n\n";    // documents of a text file
  double validation_fraction = 0.1;
  // batches
  int seq_len = 128, batch_seqs = 16, micro_batch_seqs = 0;
  uint64_t seed = 1;
  DType weights = DType::F32;
  OptimSpec optim;
  // evaluation
  int eval_sequences = 32;  // validation sequences per evaluation (0: all)
  int decode_tokens = 64;   // tokens generated to time decoding at the end of a stage (0: not timed)
  int probe_steps = 20;     // "by": "probe": steps of the short distillation per candidate
  // mixers (as `linearize`)
  int d_state = 16, features = 0, window = 64;
  // output
  int checkpoint_interval = 100, log_interval = 10;
  DType export_type = DType::F32;  // stage-N.gguf matrices
  std::string store;               // "" = the default store, "none", or a path
  std::vector<StagePlan> stages;
  std::string json;  // the document as read (recorded with the run)
};

// Relative paths (data.corpus, output.store) resolve against base_dir. Throws "<doc>: key 'stages[1].mixer' ...".
DistillPlan parse_distill_plan(const JsonRef& root, const std::string& base_dir);
DistillPlan read_distill_plan(const std::string& path);

// Against the teacher: every listed layer exists and is attention in the teacher, no layer is converted twice,
// every "auto" count fits the attention layers left by then, every LoRA rank fits its projections. Throws one
// message naming the stage and layer.
void check_plan(const DistillPlan& plan, const ModelConfig& teacher);
// The layers an "auto" stage may pick from the student it starts from: its attention layers that no later stage
// lists explicitly.
std::vector<int> auto_candidates(const DistillPlan& plan, size_t stage, const ModelConfig& student);

// The objective of a stage (hidden MSE: one term per layer, each weighted `hidden`).
std::vector<LossTerm> stage_losses(const StageLoss& loss, int n_layers);

}  // namespace ds::train
