// RMSNorm backward dispatch: dx per row (shaders/rms_norm_backward.comp, which saves rstd), then dw as
// column sums of dy * x * rstd (shaders/sum_rows.comp WEIGHTED); plain column sums for bias gradients.
#include "ops/backward/norm.h"

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

bool overlap(const Tensor& a, const Tensor& b) {
  return a.buf.buffer == b.buf.buffer && a.buf.offset < b.buf.offset + b.n_bytes() &&
         b.buf.offset < a.buf.offset + a.n_bytes();
}

void dispatch_columns(vk::Recorder& rec, const char* shader, const Tensor& a, const Tensor& b, const Tensor& s,
                      const Tensor& out, bool accumulate) {
  push::NormBackwardPush pc{uint32_t(a.ne[0]), uint32_t(a.rows()), 0.0f, accumulate ? GRAD_ACCUMULATE : 0u};
  const uint32_t threads = 64;
  auto& p = rec.device().pipeline(shader, 4, sizeof pc, {threads});
  auto [gx, gy] = grid_2d(div_up(a.ne[0], threads));
  rec.dispatch(p, {a.buf, b.buf, s.buf, out.buf}, 0b1000, &pc, gx, gy, 1, shader);
}

}  // namespace

void rms_norm_backward(vk::Recorder& rec, const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx,
                       const Tensor& dw, const Tensor& rstd, float eps, const GradMode& mode) {
  const char* op = "rms_norm_backward";
  for (const Tensor* t : {&x, &dy, &dx, &rstd}) check_type(op, *t, DType::F32);
  check_same_shape(op, x, dy);
  check_same_shape(op, x, dx);
  DS_CHECK(w || !dw, "[rms_norm_backward] gradient ", dw.name, " given without a weight");
  if (w) {
    check_type(op, w, DType::F32);
    DS_CHECK(w.n_elements() == x.ne[0], "[rms_norm_backward] weight ", w.name, " (", w.n_elements(),
             ") must match rows of ", x.ne[0]);
  }
  if (dw) {
    check_type(op, dw, DType::F32);
    DS_CHECK(dw.n_elements() == x.ne[0], "[rms_norm_backward] gradient ", dw.name, " (", dw.n_elements(),
             ") must match rows of ", x.ne[0]);
  }
  DS_CHECK(rstd.n_elements() >= x.rows(), "[rms_norm_backward] scratch ", rstd.name, " holds ", rstd.n_elements(),
           " values, need one per row (", x.rows(), ")");
  DS_CHECK(!overlap(dx, x) && !overlap(dx, dy), "[rms_norm_backward] ", dx.name, " overlaps the input ", x.name,
           " or the output gradient ", dy.name);
  push::NormBackwardPush pc{uint32_t(x.ne[0]), uint32_t(x.rows()), eps,
                            (mode.accumulate_input ? GRAD_ACCUMULATE : 0u) | (w ? GRAD_HAS_WEIGHT : 0u)};
  auto& p = rec.device().pipeline("rms_norm_backward", 5, sizeof pc, {256});
  auto [gx, gy] = grid_2d(x.rows());
  rec.dispatch(p, {x.buf, w ? w.buf : x.buf, dy.buf, dx.buf, rstd.buf}, 0b11000, &pc, gx, gy, 1, op);
  if (dw) dispatch_columns(rec, "sum_rows_weighted", dy, x, rstd, dw, mode.accumulate_params);
}

void sum_rows(vk::Recorder& rec, const Tensor& a, const Tensor& out, bool accumulate) {
  check_type("sum_rows", a, DType::F32);
  check_type("sum_rows", out, DType::F32);
  DS_CHECK(out.n_elements() == a.ne[0], "[sum_rows] ", out.name, " has ", out.n_elements(), " elements, rows of ",
           a.name, " have ", a.ne[0]);
  dispatch_columns(rec, "sum_rows", a, a, a, out, accumulate);
}

}  // namespace ds::ops
