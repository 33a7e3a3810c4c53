// Optimizer dispatch: shaders/sum_squares.comp (partials per tensor, then one final workgroup),
// shaders/adamw.comp and shaders/cast_half.comp (one invocation per element).
#include "ops/optim.h"

#include <algorithm>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

constexpr uint32_t k_threads = 256;
constexpr uint32_t k_max_partials = 64;  // per tensor: enough workgroups to fill a GPU, few values to add

void check_flat(const char* op, const Tensor& t, int64_t n) {
  check_type(op, t, DType::F32);
  DS_CHECK(t.n_elements() == n, "[", op, "] ", t.name, " has ", t.n_elements(), " elements, expected ", n);
}

}  // namespace

uint32_t grad_norm_partials(int64_t n) { return std::clamp<uint32_t>(div_up(n, k_threads * 16), 1, k_max_partials); }

void grad_norm_sq(vk::Recorder& rec, std::span<const Tensor> grads, const Tensor& partials, const Tensor& norm_sq) {
  const char* op = "grad_norm_sq";
  check_type(op, partials, DType::F32);
  check_type(op, norm_sq, DType::F32);
  Device& dev = rec.device();
  auto& pp = dev.pipeline("sum_squares", 2, sizeof(push::SumSquaresPush), {k_threads});
  uint32_t offset = 0;
  for (const Tensor& g : grads) {
    check_type(op, g, DType::F32);
    check_binding(op, g, dev);
    const uint32_t groups = grad_norm_partials(g.n_elements());
    DS_CHECK(offset + groups <= partials.n_elements(), "[", op, "] scratch ", partials.name, " holds ",
             partials.n_elements(), " partial sums, ", grads.size(), " gradients need more");
    push::SumSquaresPush pc{uint32_t(g.n_elements()), offset};
    rec.dispatch(pp, {g.buf, partials.buf}, 0b10, &pc, groups, 1, 1, "grad_norm_sq");
    offset += groups;
  }
  push::SumSquaresPush fc{offset, 0};
  auto& pf = dev.pipeline("sum_squares_final", 2, sizeof fc, {k_threads});
  rec.dispatch(pf, {partials.buf, norm_sq.buf}, 0b10, &fc, 1, 1, 1, "grad_norm_sq final");
}

void adamw(vk::Recorder& rec, const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
           const vk::BufferSlice& step, const Tensor& norm_sq, const AdamWParams& ap) {
  const char* op = "adamw";
  const int64_t n = param.n_elements();
  for (const Tensor* t : {&param, &grad, &m, &v}) {
    check_flat(op, *t, n);
    check_binding(op, *t, rec.device());
  }
  DS_CHECK(step && step.size >= sizeof(push::AdamWStep), "[adamw] ", param.name, ": no AdamWStep buffer");
  if (norm_sq) check_type(op, norm_sq, DType::F32);
  push::AdamWPush pc{uint32_t(n), ap.lr_scale, ap.weight_decay, norm_sq ? 1u : 0u};
  auto& p = rec.device().pipeline(op, 6, sizeof pc, {k_threads});
  auto [gx, gy] = grid_2d(div_up(n, k_threads));
  std::string label = "adamw " + param.name;
  rec.dispatch(p, {param.buf, grad.buf, m.buf, v.buf, step, norm_sq ? norm_sq.buf : step}, 0b1101, &pc, gx, gy, 1,
               label.c_str());
}

void cast_half(vk::Recorder& rec, const Tensor& src, const Tensor& dst) {
  check_type("cast_half", src, DType::F32);
  DS_CHECK(dst.type == DType::F16 || dst.type == DType::BF16, "[cast_half] ", dst.name, ": type ", dtype_name(dst.type),
           ", expected F16 or BF16");
  DS_CHECK(dst.n_elements() == src.n_elements(), "[cast_half] ", src.name, " has ", src.n_elements(), " elements but ",
           dst.name, " has ", dst.n_elements());
  push::CastPush pc{uint32_t(src.n_elements())};
  auto& p = rec.device().pipeline(dst.type == DType::F16 ? "cast_f16" : "cast_bf16", 2, sizeof pc, {k_threads});
  auto [gx, gy] = grid_2d(div_up(src.n_elements(), k_threads));
  rec.dispatch(p, {src.buf, dst.buf}, 0b10, &pc, gx, gy, 1, "cast_half");
}

}  // namespace ds::ops
