// decode_layer_small dispatch: limits and shape checks, one workgroup.
#include "ops/decode_layer.h"

#include <algorithm>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {

bool decode_layer_small_fits(const SmallLayerWeights& w, int n_heads, int n_kv, int head_dim, int n_ctx) {
  if (!w.wqkv || !w.wo || !w.w_gate_up || !w.w_down) return false;
  const DType t = w.wqkv.type;
  if (t != DType::F32 && t != DType::F16) return false;
  for (const Tensor* m : {&w.wo, &w.w_gate_up, &w.w_down})
    if (m->type != t) return false;
  const int64_t d = w.wqkv.ne[0], q = int64_t(n_heads) * head_dim, kv = int64_t(n_kv) * head_dim;
  const int64_t ffn = w.w_down.ne[0];
  return d <= 256 && q <= 256 && q + 2 * kv <= 768 && 2 * ffn <= 4096 && int64_t(n_heads) * n_ctx <= 4096 &&
         head_dim % 2 == 0 && n_heads % n_kv == 0;
}

void decode_layer_small(vk::Recorder& rec, const Tensor& x, const SmallLayerWeights& w, const Tensor& k_cache,
                        const Tensor& v_cache, const Tensor& step, const Tensor& inv_freq, int n_heads, bool neox,
                        float eps, float scale) {
  const int64_t head_dim = k_cache.ne[0], n_ctx = k_cache.ne[1], n_kv = k_cache.ne[2];
  DS_CHECK(decode_layer_small_fits(w, n_heads, int(n_kv), int(head_dim), int(n_ctx)), "[decode_layer_small] ",
           w.wqkv.name, ": layer too large or of unsupported type for the fused kernel");
  const int64_t d = x.ne[0], q = n_heads * head_dim, ffn = w.w_down.ne[0];
  check_type("decode_layer_small", x, DType::F32);
  DS_CHECK(x.n_elements() == d && w.wqkv.ne[0] == d && w.wqkv.ne[1] == q + 2 * n_kv * head_dim && w.wo.ne[0] == q &&
               w.wo.ne[1] == d && w.w_gate_up.ne[0] == d && w.w_gate_up.ne[1] == 2 * ffn && w.w_down.ne[1] == d &&
               w.attn_norm.n_elements() == d && w.ffn_norm.n_elements() == d && inv_freq.n_elements() == head_dim / 2,
           "[decode_layer_small] shapes disagree: x ", x.shape_str(), ", wqkv ", w.wqkv.shape_str(), ", wo ",
           w.wo.shape_str(), ", w_gate_up ", w.w_gate_up.shape_str(), ", w_down ", w.w_down.shape_str());
  check_type("decode_layer_small", k_cache, DType::F16);
  check_same_shape("decode_layer_small", k_cache, v_cache);
  push::SmallLayerPush pc{uint32_t(d),     uint32_t(n_heads), uint32_t(n_kv), uint32_t(head_dim), uint32_t(ffn),
                          uint32_t(n_ctx), neox ? 1u : 0u,    eps,            scale};
  const char* shader = w.wqkv.type == DType::F16 ? "decode_layer_small_f16" : "decode_layer_small_f32";
  // The shapes are specialization constants too: on CPU devices the kernel's loops unroll (shaders/ comment).
  const std::vector<uint32_t> spec{uint32_t(d),  uint32_t(n_heads), uint32_t(n_kv), uint32_t(head_dim),
                                   uint32_t(ffn), std::min(rec.device().subgroup_size(), 64u)};
  auto& p = rec.device().pipeline(shader, 11, sizeof pc, spec);
  rec.dispatch(p,
               {x.buf, w.wqkv.buf, w.wo.buf, w.w_gate_up.buf, w.w_down.buf, w.attn_norm.buf, w.ffn_norm.buf,
                k_cache.buf, v_cache.buf, step.buf, inv_freq.buf},
               0b110000001, &pc, 1, 1, 1, "decode_layer_small");
}

}  // namespace ds::ops
