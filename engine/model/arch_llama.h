// The llama-family forward pass (llama, Mistral-style, qwen2) and its hybrid students: builds the op graph
// for a batch of n_tokens over a session's buffers. Pre-norm blocks; each layer mixes tokens by its kind:
//   attention: x += Wo·attn(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x))       (KV cache)
//   linear:    x += Wo·linear_mixer(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x)) (fixed-size state)
//   mamba:     x += out_proj·mamba(in_proj·n(x), dt_proj·dt_in_proj·n(x))  (fixed-size state)
// then x += Wd·(silu(Wg·n(x)) * Wu·n(x)).
#pragma once
#include <vector>

#include "distilscope/model_config.h"
#include "model/weights.h"
#include "ops/graph.h"

namespace ds {

// Activations and inputs of one forward shape (n_tokens rows), plus the session's KV cache and mixer states.
struct ForwardBuffers {
  int n_tokens = 0;
  bool all_logits = false;     // logits for every row (teacher forcing, evaluation) or the last only
  bool small_layers = true;    // decode: one dispatch per layer where the layer fits (ops/decode_layer.h)
  bool fuse_rope_store = true; // decode: RoPE + cache stores in the q/k/v mat-vec (ops/matvec_fused.h)
  bool fuse_combine = true;    // decode: the attention combine in the output projection (ops/matvec_fused.h)
  Tensor ids;                  // I32 [n_tokens]          host-written
  Tensor positions;            // I32 [n_tokens]          host-written: n_past + t
  Tensor step;                 // I32 [4] {n_past, n_tokens, 0, 0}, host-written
  Tensor x, xn;                // F32 [d_model, n_tokens]  residual stream, normalized
  // Prefill on tensor-core devices (set by the session, else empty): the inputs of the prefill matmuls in F16 —
  // the normalized x (q/k/v, gate/up), attention's output (output projection), the SwiGLU output (down). Those
  // kernels round x to F16 anyway, so results are the same; they read half the bytes and convert nothing.
  Tensor xn_half;              // F16 [d_model, n_tokens]
  Tensor gate_half;            // F16 [ffn, n_tokens]
  Tensor attn_half;            // F16 [head_dim, n_heads, n_tokens]: attention's output, the output projection's input
  Tensor qkv;                  // F32 [q_dim + 2 kv_dim, n_tokens]: q, k, v back to back (views below)
  Tensor q, k, v;              // F32 [head_dim, n_heads | n_kv, n_tokens]
  Tensor attn;                 // F32 [head_dim, n_heads, n_tokens]: attention / linear mixer output
  Tensor gate_up;              // F32 [2 ffn, n_tokens]: gate then up (views below)
  Tensor gate, up;             // F32 [ffn, n_tokens]
  Tensor zxbc;                 // F32 [2 d_inner + 2 d_xb, n_tokens]  Mamba in_proj output (hybrids with Mamba layers)
  Tensor dt_low, dt;           // F32 [dt_rank, n_tokens], [d_inner, n_tokens]
  Tensor ssm_y;                // F32 [d_inner, n_tokens]             Mamba core output
  Tensor scratch;              // F32 workspace of attention and the mixers (one at a time)
  Tensor out_norm;             // F32 [d_model, n_out]
  Tensor logits;               // F32 [vocab, n_out]; n_out = all_logits ? n_tokens : 1
  std::vector<Tensor> k_cache, v_cache;            // per layer, F16 [head_dim, n_ctx, n_kv]; empty for mixer layers
  std::vector<ops::LinearMixerState> lin_state;   // per layer; set for linear layers
  std::vector<ops::MambaState> ssm_state;         // per layer; set for Mamba layers
};

Graph build_llama_graph(const ModelConfig& c, const ModelWeights& w, const ForwardBuffers& b);

}  // namespace ds
