// Attention-row capture dispatch (shaders/probe_attn_rows.comp): scores + chunk partials, then normalize.
#include "probe/attention_rows.h"

#include <algorithm>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "probe/check.h"
#include "vk/recorder.h"

namespace ds::probe {
namespace {

constexpr uint32_t k_threads = 128;
constexpr uint32_t k_max_chunks = 64;

struct Chunking {
  uint32_t keys, count;
};

// Chunks of whole workgroup tiles covering max(n_ctx, max_keys) positions, at most k_max_chunks of them.
Chunking chunking(int64_t n_ctx, int64_t max_keys) {
  const int64_t span = std::max(n_ctx, max_keys);
  const uint32_t keys = k_threads * ops::div_up(ops::div_up(span, k_threads), k_max_chunks);
  return {keys, ops::div_up(span, keys)};
}

}  // namespace

size_t attention_rows_partials(int n_captured_heads, int n_queries, int n_ctx, int max_keys) {
  return 2 * size_t(chunking(n_ctx, max_keys).count) * size_t(n_queries) * size_t(n_captured_heads);
}

void attention_rows(vk::Recorder& rec, const Tensor& q, const Tensor& k_cache, const Tensor& step,
                    const vk::BufferSlice& index, const AttentionRowsArgs& a, const Span& out,
                    const Tensor& partials) {
  const char* op = "attention_rows";
  ops::check_type(op, q, DType::F32);
  ops::check_type(op, k_cache, DType::F16);
  ops::check_type(op, step, DType::I32);
  ops::check_type(op, partials, DType::F32);
  check_index(op, index);
  const int64_t head_dim = q.ne[0], n_heads = q.ne[1], n_tokens = q.ne[2], n_ctx = k_cache.ne[1],
                n_kv = k_cache.ne[2];
  DS_CHECK(k_cache.ne[0] == head_dim && q.ne[3] == 1 && k_cache.ne[3] == 1, "[", op, "] ", q.name, " is ",
           q.shape_str(), " [head_dim, n_heads, n_tokens] but ", k_cache.name, " is ", k_cache.shape_str(),
           " [head_dim, n_ctx, n_kv]");
  DS_CHECK(head_dim % 4 == 0 && head_dim >= 4 && head_dim <= 256, "[", op, "] head_dim ", head_dim,
           " unsupported (a multiple of 4 in [4, 256])");
  DS_CHECK(n_kv > 0 && n_heads % n_kv == 0, "[", op, "] ", n_heads, " query heads is not a multiple of ", n_kv,
           " kv heads");
  DS_CHECK(n_heads <= 128, "[", op, "] the model has ", n_heads, " heads; attention rows capture at most 128");
  DS_CHECK(!a.heads.empty(), "[", op, "] no heads to capture");
  uint32_t mask[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < a.heads.size(); ++i) {
    const int h = a.heads[i];
    DS_CHECK(h >= 0 && h < n_heads, "[", op, "] head ", h, " requested but the layer has ", n_heads, " heads");
    DS_CHECK(i == 0 || h > a.heads[i - 1], "[", op, "] heads must be ascending and distinct");
    mask[h / 32] |= 1u << (h % 32);
  }
  DS_CHECK(a.n_queries >= 1 && a.n_queries <= n_tokens && a.n_queries <= a.query_stride, "[", op, "] ",
           a.n_queries, " query tokens captured of a batch of ", n_tokens, " with ", a.query_stride,
           " rows per head");
  DS_CHECK(a.max_keys >= 1, "[", op, "] max_keys must be positive");
  check_span(op, "output", out, uint64_t(a.heads.size()) * a.query_stride * a.max_keys);
  const size_t need = attention_rows_partials(int(a.heads.size()), a.n_queries, int(n_ctx), a.max_keys);
  DS_CHECK(size_t(partials.n_elements()) >= need, "[", op, "] partials ", partials.name, " has ",
           partials.n_elements(), " F32, needs ", need);

  const Chunking ch = chunking(n_ctx, a.max_keys);
  push::ProbeAttnPush pc{uint32_t(head_dim), uint32_t(n_heads), uint32_t(n_kv), uint32_t(n_ctx),
                         uint32_t(a.max_keys), uint32_t(a.query_stride), ch.keys, ch.count, a.scale,
                         out.offset, out.frame_words, 0, mask[0], mask[1], mask[2], mask[3]};
  Device& dev = rec.device();
  const uint32_t gy = uint32_t(a.heads.size()), gz = uint32_t(a.n_queries);
  auto& scores = dev.pipeline("probe_attn_rows", 6, sizeof pc, {k_threads, uint32_t(head_dim)});
  rec.dispatch(scores, {q.buf, k_cache.buf, step.buf, index, partials.buf, out.buf}, 0b110000, &pc, ch.count, gy,
               gz, "probe_attn_rows");
  auto& norm = dev.pipeline("probe_attn_rows_final", 4, sizeof pc, {k_threads, uint32_t(head_dim)});
  rec.dispatch(norm, {step.buf, index, partials.buf, out.buf}, 0b1000, &pc, ch.count, gy, gz,
               "probe_attn_rows_final");
}

}  // namespace ds::probe
