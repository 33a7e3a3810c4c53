// Activation statistics dispatch (shaders/probe_act_stats.comp): one workgroup per token.
#include "probe/activation_stats.h"

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "probe/check.h"
#include "vk/recorder.h"

namespace ds::probe {

void activation_stats(vk::Recorder& rec, const Tensor& x, int n_tokens, const StatsLayout& L, NormSlot slot,
                      bool full, const vk::BufferSlice& index, const Span& out) {
  const char* op = "activation_stats";
  ops::check_type(op, x, DType::F32);
  check_index(op, index);
  DS_CHECK(n_tokens >= 1 && n_tokens <= x.rows(), "[", op, "] ", n_tokens, " tokens of ", x.name, " (",
           x.shape_str(), ")");
  DS_CHECK(L.top_k >= 1 && L.top_k <= 16, "[", op, "] top_k ", L.top_k, " out of range (1 .. 16)");
  DS_CHECK(L.bins >= 1 && L.bins <= 1024, "[", op, "] ", L.bins, " histogram bins out of range (1 .. 1024)");
  DS_CHECK(L.hi > L.lo, "[", op, "] histogram range [", L.lo, ", ", L.hi, "] is empty");
  check_span(op, "output", out, uint64_t(n_tokens) * L.block_words());
  push::ProbeStatsPush pc{uint32_t(x.ne[0]), uint32_t(slot), full ? 1u : 0u, L.lo, L.bin_scale(), out.offset,
                          out.frame_words, L.block_words()};
  auto& p = rec.device().pipeline("probe_act_stats", 3, sizeof pc, {256, uint32_t(L.top_k), uint32_t(L.bins)});
  rec.dispatch(p, {x.buf, index, out.buf}, 0b100, &pc, uint32_t(n_tokens), 1, 1, "probe_act_stats");
}

}  // namespace ds::probe
