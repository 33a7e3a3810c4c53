// Mamba mixer core dispatch (shaders/mamba_scan.comp): the sequential kernel for decode and short batches,
// else the chunked scan (chunk states, combine, outputs). Shape checks name the tensor and the numbers.
#include "ops/mamba.h"

#include <algorithm>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/memory.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

constexpr const char* kOp = "mamba_mixer";
constexpr uint32_t kThreads = 64;
constexpr int kMinChunk = 16;  // auto plan: chunks of at least this many tokens ...
constexpr int kMaxChunks = 64;  // ... and at most this many (d_inner x 64 invocations fill a large GPU)

struct ChunkPlan {
  int len = 0, count = 0;
};

ChunkPlan chunk_plan(const MambaDims& dims, int n_tokens, const MambaOptions& opt) {
  ChunkPlan plan;
  if (opt.chunk_tokens > 0) {
    DS_CHECK(opt.chunk_tokens >= dims.d_conv - 1, "[", kOp, "] chunk_tokens ", opt.chunk_tokens,
             " is shorter than the conv history d_conv-1 = ", dims.d_conv - 1);
    plan.len = opt.chunk_tokens;
  } else {
    const int count = std::min(kMaxChunks, int(div_up(n_tokens, kMinChunk)));
    plan.len = std::max(int(div_up(n_tokens, count)), kMinChunk);
  }
  plan.count = int(div_up(n_tokens, plan.len));
  return plan;
}

// t is F32 with exactly `elems` elements and row length ne0 (the shape in words for the message).
void check_f32(const Tensor& t, int64_t ne0, int64_t elems, const char* what, const Device& dev) {
  check_binding(kOp, t, dev);
  check_type(kOp, t, DType::F32);
  DS_CHECK(t.ne[0] == ne0 && t.n_elements() == elems, "[", kOp, "] ", t.name, ": ", t.shape_str(), ", expected ",
           what);
}

}  // namespace

size_t mamba_state_bytes(const MambaDims& dims) {
  return sizeof(float) * size_t(dims.d_inner) * size_t(dims.d_conv - 1 + dims.d_state);
}

MambaState make_mamba_state(vk::Arena& arena, const MambaDims& dims, const std::string& name) {
  dims.check("make_mamba_state");
  return {make_tensor(arena, DType::F32, {dims.d_inner, dims.d_conv - 1, 1, 1}, name + ".conv"),
          make_tensor(arena, DType::F32, {dims.d_state, dims.d_inner, 1, 1}, name + ".ssm")};
}

void mamba_state_reset(vk::Recorder& rec, const MambaState& state) {
  rec.fill(state.conv.buf, 0);
  rec.fill(state.ssm.buf, 0);
}

size_t mamba_scratch_elems(const MambaDims& dims, int n_tokens, const MambaOptions& opt) {
  if (n_tokens <= 1) return 0;
  const ChunkPlan plan = chunk_plan(dims, n_tokens, opt);
  return plan.count <= 1 ? 0 : size_t(plan.count) * size_t(dims.d_inner) * size_t(dims.d_state + 1);
}

size_t mamba_scratch_elems_max(const MambaDims& dims) {
  return size_t(kMaxChunks) * size_t(dims.d_inner) * size_t(dims.d_state + 1);
}

