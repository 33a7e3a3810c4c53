// Mixer implied-attention dispatch (shaders/probe_linmix_rows.comp, mamba_attention.comp PROBE=1) and the
// history store (probe_history.comp).
#include "probe/mixer_rows.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "probe/check.h"
#include "vk/recorder.h"

namespace ds::probe {
namespace {

// The 128-bit mask of the captured heads (ascending, distinct, < n_heads).
std::array<uint32_t, 4> head_mask(const char* op, const std::vector<int>& heads, int64_t n_heads) {
  DS_CHECK(n_heads >= 1 && n_heads <= 128, "[", op, "] the layer has ", n_heads, " heads; rows capture at most 128");
  DS_CHECK(!heads.empty(), "[", op, "] no heads to capture");
  std::array<uint32_t, 4> mask{0, 0, 0, 0};
  for (size_t i = 0; i < heads.size(); ++i) {
    const int h = heads[i];
    DS_CHECK(h >= 0 && h < n_heads, "[", op, "] head ", h, " requested but the layer has ", n_heads, " heads");
    DS_CHECK(i == 0 || h > heads[i - 1], "[", op, "] heads must be ascending and distinct");
    mask[size_t(h / 32)] |= 1u << (h % 32);
  }
  return mask;
}

void check_rows(const char* op, const MixerRowsArgs& a, int64_t n_tokens, const Span& out) {
  DS_CHECK(a.n_queries >= 1 && a.n_queries <= n_tokens && a.n_queries <= a.query_stride && a.n_queries <= 65535,
           "[", op, "] ", a.n_queries, " query tokens captured of a pass of ", n_tokens, " with ", a.query_stride,
           " rows per head");
  DS_CHECK(a.max_keys >= 1, "[", op, "] max_keys must be positive");
  check_span(op, "output", out, uint64_t(a.heads.size()) * a.query_stride * a.max_keys);
}

void check_f32(const char* op, const Tensor& t, const Device& dev) {
  ops::check_binding(op, t, dev);
  ops::check_type(op, t, DType::F32);
}

// The fields both row kernels' push constants share: which rows, where they go, which heads.
template <class Push, class Mask>
void set_row_fields(Push& pc, const MixerRowsArgs& a, const Span& out, const Mask& mask) {
  pc.max_keys = uint32_t(a.max_keys);
  pc.query_stride = uint32_t(a.query_stride);
  pc.out_offset = out.offset;
  pc.frame_words = out.frame_words;
  pc.head_mask0 = mask[0];
  pc.head_mask1 = mask[1];
  pc.head_mask2 = mask[2];
  pc.head_mask3 = mask[3];
}

// Key chunks of a row kernel: one (a workgroup walks every key) without partials, else as many as partials holds
// (heads x queries x chunks floats, at most chunk_limit), each of at least args.chunk_keys keys, covering `span`
// positions.
struct KeyChunks {
  uint32_t count = 1, keys = 0;
};
KeyChunks key_chunks(const char* op, const Device& dev, const MixerRowsArgs& a, int64_t span, const Tensor& partials,
                     int64_t chunk_limit = 65535) {
  KeyChunks c;
  if (!partials) return c;
  check_f32(op, partials, dev);
  DS_CHECK(a.chunk_keys >= 1, "[", op, "] chunk_keys ", a.chunk_keys, " must be positive");
  const int64_t rows = int64_t(a.heads.size()) * a.n_queries;
  const int64_t max_chunks = std::min<int64_t>(partials.n_elements() / rows, chunk_limit);
  if (max_chunks < 2) return c;
  const int64_t keys = std::max<int64_t>(a.chunk_keys, (span + max_chunks - 1) / max_chunks);
  c.count = ops::div_up(span, keys);
  c.keys = uint32_t(keys);
  return c;
}

// The normalization pass after a chunked row kernel (probe_rows_final.comp).
void normalize_rows(vk::Recorder& rec, const MixerRowsArgs& a, const Span& out, const KeyChunks& chunks,
                    const Tensor& step, const vk::BufferSlice& index, const Tensor& partials, const char* label) {
  push::ProbeRowsFinalPush pc{uint32_t(a.max_keys), uint32_t(a.query_stride), out.offset, out.frame_words,
                              chunks.count, 0, 0, 0};
  auto& p = rec.device().pipeline("probe_rows_final", 4, sizeof pc);
  rec.dispatch(p, {step.buf, index, out.buf, partials.buf}, 0b0100, &pc, uint32_t(a.n_queries),
               uint32_t(a.heads.size()), 1, label);
}

}  // namespace

int mamba_channels_per_head(const MambaDims& dims, int n_heads) {
  if (n_heads <= 0 || dims.d_inner % n_heads != 0) return 0;
  const int cph = dims.d_inner / n_heads;
  return cph <= 512 ? cph : 0;
}

void store_history(vk::Recorder& rec, const Tensor& src, int64_t n_cols, const Tensor& step, const Tensor& history) {
  const char* op = "probe_history";
  Device& dev = rec.device();
  check_f32(op, src, dev);
  check_f32(op, history, dev);
  ops::check_type(op, step, DType::I32);
  const int64_t rows = n_cols >= 1 ? src.n_elements() / n_cols : 0;
  DS_CHECK(rows >= 1 && rows * n_cols == src.n_elements() && history.n_elements() % rows == 0, "[", op, "] ", src.name,
           " is ", src.shape_str(), ": not ", n_cols, " columns of the ", history.name, " ", history.shape_str(),
           "'s column length");
  push::ProbeHistoryPush pc{uint32_t(rows), uint32_t(n_cols), uint32_t(history.n_elements() / rows), 0};
  const uint32_t threads = 256;
  auto& p = dev.pipeline("probe_history", 3, sizeof pc, {threads});
  rec.dispatch(p, {step.buf, src.buf, history.buf}, 0b100, &pc,
               std::min<uint32_t>(ops::div_up(rows * n_cols, threads), 4096), 1, 1, op);
}

void linear_implied_rows(vk::Recorder& rec, const Tensor& q, const Tensor& k_history, const ops::LinearMixerWeights& w,
                         int window, bool affine, const Tensor& step, const vk::BufferSlice& index,
                         const MixerRowsArgs& a, const Span& out, const Tensor& partials) {
  const char* op = "linear_implied_rows";
  Device& dev = rec.device();
  for (const Tensor* t : {&q, &k_history, &w.fm_q, &w.fm_k}) check_f32(op, *t, dev);
  ops::check_type(op, step, DType::I32);
  check_index(op, index);
  const int64_t hd = q.ne[0], nh = q.ne[1], n = q.ne[2], nkv = k_history.ne[1], F = w.fm_q.ne[0];
  const int64_t n_fm_q = w.fm_q.ne[2], n_state = w.fm_k.ne[2];
  DS_CHECK(k_history.ne[0] == hd && q.ne[3] == 1 && k_history.ne[3] == 1 && nkv >= 1 && nh % nkv == 0, "[", op, "] ",
           q.name, " is ", q.shape_str(), " [head_dim, n_heads, n_tokens] but ", k_history.name, " is ",
           k_history.shape_str(), " [head_dim, n_kv, capacity]");
  DS_CHECK(hd >= 1 && hd <= 256 && F >= 1 && F <= 256, "[", op, "] head_dim ", hd, " and ", F,
           " features: the probe supports 1 .. 256 of each");
  DS_CHECK(w.fm_q.ne[1] == hd && w.fm_k.ne[0] == F && w.fm_k.ne[1] == hd && n_fm_q >= 1 && nh % n_fm_q == 0 &&
               n_state >= 1 && nh % n_state == 0 && n_state % nkv == 0,
           "[", op, "] feature maps ", w.fm_q.name, " ", w.fm_q.shape_str(), " and ", w.fm_k.name, " ",
           w.fm_k.shape_str(), " do not fit ", nh, " heads over ", nkv, " kv heads of head_dim ", hd);
  if (w.window_factor) {
    check_f32(op, w.window_factor, dev);
    DS_CHECK(w.window_factor.n_elements() == nh, "[", op, "] window factor ", w.window_factor.name, " has ",
             w.window_factor.n_elements(), " values for ", nh, " heads");
  }
  DS_CHECK(window >= 0, "[", op, "] window ", window, " is negative");
  const auto mask = head_mask(op, a.heads, nh);
  check_rows(op, a, n, out);

  push::ProbeLinmixRowsPush pc{};
  pc.n_heads = uint32_t(nh);
  pc.n_kv = uint32_t(nkv);
  pc.n_fm_q = uint32_t(n_fm_q);
  pc.n_state = uint32_t(n_state);
  pc.window = uint32_t(window);
  pc.scale = 1.0f / std::sqrt(float(hd));
  pc.flags = (w.window_factor ? LINMIX_WINDOW_FACTOR : 0u) | (affine ? LINMIX_AFFINE : 0u);
  pc.capacity = uint32_t(k_history.ne[2]);
  set_row_fields(pc, a, out, mask);
  const KeyChunks chunks = key_chunks(op, dev, a, std::max<int64_t>(pc.capacity, a.max_keys), partials);
  pc.chunk_keys = chunks.keys;
  const bool chunked = chunks.count > 1;
  const uint32_t threads = 128;
  auto& p = dev.pipeline("probe_linmix_rows", 9, sizeof pc, {threads, uint32_t(hd), uint32_t(F)});
  const vk::BufferSlice wf = w.window_factor ? w.window_factor.buf : w.fm_q.buf;
  rec.dispatch(p, {q.buf, k_history.buf, w.fm_q.buf, w.fm_k.buf, wf, step.buf, index, out.buf,
                   chunked ? partials.buf : out.buf},
               chunked ? 0b110000000u : 0b010000000u, &pc, uint32_t(a.heads.size()), uint32_t(a.n_queries),
               chunks.count, op);
  if (chunked) normalize_rows(rec, a, out, chunks, step, index, partials, "linear_implied_rows_final");
}

void mamba_implied_rows(vk::Recorder& rec, const Tensor& zxbc_history, const Tensor& dt_history,
                        const ops::MambaWeights& w, const MambaDims& dims, int channels_per_head, const Tensor& step,
                        const vk::BufferSlice& index, const MixerRowsArgs& a, const Span& out,
                        const Tensor& partials, const Tensor& dt_sums) {
  const char* op = "mamba_implied_rows";
  dims.check(op);
  Device& dev = rec.device();
  for (const Tensor* t : {&zxbc_history, &dt_history, &w.a_log}) check_f32(op, *t, dev);
  ops::check_type(op, step, DType::I32);
  check_index(op, index);
  const int64_t di = dims.d_inner, cph = channels_per_head, capacity = zxbc_history.ne[1];
  DS_CHECK(zxbc_history.ne[0] == dims.zxbc_rows() && dt_history.ne[0] == di && dt_history.ne[1] == capacity, "[", op,
           "] histories ", zxbc_history.name, " ", zxbc_history.shape_str(), " and ", dt_history.name, " ",
           dt_history.shape_str(), ", expected [", dims.zxbc_rows(), ", capacity] and [", di, ", capacity]");
  DS_CHECK(cph >= 1 && cph <= 512 && di % cph == 0, "[", op, "] ", cph, " channels per head: must divide d_inner ",
           di, " and be at most 512");
  DS_CHECK(w.a_log.n_elements() == dims.d_state * di, "[", op, "] ", w.a_log.name, ": ", w.a_log.shape_str(),
           ", expected [d_state = ", dims.d_state, ", d_inner = ", di, "]");
  if (w.dt_bias) {
    check_f32(op, w.dt_bias, dev);
    DS_CHECK(w.dt_bias.n_elements() == di, "[", op, "] ", w.dt_bias.name, ": ", w.dt_bias.shape_str(),
             ", expected [d_inner = ", di, "]");
  }
  const auto mask = head_mask(op, a.heads, di / cph);
  check_rows(op, a, capacity, out);

  push::ProbeMambaRowsPush pc{};
  pc.d_inner = uint32_t(di);
  pc.d_xb = uint32_t(dims.d_xb);
  pc.repeat = uint32_t(dims.repeat());
  pc.has_dt_bias = w.dt_bias ? 1u : 0u;
  pc.capacity = uint32_t(capacity);
  set_row_fields(pc, a, out, mask);
  // Key chunks cover every stored position and every key a query can see.
  if (dt_sums) {
    check_f32(op, dt_sums, dev);
    DS_CHECK(dt_sums.ne[0] == di && dt_sums.rows() >= 2, "[", op, "] ", dt_sums.name, " is ", dt_sums.shape_str(),
             ", expected [d_inner = ", di, ", chunks >= 2]");
  }
  const KeyChunks chunks = key_chunks(op, dev, a, std::max<int64_t>(capacity, a.max_keys), partials,
                                      dt_sums ? dt_sums.rows() : 65535);
  pc.chunk_keys = chunks.keys;
  pc.n_queries = uint32_t(a.n_queries);
  const bool chunked = chunks.count > 1;
  const vk::BufferSlice bias = w.dt_bias ? w.dt_bias.buf : w.a_log.buf;
  if (chunked && dt_sums) {
    pc.has_sums = 1;
    auto& pre = dev.pipeline("probe_mamba_dt_sums", 4, sizeof pc);
    rec.dispatch(pre, {dt_history.buf, bias, step.buf, dt_sums.buf}, 0b1000, &pc, chunks.count,
                 ops::div_up(di, 64), 1, "mamba_implied_dt_sums");
  }
  const vk::BufferSlice scratch = chunked ? partials.buf : out.buf;  // not touched by a single chunk
  const vk::BufferSlice sums = pc.has_sums ? dt_sums.buf : w.a_log.buf;
  auto& p = dev.pipeline("probe_mamba_rows", 9, sizeof pc, {uint32_t(cph), uint32_t(dims.d_state)});
  rec.dispatch(p, {zxbc_history.buf, dt_history.buf, bias, w.a_log.buf, step.buf, index, out.buf, scratch, sums},
               chunked ? 0b011000000u : 0b001000000u, &pc, uint32_t(a.n_queries), uint32_t(a.heads.size()),
               chunks.count, op);
  if (chunked) normalize_rows(rec, a, out, chunks, step, index, partials, "mamba_implied_rows_final");
}

}  // namespace ds::probe
