// Host side of training's optimizer: parameter groups (F32 master weights, gradients, optional half-precision
// inference copies; frozen groups are simply never dispatched), the learning-rate schedule (linear warm-up,
// cosine decay to a floor), and AdamW, which owns the moments and records one step as GPU ops (ops/optim.h):
// global gradient norm -> clipping -> AdamW per trainable tensor -> F32 -> F16/BF16 copies. The step's
// scalars live in a host-written buffer, so a recorded step can be replayed (prepare_step before each submit).
#pragma once
#include <string>
#include <vector>

#include "ops/tensor.h"
#include "vk/memory.h"

namespace ds {
class Device;
namespace vk {
class Recorder;
}
namespace train {

struct LrSchedule {
  float peak_lr = 3e-4f;
  int warmup_steps = 0;      // linear warm-up: lr = peak * (step + 1) / warmup_steps for step < warmup_steps
  int total_steps = 1;       // cosine decay from peak (at warmup_steps) to min_lr (at total_steps), then min_lr
  float min_lr = 0.0f;       // the floor
  float at(int step) const;  // step: 0-based optimizer step
};

struct ParamTensor {
  Tensor param;  // F32 master weights
  Tensor grad;   // F32, same element count
  Tensor half;   // optional F16/BF16 copy the forward reads; refreshed after every update
};

struct ParamGroup {
  std::string name;
  std::vector<ParamTensor> tensors;
  float lr_scale = 1.0f;      // multiplies the schedule's learning rate
  float weight_decay = 0.0f;  // decoupled (AdamW); usually 0 for norms and biases
  bool trainable = true;      // false: frozen -- no moments, no updates, gradients left out of the norm
};

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float max_grad_norm = 1.0f;  // global-norm clipping over the trainable gradients; <= 0: none
};

class AdamW {
 public:
  // Checks the tensors (F32 master and grad of equal size; half F16/BF16 of that size) and allocates in
  // `arena` the zeroed moments of every trainable tensor, the norm scratch and the step buffer.
  AdamW(Device& dev, vk::Arena& arena, std::vector<ParamGroup> groups, AdamWConfig cfg = {});

  void record_zero_grads(vk::Recorder& rec) const;  // fills every trainable gradient with 0
  void record_step(vk::Recorder& rec) const;        // norm, clip, update, half copies
  // Host, before the submit of a recorded step: advances the step count and writes lr, the bias
  // corrections and grad_scale (e.g. 1 / micro-batches when gradients were summed over them).
  void prepare_step(float lr, float grad_scale = 1.0f);

  int steps() const { return step_; }
  // Checkpoints: the moments of tensor ti of group gi (trainable groups only), and setting the step count a
  // resumed run continues from (the bias corrections depend on it).
  const Tensor& moment_m(size_t gi, size_t ti) const { return moments_.at(gi).at(ti).m; }
  const Tensor& moment_v(size_t gi, size_t ti) const { return moments_.at(gi).at(ti).v; }
  void set_steps(int steps) { step_ = steps; }
  float last_grad_norm() const;  // after the submit: sqrt of the global squared norm (raw gradients)
  const std::vector<ParamGroup>& groups() const { return groups_; }
  const AdamWConfig& config() const { return cfg_; }

 private:
  struct Moments {
    Tensor m, v;
  };
  Device& dev_;
  std::vector<ParamGroup> groups_;
  AdamWConfig cfg_;
  std::vector<std::vector<Moments>> moments_;  // [group][tensor], empty for frozen groups
  std::vector<Tensor> trainable_grads_;
  Tensor partials_, norm_sq_;
  vk::Buffer step_buf_;  // host-visible AdamWStep
  int step_ = 0;
};

}  // namespace train
}  // namespace ds
