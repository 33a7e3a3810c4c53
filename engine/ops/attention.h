// Causal GQA attention over an F16 KV cache, and the store of new keys/values into that cache. Both read
// n_past from the device "step" tensor (I32 {n_past, n_tokens, 0, 0}) so a decode step can be recorded once
// and replayed; dispatch sizes depend only on shapes (n_ctx, n_tokens), never on n_past.
#pragma once
#include <cstddef>

#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// cache[:, n_past + t, h] = f16(src[:, h, t]).  src: F32 [head_dim, n_kv, n_tokens]; cache: F16
// [head_dim, n_ctx, n_kv]. Positions at or past n_ctx are not written.
void kv_store(vk::Recorder& rec, const Tensor& src, const Tensor& step, const Tensor& cache);

// out[:, h, t] = sum_j softmax_j(scale q[:, h, t] · k[:, j, hk]) v[:, j, hk] over j = 0 .. n_past + t,
// hk = h / (n_heads / n_kv). q, out: F32 [head_dim, n_heads, n_tokens]; k_cache, v_cache: F16
// [head_dim, n_ctx, n_kv]; head_dim a multiple of 4 in [4, 256]. Softmax and sums in F32.
// n_tokens == 1 (decode): split-K over chunks of the cache plus a combine pass, partials in `scratch`
// (F32, at least attention_scratch_elems() elements; may be empty when that is 0).
// n_tokens > 1 (prefill): one flash-attention pass, no scratch.
void attention(vk::Recorder& rec, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const Tensor& step,
               float scale, const Tensor& out, const Tensor& scratch = {});

// F32 elements `scratch` needs. Only decode uses it, and the size depends only on n_heads, head_dim and
// n_ctx, so one workspace sized here serves every n_tokens.
size_t attention_scratch_elems(int n_heads, int head_dim, int n_ctx, int n_tokens);

}  // namespace ops
}  // namespace ds