void mamba_mixer(vk::Recorder& rec, const Tensor& zxbc, const Tensor& dt, const MambaWeights& w,
                 const MambaState& state, const Tensor& y, const MambaDims& dims, const Tensor& scratch,
                 const MambaOptions& opt) {
  dims.check(kOp);
  Device& dev = rec.device();
  const int64_t di = dims.d_inner, ds = dims.d_state, dc = dims.d_conv;
  check_binding(kOp, zxbc, dev);
  check_type(kOp, zxbc, DType::F32);
  DS_CHECK(zxbc.ne[0] == dims.zxbc_rows() && zxbc.ne[2] == 1 && zxbc.ne[3] == 1, "[", kOp, "] ", zxbc.name, ": ",
           zxbc.shape_str(), ", expected [2*d_inner + 2*d_xb = ", dims.zxbc_rows(), ", n_tokens] (d_inner ", di,
           ", d_xb ", dims.d_xb, ")");
  const int64_t n_tokens = zxbc.ne[1];
  DS_CHECK(n_tokens >= 1 && n_tokens <= (int64_t(1) << 30), "[", kOp, "] ", zxbc.name, ": ", n_tokens, " tokens");
  const std::string per_token = cat("[d_inner = ", di, ", n_tokens = ", n_tokens, "]");
  check_f32(dt, di, di * n_tokens, per_token.c_str(), dev);
  check_f32(y, di, di * n_tokens, per_token.c_str(), dev);
  check_f32(w.conv_w, dc, dc * di, cat("[d_conv = ", dc, ", 1, d_inner = ", di, "]").c_str(), dev);
  const std::string channels = cat("[d_inner = ", di, "]");
  if (w.conv_b) check_f32(w.conv_b, di, di, channels.c_str(), dev);
  if (w.dt_bias) check_f32(w.dt_bias, di, di, channels.c_str(), dev);
  check_f32(w.a_log, ds, ds * di, cat("[d_state = ", ds, ", d_inner = ", di, "]").c_str(), dev);
  check_f32(w.d, di, di, channels.c_str(), dev);
  check_f32(state.conv, di, di * (dc - 1), cat("[d_inner = ", di, ", d_conv-1 = ", dc - 1, "]").c_str(), dev);
  check_f32(state.ssm, ds, ds * di, cat("[d_state = ", ds, ", d_inner = ", di, "]").c_str(), dev);

  const ChunkPlan plan = n_tokens == 1 ? ChunkPlan{1, 1} : chunk_plan(dims, int(n_tokens), opt);
  const size_t need = plan.count <= 1 ? 0 : size_t(plan.count) * size_t(di) * size_t(ds + 1);
  if (need) {
    DS_CHECK(bool(scratch), "[", kOp, "] ", n_tokens, " tokens in ", plan.count,
             " chunks need a scratch tensor of ", need, " F32 (mamba_scratch_elems)");
    check_binding(kOp, scratch, dev);
    check_type(kOp, scratch, DType::F32);
    DS_CHECK(size_t(scratch.n_elements()) >= need, "[", kOp, "] ", scratch.name, ": ", scratch.n_elements(),
             " elements, ", n_tokens, " tokens in ", plan.count, " chunks need ", need);
  }

  push::MambaPush pc{uint32_t(di),
                     uint32_t(dims.d_xb),
                     uint32_t(n_tokens),
                     uint32_t(dims.repeat()),
                     uint32_t(need ? plan.len : n_tokens),
                     uint32_t(need ? plan.count : 1),
                     w.conv_b ? 1u : 0u,
                     w.dt_bias ? 1u : 0u};
  const std::vector<uint32_t> spec{kThreads, uint32_t(ds), uint32_t(dc)};
  const vk::BufferSlice scratch_buf = need ? scratch.buf : y.buf;  // bound but unused without chunks
  const std::vector<vk::BufferSlice> bufs{zxbc.buf, dt.buf,         w.conv_w.buf,
                                          w.conv_b ? w.conv_b.buf : w.d.buf,
                                          w.dt_bias ? w.dt_bias.buf : w.d.buf,
                                          w.a_log.buf, w.d.buf, state.conv.buf, state.ssm.buf, scratch_buf, y.buf};
  constexpr uint32_t kConv = 1u << 7, kSsm = 1u << 8, kScratch = 1u << 9, kY = 1u << 10;
  const uint32_t channel_groups = div_up(di, kThreads);
  if (!need) {
    auto& p = dev.pipeline("mamba_sequential", 11, sizeof pc, spec);
    rec.dispatch(p, bufs, kConv | kSsm | kY, &pc, channel_groups, 1, 1, "mamba_scan");
    return;
  }
  const uint32_t chunks = uint32_t(plan.count);
  rec.dispatch(dev.pipeline("mamba_chunk_state", 11, sizeof pc, spec), bufs, kScratch, &pc, channel_groups, chunks, 1,
               "mamba_chunk_state");
  auto [gx, gy] = grid_2d(div_up(di * ds, kThreads));
  rec.dispatch(dev.pipeline("mamba_chunk_combine", 11, sizeof pc, spec), bufs, kSsm | kScratch, &pc, gx, gy, 1,
               "mamba_chunk_combine");
  rec.dispatch(dev.pipeline("mamba_chunk_output", 11, sizeof pc, spec), bufs, kConv | kY, &pc, channel_groups, chunks, 1,
               "mamba_chunk_output");
}

