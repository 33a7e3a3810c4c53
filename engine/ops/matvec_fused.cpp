// The decode fusions of ops/matvec_fused.h: shape checks, the launch of matvec_rows_fused_<type> (or the
// separate dispatches where that kernel cannot serve the shape).
#include "ops/matvec_fused.h"

#include <algorithm>
#include <optional>
#include <string>

#include "ops/attention.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

// The fused kernel's launch: the device's mat-vec config turned into a subgroup-row one (whole subgroups per
// workgroup, an even number of rows per subgroup so RoPE pairs stay together), and the staged-x capacity.
struct FusedLaunch {
  MatvecConfig cfg;
  uint32_t kmax;
};

std::optional<FusedLaunch> fused_launch(const Device& dev, const MatmulOptions& o, const Tensor& w, const Tensor& x) {
  const int64_t K = w.ne[0];
  const bool aligned = o.vector_loads && K % 8 == 0 && w.buf.offset % 16 == 0 && x.buf.offset % 16 == 0 &&
                       (!o.norm_weight || o.norm_weight.buf.offset % 16 == 0);
  if (!aligned) return std::nullopt;
  MatvecConfig c = o.matvec ? *o.matvec : default_matvec_config(dev);
  const uint32_t sg = dev.subgroup_size();
  c.workgroup = std::max<uint32_t>(c.workgroup / sg, 1) * sg;
  c.rows = std::clamp<uint32_t>((c.rows + 1) / 2 * 2, 2, 16);
  c.unroll = std::clamp<uint32_t>(c.unroll, 1, 16);
  const auto& lim = dev.props().limits;
  const uint64_t kmax = uint64_t(div_up(K, 1024)) * 1024;
  const uint64_t shared = kmax * 4 + uint64_t(c.workgroup) * 4 + kmax / 4 * 8;  // xs, sg_sums, head_max/inv_l
  if (c.workgroup > lim.maxComputeWorkGroupInvocations || shared > lim.maxComputeSharedMemorySize) return std::nullopt;
  return FusedLaunch{c, uint32_t(kmax)};
}

// Common checks: one column, W [K, N] times x [K, 1] into y [N, 1].
void check_matvec(const char* op, const Device& dev, const Tensor& w, const Tensor& x, const Tensor& y,
                  const MatmulOptions& o) {
  weight_variant(op, w);
  check_type(op, x, DType::F32);
  check_type(op, y, DType::F32);
  DS_CHECK(x.n_elements() == w.ne[0] && y.n_elements() == w.rows(), "[", op, "] weight ", w.name, " ",
           w.shape_str(), " needs an input of ", w.ne[0], " and an output of ", w.rows(), " values (one token), got ",
           x.name, " ", x.shape_str(), " and ", y.name, " ", y.shape_str());
  DS_CHECK(!o.glu && !o.transpose_w && o.path != MatmulPath::Tiled && o.path != MatmulPath::CoopMat, "[", op,
           "] weight ", w.name, ": only the norm and bias options combine with this fusion");
  for (const Tensor* t : {&w, &x, &y}) check_binding(op, *t, dev);
}

void dispatch_fused(vk::Recorder& rec, const FusedLaunch& l, const Tensor& w, const push::MatvecFusedPush& pc,
                    std::vector<vk::BufferSlice> bufs, uint32_t writes, const std::string& what) {
  Device& dev = rec.device();
  const char* variant = weight_variant("matvec_fused", w);
  auto& p = dev.pipeline(std::string("matvec_rows_fused_") + variant, 10, sizeof pc,
                         {l.cfg.workgroup, l.cfg.rows, l.kmax, l.cfg.unroll});
  const uint32_t rows_per_group = l.cfg.workgroup / dev.subgroup_size() * l.cfg.rows;
  auto [gx, gy] = grid_2d(div_up(pc.N, rows_per_group));
  const std::string label = std::string("matvec_rows_") + variant + what;
  rec.dispatch(p, bufs, writes, &pc, gx, gy, 1, label.c_str());
}

}  // namespace

