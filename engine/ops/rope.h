// Rotary position embedding: the per-pair inverse frequencies (host, at model load) and the GPU rotation.
#pragma once
#include <vector>

#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

enum class RopeMode {
  Interleaved,  // GGUF `llama`: pairs (x[2i], x[2i+1])
  Neox,         // rotate-half (GGUF `qwen2`, Hugging Face): pairs (x[i], x[i + head_dim/2])
};

struct RopeScaling {
  enum Kind { None, Linear, Llama3 } kind = None;
  float factor = 1, low_freq_factor = 1, high_freq_factor = 4;
  int original_context = 8192;
};

// inv_freq[i] = theta^(-2i / head_dim), i < head_dim/2, then scaled: Linear divides every frequency by
// `factor`; Llama3 applies Llama 3.1's wavelength bands (long wavelengths / factor, short ones kept, a
// smooth blend between). Computed in double, rounded once to float.
std::vector<float> rope_inv_freq(int head_dim, float theta, const RopeScaling& scaling);

// x, out: F32 [head_dim, n_heads, n_tokens] (out may alias x); positions: I32 [n_tokens] on the device;
// inv_freq: F32 [head_dim/2]. Pair i of token t turns by angle = float(positions[t]) * inv_freq[i], a float
// product (relative error 2^-24: ~2e-3 rad at position 32768 for inv_freq 1, as in other float engines);
// the kernel then reduces it to [-pi, pi] exactly enough that sin/cos add only their own ~1e-7 error.
void rope(vk::Recorder& rec, const Tensor& x, const Tensor& positions, const Tensor& inv_freq, RopeMode mode,
          const Tensor& out);

// Decode fusion of rope(q), rope(k) + kv_store(k), kv_store(v): q [head_dim, n_heads, n_tokens] is rotated
// in place; k, v [head_dim, n_kv, n_tokens] go to the F16 caches [head_dim, n_ctx, n_kv] at n_past + t
// (n_past = step[0] at run time), k rotated. Same results as the four separate ops.
void rope_store(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& positions,
                const Tensor& inv_freq, RopeMode mode, const Tensor& step, const Tensor& k_cache, const Tensor& v_cache);

}  // namespace ops
}  // namespace ds
