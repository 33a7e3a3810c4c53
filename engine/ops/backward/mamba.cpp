// Training Mamba core dispatch (shaders/mamba_train.comp): shape checks, the checkpoint plan, the backward's
// scratch layout, and the parameter partials summed over sequences by sum_rows.
#include "ops/backward/mamba.h"

#include <algorithm>

#include "distilscope/device.h"
#include "ops/backward/norm.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

constexpr uint32_t k_threads = 64;  // forward / row reduction workgroups; backward: about this many channels
constexpr int64_t k_align = 64;     // scratch parts start at multiples of 256 bytes (binding offsets)

int64_t aligned(int64_t n) { return (n + k_align - 1) / k_align * k_align; }

struct Plan {
  int64_t chunk_len, n_chunks;
};
Plan plan_of(int n_tokens, const MambaTrainOptions& opt) {
  DS_CHECK(opt.checkpoint_tokens >= 1, "[mamba_train] checkpoint_tokens ", opt.checkpoint_tokens, " must be >= 1");
  const int64_t len = std::min<int64_t>(opt.checkpoint_tokens, std::max(n_tokens, 1));
  return {len, (n_tokens + len - 1) / len};
}

// F32 offsets of the backward scratch parts (the chunk states start at 0).
struct Layout {
  int64_t dh, vals, db, dx, conv_w, conv_b, dt_bias, a_log, d, total;
};
Layout layout_of(const MambaDims& m, int64_t T, int64_t S, const Plan& plan) {
  const int64_t di = m.d_inner, states = S * plan.chunk_len * m.d_state * di;
  Layout l{};
  l.dh = aligned(states);
  l.vals = l.dh + aligned(states);
  l.db = l.vals + aligned(S * plan.chunk_len * 4 * di);
  l.dx = l.db + aligned(S * T * di);
  l.conv_w = l.dx + aligned(S * T * di);
  l.conv_b = l.conv_w + aligned(S * m.d_conv * di);
  l.dt_bias = l.conv_b + aligned(S * di);
  l.a_log = l.dt_bias + aligned(S * di);
  l.d = l.a_log + aligned(S * m.d_state * di);
  l.total = l.d + aligned(S * di);
  return l;
}

void check_f32(const char* op, const Tensor& t, std::array<int64_t, 4> ne, const char* what, const Device& dev) {
  check_binding(op, t, dev);
  check_type(op, t, DType::F32);
  Tensor want;
  want.ne = ne;
  DS_CHECK(t.ne == ne, "[", op, "] ", t.name, " is ", t.shape_str(), ", expected ", want.shape_str(), " (", what, ")");
}

// A parameter (or its gradient): `elems` F32 values with rows of ne0.
void check_param(const char* op, const Tensor& t, int64_t ne0, int64_t elems, const Device& dev) {
  check_binding(op, t, dev);
  check_type(op, t, DType::F32);
  DS_CHECK(t.ne[0] == ne0 && t.n_elements() == elems, "[", op, "] ", t.name, " is ", t.shape_str(), ", expected ",
           elems, " values in rows of ", ne0);
}

// Checks the forward's inputs; returns {n_tokens, n_seqs}.
std::pair<int64_t, int64_t> check_inputs(const char* op, const Tensor& zxbc, const Tensor& dt, const MambaWeights& w,
                                         const MambaDims& m, const Device& dev) {
  m.check(op);
  const int64_t T = zxbc.ne[1], S = zxbc.ne[2], di = m.d_inner;
  check_f32(op, zxbc, {m.zxbc_rows(), T, S, 1}, "[2*d_inner + 2*d_xb, n_tokens, n_seqs]", dev);
  DS_CHECK(T >= 1 && S >= 1 && S <= 65535, "[", op, "] ", zxbc.name, ": ", T, " tokens x ", S, " sequences");
  check_f32(op, dt, {di, T, S, 1}, "[d_inner, n_tokens, n_seqs]", dev);
  check_param(op, w.conv_w, m.d_conv, m.d_conv * di, dev);
  if (w.conv_b) check_param(op, w.conv_b, di, di, dev);
  if (w.dt_bias) check_param(op, w.dt_bias, di, di, dev);
  check_param(op, w.a_log, m.d_state, m.d_state * di, dev);
  check_param(op, w.d, di, di, dev);
  return {T, S};
}

