// Training losses on the GPU over token rows (logits [vocab, n_tokens], hidden states [d, n_tokens]): the value
// (mean over tokens) and the gradient with respect to the student's tensor, numerically stable (log-sum-exp).
//   cross_entropy:  -log softmax(logits)[target], targets < 0 (or >= vocab) ignored, mean over counted tokens;
//   kl_divergence:  distillation from teacher logits with temperature T: p = softmax(teacher / T),
//                   q = softmax(student / T); Forward = KL(p || q) (mass-covering), Reverse = KL(q || p)
//                   (mode-seeking, Apriel-H1's choice); the value is T^2 * KL (the usual scaling that keeps
//                   gradient sizes independent of T), and the gradient is that value's;
//   mse:            mean over tokens of mean_d (student - teacher)^2 (per-layer hidden-state matching).
// Each writes per_token F32 [n_tokens] (the token's loss) and value F32 [2] = {mean loss, tokens counted}; the
// gradient is multiplied by LossOptions::weight (value is not), so several weighted losses can add into one
// gradient buffer. Deterministic: fixed-order reductions, no atomics.
#pragma once
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

struct LossOptions {
  float weight = 1.0f;      // multiplies the gradient
  bool accumulate = false;  // grad += weight * d(loss) (else grad = ...)
};

enum class KlDirection {
  Forward,  // KL(teacher || student)
  Reverse,  // KL(student || teacher)
};

// logits, grad: F32 [vocab, n_tokens] (grad may be the logits' own memory when not accumulating);
// targets: I32 [n_tokens].
void cross_entropy(vk::Recorder& rec, const Tensor& logits, const Tensor& targets, const Tensor& grad,
                   const Tensor& per_token, const Tensor& value, const LossOptions& opts = {});

// student, teacher, grad: F32 [vocab, n_tokens] (grad may be the student's memory when not accumulating).
void kl_divergence(vk::Recorder& rec, const Tensor& student, const Tensor& teacher, KlDirection direction,
                   float temperature, const Tensor& grad, const Tensor& per_token, const Tensor& value,
                   const LossOptions& opts = {});

// student, teacher, grad: F32 [d, n_tokens].
void mse(vk::Recorder& rec, const Tensor& student, const Tensor& teacher, const Tensor& grad, const Tensor& per_token,
         const Tensor& value, const LossOptions& opts = {});

}  // namespace ops
}  // namespace ds
