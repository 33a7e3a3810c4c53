// matmul dispatch: shape checks, then a mat-vec kernel (shaders/matvec.comp, or matvec_rows.comp for one
// vector-aligned column) for few columns, a tensor-core kernel (matmul_coopmat*.comp, tile chosen in
// ops/matmul_coopmat.cpp) for many where the device has them, else the tiled kernel (shaders/matmul.comp);
// one shader variant per weight type.
#include "ops/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

// Tiled kernel launch shape (spec constants of matmul.comp): 16 x 16 threads, 4 x 4 outputs each,
// so a workgroup computes a 64 x 64 tile of y; shared memory 2 * 32 * 65 floats = 16.6 KiB.
constexpr uint32_t k_tile_threads = 256, k_tile_threads_n = 16, k_tile_tn = 4, k_tile_tm = 4;
constexpr uint32_t k_tile_n = k_tile_threads_n * k_tile_tn;
constexpr uint32_t k_tile_m = (k_tile_threads / k_tile_threads_n) * k_tile_tm;

bool overlap(const vk::BufferSlice& a, const vk::BufferSlice& b) {
  return a.buffer == b.buffer && a.offset < b.offset + b.size && b.offset < a.offset + a.size;
}

void check_matvec_config(const Device& dev, const MatvecConfig& c) {
  const auto& lim = dev.props().limits;
  DS_CHECK(c.workgroup >= 1 && c.workgroup <= lim.maxComputeWorkGroupInvocations &&
               c.workgroup <= lim.maxComputeWorkGroupSize[0],
           "[matmul] mat-vec workgroup of ", c.workgroup, " invocations exceeds the device limit ",
           lim.maxComputeWorkGroupInvocations);
  DS_CHECK(c.rows >= 1 && c.max_cols >= 1 && c.rows * c.max_cols <= 64, "[matmul] mat-vec config rows=", c.rows,
           " max_cols=", c.max_cols, ": need 1 <= rows * max_cols <= 64 (register accumulators)");
  // matvec.comp keeps one partial sum per (subgroup, row, column), sized for subgroups >= 4 wide.
  DS_CHECK(dev.subgroup_size() >= 4, "[matmul] mat-vec kernel needs subgroups of at least 4, device has ",
           dev.subgroup_size());
  uint64_t shared_bytes = uint64_t(c.workgroup / 4) * c.rows * c.max_cols * 4;
  DS_CHECK(shared_bytes <= lim.maxComputeSharedMemorySize, "[matmul] mat-vec config workgroup=", c.workgroup,
           " rows=", c.rows, " max_cols=", c.max_cols, " needs ", shared_bytes, " bytes of shared memory, device has ",
           lim.maxComputeSharedMemorySize);
}

// Whether the subgroup-per-row kernel serves this config and shape (Auto: N >= K): staged x (K rounded up to
// 1024 floats) plus the per-subgroup sums fit in shared memory, whole subgroups per workgroup.
bool subgroup_rows_fits(const Device& dev, const MatvecConfig& c, int64_t K, int64_t N) {
  if (c.kernel == MatvecKernel::Strided || (c.kernel == MatvecKernel::Auto && N < K)) return false;
  const auto& lim = dev.props().limits;
  const uint32_t sg = dev.subgroup_size();
  DS_CHECK(c.workgroup >= sg && c.workgroup % sg == 0 && c.workgroup <= lim.maxComputeWorkGroupInvocations &&
               c.rows >= 1 && c.rows <= 16 && c.unroll >= 1 && c.unroll <= 16,
           "[matmul] subgroup-row mat-vec config workgroup=", c.workgroup, " rows=", c.rows, " unroll=", c.unroll,
           ": need a workgroup of whole subgroups (", sg, " wide, at most ", lim.maxComputeWorkGroupInvocations,
           ") and 1..16 rows and unroll");
  const uint64_t shared_bytes = uint64_t((K + 1023) / 1024 * 1024) * 4 + uint64_t(c.workgroup) * 4;
  return shared_bytes <= lim.maxComputeSharedMemorySize;
}

// The caller's tile, or DS_COOPMAT_TILE (classic|s|m|l) when the caller leaves it to Auto (for benchmarks).
CoopMatTile requested_coopmat_tile(CoopMatTile t) {
  const char* e = std::getenv("DS_COOPMAT_TILE");
  if (t != CoopMatTile::Auto || !e) return t;
  const std::string v(e);
  for (CoopMatTile c : {CoopMatTile::Classic, CoopMatTile::Small, CoopMatTile::Medium, CoopMatTile::Large})
    if (v == coopmat_tile_name(c)) return c;
  return CoopMatTile::Auto;
}

}  // namespace

