// decode_layer_small: a whole decoder layer of a small llama-family model for one decode token in one
// dispatch (shaders/decode_layer_small.comp). Same maths as the graph's separate ops; used where
// dispatch overhead, not arithmetic, sets the speed (tiny models, CPU Vulkan devices).
#pragma once
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

struct SmallLayerWeights {
  Tensor wqkv;       // [d, q + 2 kv]   q, k, v rows back to back
  Tensor wo;         // [q, d]
  Tensor w_gate_up;  // [d, 2 ffn]      gate rows then up rows
  Tensor w_down;     // [ffn, d]
  Tensor attn_norm, ffn_norm;  // F32 [d]
};

// The kernel is specialized per model shape (d, heads, head_dim, ffn and the device's subgroup size are
// specialization constants; one pipeline per shape) and written for llvmpipe's code generation: a mat-vec gives
// each subgroup whole rows with the input vector in registers, the KV cache is read as half pairs.
// Whether the kernel's shared-memory limits hold: d_model <= 256, q <= 256, q + 2 kv <= 768,
// 2 ffn <= 4096, n_heads * n_ctx <= 4096; F32 or F16 weights, all of one type; no biases.
bool decode_layer_small_fits(const SmallLayerWeights& w, int n_heads, int n_kv, int head_dim, int n_ctx);

// x: F32 [d] (the residual, updated in place); caches F16 [head_dim, n_ctx, n_kv]; step I32 {n_past, 1, ..}.
void decode_layer_small(vk::Recorder& rec, const Tensor& x, const SmallLayerWeights& w, const Tensor& k_cache,
                        const Tensor& v_cache, const Tensor& step, const Tensor& inv_freq, int n_heads, bool neox,
                        float eps, float scale);

}  // namespace ops
}  // namespace ds
