// matmul backward dispatch: dX through ops::matmul (transposed weights), dW with matmul_grad_w.comp,
// db with sum_rows.
#include "ops/backward/matmul.h"

#include "distilscope/device.h"
#include "ops/backward/norm.h"
#include "ops/check.h"
#include "ops/matmul.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

// Launch shape of matmul_grad_w.comp (spec constants): 16 x 16 threads, 4 x 4 outputs each -> 64 x 64 tiles.
constexpr uint32_t k_threads = 256, k_threads_k = 16, k_tk = 4, k_tn = 4;
constexpr uint32_t k_tile_k = k_threads_k * k_tk, k_tile_n = (k_threads / k_threads_k) * k_tn;

}  // namespace

void matmul_backward_input(vk::Recorder& rec, const Tensor& w, const Tensor& dy, const Tensor& dx, bool accumulate) {
  MatmulOptions o;
  o.transpose_w = true;
  o.accumulate = accumulate;
  matmul(rec, w, dy, dx, o);
}

void matmul_backward_weight(vk::Recorder& rec, const Tensor& x, const Tensor& dy, const Tensor& dw, bool accumulate) {
  const char* op = "matmul_backward_weight";
  check_type(op, x, DType::F32);
  check_type(op, dy, DType::F32);
  check_type(op, dw, DType::F32);
  const int64_t K = dw.ne[0], N = dw.rows(), M = x.rows();
  DS_CHECK(x.ne[0] == K && dy.ne[0] == N && dy.rows() == M, "[", op, "] gradient ", dw.name, " is ", dw.shape_str(),
           " [K, N] but input ", x.name, " is ", x.shape_str(), " [K, M] and output gradient ", dy.name, " is ",
           dy.shape_str(), " [N, M]");
  for (const Tensor* t : {&x, &dy, &dw}) check_binding(op, *t, rec.device());
  push::MatmulPush pc{uint32_t(K), uint32_t(N), uint32_t(M), accumulate ? MATMUL_ACCUMULATE : 0u};
  auto& p = rec.device().pipeline("matmul_grad_w", 3, sizeof pc, {k_threads, k_threads_k, k_tk, k_tn});
  std::string label = "matmul_grad_w " + dw.name;
  rec.dispatch(p, {x.buf, dy.buf, dw.buf}, 0b100, &pc, div_up(K, k_tile_k), div_up(N, k_tile_n), 1, label.c_str());
}

void matmul_backward(vk::Recorder& rec, const Tensor& w, const Tensor& x, const Tensor& dy, const Tensor& dx,
                     const Tensor& dw, const Tensor& db, const GradMode& mode) {
  if (dx) matmul_backward_input(rec, w, dy, dx, mode.accumulate_input);
  if (dw) matmul_backward_weight(rec, x, dy, dw, mode.accumulate_params);
  if (db) sum_rows(rec, dy, db, mode.accumulate_params);
}

}  // namespace ds::ops
