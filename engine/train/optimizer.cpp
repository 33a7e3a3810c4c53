// LrSchedule and AdamW (see optimizer.h).
#include "train/optimizer.h"

#include <cmath>
#include <cstring>
#include <numbers>

#include "distilscope/device.h"
#include "ops/optim.h"
#include "ops/push.h"
#include "util/error.h"
#include "vk/recorder.h"
#include "vk/submit.h"

namespace ds::train {

float LrSchedule::at(int step) const {
  if (step < warmup_steps) return peak_lr * float(step + 1) / float(warmup_steps);
  if (step >= total_steps || total_steps <= warmup_steps) return min_lr;
  const double progress = double(step - warmup_steps) / double(total_steps - warmup_steps);
  return float(min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
}

AdamW::AdamW(Device& dev, vk::Arena& arena, std::vector<ParamGroup> groups, AdamWConfig cfg)
    : dev_(dev), groups_(std::move(groups)), cfg_(cfg) {
  uint64_t n_partials = 0;
  vk::OneShot zero(dev);
  vk::Recorder rec(dev, zero.cmd());
  for (const ParamGroup& g : groups_) {
    std::vector<Moments> ms;
    for (const ParamTensor& t : g.tensors) {
      DS_CHECK(t.param.type == DType::F32 && t.grad.type == DType::F32, "[adamw] group ", g.name, ": ", t.param.name,
               " and its gradient ", t.grad.name, " must be F32 (master weights)");
      DS_CHECK(t.param.n_elements() == t.grad.n_elements(), "[adamw] group ", g.name, ": ", t.param.name, " has ",
               t.param.n_elements(), " elements but its gradient ", t.grad.name, " has ", t.grad.n_elements());
      DS_CHECK(!t.half || t.half.n_elements() == t.param.n_elements(), "[adamw] group ", g.name, ": half copy ",
               t.half.name, " has ", t.half.n_elements(), " elements, master ", t.param.name, " has ",
               t.param.n_elements());
      if (!g.trainable) continue;
      Moments m{make_tensor(arena, DType::F32, t.param.ne, t.param.name + ".adam_m"),
                make_tensor(arena, DType::F32, t.param.ne, t.param.name + ".adam_v")};
      rec.fill(m.m.buf.sub(0, m.m.n_bytes()), 0);
      rec.fill(m.v.buf.sub(0, m.v.n_bytes()), 0);
      ms.push_back(std::move(m));
      trainable_grads_.push_back(t.grad);
      n_partials += ops::grad_norm_partials(t.grad.n_elements());
    }
    moments_.push_back(std::move(ms));
  }
  partials_ = make_tensor(arena, DType::F32, {int64_t(std::max<uint64_t>(n_partials, 1)), 1, 1, 1}, "adamw.partials");
  norm_sq_ = make_tensor(arena, DType::F32, {1, 1, 1, 1}, "adamw.norm_sq");
  rec.fill(norm_sq_.buf.sub(0, 4), 0);
  zero.submit_and_wait();
  step_buf_ = vk::Buffer(dev, sizeof(push::AdamWStep), vk::MemoryKind::Upload, "adamw step");
}

void AdamW::record_zero_grads(vk::Recorder& rec) const {
  for (const Tensor& g : trainable_grads_) rec.fill(g.buf.sub(0, g.n_bytes()), 0);
}

void AdamW::record_step(vk::Recorder& rec) const {
  if (trainable_grads_.empty()) return;
  ops::grad_norm_sq(rec, trainable_grads_, partials_, norm_sq_);
  const bool clip = cfg_.max_grad_norm > 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    if (!g.trainable) continue;
    for (size_t ti = 0; ti < g.tensors.size(); ++ti) {
      const ParamTensor& t = g.tensors[ti];
      ops::adamw(rec, t.param, t.grad, moments_[gi][ti].m, moments_[gi][ti].v, step_buf_.slice(),
                 clip ? norm_sq_ : Tensor{}, {g.lr_scale, g.weight_decay});
      if (t.half) ops::cast_half(rec, t.param, t.half);
    }
  }
}

void AdamW::prepare_step(float lr, float grad_scale) {
  ++step_;
  push::AdamWStep s{};
  s.lr = lr;
  s.beta1 = cfg_.beta1;
  s.beta2 = cfg_.beta2;
  s.eps = cfg_.eps;
  s.bias_correction1 = float(1.0 - std::pow(double(cfg_.beta1), step_));
  s.bias_correction2 = float(1.0 - std::pow(double(cfg_.beta2), step_));
  s.max_grad_norm = cfg_.max_grad_norm;
  s.grad_scale = grad_scale;
  std::memcpy(step_buf_.slice().mapped, &s, sizeof s);
}

float AdamW::last_grad_norm() const {
  float sq = 0;
  dev_.staging().download(norm_sq_.buf, &sq, 4);
  return std::sqrt(sq);
}

}  // namespace ds::train
