// LoRA dispatch: matmul / matmul_backward compositions and shaders/scale.comp.
#include "ops/backward/lora.h"

#include "distilscope/device.h"
#include "ops/backward/matmul.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {

void scale(vk::Recorder& rec, const Tensor& x, float s, const Tensor& out) {
  check_type("scale", x, DType::F32);
  check_type("scale", out, DType::F32);
  check_same_shape("scale", x, out);
  push::ScalePush pc{uint32_t(x.n_elements()), s};
  const uint32_t threads = 256;
  auto& p = rec.device().pipeline("scale", 2, sizeof pc, {threads});
  auto [gx, gy] = grid_2d(div_up(x.n_elements(), threads));
  rec.dispatch(p, {x.buf, out.buf}, 0b10, &pc, gx, gy, 1, "scale");
}

void lora_forward(vk::Recorder& rec, const Tensor& w, const Tensor& a, const Tensor& b, float s, const Tensor& x,
                  const Tensor& u, const Tensor& y, const MatmulOptions& base) {
  DS_CHECK(a.ne[0] == w.ne[0] && b.rows() == w.rows() && b.ne[0] == a.rows(), "[lora] ", w.name, " is ", w.shape_str(),
           " [K, N] but A ", a.name, " is ", a.shape_str(), " [K, r] and B ", b.name, " is ", b.shape_str(), " [r, N]");
  matmul(rec, a, x, u);
  scale(rec, u, s, u);
  matmul(rec, w, x, y, base);
  MatmulOptions add;
  add.accumulate = true;
  matmul(rec, b, u, y, add);
}

void lora_backward(vk::Recorder& rec, const Tensor& w, const Tensor& a, const Tensor& b, float s, const Tensor& x,
                   const Tensor& u, const Tensor& dy, const Tensor& dx, const Tensor& da, const Tensor& db,
                   const Tensor& du, const GradMode& mode) {
  matmul_backward_weight(rec, u, dy, db, mode.accumulate_params);
  matmul_backward_input(rec, b, dy, du, false);
  scale(rec, du, s, du);
  matmul_backward_weight(rec, x, du, da, mode.accumulate_params);
  if (dx) {
    matmul_backward_input(rec, w, dy, dx, mode.accumulate_input);
    matmul_backward_input(rec, a, du, dx, true);
  }
}

}  // namespace ds::ops
