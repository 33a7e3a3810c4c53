// Trainer: one optimizer step of a llama-architecture model as ONE command buffer, recorded once and replayed
// every step. A step covers batch_seqs sequences of seq_len tokens in micro-batches (gradient accumulation:
// the parameter gradients are zeroed once, each micro-batch's backward adds into them, AdamW scales by
// 1 / micro-batches); the host writes the token ids and the optimizer's scalars (learning rate, bias
// corrections) into host-visible buffers before each submit, and reads back each micro-batch's loss values
// and the gradient norm after it. Evaluation (forward + loss only) has its own recording over the same
// activations. Memory: F32 masters, gradients and AdamW moments (16 bytes per parameter, plus 2 per parameter
// for half copies), and one micro-batch's activations (llama_activation_bytes).
// Distillation: with a teacher configuration the trainer also holds a frozen teacher (weights only, no
// gradients) whose forward is recorded before the student's in every micro-batch; its logits and residual
// streams are the objective's TeacherSignals. `train` freezes everything but the mixers of converted layers, or
// (LoRA) everything but those mixers and rank-r adapters on the frozen projections (train/lora.h).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "distilscope/model_config.h"
#include "train/corpus.h"
#include "train/llama_params.h"
#include "train/llama_train.h"
#include "train/objective.h"
#include "train/optimizer.h"

namespace ds {
class Device;
namespace vk {
class Arena;
class Recording;
class Profiler;
struct OpTiming;
}  // namespace vk
namespace train {

// Which parameters train: every one, only the token mixers of converted layers (LlamaParams::is_mixer_tensor), or
// those mixers plus LoRA adapters on the other (frozen) projections (TrainerOptions::lora).
enum class TrainGroup { All, Mixers, Lora };

struct TrainerOptions {
  ModelConfig model;  // llama family: attention, linear or Mamba layers
  int seq_len = 512;
  int batch_seqs = 32;         // sequences per optimizer step
  int micro_batch_seqs = 0;    // 0: the largest divisor of batch_seqs that fits (see memory_budget)
  DType weights = DType::F32;  // what the forward reads (F16/BF16: copies of the F32 masters)
  AdamWConfig adamw;
  float weight_decay = 0.1f;
  std::vector<LossTerm> losses = {LossTerm{}};  // cross-entropy
  uint64_t memory_budget = 0;                   // bytes for one micro-batch's activations; 0: half the device's memory
  TrainGroup train = TrainGroup::All;
  LoraSpec lora;  // train == Lora: rank (> 0), alpha, targets, seed
  ModelConfig teacher;  // n_layers 0: none; else a frozen teacher of the same vocabulary (KL / hidden terms)
};

// The inputs of some sequences: ids and next-token targets, row-major [n_seqs][seq_len] (targets < 0 are
// ignored by cross-entropy).
struct TokenBatch {
  std::vector<int32_t> ids, targets;
};
// Sequences `seqs` of `data`: inputs(i) and targets(i) of each.
TokenBatch gather_batch(const PackedSequences& data, std::span<const size_t> seqs);

struct StepStats {
  double loss = 0;            // weighted sum of the terms, mean over the step's tokens
  std::vector<double> terms;  // each term's mean (unweighted), in TrainerOptions::losses order
  float grad_norm = 0;        // before clipping
};

struct EvalStats {
  double loss = 0;  // mean cross-entropy over the counted tokens
  double tokens = 0;
  double perplexity() const;
};

// The student against the teacher over validation tokens (temperature 1, computed on the host).
struct DistillEvalStats {
  double ce = 0;            // student cross-entropy (validation loss)
  double kl = 0;            // mean KL(teacher || student) per token, nats
  double kl_reverse = 0;    // mean KL(student || teacher)
  double top1 = 0;          // fraction of tokens where the argmaxes agree
  double teacher_ce = 0;    // the teacher's cross-entropy, for reference
  double tokens = 0;
  double perplexity() const;
};

class Trainer {
 public:
  Trainer(Device& dev, const TrainerOptions& options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  const TrainerOptions& options() const { return o_; }
  LlamaParams& params() { return *params_; }
  const LlamaParams& params() const { return *params_; }
  LlamaParams& teacher();  // throws without a teacher
  bool has_teacher() const { return bool(teacher_); }
  AdamW& optimizer() { return *opt_; }
  const AdamW& optimizer() const { return *opt_; }
  int micro_batch_seqs() const { return mb_seqs_; }
  int micro_batches() const { return o_.batch_seqs / mb_seqs_; }
  uint64_t activation_bytes() const { return act_bytes_; }

  // One optimizer step over batch_seqs sequences: forward, backward, clipping, AdamW at learning rate lr.
  // Replays the recorded step; the first call records it.
  StepStats step(const TokenBatch& batch, float lr);
  // Forward and backward only: the gradients are left in params() (summed over micro-batches, not scaled).
  StepStats gradients(const TokenBatch& batch);
  // Mean cross-entropy over the first max_seqs sequences of `data` (0: all), in micro-batch chunks.
  EvalStats evaluate(const PackedSequences& data, size_t max_seqs);
  // CE, KL both ways and top-1 agreement against the teacher over the first max_seqs sequences (0: all).
  DistillEvalStats evaluate_distill(const PackedSequences& data, size_t max_seqs);
  // The student's logits F32 [n_seqs][seq_len][vocab] for at most micro_batch_seqs() sequences (forward only).
  std::vector<float> logits(const TokenBatch& batch);
  // GPU time of every dispatch of the last step (Device opened with profile = true; else empty).
  std::vector<vk::OpTiming> last_step_timings() const;

 private:
  void write_inputs(const TokenBatch& batch, size_t n_seqs);  // pads with ignored rows up to n_seqs
  void record(vk::Recording& rec, bool backward, bool optimizer_step, int micro_batches, bool logits_only = false);
  StepStats read_stats(int micro_batches) const;

  Device& dev_;
  TrainerOptions o_;
  int mb_seqs_ = 0;
  uint64_t act_bytes_ = 0;
  std::unique_ptr<vk::Arena> weights_arena_, act_arena_, io_arena_, readback_arena_;
  std::unique_ptr<LlamaParams> params_, teacher_;
  LlamaActivations teacher_acts_;
  std::vector<TrainGraph> teacher_graphs_;
  TeacherSignals signals_;
  std::unique_ptr<AdamW> opt_;
  std::unique_ptr<Objective> objective_;
  LlamaActivations acts_;
  Tensor ids_host_, targets_host_;  // I32 [batch_seqs * seq_len], host-written
  Tensor ids_, targets_;            // device copies
  std::vector<TrainGraph> graphs_;  // one per micro-batch (its input rows and loss slots)
  std::unique_ptr<vk::Recording> step_rec_, grad_rec_, eval_rec_, logits_rec_;
  std::unique_ptr<vk::Profiler> step_prof_;
};

}  // namespace train
}  // namespace ds
