// Training linear mixer dispatch: phi by the inference feature kernels (shaders/linmix_features.comp with window 0
// and n_past 0: every key unshifted), the tile kernels linmix_train*.comp, the feature-map backward
// (linmix_train_dphi.comp) and the parameter reductions (linmix_train_grad.comp); shapes, tile sizes, layouts.
#include "ops/backward/linear_mixer.h"

#include <cmath>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

constexpr uint32_t k_threads = 64;  // feature-map and reduction kernels
constexpr int64_t k_align = 64;     // parts start at multiples of 256 bytes (binding offsets)

int64_t aligned(int64_t n) { return (n + k_align - 1) / k_align * k_align; }

// saved: [zero word for the feature kernels' n_past | phi_q | phi_k | stats (max, den, argmax per query row)]
struct SavedParts {
  int64_t phi_q, phi_k, stats, total;
};
SavedParts saved_parts(const LinearMixerShape& s, int64_t rows) {
  const int64_t ff = 2 * int64_t(s.features);
  SavedParts p{};
  p.phi_q = k_align;
  p.phi_k = p.phi_q + aligned(ff * s.n_heads * rows);
  p.stats = p.phi_k + aligned(ff * s.n_state * rows);
  p.total = p.stats + aligned(3 * int64_t(s.n_heads) * rows);
  return p;
}

// scratch: [dphi_q | dphi_k | dy_q | dy_k | rows (wsum, dL/dwf, delta' per query row)]
struct ScratchParts {
  int64_t dphi_q, dphi_k, dy_q, dy_k, rows, total;
};
ScratchParts scratch_parts(const LinearMixerShape& s, int64_t rows) {
  const int64_t F = s.features;
  ScratchParts p{};
  p.dphi_q = 0;
  p.dphi_k = aligned(2 * F * s.n_heads * rows);
  p.dy_q = p.dphi_k + aligned(2 * F * s.n_state * rows);
  p.dy_k = p.dy_q + aligned(F * s.n_heads * rows);
  p.rows = p.dy_k + aligned(F * s.n_state * rows);
  p.total = p.rows + aligned(3 * int64_t(s.n_heads) * rows);
  return p;
}

void check_f32(const char* op, const Tensor& t, std::array<int64_t, 4> ne, const char* what, const Device& dev) {
  check_binding(op, t, dev);
  check_type(op, t, DType::F32);
  Tensor want;
  want.ne = ne;
  DS_CHECK(t.ne == ne, "[", op, "] ", what, " ", t.name, " is ", t.shape_str(), ", expected ", want.shape_str());
}

struct Problem {
  LinearMixerShape s;
  int64_t T, S;
};

Problem check_problem(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const LinearMixerWeights& w,
                      int window, const Tensor& out, const Device& dev) {
  DS_CHECK(bool(w.fm_q) && bool(w.fm_k), "[", op, "] the feature maps are missing");
  const LinearMixerShape s = linear_mixer_shape(q, k, w, window);
  const int64_t hd = s.head_dim, nh = s.n_heads, nkv = s.n_kv, F = s.features, T = q.ne[2], S = q.ne[3];
  check_f32(op, q, {hd, nh, T, S}, "q", dev);
  check_f32(op, k, {hd, nkv, T, S}, "k [head_dim, n_kv, n_tokens, n_seqs]", dev);
  check_f32(op, v, k.ne, "v", dev);
  check_f32(op, out, q.ne, "out", dev);
  DS_CHECK(T >= 1 && S >= 1 && S <= 65535 && nkv >= 1 && nh % nkv == 0, "[", op, "] ", nh, " query heads over ", nkv,
           " kv heads, ", T, " tokens, ", S, " sequences");
  DS_CHECK(window >= 0, "[", op, "] window ", window, " is negative");
  check_f32(op, w.fm_q, {F, hd, s.n_fm_q, 1}, "query feature map", dev);
  check_f32(op, w.fm_k, {F, hd, s.n_state, 1}, "key feature map", dev);
  DS_CHECK(s.n_fm_q >= 1 && nh % s.n_fm_q == 0, "[", op, "] ", nh, " query heads over ", s.n_fm_q,
           " query feature maps (", w.fm_q.name, ")");
  DS_CHECK(s.n_state >= 1 && nh % s.n_state == 0 && s.n_state % nkv == 0, "[", op, "] key feature maps ", w.fm_k.name,
           ": ", s.n_state, " maps must divide ", nh, " query heads and be a multiple of ", nkv, " kv heads");
  if (w.window_factor) check_f32(op, w.window_factor, {nh, 1, 1, 1}, "window factor", dev);
  DS_CHECK(4 * size_t(hd + F) + 256 <= dev.props().limits.maxComputeSharedMemorySize, "[", op, "] head_dim ", hd,
           " and ", F, " features exceed the device's shared memory");
  return {s, T, S};
}