bool uses_coopmat(const Device& dev, const Tensor& w, bool aligned) {
  return dev.has_coopmat_nv() && aligned && w.type != DType::F32;
}

MatvecConfig default_matvec_config(const Device& dev) {
  // GPUs: the subgroup-per-row kernel, 256 invocations, 2 rows per subgroup (Strided: 128 invocations
  // and 2 rows per workgroup). CPU devices (lavapipe) run a workgroup's invocations as SIMD lanes and pay
  // for every workgroup barrier, so there the Strided kernel with one or two subgroups covering more rows.
  // DS_MATVEC_KERNEL (strided|rows), DS_MATVEC_WG, DS_MATVEC_ROWS, DS_MATVEC_UNROLL override (for tuning).
  MatvecConfig c;
  if (dev.info().type == "cpu") {
    c.workgroup = std::max<uint32_t>(dev.subgroup_size(), 8);
    c.rows = 4;
  } else {
    c.kernel = MatvecKernel::Auto;
    c.workgroup = 256;
  }
  if (const char* e = std::getenv("DS_MATVEC_KERNEL"))
    c.kernel = std::string(e) == "rows"   ? MatvecKernel::SubgroupRows
               : std::string(e) == "auto" ? MatvecKernel::Auto
                                          : MatvecKernel::Strided;
  if (const char* e = std::getenv("DS_MATVEC_WG")) c.workgroup = uint32_t(std::atoi(e));
  if (const char* e = std::getenv("DS_MATVEC_ROWS")) c.rows = uint32_t(std::atoi(e));
  if (const char* e = std::getenv("DS_MATVEC_UNROLL")) c.unroll = uint32_t(std::atoi(e));
  return c;
}

namespace {
// The tiled shared-memory kernel (shaders/matmul.comp), also the F16-input fallback of the tensor-core path.
void record_tiled(vk::Recorder& rec, uint32_t aligned, const push::MatmulPush& pc,
                  const std::vector<vk::BufferSlice>& bufs, const std::string& name) {
  auto& p = rec.device().pipeline(name, 4, sizeof pc, {k_tile_threads, k_tile_threads_n, k_tile_tn, k_tile_tm, aligned});
  rec.dispatch(p, bufs, 0b0100, &pc, div_up(pc.N, k_tile_n), div_up(pc.M, k_tile_m), 1, name.c_str());
}
}  // namespace

