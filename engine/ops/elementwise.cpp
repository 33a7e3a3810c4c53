// SwiGLU and add: one invocation per element (shaders/elementwise.comp, one variant per op).
#include "ops/elementwise.h"

#include <string>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

// half_out_ok: the op has an F16-output variant ("<op>_f16"), used when out is F16.
void binary(vk::Recorder& rec, const char* op, const Tensor& a, const Tensor& b, const Tensor& out,
            bool half_out_ok = false) {
  check_type(op, a, DType::F32);
  check_type(op, b, DType::F32);
  const bool half_out = half_out_ok && out.type == DType::F16;
  if (!half_out) check_type(op, out, DType::F32);
  check_same_shape(op, a, b);
  check_same_shape(op, a, out);
  DS_CHECK(a.n_elements() <= int64_t(UINT32_MAX), "[", op, "] ", a.name, " has too many elements");
  push::ElementwisePush pc{uint32_t(a.n_elements())};
  const uint32_t threads = 256;
  const std::string name = std::string(op) + (half_out ? "_f16" : "");
  auto& p = rec.device().pipeline(name, 3, sizeof pc, {threads});
  auto [gx, gy] = grid_2d(div_up(a.n_elements(), threads));
  rec.dispatch(p, {a.buf, b.buf, out.buf}, 0b100, &pc, gx, gy, 1, name.c_str());
}

}  // namespace

void swiglu(vk::Recorder& rec, const Tensor& gate, const Tensor& up, const Tensor& out) {
  binary(rec, "swiglu", gate, up, out, /*half_out_ok=*/true);  // F16: a tensor-core matmul's input
}

void add(vk::Recorder& rec, const Tensor& a, const Tensor& b, const Tensor& out) { binary(rec, "add", a, b, out); }

}  // namespace ds::ops