push::MambaTrainPush push_of(const MambaDims& m, int64_t T, int64_t S, const Plan& plan, const MambaWeights& w) {
  push::MambaTrainPush pc{};
  pc.d_inner = uint32_t(m.d_inner);
  pc.d_xb = uint32_t(m.d_xb);
  pc.n_tokens = uint32_t(T);
  pc.repeat = uint32_t(m.repeat());
  pc.chunk_len = uint32_t(plan.chunk_len);
  pc.n_chunks = uint32_t(plan.n_chunks);
  pc.n_seqs = uint32_t(S);
  pc.flags = (w.conv_b ? MAMBA_TRAIN_CONV_BIAS : 0u) | (w.dt_bias ? MAMBA_TRAIN_DT_BIAS : 0u);
  return pc;
}

}  // namespace

size_t mamba_train_saved_elems(const MambaDims& dims, int n_tokens, int n_seqs, const MambaTrainOptions& opt) {
  return size_t(plan_of(n_tokens, opt).n_chunks) * size_t(n_seqs) * size_t(dims.d_state) * size_t(dims.d_inner);
}

size_t mamba_backward_scratch_elems(const MambaDims& dims, int n_tokens, int n_seqs, const MambaTrainOptions& opt) {
  return size_t(layout_of(dims, n_tokens, n_seqs, plan_of(n_tokens, opt)).total);
}

void mamba_train(vk::Recorder& rec, const Tensor& zxbc, const Tensor& dt, const MambaWeights& w, const Tensor& y,
                 const Tensor& saved, const MambaDims& dims, const MambaTrainOptions& opt) {
  const char* op = "mamba_train";
  Device& dev = rec.device();
  const auto [T, S] = check_inputs(op, zxbc, dt, w, dims, dev);
  check_f32(op, y, dt.ne, "the shape of dt", dev);
  const Plan plan = plan_of(int(T), opt);
  const size_t need = mamba_train_saved_elems(dims, int(T), int(S), opt);
  check_binding(op, saved, dev);
  check_type(op, saved, DType::F32);
  DS_CHECK(size_t(saved.n_elements()) >= need, "[", op, "] ", saved.name, " has ", saved.n_elements(), " F32, ", S,
           " sequences of ", T, " tokens need ", need, " (mamba_train_saved_elems)");
  const push::MambaTrainPush pc = push_of(dims, T, S, plan, w);
  auto& p =
      dev.pipeline("mamba_train_forward", 9, sizeof pc, {k_threads, uint32_t(dims.d_state), uint32_t(dims.d_conv)});
  rec.dispatch(p,
               {zxbc.buf, dt.buf, w.conv_w.buf, w.conv_b ? w.conv_b.buf : w.d.buf, w.dt_bias ? w.dt_bias.buf : w.d.buf,
                w.a_log.buf, w.d.buf, saved.buf, y.buf},
               0b110000000, &pc, div_up(dims.d_inner, k_threads), uint32_t(S), 1, op);
}

