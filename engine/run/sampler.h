// Sampler: the host side of token sampling. Owns small device buffers (the per-step state with the
// repetition mask, argmax scratch, the token id), records the GPU sampling into a step's command buffer
// once, and per step writes the uniform number and parameters before the submit and reads 4 bytes back.
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "ops/sample.h"
#include "ops/tensor.h"
#include "vk/memory.h"

namespace ds {
class Device;
namespace vk {
class Arena;
class Recorder;
}  // namespace vk

// splitmix64: the host's seeded stream of uniform numbers (one per sampling step).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed = 0) : state_(seed) {}
  uint64_t next();
  float uniform();  // in [0, 1), 24 random bits (exact in f32)

 private:
  uint64_t state_;
};

// Use per token: prepare_step(); submit the step; wait; id = token(); accept(id).
// Where the arena's memory is host-visible (mapped), the host writes the state and reads the token in place.
// Otherwise (or with HostCopies::Always) the sampler keeps its own small host-visible buffers and record()
// adds a copy of the state in before the sampling and a copy of the token out after it: still one submit.
class Sampler {
 public:
  enum class HostCopies { Auto, Always };
  Sampler(Device& dev, vk::Arena& arena, int vocab, SamplerParams params, HostCopies copies = HostCopies::Auto);

  // Records greedy argmax or the full sampler, chosen by the params now (see set_params).
  void record(vk::Recorder& rec, const Tensor& logits /*F32 [vocab]*/);
  void prepare_step();     // draws this step's u and writes it, the params and changed mask words
  int32_t token() const;   // after the submit has finished: the sampled id
  const Tensor& token_tensor() const { return token_; }  // I32 [1] on the device, written by the recording
  void accept(int32_t id);  // pushes the id into the repetition window (takes effect at the next prepare_step)
  // Starts a new sequence: window = the last repeat_last_n ids of `history`, PRNG restarted from the seed.
  void reset(std::span<const int32_t> history);

  // New params (validated; the window is trimmed if repeat_last_n shrank; the PRNG is reseeded when the seed
  // changes). Returns true when the recorded variant no longer fits (greedy <-> stochastic): record again
  // before the next submit (prepare_step throws otherwise). Other changes need no re-recording.
  bool set_params(const SamplerParams& params);
  const SamplerParams& params() const { return params_; }
  int vocab() const { return vocab_; }
  float last_u() const { return u_; }
  std::vector<int32_t> window() const { return {window_.begin(), window_.end()}; }  // oldest first

 private:
  void mark(int32_t id, bool on);
  void trim_window();
  void write_words(int64_t first, int64_t n);
  vk::BufferSlice host_state() const { return state_in_.size() ? state_in_.slice() : state_.buf; }
  vk::BufferSlice host_token() const { return token_out_.size() ? token_out_.slice() : token_.buf; }

  Device& dev_;
  int vocab_;
  SamplerParams params_;
  SplitMix64 rng_;
  float u_ = 0.0f;
  Tensor state_, partials_, token_;
  vk::Buffer state_in_, token_out_;  // host-visible copies, only when the arena's memory is not mapped
  std::vector<uint32_t> shadow_;  // host copy of the state buffer   [sample_state_words]
  int64_t dirty_lo_, dirty_hi_;   // mask words changed since the last write, [lo, hi)
  std::deque<int32_t> window_;
  std::vector<uint32_t> counts_;  // occurrences of each id in the window   [vocab]
  std::optional<bool> recorded_greedy_;
};

}  // namespace ds
