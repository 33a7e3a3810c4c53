// Sampling dispatch: sample_argmax{,_final}.comp (greedy) and sample_full.comp (one workgroup).
#include "ops/sample.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "distilscope/device.h"
#include "ops/check.h"
#include "vk/recorder.h"

namespace ds::ops {

namespace {
constexpr uint32_t k_argmax_threads = 256;
constexpr uint32_t k_argmax_per_group = 4 * k_argmax_threads;  // ids per first-pass workgroup
constexpr uint32_t k_full_max_subgroups = 128;                  // MAX_SUBGROUPS in sample_full.comp

int64_t check_sample_args(const char* op, const Tensor& logits, const Tensor& state, const Tensor& token) {
  check_type(op, logits, DType::F32);
  check_type(op, state, DType::I32);
  check_type(op, token, DType::I32);
  int64_t vocab = logits.ne[0];
  DS_CHECK(logits.rows() == 1, "[", op, "] ", logits.name, " is ", logits.shape_str(), ": pass one row of logits");
  DS_CHECK(vocab >= 1 && vocab < (int64_t(1) << 24), "[", op, "] ", logits.name, ": vocab ", vocab,
           " out of range [1, 2^24)");
  DS_CHECK(state.n_elements() >= sample_state_words(vocab), "[", op, "] ", state.name, " has ", state.n_elements(),
           " words, vocab ", vocab, " needs ", sample_state_words(vocab));
  DS_CHECK(token.n_elements() >= 1, "[", op, "] ", token.name, " is empty");
  return vocab;
}

vk::BufferSlice words(const Tensor& t, int64_t n) { return t.buf.sub(0, VkDeviceSize(n) * 4); }
}  // namespace

void validate(const SamplerParams& p) {
  DS_CHECK(std::isfinite(p.temperature), "[sampler] temperature ", p.temperature, " is not finite");
  DS_CHECK(p.top_k >= 0, "[sampler] top_k ", p.top_k, " must be >= 0 (0 = off)");
  DS_CHECK(p.top_p > 0.0f && p.top_p <= 1.0f, "[sampler] top_p ", p.top_p, " must be in (0, 1] (1 = off)");
  DS_CHECK(p.min_p >= 0.0f && p.min_p < 1.0f, "[sampler] min_p ", p.min_p, " must be in [0, 1) (0 = off)");
  DS_CHECK(p.repeat_penalty > 0.0f && std::isfinite(p.repeat_penalty), "[sampler] repeat_penalty ",
           p.repeat_penalty, " must be > 0 (1 = off)");
  DS_CHECK(p.repeat_last_n >= 0, "[sampler] repeat_last_n ", p.repeat_last_n, " must be >= 0 (0 = off)");
}

int64_t sample_state_words(int64_t vocab) { return int64_t(sizeof(push::SampleStep) / 4) + (vocab + 31) / 32; }

int64_t argmax_partial_words(int64_t vocab) { return 2 * int64_t(div_up(vocab, k_argmax_per_group)); }

push::SampleStep sample_step(const SamplerParams& p, float u) {
  push::SampleStep s{};
  s.u = u;
  s.inv_temperature = p.temperature > 0.0f ? 1.0f / p.temperature : 1.0f;
  s.top_k = uint32_t(std::max(p.top_k, 0));
  s.top_p = p.top_p;
  s.min_p = p.min_p;
  s.penalty = p.repeat_penalty;
  s.inv_penalty = 1.0f / p.repeat_penalty;
  s.use_penalty = (p.repeat_penalty != 1.0f && p.repeat_last_n > 0) ? 1u : 0u;
  return s;
}

void sample_greedy(vk::Recorder& rec, const Tensor& logits, const Tensor& state, const Tensor& partials,
                   const Tensor& token) {
  int64_t vocab = check_sample_args("sample_greedy", logits, state, token);
  check_type("sample_greedy", partials, DType::I32);
  DS_CHECK(partials.n_elements() >= argmax_partial_words(vocab), "[sample_greedy] ", partials.name, " has ",
           partials.n_elements(), " words, vocab ", vocab, " needs ", argmax_partial_words(vocab));
  uint32_t groups = div_up(vocab, k_argmax_per_group);
  push::SamplePush pc{uint32_t(vocab), groups, k_argmax_per_group, 0};
  Device& dev = rec.device();
  auto& first = dev.pipeline("sample_argmax", 3, sizeof pc, {k_argmax_threads});
  auto& last_pass = dev.pipeline("sample_argmax_final", 2, sizeof pc, {k_argmax_threads});
  vk::BufferSlice part = words(partials, 2 * int64_t(groups));
  rec.dispatch(first, {logits.buf, state.buf, part}, 0b100, &pc, groups, 1, 1, "sample_argmax");
  rec.dispatch(last_pass, {part, words(token, 1)}, 0b10, &pc, 1, 1, 1, "sample_argmax_final");
}

void sample_full(vk::Recorder& rec, const Tensor& logits, const Tensor& state, const Tensor& token) {
  int64_t vocab = check_sample_args("sample_full", logits, state, token);
  Device& dev = rec.device();
  const auto& lim = dev.props().limits;
  // One workgroup: as wide as the device allows (up to 1024), no wider than the vocab needs, and with at most
  // k_full_max_subgroups subgroups even if the driver picks subgroups as narrow as 8 lanes.
  uint32_t cap = std::min({1024u, lim.maxComputeWorkGroupInvocations, lim.maxComputeWorkGroupSize[0],
                           k_full_max_subgroups * std::min(dev.subgroup_size(), 8u)});
  uint32_t threads = std::min(cap, std::max(64u, std::bit_ceil(uint32_t(vocab) / 8)));
  push::SamplePush pc{uint32_t(vocab), 0, 0, div_up(vocab, threads)};
  auto& pipe = dev.pipeline("sample_full", 3, sizeof pc, {threads});
  rec.dispatch(pipe, {logits.buf, state.buf, words(token, 1)}, 0b100, &pc, 1, 1, 1, "sample_full");
}

}  // namespace ds::ops
