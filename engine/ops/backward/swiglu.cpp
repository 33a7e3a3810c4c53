// SwiGLU backward dispatch (shaders/swiglu_backward.comp), one invocation per element.
#include "ops/backward/swiglu.h"

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {

void swiglu_backward(vk::Recorder& rec, const Tensor& gate, const Tensor& up, const Tensor& dout, const Tensor& dgate,
                     const Tensor& dup) {
  const char* op = "swiglu_backward";
  for (const Tensor* t : {&gate, &up, &dout, &dgate, &dup}) {
    check_type(op, *t, DType::F32);
    check_same_shape(op, gate, *t);
  }
  DS_CHECK(gate.n_elements() <= int64_t(UINT32_MAX), "[", op, "] ", gate.name, " has too many elements");
  push::ElementwisePush pc{uint32_t(gate.n_elements())};
  const uint32_t threads = 256;
  auto& p = rec.device().pipeline(op, 5, sizeof pc, {threads});
  auto [gx, gy] = grid_2d(div_up(gate.n_elements(), threads));
  rec.dispatch(p, {gate.buf, up.buf, dout.buf, dgate.buf, dup.buf}, 0b11000, &pc, gx, gy, 1, op);
}

}  // namespace ds::ops
