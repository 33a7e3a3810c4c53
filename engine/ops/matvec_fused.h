// Decode fusions that fold a small op into a mat-vec, saving a dispatch (and its barrier) per layer each:
// RoPE + both KV-cache stores in the epilogue of the q/k/v mat-vec, and the split-K attention combine in the
// prologue of the output projection. Both run in the subgroup-row kernel (shaders/matvec_rows.comp built with
// FUSED) whatever MatvecConfig::kernel says; where that kernel cannot serve the shape (K % 8 != 0, bindings not
// 16-byte aligned, K beyond shared memory) they record the separate dispatches instead, with the same results.
#pragma once
#include "ops/matmul.h"
#include "ops/rope.h"

namespace ds::ops {

// What the q/k/v mat-vec's epilogue needs: the inputs of ops::rope_store.
struct RopeStoreFusion {
  Tensor positions;         // I32 [>= 1]
  Tensor inv_freq;          // F32 [head_dim / 2]
  Tensor step;              // I32 {n_past, 1, 0, 0}
  Tensor k_cache, v_cache;  // F16 [head_dim, n_ctx, n_kv]
  RopeMode mode = RopeMode::Interleaved;
  int n_heads = 0;          // query heads
};

// qkv = W·x as ops::matmul with `o` (norm_weight and bias allowed, one column, no accumulate), then the q and k
// heads rotated and k, v stored into the caches at step[0], as ops::rope_store would. qkv: F32
// [(n_heads + 2 n_kv) head_dim, 1], holding q rotated and v afterwards (its k rows: rotated by the fused
// kernel, not by the fallback; attention reads k from the cache).
void matvec_rope_store(vk::Recorder& rec, const Tensor& w, const Tensor& x, const Tensor& qkv, const MatmulOptions& o,
                       const RopeStoreFusion& f);

// What the output projection's prologue needs: the split-K partials decode attention left in `partials` when
// called with combine = false (ops/attention.h), for a cache of n_ctx positions.
struct CombineFusion {
  Tensor partials;  // F32, attention's scratch
  Tensor step;      // I32 {n_past, 1, 0, 0}
  int64_t n_ctx = 0;
};

// y = W·attn (+ bias) (y += ... with o.accumulate), attn [head_dim, n_heads, 1] merged from the partials while
// it is staged. With one chunk per head (no partials) attention wrote attn itself and this is ops::matmul;
// the fallback writes attn with ops::attention_combine first.
void matvec_attn_combine(vk::Recorder& rec, const Tensor& w, const Tensor& attn, const Tensor& y,
                         const MatmulOptions& o, const CombineFusion& f);

}  // namespace ds::ops