void mamba_backward(vk::Recorder& rec, const Tensor& zxbc, const Tensor& dt, const MambaWeights& w, const Tensor& saved,
                    const Tensor& dy, const Tensor& d_zxbc, const Tensor& d_dt, const MambaWeights& dw,
                    const Tensor& scratch, const MambaDims& dims, const MambaTrainOptions& opt, const GradMode& mode) {
  const char* op = "mamba_backward";
  Device& dev = rec.device();
  const auto [T, S] = check_inputs(op, zxbc, dt, w, dims, dev);
  const int64_t di = dims.d_inner, ds = dims.d_state;
  check_f32(op, dy, dt.ne, "the shape of dt", dev);
  check_f32(op, d_zxbc, zxbc.ne, "the shape of zxbc", dev);
  check_f32(op, d_dt, dt.ne, "the shape of dt", dev);
  for (const Tensor* g : {&dw.conv_w, &dw.conv_b, &dw.dt_bias, &dw.a_log, &dw.d})
    if (*g) check_binding(op, *g, dev);
  DS_CHECK(!dw.conv_b || w.conv_b, "[", op, "] ", dw.conv_b.name, ": a conv bias gradient for a mixer without one");
  DS_CHECK(!dw.dt_bias || w.dt_bias, "[", op, "] ", dw.dt_bias.name, ": a dt bias gradient for a mixer without one");
  const Plan plan = plan_of(int(T), opt);
  check_binding(op, saved, dev);
  DS_CHECK(size_t(saved.n_elements()) >= mamba_train_saved_elems(dims, int(T), int(S), opt), "[", op, "] ", saved.name,
           " is smaller than mamba_train_saved_elems (the same checkpoint_tokens as the forward?)");
  const Layout l = layout_of(dims, T, S, plan);
  check_binding(op, scratch, dev);
  check_type(op, scratch, DType::F32);
  DS_CHECK(scratch.n_elements() >= l.total && l.total < (int64_t(1) << 32), "[", op, "] ", scratch.name, " has ",
           scratch.n_elements(), " F32, ", S, " sequences of ", T, " tokens need ", l.total,
           " (mamba_backward_scratch_elems)");

  push::MambaTrainPush pc = push_of(dims, T, S, plan, w);
  pc.flags |= mode.accumulate_input ? MAMBA_TRAIN_ACCUMULATE : 0u;
  pc.off_dh = uint32_t(l.dh);
  pc.off_vals = uint32_t(l.vals);
  pc.off_db = uint32_t(l.db);
  pc.off_dx = uint32_t(l.dx);
  pc.off_conv_w = uint32_t(l.conv_w);
  pc.off_conv_b = uint32_t(l.conv_b);
  pc.off_dt_bias = uint32_t(l.dt_bias);
  pc.off_a_log = uint32_t(l.a_log);
  pc.off_d = uint32_t(l.d);
  // 1. The reverse scan: workgroups of whole heads (about k_threads channels).
  const uint32_t heads_per_group = std::max<uint32_t>(1, k_threads / uint32_t(ds));
  const uint32_t wg = heads_per_group * uint32_t(ds);
  auto& pb = dev.pipeline("mamba_train_backward", 12, sizeof pc, {wg, uint32_t(ds), uint32_t(dims.d_conv)});
  rec.dispatch(pb,
               {zxbc.buf, dt.buf, w.conv_w.buf, w.conv_b ? w.conv_b.buf : w.d.buf, w.dt_bias ? w.dt_bias.buf : w.d.buf,
                w.a_log.buf, w.d.buf, saved.buf, dy.buf, d_zxbc.buf, d_dt.buf, scratch.buf},
               0b111000000000, &pc, div_up(dims.n_heads(), heads_per_group), uint32_t(S), 1, op);
  // 2. x and B rows: sums over the heads sharing a group.
  auto& pr = dev.pipeline("mamba_train_reduce_rows", 2, sizeof pc, {k_threads, uint32_t(ds), uint32_t(dims.d_conv)});
  auto [gx, gy] = grid_2d(div_up(2 * int64_t(dims.d_xb) * T * S, k_threads));
  rec.dispatch(pr, {scratch.buf, d_zxbc.buf}, 0b10, &pc, gx, gy, 1, "mamba_train_reduce_rows");
  // 3. Parameter gradients: the per-sequence partials summed in sequence order.
  auto reduce = [&](const Tensor& grad, int64_t offset, int64_t n, const char* part) {
    if (!grad) return;
    DS_CHECK(grad.n_elements() == n, "[", op, "] ", grad.name, " has ", grad.n_elements(), " values, expected ", n);
    sum_rows(rec, sub_tensor(scratch, offset, {n, S, 1, 1}, cat(scratch.name, ".", part)), grad,
             mode.accumulate_params);
  };
  reduce(dw.conv_w, l.conv_w, dims.d_conv * di, "conv_w");
  reduce(dw.conv_b, l.conv_b, di, "conv_b");
  reduce(dw.dt_bias, l.dt_bias, di, "dt_bias");
  reduce(dw.a_log, l.a_log, ds * di, "a_log");
  reduce(dw.d, l.d, di, "d");
}

}  // namespace ds::ops
