// llama-family graph builder; tensor names follow GGUF ("blk.3.attn_q") so probes can find them.
#include "model/arch_llama.h"

#include <cmath>

#include "ops/decode_layer.h"

namespace ds {

Graph build_llama_graph(const ModelConfig& c, const ModelWeights& w, const ForwardBuffers& b) {
  Graph g;
  const int n = b.n_tokens;
  const ops::RopeMode mode = c.rope.style == RopeStyle::Neox ? ops::RopeMode::Neox : ops::RopeMode::Interleaved;
  const float scale = 1.0f / std::sqrt(float(c.head_dim));
  const Tensor q_flat = b.q.reshaped({c.q_dim(), n, 1, 1});
  const Tensor k_flat = b.k.reshaped({c.kv_dim(), n, 1, 1});
  const Tensor v_flat = b.v.reshaped({c.kv_dim(), n, 1, 1});
  const Tensor attn_flat = b.attn.reshaped({c.q_dim(), n, 1, 1});
  const bool decode = n == 1 && !b.all_logits;

  g.get_rows("token_embd", w.tok_embd, b.ids, b.x);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    // Decode (one token) uses the fused forms: one mat-vec for q/k/v with the norm applied on the fly,
    // one kernel for rope + cache stores, gate/up in one mat-vec, silu(gate) * up read by the down mat-vec.
    const ops::SmallLayerWeights small{L.wqkv, L.wo, L.w_gate_up, L.w_down, L.attn_norm, L.ffn_norm};
    if (decode && b.small_layers && !L.bqkv &&
        ops::decode_layer_small_fits(small, c.n_heads, c.n_kv_heads, c.head_dim, int(b.k_cache[l].ne[1]))) {
      g.decode_layer_small(p + "layer", {b.x, L.wqkv, L.wo, L.w_gate_up, L.w_down, L.attn_norm, L.ffn_norm,
                                         b.k_cache[l], b.v_cache[l], b.step, w.rope_inv_freq},
                           c.n_heads, mode, c.norm_eps, scale);
      continue;
    }
    const bool fuse_qkv = decode && L.wqkv && b.qkv;
    const bool fuse_ffn = decode && L.w_gate_up && b.gate_up;
    if (fuse_qkv) {
      g.matmul_norm(p + "attn_qkv", L.wqkv, b.x, L.attn_norm, c.norm_eps, b.qkv, L.bqkv);
      g.rope_store(p + "attn_rope_store", b.q, b.k, b.v, b.positions, w.rope_inv_freq, mode, b.step, b.k_cache[l],
                   b.v_cache[l]);
    } else {
      g.rms_norm(p + "attn_norm", b.x, L.attn_norm, c.norm_eps, b.xn);
      g.matmul(p + "attn_q", L.wq, b.xn, q_flat, L.bq);
      g.matmul(p + "attn_k", L.wk, b.xn, k_flat, L.bk);
      g.matmul(p + "attn_v", L.wv, b.xn, v_flat, L.bv);
      g.rope(p + "attn_q_rope", b.q, b.positions, w.rope_inv_freq, mode, b.q);
      g.rope(p + "attn_k_rope", b.k, b.positions, w.rope_inv_freq, mode, b.k);
      g.kv_store(p + "cache_k", b.k, b.step, b.k_cache[l]);
      g.kv_store(p + "cache_v", b.v, b.step, b.v_cache[l]);
    }
    g.attention(p + "attn", b.q, b.k_cache[l], b.v_cache[l], b.step, scale, b.attn, b.scratch);
    g.matmul(p + "attn_out", L.wo, attn_flat, b.x, {}, /*accumulate=*/true);  // residual add
    if (fuse_ffn) {
      g.matmul_norm(p + "ffn_gate_up", L.w_gate_up, b.x, L.ffn_norm, c.norm_eps, b.gate_up);
      g.matmul_glu(p + "ffn_out", L.w_down, b.gate_up, b.x, /*accumulate=*/true);  // residual add
    } else {
      g.rms_norm(p + "ffn_norm", b.x, L.ffn_norm, c.norm_eps, b.xn);
      g.matmul(p + "ffn_gate", L.w_gate, b.xn, b.gate);
      g.matmul(p + "ffn_up", L.w_up, b.xn, b.up);
      g.swiglu(p + "ffn_act", b.gate, b.up, b.gate);
      g.matmul(p + "ffn_out", L.w_down, b.gate, b.x, {}, /*accumulate=*/true);  // residual add
    }
  }
  const Tensor last = b.all_logits ? b.x : b.x.rows_view(n - 1, 1);
  if (decode) {
    g.matmul_norm("logits", w.output, last, w.output_norm, c.norm_eps, b.logits);
  } else {
    g.rms_norm("output_norm", last, w.output_norm, c.norm_eps, b.out_norm);
    g.matmul("logits", w.output, b.out_norm, b.logits);
  }
  return g;
}

}  // namespace ds
