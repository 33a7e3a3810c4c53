// Causal GQA attention over an F16 KV cache, and the store of new keys/values into that cache. Both read
// n_past from the device "step" tensor (I32 {n_past, n_tokens, 0, 0}) so a decode step can be recorded once
// and replayed; dispatch sizes depend only on shapes (n_ctx, n_tokens), never on n_past.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/tensor.h"

namespace ds {
class Device;
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
// n_tokens > 1 (prefill): one flash-attention pass, no scratch; `out` may be F16 there (the input of a
// tensor-core output projection).
// combine = false (decode fusion, ops/matvec_fused.h): when decode splits the keys, only the partials are
// written to scratch and `out` is left for the consumer that merges them; with one chunk `out` is written.
void attention(vk::Recorder& rec, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const Tensor& step,
               float scale, const Tensor& out, const Tensor& scratch = {}, bool combine = true);

// The prefill kernel attention() uses for head_dim and n_tokens on dev (the name of its pipeline and dispatch
// label): "attention_prefill_coopmat" (tensor cores, shaders/attention_prefill_coopmat.comp; Q and P rounded
// to F16) for 64 tokens or more where the device has VK_NV_cooperative_matrix, 32-wide subgroups,
// head_dim % 16 == 0 and the shared memory for its tiles, else "attention_prefill" (scalar F32).
// DS_ATTN_PREFILL=scalar|coopmat|emulated forces one (any length); "emulated" is the tensor-core kernel's twin
// with plain loops for the products (any device; tests of its indexing). Forcing a kernel that cannot run
// throws, naming why.
const char* attention_prefill_kernel(const Device& dev, int64_t head_dim, int64_t n_tokens);

// Decode's split of a cache of n_ctx positions: keys per chunk and chunks per head (1: no partials, no combine).
// The partials in scratch are [n_heads][n_chunks][head_dim + 4] F32: the chunk's unnormalized output, then
// its max logit m and sum of exp(logit - m) l.
struct AttentionSplit {
  uint32_t chunk_keys, n_chunks;
};
AttentionSplit attention_decode_split(int64_t n_ctx);

// The split-K merge on its own (shaders/attention_combine.comp): out [head_dim, n_heads, 1] from the partials a
// decode attention over a cache of n_ctx positions left in scratch (attention(..., combine = false)).
void attention_combine(vk::Recorder& rec, const Tensor& scratch, const Tensor& step, int64_t n_ctx, const Tensor& out);

// F32 elements `scratch` needs. Only decode uses it, and the size depends only on n_heads, head_dim and
// n_ctx, so one workspace sized here serves every n_tokens.
size_t attention_scratch_elems(int n_heads, int head_dim, int n_ctx, int n_tokens);

}  // namespace ops
}  // namespace ds
