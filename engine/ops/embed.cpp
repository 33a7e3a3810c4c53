// get_rows dispatch (shaders/get_rows.comp): one workgroup row per id, 8 weights per invocation.
#include "ops/embed.h"

#include <string>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {

void get_rows(vk::Recorder& rec, const Tensor& table, const Tensor& ids, const Tensor& out) {
  Device& dev = rec.device();
  const char* variant = weight_variant("get_rows", table);
  check_type("get_rows", ids, DType::I32);
  check_type("get_rows", out, DType::F32);
  const int64_t K = table.ne[0], V = table.rows(), M = ids.n_elements();
  DS_CHECK(out.ne[0] == K && out.rows() == M, "[get_rows] table ", table.name, " has rows of K=", K, " and ", M,
           " ids are looked up, but output ", out.name, " is ", out.shape_str(), " (expected ", K, "x", M, ")");
  check_binding("get_rows", table, dev);
  check_binding("get_rows", ids, dev);
  check_binding("get_rows", out, dev);
  if (M == 0 || K == 0) return;

  constexpr uint32_t k_threads = 64;
  const uint32_t aligned = K % 8 == 0 && table.buf.offset % 16 == 0 && out.buf.offset % 16 == 0;
  push::GetRowsPush pc{uint32_t(K), uint32_t(V), uint32_t(M), 0};
  auto& p = dev.pipeline(std::string("get_rows_") + variant, 3, sizeof pc, {k_threads, aligned});
  uint32_t gx = div_up(aligned ? K / 8 : K, k_threads);
  auto [gy, gz] = grid_2d(M);
  std::string label = "get_rows " + table.name;
  rec.dispatch(p, {table.buf, ids.buf, out.buf}, 0b100, &pc, gx, gy, gz, label.c_str());
}

}  // namespace ds::ops
