// Lens top-k and divergence dispatch (shaders/probe_logits.comp): pass 1 over chunks of the vocabulary
// into partials, pass 2 merges them per token into the frame.
#include "probe/logits_top.h"

#include <algorithm>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "probe/check.h"
#include "vk/recorder.h"

namespace ds::probe {
namespace {

constexpr uint32_t k_threads = 256;

// Ids per pass-1 workgroup: whole multiples of the workgroup, 1 .. 8 ids per invocation. A GPU gets about
// 128 workgroups to fill its multiprocessors; a CPU device (lavapipe), where every workgroup's K-round merge
// is costly, the fewest (8 ids per invocation).
uint32_t chunk(int64_t vocab, bool many_workgroups) {
  const int64_t target = many_workgroups ? 128 : 1;
  return std::clamp<uint32_t>(k_threads * ops::div_up(ops::div_up(vocab, target), k_threads), k_threads,
                              8 * k_threads);
}
bool many_workgroups(const Device& dev) { return dev.info().type != "cpu"; }

// The pass-1 chunk for an explicit request (validated) or the device's choice.
uint32_t pick_chunk(const char* op, int64_t vocab, int requested, const Device& dev) {
  if (requested == 0) return chunk(vocab, many_workgroups(dev));
  DS_CHECK(requested > 0 && requested % int(k_threads) == 0 && requested <= int(8 * k_threads), "[", op, "] chunk ",
           requested, " must be a multiple of ", k_threads, " up to ", 8 * k_threads);
  return uint32_t(requested);
}

void check_logits(const char* op, const Tensor& t, int n_tokens) {
  ops::check_type(op, t, DType::F32);
  DS_CHECK(n_tokens >= 1 && n_tokens <= t.rows(), "[", op, "] ", n_tokens, " tokens of ", t.name, " (",
           t.shape_str(), ")");
}

void check_partials(const char* op, const Tensor& partials, size_t need) {
  ops::check_type(op, partials, DType::F32);
  DS_CHECK(size_t(partials.n_elements()) >= need, "[", op, "] partials ", partials.name, " has ",
           partials.n_elements(), " F32, needs ", need);
}

}  // namespace

size_t logits_partials(int vocab, int n_tokens, int k, bool pair, int chunk_ids) {
  const uint32_t c = chunk_ids > 0 ? uint32_t(chunk_ids) : chunk(vocab, true);  // auto: the larger count
  return size_t(n_tokens) * ops::div_up(vocab, c) * (pair ? 2 : 1) * size_t(4 + 2 * k);
}

void logits_top(vk::Recorder& rec, const Tensor& logits, int n_tokens, int n_top, const vk::BufferSlice& index,
                const Span& out, const Tensor& partials, int chunk_ids) {
  const char* op = "logits_top";
  check_logits(op, logits, n_tokens);
  check_index(op, index);
  DS_CHECK(n_top >= 1 && n_top <= 16, "[", op, "] n_top ", n_top, " out of range (1 .. 16)");
  const int64_t vocab = logits.ne[0];
  const uint32_t c = pick_chunk(op, vocab, chunk_ids, rec.device());
  check_partials(op, partials, logits_partials(int(vocab), n_tokens, n_top, false, int(c)));
  check_span(op, "output", out, uint64_t(n_tokens) * lens_block_words(n_top));
  push::ProbeLogitsPush pc{uint32_t(vocab), c, ops::div_up(vocab, c), uint32_t(n_top), 0, out.offset, out.frame_words,
                           lens_block_words(n_top)};
  Device& dev = rec.device();
  const std::vector<uint32_t> spec{k_threads, uint32_t(n_top)};
  rec.dispatch(dev.pipeline("probe_lens", 2, sizeof pc, spec), {logits.buf, partials.buf}, 0b10, &pc, pc.n_chunks,
               uint32_t(n_tokens), 1, "probe_lens");
  rec.dispatch(dev.pipeline("probe_lens_final", 3, sizeof pc, spec), {partials.buf, index, out.buf}, 0b100, &pc,
               uint32_t(n_tokens), 1, 1, "probe_lens_final");
}

void divergence(vk::Recorder& rec, const Tensor& teacher, const Tensor& student, const Tensor& tokens, int n_tokens,
                const DivergenceArgs& a, const vk::BufferSlice& index, const Span& out, const Tensor& partials) {
  const char* op = "divergence";
  check_logits(op, teacher, n_tokens);
  check_logits(op, student, n_tokens);
  ops::check_type(op, tokens, DType::I32);
  check_index(op, index);
  DS_CHECK(teacher.ne[0] == student.ne[0], "[", op, "] teacher logits ", teacher.name, " have ", teacher.ne[0],
           " entries, student logits ", student.name, " have ", student.ne[0], " (the same tokenizer is needed)");
  DS_CHECK(tokens.n_elements() >= n_tokens, "[", op, "] tokens ", tokens.name, " holds ", tokens.n_elements(),
           " ids for ", n_tokens, " tokens");
  DS_CHECK(a.topk_overlap >= 1 && a.topk_overlap <= 16 && a.n_top >= 1 && a.n_top <= 16, "[", op,
           "] top-k overlap ", a.topk_overlap, " and alternatives ", a.n_top, " must lie in 1 .. 16");
  const int k = std::max(a.topk_overlap, a.n_top);
  const int64_t vocab = teacher.ne[0];
  const uint32_t c = pick_chunk(op, vocab, a.chunk, rec.device());
  check_partials(op, partials, logits_partials(int(vocab), n_tokens, k, true, int(c)));
  check_span(op, "output", out, uint64_t(n_tokens) * divergence_block_words(a.n_top));
  push::ProbeLogitsPush pc{uint32_t(vocab), c, ops::div_up(vocab, c), uint32_t(a.n_top), uint32_t(a.topk_overlap),
                           out.offset, out.frame_words, divergence_block_words(a.n_top)};
  Device& dev = rec.device();
  const std::vector<uint32_t> spec{k_threads, uint32_t(k)};
  rec.dispatch(dev.pipeline("probe_divergence", 3, sizeof pc, spec), {teacher.buf, student.buf, partials.buf}, 0b100,
               &pc, pc.n_chunks, uint32_t(n_tokens), 1, "probe_divergence");
  rec.dispatch(dev.pipeline("probe_divergence_final", 6, sizeof pc, spec),
               {teacher.buf, student.buf, tokens.buf, partials.buf, index, out.buf}, 0b100000, &pc,
               uint32_t(n_tokens), 1, 1, "probe_divergence_final");
}

}  // namespace ds::probe