void matmul(vk::Recorder& rec, const Tensor& w, const Tensor& x, const Tensor& y, const MatmulOptions& o) {
  Device& dev = rec.device();
  const char* variant = weight_variant("matmul", w);
  const bool half_x = x.type == DType::F16;  // prefill activations on tensor-core devices
  if (!half_x) check_type("matmul", x, DType::F32);
  check_type("matmul", y, DType::F32);
  const bool tr = o.transpose_w;  // reduce over the weight's rows instead of along them
  DS_CHECK(!half_x || (!tr && !o.norm_weight && !o.glu), "[matmul] input ", x.name,
           " is F16: only the plain product reads F16 (no transposed weight, no norm/glu fusion)");
  const int64_t K = tr ? w.rows() : w.ne[0], N = tr ? w.ne[0] : w.rows(), M = x.rows();
  const int64_t x_len = o.glu ? 2 * K : K;
  DS_CHECK(x.ne[0] == x_len, "[matmul] weight ", w.name, tr ? " (transposed)" : "", ": ", w.shape_str(), " ",
           dtype_name(w.type), " (K=", K, ") but input ", x.name, " is ", x.shape_str(), " (K=", x.ne[0],
           o.glu ? ", expected 2K = [gate | up]" : "", ")");
  DS_CHECK(!tr || (o.path != MatmulPath::MatVec && !o.glu && !o.norm_weight), "[matmul] weight ", w.name,
           ": the transposed product has no mat-vec kernel and no fusions (use MatmulPath::Auto or Tiled)");
  if (o.norm_weight) {
    check_type("matmul", o.norm_weight, DType::F32);
    DS_CHECK(o.norm_weight.n_elements() == K, "[matmul] norm weight ", o.norm_weight.name, " has ",
             o.norm_weight.n_elements(), " elements, K is ", K);
    check_binding("matmul", o.norm_weight, dev);
  }
  DS_CHECK(!(o.glu && o.norm_weight), "[matmul] glu and norm fusions cannot be combined");
  DS_CHECK(y.ne[0] == N && y.rows() == M, "[matmul] weight ", w.name, " (N=", N, ") times input ", x.name, " (M=", M,
           ") gives ", N, "x", M, ", but output ", y.name, " is ", y.shape_str());
  if (o.bias) {
    check_type("matmul", o.bias, DType::F32);
    DS_CHECK(o.bias.n_elements() == N, "[matmul] bias ", o.bias.name, " has ", o.bias.n_elements(),
             " elements, weight ", w.name, " has N=", N, " rows");
    check_binding("matmul", o.bias, dev);
  }
  check_binding("matmul", w, dev);
  check_binding("matmul", x, dev);
  check_binding("matmul", y, dev);
  DS_CHECK(!overlap(x.buf, y.buf), "[matmul] output ", y.name, " overlaps input ", x.name);
  if (N == 0 || M == 0) return;

  // Vector loads need every row (K % 8 == 0) and both bindings 16-byte aligned.
  // (transposed: runs of 8 along N instead, so N % 8 == 0 too).
  const uint32_t aligned = o.vector_loads && K % 8 == 0 && (!tr || N % 8 == 0) && w.buf.offset % 16 == 0 &&
                           x.buf.offset % 16 == 0 && (!o.norm_weight || o.norm_weight.buf.offset % 16 == 0);
  const MatvecConfig cfg = o.matvec ? *o.matvec : default_matvec_config(dev);
  MatmulPath path = o.path;
  if (path == MatmulPath::Auto) {
    path = M <= int64_t(cfg.max_cols) && !tr ? MatmulPath::MatVec : MatmulPath::Tiled;
    // Tensor cores round x (and W) to F16; F32 weights keep the exact F32 kernel.
    if (path == MatmulPath::Tiled && !tr && uses_coopmat(dev, w, aligned)) path = MatmulPath::CoopMat;
  }

  push::MatmulPush pc{uint32_t(K), uint32_t(N), uint32_t(M), 0, o.norm_eps};
  if (o.bias) pc.flags |= MATMUL_BIAS;
  if (o.accumulate) pc.flags |= MATMUL_ACCUMULATE;
  if (o.norm_weight) pc.flags |= MATMUL_NORM;
  if (o.glu) pc.flags |= MATMUL_GLU;
  std::vector<vk::BufferSlice> bufs{w.buf, x.buf, y.buf, o.bias ? o.bias.buf : x.buf};
  const uint32_t writes = 0b0100;

  const std::string x16 = half_x ? "_x16" : "";  // the F16-input shader variants
  if (path == MatmulPath::MatVec && M == 1 && aligned && !half_x && subgroup_rows_fits(dev, cfg, K, N)) {
    bufs.push_back(o.norm_weight ? o.norm_weight.buf : x.buf);
    const uint32_t kmax = uint32_t(div_up(K, 1024) * 1024);  // staged x capacity: few pipeline variants
    auto& p = dev.pipeline(std::string("matvec_rows_") + variant, 5, sizeof pc,
                           {cfg.workgroup, cfg.rows, kmax, cfg.unroll});
    const uint32_t rows_per_group = cfg.workgroup / dev.subgroup_size() * cfg.rows;
    auto [gx, gy] = grid_2d(div_up(N, rows_per_group));
    const std::string label = std::string("matvec_rows_") + variant + (o.norm_weight ? "+norm" : o.glu ? "+glu" : "");
    rec.dispatch(p, bufs, writes, &pc, gx, gy, 1, label.c_str());
  } else if (path == MatmulPath::MatVec) {
    check_matvec_config(dev, cfg);
    uint32_t cols = uint32_t(std::min<int64_t>(M, cfg.max_cols));
    bufs.push_back(o.norm_weight ? o.norm_weight.buf : x.buf);
    auto& p = dev.pipeline(std::string("matvec_") + variant + x16, 5, sizeof pc, {cfg.workgroup, cfg.rows, cols, aligned});
    auto [gx, gy] = grid_2d(div_up(N, cfg.rows));
    const std::string label = std::string("matvec_") + variant + (o.norm_weight ? "+norm" : o.glu ? "+glu" : "");
    rec.dispatch(p, bufs, writes, &pc, gx, gy, div_up(M, cols), label.c_str());
  } else if (path == MatmulPath::CoopMat) {
    DS_CHECK(!tr, "[matmul] ", w.name, ": no tensor-core kernel for transposed weights");
    DS_CHECK(dev.has_coopmat_nv(), "[matmul] ", w.name, ": the tensor-core path needs VK_NV_cooperative_matrix, which ",
             dev.info().name, " does not offer");
    DS_CHECK(aligned, "[matmul] ", w.name, ": the tensor-core path needs K % 8 == 0 and 16-byte aligned bindings (K=", K, ")");
    DS_CHECK(!o.norm_weight && !o.glu, "[matmul] ", w.name, ": norm/glu fusions exist only on the mat-vec path");
    const CoopMatLimits lim{dev.subgroup_size(), dev.props().limits.maxComputeSharedMemorySize};
    // Split-K: S slices of K, each workgroup's partial product into the scratch, then one pass sums them.
    int split = o.split_scratch ? coopmat_split_k(K, N, M) : 1;
    if (split > 1 && (size_t(o.split_scratch.n_elements()) < size_t(split) * size_t(N) * size_t(M) ||
                      o.split_scratch.type != DType::F32 || overlap(o.split_scratch.buf, x.buf) ||
                      overlap(o.split_scratch.buf, y.buf)))
      split = 1;
    CoopMatTile tile = choose_coopmat_tile(K / split, N, M * split, w.type, lim, requested_coopmat_tile(o.coopmat_tile));
    if (tile == CoopMatTile::Classic && split > 1) {
      split = 1;
      tile = choose_coopmat_tile(K, N, M, w.type, lim, requested_coopmat_tile(o.coopmat_tile));
    }
    if (tile == CoopMatTile::Classic && half_x) {  // the classic kernel reads F32 x only: the tiled kernel then
      record_tiled(rec, aligned, pc, bufs, std::string("matmul_") + variant + x16);
    } else if (tile == CoopMatTile::Classic) {
      auto& p = dev.pipeline(std::string("matmul_coopmat_") + variant, 4, sizeof pc);
      const std::string label = std::string("matmul_coopmat_") + variant;
      rec.dispatch(p, bufs, writes, &pc, div_up(N, 128), div_up(M, 64), 1, label.c_str());
    } else {
      std::string name = std::string("matmul_coopmat_") + coopmat_tile_name(tile) + "_" + variant + x16;
      // DS_COOPMAT_PROBE=mma|smem: timing-only variants with wrong results (F16; docs/performance.md).
      if (const char* e = std::getenv("DS_COOPMAT_PROBE"); e && *e && !half_x) name += std::string("_probe_") + e;
      const uint32_t bn = tile == CoopMatTile::Small ? 64 : 128, bm = tile == CoopMatTile::Large ? 128 : 64;
      if (split > 1) {
        const Tensor& part = o.split_scratch;
        const std::string label = name + "+split" + std::to_string(split);
        rec.dispatch(dev.pipeline(name, 4, sizeof pc), {w.buf, x.buf, part.buf, x.buf}, 0b0100, &pc, div_up(N, bn),
                     div_up(M, bm), uint32_t(split), label.c_str());
        push::MatmulPush sum{uint32_t(split), uint32_t(N), uint32_t(M), pc.flags, 0};
        const uint32_t threads = 256;
        auto [gx, gy] = grid_2d(div_up(N * M, threads));
        rec.dispatch(dev.pipeline("matmul_split_sum", 3, sizeof sum, {threads}),
                     {part.buf, y.buf, o.bias ? o.bias.buf : part.buf}, 0b010, &sum, gx, gy, 1, "matmul_split_sum");
      } else {
        rec.dispatch(dev.pipeline(name, 4, sizeof pc), bufs, writes, &pc, div_up(N, bn), div_up(M, bm), 1, name.c_str());
      }
    }
  } else {
    DS_CHECK(!o.norm_weight && !o.glu, "[matmul] ", w.name, ": norm/glu fusions exist only on the mat-vec path (M=", M,
             " > ", cfg.max_cols, ")");
    record_tiled(rec, aligned, pc, bufs, std::string(tr ? "matmul_t_" : "matmul_") + variant + x16);
  }
}

}  // namespace ds::ops
