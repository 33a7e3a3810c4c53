// L2 prefetch dispatch (ops/prefetch.h).
#include "ops/prefetch.h"

#include <algorithm>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {

void l2_prefetch(vk::Recorder& rec, const Tensor& t, size_t max_bytes, const Tensor& sink) {
  DS_CHECK(sink.n_bytes() >= 4, "[prefetch] sink ", sink.name, " has ", sink.n_bytes(), " bytes, needs 4");
  DS_CHECK(t.buf.offset % 16 == 0, "[prefetch] ", t.name, " starts at offset ", t.buf.offset, ", not 16-byte aligned");
  const size_t bytes = std::min(max_bytes, t.n_bytes()) / 16 * 16;
  if (bytes == 0) return;
  push::PrefetchPush pc{uint32_t(bytes / 16), 0x9e3779b9u};
  const uint32_t threads = 256;
  // Enough workgroups to keep many loads in flight on every multiprocessor, each thread a few 16-byte words.
  const uint32_t groups = uint32_t(std::clamp<size_t>(bytes / 16 / threads / 4, 1, 1024));
  auto& p = rec.device().pipeline("l2_prefetch", 2, sizeof pc, {threads});
  rec.dispatch(p, {t.buf.sub(0, bytes), sink.buf}, 0, &pc, groups, 1, 1, "l2_prefetch");
}

}  // namespace ds::ops
