// ModelWeights: the device tensors of a llama-family model, one struct per layer, named as in GGUF.
#pragma once
#include <vector>

#include "ops/tensor.h"

namespace ds {

struct LayerWeights {
  Tensor attn_norm;                // F32 [d_model]
  Tensor wq, wk, wv, wo;           // [d_model, q_dim], [d_model, kv_dim] x2, [q_dim, d_model]
  Tensor bq, bk, bv;               // F32 biases (qwen2) or empty
  Tensor ffn_norm;                 // F32 [d_model]
  Tensor w_gate, w_up, w_down;     // [d_model, ffn], [d_model, ffn], [ffn, d_model]
  // The same memory seen as one matrix, when q/k/v (gate/up) share a type and were placed back to
  // back: [d_model, q_dim + 2 kv_dim] and [d_model, 2 ffn]. Decode reads each with one mat-vec.
  Tensor wqkv, bqkv, w_gate_up;
};

struct ModelWeights {
  Tensor tok_embd;                 // [d_model, vocab]
  Tensor output_norm;              // F32 [d_model]
  Tensor output;                   // [d_model, vocab] (= tok_embd when tied)
  Tensor rope_inv_freq;            // F32 [head_dim / 2]
  std::vector<LayerWeights> layers;
};

}  // namespace ds
