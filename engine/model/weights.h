// ModelWeights: the device tensors of a llama-family model or hybrid student, one struct per layer, named
// as in GGUF. A layer holds what its kind uses: attention and linear layers the q/k/v/o projections (linear
// layers also the feature maps), Mamba layers the ssm_* projections and mixer parameters.
#pragma once
#include <vector>

#include "ops/linear_mixer.h"
#include "ops/mamba.h"
#include "ops/tensor.h"

namespace ds {

// A Mamba ("m2") layer: the projections around the mixer core and the core's own parameters.
struct MambaLayerWeights {
  Tensor in, in_b;        // ssm_in [d_model, 2 d_inner + 2 d_xb] (rows z | x | B | C), bias or empty
  Tensor dt_in, dt_in_b;  // ssm_dt_in [d_model, dt_rank], bias or empty
  Tensor dt;              // ssm_dt [dt_rank, d_inner]; its bias is core.dt_bias (added by the matmul AND the scan)
  Tensor out, out_b;      // ssm_out [d_inner, d_model], bias or empty
  ops::MambaWeights core; // conv1d weight/bias, dt bias, A_log, D (F32)
};

struct LayerWeights {
  Tensor attn_norm;                // F32 [d_model]
  Tensor wq, wk, wv, wo;           // [d_model, q_dim], [d_model, kv_dim] x2, [q_dim, d_model]
  Tensor bq, bk, bv, bo;           // F32 biases (qwen2; llama attention_bias) or empty
  Tensor ffn_norm;                 // F32 [d_model]
  Tensor w_gate, w_up, w_down;     // [d_model, ffn], [d_model, ffn], [ffn, d_model]
  // The same memory seen as one matrix, when q/k/v (gate/up) share a type and were placed back to
  // back: [d_model, q_dim + 2 kv_dim] and [d_model, 2 ffn]. Decode reads each with one mat-vec.
  Tensor wqkv, bqkv, w_gate_up;
  ops::LinearMixerWeights lin;     // linear layers: feature maps (F32), window factor logits
  MambaLayerWeights ssm;           // Mamba layers
};

struct ModelWeights {
  Tensor tok_embd;                 // [d_model, vocab]
  Tensor output_norm;              // F32 [d_model]
  Tensor output;                   // [d_model, vocab] (= tok_embd when tied)
  Tensor rope_inv_freq;            // F32 [head_dim / 2]
  std::vector<LayerWeights> layers;
};

}  // namespace ds
