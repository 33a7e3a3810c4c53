// Cosine / Jensen-Shannon dispatch (shaders/probe_compare.comp): one workgroup per token.
#include "probe/compare.h"

#include "distilscope/device.h"
#include "ops/push.h"
#include "probe/check.h"
#include "vk/recorder.h"

namespace ds::probe {
namespace {

void dispatch(vk::Recorder& rec, const char* shader, const Span& a, const Span& b, uint32_t n, uint32_t n_tokens,
              uint32_t n_groups, uint32_t group_stride, const vk::BufferSlice& index, const Span& out,
              uint32_t out_stride) {
  check_index(shader, index);
  DS_CHECK(n >= 1 && n_tokens >= 1 && n_groups >= 1 && out_stride >= 1, "[", shader, "] empty comparison");
  const uint64_t in_words = uint64_t(n_groups - 1) * group_stride + uint64_t(n_tokens) * n;
  check_span(shader, "first input", a, in_words);
  check_span(shader, "second input", b, in_words);
  check_span(shader, "output", out, uint64_t(n_tokens - 1) * out_stride + 1);
  push::ProbeComparePush pc{n, n_groups, group_stride, out_stride, a.offset, a.frame_words, b.offset, b.frame_words,
                            out.offset, out.frame_words};
  auto& p = rec.device().pipeline(shader, 4, sizeof pc, {256});
  rec.dispatch(p, {index, a.buf, b.buf, out.buf}, 0b1000, &pc, n_tokens, 1, 1, shader);
}

}  // namespace

void cosine(vk::Recorder& rec, const Span& a, const Span& b, int d, int n_tokens, const vk::BufferSlice& index,
            const Span& out, uint32_t out_stride) {
  dispatch(rec, "probe_cosine", a, b, uint32_t(d), uint32_t(n_tokens), 1, 0, index, out, out_stride);
}

void attention_js(vk::Recorder& rec, const Span& a, const Span& b, int n_keys, int n_tokens, int n_groups,
                  uint32_t group_stride, const vk::BufferSlice& index, const Span& out, uint32_t out_stride) {
  DS_CHECK(n_groups == 1 || group_stride >= uint32_t(n_keys) * uint32_t(n_tokens), "[probe_js] group stride ",
           group_stride, " is shorter than ", n_tokens, " rows of ", n_keys, " keys");
  dispatch(rec, "probe_js", a, b, uint32_t(n_keys), uint32_t(n_tokens), uint32_t(n_groups), group_stride, index, out,
           out_stride);
}

}  // namespace ds::probe