void mamba_implied_attention(vk::Recorder& rec, const Tensor& zxbc, const Tensor& dt, const MambaWeights& w,
                             const Tensor& out, const MambaDims& dims, int row0, int channels_per_head) {
  const char* op = "mamba_implied_attention";
  dims.check(op);
  Device& dev = rec.device();
  const int64_t di = dims.d_inner, cph = channels_per_head;
  check_binding(op, zxbc, dev);
  check_type(op, zxbc, DType::F32);
  DS_CHECK(zxbc.ne[0] == dims.zxbc_rows() && zxbc.ne[2] == 1 && zxbc.ne[3] == 1, "[", op, "] ", zxbc.name, ": ",
           zxbc.shape_str(), ", expected [2*d_inner + 2*d_xb = ", dims.zxbc_rows(), ", n_tokens]");
  const int64_t n_tokens = zxbc.ne[1];
  check_binding(op, dt, dev);
  check_type(op, dt, DType::F32);
  DS_CHECK(dt.ne[0] == di && dt.n_elements() == di * n_tokens, "[", op, "] ", dt.name, ": ", dt.shape_str(),
           ", expected [d_inner = ", di, ", n_tokens = ", n_tokens, "]");
  DS_CHECK(cph >= 1 && cph <= 512 && di % cph == 0, "[", op, "] ", cph,
           " channels per head: must divide d_inner ", di, " and be at most 512");
  check_binding(op, w.a_log, dev);
  check_type(op, w.a_log, DType::F32);
  DS_CHECK(w.a_log.ne[0] == dims.d_state && w.a_log.n_elements() == dims.d_state * di, "[", op, "] ", w.a_log.name,
           ": ", w.a_log.shape_str(), ", expected [d_state = ", dims.d_state, ", d_inner = ", di, "]");
  if (w.dt_bias) {
    check_binding(op, w.dt_bias, dev);
    check_type(op, w.dt_bias, DType::F32);
    DS_CHECK(w.dt_bias.n_elements() == di, "[", op, "] ", w.dt_bias.name, ": ", w.dt_bias.shape_str(),
             ", expected [d_inner = ", di, "]");
  }
  check_binding(op, out, dev);
  check_type(op, out, DType::F32);
  const int64_t n_rows = out.ne[1], n_heads = di / cph;
  DS_CHECK(out.ne[0] == n_tokens && out.ne[2] == n_heads && out.ne[3] == 1, "[", op, "] ", out.name, ": ",
           out.shape_str(), ", expected [n_tokens = ", n_tokens, ", n_rows, heads = ", n_heads, "]");
  DS_CHECK(row0 >= 0 && n_rows >= 1 && row0 + n_rows <= n_tokens && n_rows <= 65535, "[", op, "] rows ", row0, " .. ",
           row0 + n_rows - 1, " are outside the ", n_tokens, " tokens");
  push::MambaAttentionPush pc{uint32_t(di),    uint32_t(dims.d_xb), uint32_t(n_tokens), uint32_t(dims.repeat()),
                              uint32_t(row0),  uint32_t(n_rows),    w.dt_bias ? 1u : 0u, 0u};
  auto& p = dev.pipeline("mamba_attention", 5, sizeof pc, {uint32_t(cph), uint32_t(dims.d_state)});
  rec.dispatch(p, {zxbc.buf, dt.buf, w.dt_bias ? w.dt_bias.buf : w.a_log.buf, w.a_log.buf, out.buf}, 0b10000, &pc,
               uint32_t(n_rows), uint32_t(n_heads), 1, op);
}

}  // namespace ds::ops
