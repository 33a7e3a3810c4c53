// Loss dispatch: shaders/loss.comp (one workgroup per token row; variants loss_ce, loss_kl, loss_mse) and
// shaders/loss_reduce.comp (one workgroup: count the cross-entropy's tokens first, the mean last).
#include "ops/loss.h"

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

constexpr uint32_t k_row_threads = 256, k_reduce_threads = 256;

bool overlap(const Tensor& a, const Tensor& b) {
  return a.buf.buffer == b.buf.buffer && a.buf.offset < b.buf.offset + b.n_bytes() &&
         b.buf.offset < a.buf.offset + a.n_bytes();
}

void check_common(vk::Recorder& rec, const char* op, const Tensor& x, const Tensor& grad, const Tensor& per_token,
                  const Tensor& value, const LossOptions& o) {
  for (const Tensor* t : {&x, &grad, &per_token, &value}) {
    check_type(op, *t, DType::F32);
    check_binding(op, *t, rec.device());
  }
  check_same_shape(op, x, grad);
  DS_CHECK(per_token.n_elements() == x.rows(), "[", op, "] ", per_token.name, " has ", per_token.n_elements(),
           " values for ", x.rows(), " tokens");
  DS_CHECK(value.n_elements() >= 2, "[", op, "] ", value.name, " must hold 2 values {mean, count}");
  DS_CHECK(!o.accumulate || !overlap(x, grad), "[", op, "] accumulating into ", grad.name, " which overlaps ", x.name);
}

// Per-row kernel, then the mean (over the counted tokens when use_count).
void run_loss(vk::Recorder& rec, const char* shader, const char* label, const Tensor& a, const vk::BufferSlice& b,
              const Tensor& grad, const Tensor& per_token, const Tensor& value, float temperature, uint32_t flags,
              const LossOptions& o, bool use_count) {
  Device& dev = rec.device();
  const uint32_t rows = uint32_t(a.rows());
  push::LossPush pc{uint32_t(a.ne[0]), rows, temperature, o.weight, flags | (o.accumulate ? GRAD_ACCUMULATE : 0u), 0};
  auto& p = dev.pipeline(shader, 5, sizeof pc, {k_row_threads});
  auto [gx, gy] = grid_2d(rows);
  rec.dispatch(p, {a.buf, b, grad.buf, per_token.buf, value.buf}, 0b01100, &pc, gx, gy, 1, label);
  push::LossReducePush rc{rows, uint32_t(a.ne[0]), use_count ? 1u : 0u, 0};
  auto& pm = dev.pipeline("loss_mean", 2, sizeof rc, {k_reduce_threads});
  rec.dispatch(pm, {per_token.buf, value.buf}, 0b10, &rc, 1, 1, 1, "loss_mean");
}

}  // namespace

void cross_entropy(vk::Recorder& rec, const Tensor& logits, const Tensor& targets, const Tensor& grad,
                   const Tensor& per_token, const Tensor& value, const LossOptions& o) {
  const char* op = "cross_entropy";
  check_common(rec, op, logits, grad, per_token, value, o);
  check_type(op, targets, DType::I32);
  DS_CHECK(targets.n_elements() == logits.rows(), "[", op, "] ", targets.name, " has ", targets.n_elements(),
           " targets for ", logits.rows(), " tokens of ", logits.name);
  push::LossReducePush rc{uint32_t(logits.rows()), uint32_t(logits.ne[0]), 1, 0};
  auto& pc = rec.device().pipeline("loss_count", 2, sizeof rc, {k_reduce_threads});
  rec.dispatch(pc, {targets.buf, value.buf}, 0b10, &rc, 1, 1, 1, "loss_count");
  run_loss(rec, "loss_ce", op, logits, targets.buf, grad, per_token, value, 1.0f, 0, o, true);
}

void kl_divergence(vk::Recorder& rec, const Tensor& student, const Tensor& teacher, KlDirection direction,
                   float temperature, const Tensor& grad, const Tensor& per_token, const Tensor& value,
                   const LossOptions& o) {
  const char* op = "kl_divergence";
  check_common(rec, op, student, grad, per_token, value, o);
  check_type(op, teacher, DType::F32);
  check_same_shape(op, student, teacher);
  DS_CHECK(temperature > 0, "[", op, "] temperature ", temperature, " must be positive");
  const uint32_t flags = direction == KlDirection::Reverse ? LOSS_REVERSE_KL : 0u;
  run_loss(rec, "loss_kl", op, student, teacher.buf, grad, per_token, value, temperature, flags, o, false);
}

void mse(vk::Recorder& rec, const Tensor& student, const Tensor& teacher, const Tensor& grad, const Tensor& per_token,
         const Tensor& value, const LossOptions& o) {
  const char* op = "mse";
  check_common(rec, op, student, grad, per_token, value, o);
  check_type(op, teacher, DType::F32);
  check_same_shape(op, student, teacher);
  run_loss(rec, "loss_mse", op, student, teacher.buf, grad, per_token, value, 1.0f, 0, o, false);
}

}  // namespace ds::ops
