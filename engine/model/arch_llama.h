// The llama-family forward pass (llama, Mistral-style, qwen2): builds the op graph for a batch of
// n_tokens over a session's buffers. Pre-norm blocks: x += Wo·attn(rope(Wq·n(x)), ...); x += Wd·(silu(Wg·n(x)) * Wu·n(x)).
#pragma once
#include <vector>

#include "distilscope/model_config.h"
#include "model/weights.h"
#include "ops/graph.h"

namespace ds {

// Activations and inputs of one forward shape (n_tokens rows), plus the session's KV cache.
struct ForwardBuffers {
  int n_tokens = 0;
  bool all_logits = false;     // logits for every row (teacher forcing, evaluation) or the last only
  bool small_layers = true;    // decode: one dispatch per layer where the layer fits (ops/decode_layer.h)
  Tensor ids;                  // I32 [n_tokens]          host-written
  Tensor positions;            // I32 [n_tokens]          host-written: n_past + t
  Tensor step;                 // I32 [4] {n_past, n_tokens, 0, 0}, host-written
  Tensor x, xn;                // F32 [d_model, n_tokens]  residual stream, normalized
  Tensor qkv;                  // F32 [q_dim + 2 kv_dim, n_tokens]: q, k, v back to back (views below)
  Tensor q, k, v;              // F32 [head_dim, n_heads | n_kv, n_tokens]
  Tensor attn;                 // F32 [head_dim, n_heads, n_tokens]
  Tensor gate_up;              // F32 [2 ffn, n_tokens]: gate then up (views below)
  Tensor gate, up;             // F32 [ffn, n_tokens]
  Tensor scratch;              // F32 attention workspace
  Tensor out_norm;             // F32 [d_model, n_out]
  Tensor logits;               // F32 [vocab, n_out]; n_out = all_logits ? n_tokens : 1
  std::vector<Tensor> k_cache, v_cache;  // per layer, F16 [head_dim, n_ctx, n_kv]
};

Graph build_llama_graph(const ModelConfig& c, const ModelWeights& w, const ForwardBuffers& b);

}  // namespace ds
