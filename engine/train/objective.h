// What a training step minimizes: a weighted sum of loss terms over the student's logits and hidden states.
// Pretraining uses cross-entropy against the next tokens; distillation adds (or uses instead) forward or
// reverse KL against a frozen teacher's logits (with temperature) and per-layer hidden-state MSE against the
// teacher's residual stream. The terms' gradients add into one logits gradient (head terms) or into the
// residual gradient as the backward walk passes the layer (hidden terms). Each term writes its own value
// buffer {mean, tokens}, read back per micro-batch, so the store gets every component.
#pragma once
#include <string>
#include <vector>

#include "ops/tensor.h"

namespace ds {
namespace vk {
class Arena;
class Recorder;
}  // namespace vk
namespace train {

struct LossTerm {
  enum Kind { CrossEntropy, KlForward, KlReverse, HiddenMse };
  Kind kind = CrossEntropy;
  float weight = 1.0f;
  float temperature = 1.0f;  // KL terms
  int layer = -1;            // HiddenMse: the residual stream after this layer
  std::string name() const;  // "ce", "kl_fwd", "kl_rev", "hidden.3"
  bool on_logits() const { return kind != HiddenMse; }
};

// Teacher outputs for one micro-batch (from a frozen teacher's forward recorded before the student's):
// logits F32 [vocab, n_tokens] for KL terms, hidden[l] F32 [d_model, n_tokens] for HiddenMse of layer l.
struct TeacherSignals {
  Tensor logits;
  std::vector<Tensor> hidden;
};

class Objective {
 public:
  // Allocates, for `micro_batches` micro-batches of n_tokens, one value slot per term and micro-batch
  // ({mean, tokens} F32) in values_arena (host-visible, so the host reads them in place) and the per-token
  // scratch in scratch_arena.
  Objective(vk::Arena& values_arena, vk::Arena& scratch_arena, std::vector<LossTerm> terms, int64_t n_tokens,
            int micro_batches);

  const std::vector<LossTerm>& terms() const { return terms_; }
  int logits_terms() const;
  // Whether the logits gradient needs its own buffer (more than one head term: they add into it).
  bool needs_separate_logits_grad() const { return logits_terms() > 1; }

  // Records the head terms of micro-batch mb: their values, and their weighted gradient into dlogits
  // (the first term writes, the others add). targets: I32 [n_tokens] (CrossEntropy).
  void record_logits(vk::Recorder& rec, int mb, const Tensor& logits, const Tensor& dlogits, const Tensor& targets,
                     const TeacherSignals& teacher) const;
  // Records the HiddenMse terms of `layer`: values, and their weighted gradients added into d_residual.
  void record_hidden(vk::Recorder& rec, int mb, int layer, const Tensor& hidden, const Tensor& d_residual,
                     const TeacherSignals& teacher) const;

  // Value slot of term t in micro-batch mb: F32 [2] {mean over its tokens, tokens counted}.
  const Tensor& value(int mb, size_t t) const { return values_[size_t(mb) * terms_.size() + t]; }

 private:
  std::vector<LossTerm> terms_;
  std::vector<Tensor> values_;
  Tensor per_token_;
};

}  // namespace train
}  // namespace ds
