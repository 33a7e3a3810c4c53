// ds_bench_matmul: memory bandwidth of the decode mat-vec (y = W x, W of K x N in F16/Q8_0/...),
// timed with GPU timestamps (vk::Profiler). Several copies of W are cycled so that the L2 cache
// (50 MB on an H200) cannot serve them. `--sweep` tries mat-vec launch shapes for tuning; `--tiles`
// (prefill, M > 8) times every tensor-core kernel (classic, s, m, l, auto) in TFLOP/s instead.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "distilscope/device.h"
#include "ops/matmul.h"
#include "ops/tensor.h"
#include "vk/memory.h"
#include "vk/recorder.h"
#include "vk/submit.h"

namespace {

struct Setup {
  std::vector<ds::Tensor> weights;  // copies of one K x N weight
  std::vector<ds::Tensor> ys;       // one output per copy
  ds::Tensor x;
};

// Records `reps` mat-vecs cycling over the weight copies and returns the GPU time of each (ms).
// serial: every dispatch writes the same y, so barriers separate them (as in a decode step);
// otherwise each writes its own y and dispatches may overlap (only the total is meaningful).
std::vector<double> time_reps(ds::Device& dev, const Setup& s, const ds::ops::MatmulOptions& o, int reps, bool serial) {
  ds::vk::Profiler prof(dev);
  ds::vk::OneShot cmd(dev);
  prof.reset(cmd.cmd(), uint32_t(reps));
  ds::vk::Recorder rec(dev, cmd.cmd(), &prof);
  for (int r = 0; r < reps; ++r) {
    size_t i = size_t(r) % s.weights.size();
    ds::ops::matmul(rec, s.weights[i], s.x, serial ? s.ys[0] : s.ys[i], o);
  }
  cmd.submit_and_wait();
  std::vector<double> ms;
  for (auto& t : prof.read()) ms.push_back(t.ms);
  return ms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ds_bench_matmul: mat-vec bandwidth with GPU timestamps"};
  std::vector<std::string> types{"f16", "q8_0"};
  int K = 2048, N = 8192, M = 1, reps = 64;
  double min_total_mb = 256;
  bool sweep = false, tiles = false;
  std::string device;
  app.add_option("--type", types, "weight types (f32, f16, bf16, q8_0, q4_0)");
  app.add_option("-k", K, "row length K (inner dimension)");
  app.add_option("-n", N, "rows N (outputs)");
  app.add_option("-m", M, "columns M of x (1 = decode)");
  app.add_option("--reps", reps, "dispatches per measurement");
  app.add_option("--min-mb", min_total_mb, "total size of the weight copies cycled through (MB), beyond the L2 cache");
  app.add_flag("--sweep", sweep, "try several mat-vec launch shapes (workgroup, rows, columns)");
  app.add_flag("--tiles", tiles, "prefill: time each tensor-core kernel (needs M > 8 and VK_NV_cooperative_matrix)");
  app.add_option("--device", device, "device index or name");
  CLI11_PARSE(app, argc, argv);

  try {
    ds::DeviceOptions dopts;
    dopts.select = device;
    auto dev = ds::Device::open(dopts);
    std::printf("device: %s (%s), subgroup %u\n", dev->info().name.c_str(), dev->info().driver.c_str(),
                dev->subgroup_size());
    std::printf("W: K=%d x N=%d, x: M=%d; %d dispatches per measurement\n", K, N, M, reps);

    std::vector<ds::ops::MatvecConfig> configs{ds::ops::default_matvec_config(*dev)};
    if (sweep)
      for (uint32_t wg : {32u, 64u, 128u, 256u, 512u})
        for (uint32_t rows : {1u, 2u, 4u, 8u}) configs.push_back({wg, rows, 8});
    if (sweep && M == 1)
      for (uint32_t wg : {64u, 128u, 256u, 512u})
        for (uint32_t rows : {1u, 2u, 4u})
          for (uint32_t unroll : {2u, 4u, 8u})
            configs.push_back({wg, rows, 8, ds::ops::MatvecKernel::SubgroupRows, unroll});

    for (const std::string& name : types) {
      auto type = ds::dtype_from_name(name);
      if (!type) {
        std::fprintf(stderr, "unknown type %s\n", name.c_str());
        return 1;
      }
      const size_t w_bytes = ds::dtype_bytes(*type, size_t(K) * N), y_bytes = size_t(N) * M * 4;
      const size_t n_copies = std::max<size_t>(1, size_t(min_total_mb * 1e6 / double(w_bytes)) + 1);
      const size_t arena_bytes = n_copies * (w_bytes + (tiles ? 0 : y_bytes)) + y_bytes + size_t(K) * M * 4;
      ds::vk::Arena arena(*dev, "bench", ds::vk::MemoryKind::DeviceLocal, std::max<size_t>(256ull << 20, arena_bytes + (64ull << 20)));
      Setup s;
      std::vector<float> wf(size_t(K) * N);
      std::mt19937 rng(1);
      std::uniform_real_distribution<float> dist(-1, 1);
      for (auto& v : wf) v = dist(rng);
      std::vector<uint8_t> bytes(ds::dtype_bytes(*type, wf.size()));
      ds::from_f32(*type, wf.data(), bytes.data(), wf.size());
      size_t copies = std::max<size_t>(1, size_t(min_total_mb * 1e6 / double(bytes.size())) + 1);
      for (size_t c = 0; c < copies; ++c) {
        s.weights.push_back(ds::make_tensor(arena, *type, {K, N, 1, 1}, "w" + std::to_string(c)));
        ds::upload(*dev, s.weights.back(), bytes.data());
        if (!tiles || c == 0) s.ys.push_back(ds::make_tensor(arena, ds::DType::F32, {N, M, 1, 1}, "y" + std::to_string(c)));
      }
      std::vector<float> xf(size_t(K) * M);
      for (auto& v : xf) v = dist(rng);
      s.x = ds::make_tensor(arena, ds::DType::F32, {K, M, 1, 1}, "x");
      ds::upload_f32(*dev, s.x, xf);

      const double mb = double(bytes.size()) / 1e6;
      if (tiles) {
        using ds::ops::CoopMatTile;
        std::printf("\n%s: K=%d N=%d M=%d, tensor-core kernels, %zu weight copies\n", ds::dtype_name(*type), K, N, M, copies);
        std::printf("%8s | %10s %9s\n", "tile", "ms", "TFLOP/s");
        for (CoopMatTile t : {CoopMatTile::Classic, CoopMatTile::Small, CoopMatTile::Medium, CoopMatTile::Large,
                              CoopMatTile::Auto}) {
          ds::ops::MatmulOptions o;
          o.path = ds::ops::MatmulPath::CoopMat;
          o.coopmat_tile = t;
          try {
            time_reps(*dev, s, o, 2, true);
            const double ms = median(time_reps(*dev, s, o, reps, true));
            std::printf("%8s | %10.4f %9.1f\n", ds::ops::coopmat_tile_name(t), ms, 2.0 * K * N * M / (ms * 1e9));
          } catch (const std::exception& e) {
            std::printf("%8s | skipped: %s\n", ds::ops::coopmat_tile_name(t), e.what());
          }
        }
        continue;
      }
      std::printf("\n%s: %.2f MB per weight, %zu copies\n", ds::dtype_name(*type), mb, copies);
      std::printf("%7s %9s %5s %5s %6s | %12s %10s | %12s\n", "kernel", "workgroup", "rows", "cols", "unroll",
                  "serial ms", "GB/s", "overlap GB/s");
      for (const auto& cfg : configs) {
        ds::ops::MatmulOptions o;
        o.path = ds::ops::MatmulPath::MatVec;
        o.matvec = &cfg;
        try {
          time_reps(*dev, s, o, 2, true);  // warm-up: pipeline creation, first touch
          double serial = median(time_reps(*dev, s, o, reps, true));
          auto all = time_reps(*dev, s, o, reps, false);
          double total = 0;
          for (double t : all) total += t;
          const bool rows_kernel = cfg.kernel == ds::ops::MatvecKernel::SubgroupRows;
          std::printf("%7s %9u %5u %5u %6s | %12.4f %10.1f | %12.1f\n", rows_kernel ? "rows" : "strided",
                      cfg.workgroup, cfg.rows, std::min<uint32_t>(cfg.max_cols, M),
                      rows_kernel ? std::to_string(cfg.unroll).c_str() : "-", serial, mb / serial, mb * reps / total);
        } catch (const std::exception& e) {
          std::printf("%7s %9u %5u %5u | skipped: %s\n", "", cfg.workgroup, cfg.rows, cfg.max_cols, e.what());
        }
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
