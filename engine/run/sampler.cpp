// Sampler: host PRNG, repetition window with a device bit mask, per-step state writes.
#include "run/sampler.h"

#include <algorithm>
#include <cstring>

#include "distilscope/device.h"
#include "util/error.h"
#include "vk/memory.h"
#include "vk/recorder.h"

namespace ds {

namespace {
constexpr int64_t k_header_words = int64_t(sizeof(push::SampleStep) / 4);
}

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

float SplitMix64::uniform() { return float(next() >> 40) * 0x1p-24f; }

Sampler::Sampler(Device& dev, vk::Arena& arena, int vocab, SamplerParams params, HostCopies copies)
    : dev_(dev), vocab_(vocab), params_(params), rng_(params.seed) {
  DS_CHECK(vocab >= 1 && vocab < (1 << 24), "[sampler] vocab ", vocab, " out of range [1, 2^24)");
  ops::validate(params);
  int64_t words = ops::sample_state_words(vocab);
  state_ = make_tensor(arena, DType::I32, {words, 1, 1, 1}, "sampler.state");
  partials_ = make_tensor(arena, DType::I32, {ops::argmax_partial_words(vocab), 1, 1, 1}, "sampler.partials");
  token_ = make_tensor(arena, DType::I32, {1, 1, 1, 1}, "sampler.token");
  if (copies == HostCopies::Always || !state_.buf.mapped)
    state_in_ = vk::Buffer(dev, VkDeviceSize(words) * 4, vk::MemoryKind::Upload, "sampler.state (host)");
  if (copies == HostCopies::Always || !token_.buf.mapped)
    token_out_ = vk::Buffer(dev, 4, vk::MemoryKind::Readback, "sampler.token (host)");
  shadow_.assign(size_t(words), 0);
  counts_.assign(size_t(vocab), 0);
  dirty_lo_ = k_header_words;  // the whole (zero) mask still has to reach the device
  dirty_hi_ = words;
}

void Sampler::record(vk::Recorder& rec, const Tensor& logits) {
  DS_CHECK(logits.ne[0] == vocab_, "[sampler] ", logits.name, " has ", logits.ne[0], " logits, the sampler was made for vocab ",
           vocab_);
  bool greedy = ops::is_greedy(params_);
  if (state_in_.size()) rec.copy(state_in_.slice(), state_.buf);
  if (greedy)
    ops::sample_greedy(rec, logits, state_, partials_, token_);
  else
    ops::sample_full(rec, logits, state_, token_);
  if (token_out_.size()) rec.copy(token_.buf.sub(0, 4), token_out_.slice());
  recorded_greedy_ = greedy;
}

void Sampler::prepare_step() {
  DS_CHECK(recorded_greedy_ == ops::is_greedy(params_), "[sampler] the recorded sampler is ",
           !recorded_greedy_ ? "missing" : *recorded_greedy_ ? "greedy" : "stochastic",
           " but the params ask for ", ops::is_greedy(params_) ? "greedy" : "stochastic", " sampling: record again");
  u_ = rng_.uniform();
  push::SampleStep step = ops::sample_step(params_, u_);
  std::memcpy(shadow_.data(), &step, sizeof step);
  write_words(0, k_header_words);
  if (dirty_hi_ > dirty_lo_) write_words(dirty_lo_, dirty_hi_ - dirty_lo_);
  dirty_lo_ = int64_t(shadow_.size());
  dirty_hi_ = 0;
}

void Sampler::write_words(int64_t first, int64_t n) {
  vk::BufferSlice dst = host_state().sub(VkDeviceSize(first) * 4, VkDeviceSize(n) * 4);
  std::memcpy(dst.mapped, shadow_.data() + first, size_t(n) * 4);
}

int32_t Sampler::token() const {
  int32_t id = 0;
  std::memcpy(&id, host_token().mapped, 4);
  DS_CHECK(id >= 0 && id < vocab_, "[sampler] sampled id ", id, " is outside the vocab of ", vocab_,
           " (was the step submitted and finished?)");
  return id;
}

void Sampler::mark(int32_t id, bool on) {
  int64_t w = k_header_words + id / 32;
  uint32_t bit = 1u << (id % 32);
  shadow_[size_t(w)] = on ? shadow_[size_t(w)] | bit : shadow_[size_t(w)] & ~bit;
  dirty_lo_ = std::min(dirty_lo_, w);
  dirty_hi_ = std::max(dirty_hi_, w + 1);
}

void Sampler::trim_window() {
  while (window_.size() > size_t(params_.repeat_last_n)) {
    int32_t old = window_.front();
    window_.pop_front();
    if (--counts_[size_t(old)] == 0) mark(old, false);
  }
}

void Sampler::accept(int32_t id) {
  DS_CHECK(id >= 0 && id < vocab_, "[sampler] accepted id ", id, " is outside the vocab of ", vocab_);
  if (params_.repeat_last_n == 0) return;
  window_.push_back(id);
  if (counts_[size_t(id)]++ == 0) mark(id, true);
  trim_window();
}

void Sampler::reset(std::span<const int32_t> history) {
  for (int32_t id : window_)
    if (counts_[size_t(id)] != 0) {
      counts_[size_t(id)] = 0;
      mark(id, false);
    }
  window_.clear();
  rng_ = SplitMix64(params_.seed);
  size_t n = std::min(history.size(), size_t(params_.repeat_last_n));
  for (int32_t id : history.subspan(history.size() - n)) accept(id);
}

bool Sampler::set_params(const SamplerParams& params) {
  ops::validate(params);
  if (params.seed != params_.seed) rng_ = SplitMix64(params.seed);
  params_ = params;
  trim_window();
  return recorded_greedy_ && *recorded_greedy_ != ops::is_greedy(params_);
}

}  // namespace ds
