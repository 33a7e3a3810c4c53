// RMSNorm: one workgroup per row (shaders/rms_norm.comp).
#include "ops/norm.h"

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {

void rms_norm(vk::Recorder& rec, const Tensor& x, const Tensor& w, const Tensor& y, float eps) {
  check_type("rms_norm", x, DType::F32);
  DS_CHECK(y.type == DType::F32 || y.type == DType::F16, "[rms_norm] output ", y.name, " is ", dtype_name(y.type),
           "; expected F32 or F16");
  check_same_shape("rms_norm", x, y);
  if (w) {
    check_type("rms_norm", w, DType::F32);
    DS_CHECK(w.n_elements() == x.ne[0], "[rms_norm] weight ", w.name, " has ", w.n_elements(), " elements, rows have ",
             x.ne[0]);
  }
  push::RmsNormPush pc{uint32_t(x.ne[0]), uint32_t(x.rows()), eps, w ? 1u : 0u};
  const char* name = y.type == DType::F16 ? "rms_norm_f16" : "rms_norm";  // F16: a tensor-core matmul's input
  auto& p = rec.device().pipeline(name, 3, sizeof pc, {256});
  auto [gx, gy] = grid_2d(x.rows());
  rec.dispatch(p, {x.buf, w ? w.buf : x.buf, y.buf}, 0b100, &pc, gx, gy, 1, name);
}

}  // namespace ds::ops
