// Frame copy and header dispatch.
#include "probe/frame_ops.h"

#include <algorithm>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "probe/check.h"
#include "vk/recorder.h"

namespace ds::probe {

void copy_words(vk::Recorder& rec, const Span& src, const Span& dst, uint32_t n, const vk::BufferSlice& index) {
  check_index("probe_copy", index);
  check_span("probe_copy", "source", src, n);
  check_span("probe_copy", "destination", dst, n);
  if (n == 0) return;
  push::ProbeCopyPush pc{n, src.offset, src.frame_words, dst.offset, dst.frame_words, 0, 0, 0};
  const uint32_t threads = 256;
  auto& p = rec.device().pipeline("probe_copy", 3, sizeof pc, {threads});
  rec.dispatch(p, {index, src.buf, dst.buf}, 0b100, &pc, std::min<uint32_t>(ops::div_up(n, threads), 1024), 1, 1,
               "probe_copy");
}

void write_header(vk::Recorder& rec, const Tensor& step, const Tensor& ids, uint32_t max_queries,
                  const vk::BufferSlice& index, const Span& dst) {
  ops::check_type("probe_header", step, DType::I32);
  if (ids) ops::check_type("probe_header", ids, DType::I32);
  check_index("probe_header", index);
  check_span("probe_header", "frame", dst, k_header_words + max_queries);
  const uint32_t n_ids = ids ? uint32_t(ids.n_elements()) : 0;
  push::ProbeCopyPush pc{0, 0, 0, dst.offset, dst.frame_words, max_queries, n_ids, 0};
  const uint32_t threads = 64;
  auto& p = rec.device().pipeline("probe_header", 4, sizeof pc, {threads});
  rec.dispatch(p, {index, step.buf, ids ? ids.buf : step.buf, dst.buf}, 0b1000, &pc,
               ops::div_up(k_header_words + max_queries, threads), 1, 1, "probe_header");
}

}  // namespace ds::probe