// Tile size B for a kernel holding hd_tiles shared tiles of B x (head_dim + 1) floats, ff_tiles of B x (2F + 1)
// and `squares` of B x B: the largest of 16, 8, 4 that fits.
uint32_t tile_size(const Device& dev, const char* op, const LinearMixerShape& s, int hd_tiles, int ff_tiles,
                   int squares) {
  const uint64_t limit = dev.props().limits.maxComputeSharedMemorySize;
  const uint64_t row = uint64_t(hd_tiles) * (s.head_dim + 1) + uint64_t(ff_tiles) * (2 * s.features + 1);
  for (uint32_t b : {16u, 8u, 4u})
    if (4ull * (b * row + uint64_t(squares) * b * b + 6ull * b) <= limit &&
        b * b <= dev.props().limits.maxComputeWorkGroupInvocations)
      return b;
  fail("[", op, "] head_dim ", s.head_dim, " and ", s.features, " features do not fit the device's ", limit,
       " bytes of shared memory");
}

push::LinearMixerTrainPush push_of(const Problem& pr, const LinearMixerWeights& w, const LinearMixerOptions& o) {
  const LinearMixerShape& s = pr.s;
  push::LinearMixerTrainPush pc{};
  pc.head_dim = uint32_t(s.head_dim);
  pc.features = uint32_t(s.features);
  pc.n_heads = uint32_t(s.n_heads);
  pc.n_kv = uint32_t(s.n_kv);
  pc.n_fm_q = uint32_t(s.n_fm_q);
  pc.n_state = uint32_t(s.n_state);
  pc.n_tokens = uint32_t(pr.T);
  pc.n_seqs = uint32_t(pr.S);
  pc.window = uint32_t(s.window);
  pc.scale = o.scale > 0 ? o.scale : 1.0f / std::sqrt(float(s.head_dim));
  pc.flags = (w.window_factor ? LINMIX_WINDOW_FACTOR : 0u) | (o.affine_factors ? LINMIX_AFFINE : 0u);
  return pc;
}

}  // namespace

size_t linear_mixer_train_saved_elems(const LinearMixerShape& shape, int n_tokens, int n_seqs) {
  return size_t(saved_parts(shape, int64_t(n_tokens) * n_seqs).total);
}

size_t linear_mixer_backward_scratch_elems(const LinearMixerShape& shape, int n_tokens, int n_seqs) {
  return size_t(scratch_parts(shape, int64_t(n_tokens) * n_seqs).total);
}

void linear_mixer_train(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v,
                        const LinearMixerWeights& w, int window, const Tensor& out, const Tensor& saved,
                        const LinearMixerOptions& options) {
  const char* op = "linear_mixer_train";
  Device& dev = rec.device();
  const Problem pr = check_problem(op, q, k, v, w, window, out, dev);
  const LinearMixerShape& s = pr.s;
  const int64_t rows = pr.T * pr.S, ff = 2 * int64_t(s.features);
  const SavedParts sp = saved_parts(s, rows);
  check_binding(op, saved, dev);
  check_type(op, saved, DType::F32);
  DS_CHECK(saved.n_elements() >= sp.total, "[", op, "] ", saved.name, " has ", saved.n_elements(), " F32, need ",
           sp.total, " (linear_mixer_train_saved_elems)");
  const Tensor zero = sub_tensor(saved, 0, {k_align, 1, 1, 1}, saved.name + ".zero");
  const Tensor phi_q = sub_tensor(saved, sp.phi_q, {ff, s.n_heads, rows, 1}, saved.name + ".phi_q");
  const Tensor phi_k = sub_tensor(saved, sp.phi_k, {ff, s.n_state, rows, 1}, saved.name + ".phi_k");
  const Tensor stats = sub_tensor(saved, sp.stats, {s.n_heads, rows, 3, 1}, saved.name + ".stats");

  // 1. phi of every query and key: the inference kernels with n_past = 0 (the zero word) and no window shift.
  rec.fill(zero.buf, 0);
  push::LinearMixerPush fp{};
  fp.head_dim = uint32_t(s.head_dim);
  fp.features = uint32_t(s.features);
  fp.n_heads = uint32_t(s.n_heads);
  fp.n_kv = uint32_t(s.n_kv);
  fp.n_fm_q = uint32_t(s.n_fm_q);
  fp.n_state = uint32_t(s.n_state);
  fp.n_tokens = uint32_t(rows);
  const std::vector<uint32_t> fspec{k_threads, uint32_t(s.head_dim), uint32_t(s.features)};
  auto [qx, qy] = grid_2d(s.n_heads * rows);
  rec.dispatch(dev.pipeline("linmix_features_q", 5, sizeof fp, fspec), {q.buf, q.buf, w.fm_q.buf, zero.buf, phi_q.buf},
               0b10000, &fp, qx, qy, 1, "linmix_features_q");
  auto [kx, ky] = grid_2d(s.n_state * rows);
  rec.dispatch(dev.pipeline("linmix_features_k", 5, sizeof fp, fspec), {k.buf, k.buf, w.fm_k.buf, zero.buf, phi_k.buf},
               0b10000, &fp, kx, ky, 1, "linmix_features_k");
  // 2. The tiles: outputs and per-row stats.
  const push::LinearMixerTrainPush pc = push_of(pr, w, options);
  const uint32_t b = tile_size(dev, op, s, 3, 2, 1);
  auto& p = dev.pipeline("linmix_train", 8, sizeof pc, {b * b, uint32_t(s.head_dim), uint32_t(ff), b});
  rec.dispatch(
      p, {q.buf, k.buf, v.buf, phi_q.buf, phi_k.buf, w.window_factor ? w.window_factor.buf : q.buf, out.buf, stats.buf},
      0b11000000, &pc, div_up(pr.T, b), uint32_t(s.n_heads), uint32_t(pr.S), op);
}