void matvec_rope_store(vk::Recorder& rec, const Tensor& w, const Tensor& x, const Tensor& qkv, const MatmulOptions& o,
                       const RopeStoreFusion& f) {
  Device& dev = rec.device();
  check_matvec("matvec_rope_store", dev, w, x, qkv, o);
  check_type("matvec_rope_store", f.positions, DType::I32);
  check_type("matvec_rope_store", f.inv_freq, DType::F32);
  check_type("matvec_rope_store", f.step, DType::I32);
  check_type("matvec_rope_store", f.k_cache, DType::F16);
  check_same_shape("matvec_rope_store", f.k_cache, f.v_cache);
  const int64_t hd = f.k_cache.ne[0], n_ctx = f.k_cache.ne[1], n_kv = f.k_cache.ne[2], N = w.rows();
  DS_CHECK(hd % 2 == 0 && f.inv_freq.n_elements() == hd / 2 && f.n_heads > 0 && N == (f.n_heads + 2 * n_kv) * hd,
           "[matvec_rope_store] weight ", w.name, " has ", N, " rows; ", f.n_heads, " query heads and ", n_kv,
           " kv heads of ", hd, " (cache ", f.k_cache.shape_str(), ", ", f.inv_freq.n_elements(),
           " frequencies) need ", (f.n_heads + 2 * n_kv) * hd);
  DS_CHECK(!o.accumulate, "[matvec_rope_store] ", w.name, ": the q/k/v output cannot accumulate");
  for (const Tensor* t : {&f.positions, &f.inv_freq, &f.step, &f.k_cache, &f.v_cache})
    check_binding("matvec_rope_store", *t, dev);
  const std::optional<FusedLaunch> l = fused_launch(dev, o, w, x);
  if (!l) {  // separate dispatches: the mat-vec, then rope_store over views of its output
    matmul(rec, w, x, qkv, o);
    const int64_t q_dim = f.n_heads * hd, kv_dim = n_kv * hd;
    rope_store(rec, sub_tensor(qkv, 0, {hd, f.n_heads, 1, 1}, qkv.name + ".q"),
               sub_tensor(qkv, q_dim, {hd, n_kv, 1, 1}, qkv.name + ".k"),
               sub_tensor(qkv, q_dim + kv_dim, {hd, n_kv, 1, 1}, qkv.name + ".v"), f.positions, f.inv_freq, f.mode,
               f.step, f.k_cache, f.v_cache);
    return;
  }
  if (o.bias) {
    check_type("matvec_rope_store", o.bias, DType::F32);
    DS_CHECK(o.bias.n_elements() == N, "[matvec_rope_store] bias ", o.bias.name, " has ", o.bias.n_elements(),
             " elements, weight ", w.name, " has ", N, " rows");
  }
  if (o.norm_weight) {
    check_type("matvec_rope_store", o.norm_weight, DType::F32);
    DS_CHECK(o.norm_weight.n_elements() == w.ne[0], "[matvec_rope_store] norm weight ", o.norm_weight.name, " has ",
             o.norm_weight.n_elements(), " elements, K is ", w.ne[0]);
  }
  push::MatvecFusedPush pc{uint32_t(w.ne[0]), uint32_t(N), 1, MATMUL_ROPE, o.norm_eps, uint32_t(hd),
                           uint32_t(f.n_heads), uint32_t(n_kv), uint32_t(n_ctx), f.mode == RopeMode::Neox ? 1u : 0u,
                           0, 0};
  if (o.bias) pc.flags |= MATMUL_BIAS;
  if (o.norm_weight) pc.flags |= MATMUL_NORM;
  dispatch_fused(rec, *l, w, pc,
                 {w.buf, x.buf, qkv.buf, o.bias ? o.bias.buf : x.buf, o.norm_weight ? o.norm_weight.buf : x.buf,
                  f.positions.buf, f.inv_freq.buf, f.step.buf, f.k_cache.buf, f.v_cache.buf},
                 0b1100000100, o.norm_weight ? "+norm+rope_store" : "+rope_store");
}

void matvec_attn_combine(vk::Recorder& rec, const Tensor& w, const Tensor& attn, const Tensor& y,
                         const MatmulOptions& o, const CombineFusion& f) {
  Device& dev = rec.device();
  check_matvec("matvec_attn_combine", dev, w, attn, y, o);
  DS_CHECK(!o.norm_weight, "[matvec_attn_combine] ", w.name, ": no norm fusion on the attention output");
  const AttentionSplit split = attention_decode_split(f.n_ctx);
  const Tensor attn_col = attn.reshaped({attn.n_elements(), 1, 1, 1});  // the mat-vec's view of attn
  if (split.n_chunks == 1) {  // attention wrote attn itself
    matmul(rec, w, attn_col, y, o);
    return;
  }
  const int64_t hd = attn.ne[0], n_heads = attn.ne[1];
  check_type("matvec_attn_combine", f.partials, DType::F32);
  check_type("matvec_attn_combine", f.step, DType::I32);
  const size_t need = size_t(n_heads) * split.n_chunks * size_t(hd + 4);
  DS_CHECK(hd % 4 == 0 && size_t(f.partials.n_elements()) >= need, "[matvec_attn_combine] partials ",
           f.partials.name, " have ", f.partials.n_elements(), " F32; ", n_heads, " heads of ", hd, " (a multiple of 4) x ",
           split.n_chunks, " chunks need ", need);
  check_binding("matvec_attn_combine", f.partials, dev);
  check_binding("matvec_attn_combine", f.step, dev);
  const std::optional<FusedLaunch> l = fused_launch(dev, o, w, f.partials);
  if (!l) {
    attention_combine(rec, f.partials, f.step, f.n_ctx, attn);
    matmul(rec, w, attn_col, y, o);
    return;
  }
  if (o.bias) {
    check_type("matvec_attn_combine", o.bias, DType::F32);
    DS_CHECK(o.bias.n_elements() == w.rows(), "[matvec_attn_combine] bias ", o.bias.name, " has ",
             o.bias.n_elements(), " elements, weight ", w.name, " has ", w.rows(), " rows");
  }
  push::MatvecFusedPush pc{uint32_t(w.ne[0]), uint32_t(w.rows()), 1, MATMUL_COMBINE, 0.0f, uint32_t(hd),
                           uint32_t(n_heads), 0, uint32_t(f.n_ctx), 0, split.chunk_keys, split.n_chunks};
  if (o.bias) pc.flags |= MATMUL_BIAS;
  if (o.accumulate) pc.flags |= MATMUL_ACCUMULATE;
  const vk::BufferSlice& part = f.partials.buf;
  dispatch_fused(rec, *l, w, pc,
                 {w.buf, part, y.buf, o.bias ? o.bias.buf : part, part, f.step.buf, part, f.step.buf, part, part},
                 0b100, "+attn_combine");
}

}  // namespace ds::ops
