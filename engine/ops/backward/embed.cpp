// get_rows backward dispatch (shaders/embed_backward.comp): one workgroup per token.
#include "ops/backward/embed.h"

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {

void get_rows_backward(vk::Recorder& rec, const Tensor& dout, const Tensor& ids, const Tensor& dtable,
                       bool accumulate) {
  check_type("get_rows_backward", dout, DType::F32);
  check_type("get_rows_backward", ids, DType::I32);
  check_type("get_rows_backward", dtable, DType::F32);
  const int64_t K = dtable.ne[0], V = dtable.rows(), M = ids.n_elements();
  DS_CHECK(dout.ne[0] == K && dout.rows() == M, "[get_rows_backward] ", dout.name, " is ", dout.shape_str(),
           " but table gradient ", dtable.name, " has rows of ", K, " and ids ", ids.name, " hold ", M, " tokens");
  check_binding("get_rows_backward", dout, rec.device());
  check_binding("get_rows_backward", ids, rec.device());
  check_binding("get_rows_backward", dtable, rec.device());
  if (!accumulate) rec.fill(dtable.buf.sub(0, dtable.n_bytes()), 0);
  push::EmbedBackwardPush pc{uint32_t(K), uint32_t(V), uint32_t(M), 0};
  auto& p = rec.device().pipeline("embed_backward", 3, sizeof pc, {128});
  auto [gx, gy] = grid_2d(M);
  rec.dispatch(p, {dout.buf, ids.buf, dtable.buf}, 0b100, &pc, gx, gy, 1, "get_rows_backward");
}

}  // namespace ds::ops
