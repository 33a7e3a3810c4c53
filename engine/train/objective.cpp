// Loss terms of a training step (see objective.h).
#include "train/objective.h"

#include "ops/loss.h"
#include "util/error.h"
#include "vk/memory.h"

namespace ds::train {

std::string LossTerm::name() const {
  switch (kind) {
    case CrossEntropy:
      return "ce";
    case KlForward:
      return "kl_fwd";
    case KlReverse:
      return "kl_rev";
    case HiddenMse:
      return "hidden." + std::to_string(layer);
  }
  return "?";
}

Objective::Objective(vk::Arena& values_arena, vk::Arena& scratch_arena, std::vector<LossTerm> terms, int64_t n_tokens,
                     int micro_batches)
    : terms_(std::move(terms)) {
  DS_CHECK(!terms_.empty(), "[train] the objective has no loss terms");
  for (const LossTerm& t : terms_)
    DS_CHECK(t.kind != LossTerm::HiddenMse || t.layer >= 0, "[train] hidden-state loss without a layer");
  for (int mb = 0; mb < micro_batches; ++mb)
    for (const LossTerm& t : terms_)
      values_.push_back(
          make_tensor(values_arena, DType::F32, {2, 1, 1, 1}, "loss." + t.name() + "." + std::to_string(mb)));
  per_token_ = make_tensor(scratch_arena, DType::F32, {n_tokens, 1, 1, 1}, "loss.per_token");
}

int Objective::logits_terms() const {
  int n = 0;
  for (const LossTerm& t : terms_) n += t.on_logits();
  return n;
}

void Objective::record_logits(vk::Recorder& rec, int mb, const Tensor& logits, const Tensor& dlogits,
                              const Tensor& targets, const TeacherSignals& teacher) const {
  bool first = true;
  for (size_t i = 0; i < terms_.size(); ++i) {
    const LossTerm& t = terms_[i];
    if (!t.on_logits()) continue;
    const ops::LossOptions o{t.weight, !first};
    if (t.kind == LossTerm::CrossEntropy) {
      ops::cross_entropy(rec, logits, targets, dlogits, per_token_, value(mb, i), o);
    } else {
      DS_CHECK(bool(teacher.logits), "[train] loss term ", t.name(), " needs the teacher's logits");
      const auto dir = t.kind == LossTerm::KlForward ? ops::KlDirection::Forward : ops::KlDirection::Reverse;
      ops::kl_divergence(rec, logits, teacher.logits, dir, t.temperature, dlogits, per_token_, value(mb, i), o);
    }
    first = false;
  }
}

void Objective::record_hidden(vk::Recorder& rec, int mb, int layer, const Tensor& hidden, const Tensor& d_residual,
                              const TeacherSignals& teacher) const {
  for (size_t i = 0; i < terms_.size(); ++i) {
    const LossTerm& t = terms_[i];
    if (t.kind != LossTerm::HiddenMse || t.layer != layer) continue;
    DS_CHECK(size_t(layer) < teacher.hidden.size() && teacher.hidden[size_t(layer)], "[train] loss term ", t.name(),
             " needs the teacher's hidden state after layer ", layer);
    ops::mse(rec, hidden, teacher.hidden[size_t(layer)], d_residual, per_token_, value(mb, i), {t.weight, true});
  }
}

}  // namespace ds::train