void linear_mixer_backward(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v,
                           const LinearMixerWeights& w, int window, const Tensor& out, const Tensor& saved,
                           const Tensor& d_out, const Tensor& dq, const Tensor& dk, const Tensor& dv,
                           const LinearMixerWeights& dw, const Tensor& scratch, const LinearMixerOptions& options,
                           const GradMode& mode) {
  const char* op = "linear_mixer_backward";
  Device& dev = rec.device();
  const Problem pr = check_problem(op, q, k, v, w, window, out, dev);
  const LinearMixerShape& s = pr.s;
  const int64_t rows = pr.T * pr.S, ff = 2 * int64_t(s.features), F = s.features;
  check_f32(op, d_out, q.ne, "d_out", dev);
  check_f32(op, dq, q.ne, "dq", dev);
  check_f32(op, dk, k.ne, "dk", dev);
  check_f32(op, dv, k.ne, "dv", dev);
  if (dw.fm_q) check_f32(op, dw.fm_q, w.fm_q.ne, "query feature map gradient", dev);
  if (dw.fm_k) check_f32(op, dw.fm_k, w.fm_k.ne, "key feature map gradient", dev);
  if (dw.window_factor) {
    DS_CHECK(bool(w.window_factor), "[", op, "] ", dw.window_factor.name, ": a window-factor gradient without logits");
    check_f32(op, dw.window_factor, w.window_factor.ne, "window factor gradient", dev);
  }
  const SavedParts sp = saved_parts(s, rows);
  const ScratchParts xp = scratch_parts(s, rows);
  for (const Tensor* t : {&saved, &scratch}) {
    check_binding(op, *t, dev);
    check_type(op, *t, DType::F32);
  }
  DS_CHECK(saved.n_elements() >= sp.total, "[", op, "] ", saved.name,
           " is smaller than linear_mixer_train_saved_elems");
  DS_CHECK(scratch.n_elements() >= xp.total, "[", op, "] ", scratch.name, " has ", scratch.n_elements(), " F32, need ",
           xp.total, " (linear_mixer_backward_scratch_elems)");
  auto view = [](const Tensor& whole, int64_t at, std::array<int64_t, 4> ne, const char* name) {
    return sub_tensor(whole, at, ne, cat(whole.name, ".", name));
  };
  const Tensor phi_q = view(saved, sp.phi_q, {ff, s.n_heads, rows, 1}, "phi_q");
  const Tensor phi_k = view(saved, sp.phi_k, {ff, s.n_state, rows, 1}, "phi_k");
  const Tensor stats = view(saved, sp.stats, {s.n_heads, rows, 3, 1}, "stats");
  const Tensor dphi_q = view(scratch, xp.dphi_q, {ff, s.n_heads, rows, 1}, "dphi_q");
  const Tensor dphi_k = view(scratch, xp.dphi_k, {ff, s.n_state, rows, 1}, "dphi_k");
  const Tensor dy_q = view(scratch, xp.dy_q, {F, s.n_heads, rows, 1}, "dy_q");
  const Tensor dy_k = view(scratch, xp.dy_k, {F, s.n_state, rows, 1}, "dy_k");
  const Tensor row_sums = view(scratch, xp.rows, {s.n_heads, rows, 3, 1}, "rows");
  const vk::BufferSlice logits = w.window_factor ? w.window_factor.buf : q.buf;

  push::LinearMixerTrainPush pc = push_of(pr, w, options);
  const uint32_t tile_flags = pc.flags | (mode.accumulate_input ? LINMIX_TRAIN_ACCUMULATE : 0u);
  const uint32_t param_flags = pc.flags | (mode.accumulate_params ? LINMIX_TRAIN_ACCUMULATE : 0u);
  // 1. Query side: dq (window part), dphi_q, per-row sums.
  pc.flags = tile_flags;
  const uint32_t bq = tile_size(dev, op, s, 4, 2, 4);
  auto& pq = dev.pipeline("linmix_train_backward_dq", 12, sizeof pc, {bq * bq, uint32_t(s.head_dim), uint32_t(ff), bq});
  rec.dispatch(pq,
               {q.buf, k.buf, v.buf, out.buf, d_out.buf, phi_q.buf, phi_k.buf, logits, stats.buf, dq.buf, dphi_q.buf,
                row_sums.buf},
               0b111000000000, &pc, div_up(pr.T, bq), uint32_t(s.n_heads), uint32_t(pr.S), "linmix_train_backward_dq");
  // 2. Key side: dk (window part), dv, dphi_k.
  const uint32_t bk = tile_size(dev, op, s, 4, 2, 3);
  auto& pk =
      dev.pipeline("linmix_train_backward_dkv", 12, sizeof pc, {bk * bk, uint32_t(s.head_dim), uint32_t(ff), bk});
  rec.dispatch(pk,
               {q.buf, k.buf, v.buf, d_out.buf, phi_q.buf, phi_k.buf, logits, stats.buf, row_sums.buf, dk.buf, dv.buf,
                dphi_k.buf},
               0b111000000000, &pc, div_up(pr.T, bk), uint32_t(s.n_kv), uint32_t(pr.S), "linmix_train_backward_dkv");
  // 3. Through the feature maps into dq and dk (added), saving dy for the weights.
  const std::vector<uint32_t> fspec{k_threads, uint32_t(s.head_dim), uint32_t(F)};
  auto [qx, qy] = grid_2d(s.n_heads * rows);
  rec.dispatch(dev.pipeline("linmix_train_dphi_q", 5, sizeof pc, fspec),
               {phi_q.buf, dphi_q.buf, w.fm_q.buf, dy_q.buf, dq.buf}, 0b11000, &pc, qx, qy, 1, "linmix_train_dphi_q");
  auto [kx, ky] = grid_2d(s.n_kv * rows);
  rec.dispatch(dev.pipeline("linmix_train_dphi_k", 5, sizeof pc, fspec),
               {phi_k.buf, dphi_k.buf, w.fm_k.buf, dy_k.buf, dk.buf}, 0b11000, &pc, kx, ky, 1, "linmix_train_dphi_k");
  // 4. Parameters.
  pc.flags = param_flags;
  auto grad_map = [&](const char* name, const Tensor& x, const Tensor& dy, const Tensor& dmap) {
    if (!dmap) return;
    auto [gx, gy] = grid_2d(div_up(dmap.n_elements(), k_threads));
    rec.dispatch(dev.pipeline(name, 3, sizeof pc, fspec), {x.buf, dy.buf, dmap.buf}, 0b100, &pc, gx, gy, 1, name);
  };
  grad_map("linmix_train_grad_fm_q", q, dy_q, dw.fm_q);
  grad_map("linmix_train_grad_fm_k", k, dy_k, dw.fm_k);
  if (dw.window_factor && window == 0) {  // the factors are not used: zero gradient
    if (!mode.accumulate_params) rec.fill(dw.window_factor.buf.sub(0, dw.window_factor.n_bytes()), 0);
  } else if (dw.window_factor) {
    rec.dispatch(dev.pipeline("linmix_train_grad_wf", 3, sizeof pc, fspec),
                 {row_sums.buf, w.window_factor.buf, dw.window_factor.buf}, 0b100, &pc, div_up(s.n_heads, k_threads), 1,
                 1, "linmix_train_grad_wf");
  }
}

}  // namespace ds::ops
