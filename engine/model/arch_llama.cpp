// llama-family / hybrid graph builder; tensor names follow GGUF ("blk.3.attn_q", "blk.5.ssm_in") so probes
// can find them.
#include "model/arch_llama.h"

#include <cmath>

#include "model/hybrid_config.h"
#include "ops/decode_layer.h"

namespace ds {

namespace {

struct Builder {
  const ModelConfig& c;
  const ModelWeights& w;
  const ForwardBuffers& b;
  Graph& g;
  ops::RopeMode mode;
  bool decode;  // one token, last logits: the fused decode forms

  // Where the normalized input of the q/k/v and gate/up matmuls goes: F16 when the session asks for it.
  const Tensor& norm_out() const { return b.xn_half ? b.xn_half : b.xn; }

  // q, k, v of an attention or linear layer, rotated; attention stores k and v into its cache in the same kernel
  // (decode: in the q/k/v mat-vec's epilogue where fused, else rope_store after it, as in prefill).
  void qkv(const LayerWeights& L, const std::string& p, int l, bool attention) {
    const int n = b.n_tokens;
    if (decode && L.wqkv && b.qkv) {
      if (attention && b.fuse_rope_store) {
        const ops::RopeStoreFusion f{b.positions, w.rope_inv_freq, b.step, b.k_cache[l], b.v_cache[l], mode, c.n_heads};
        g.matmul_rope_store(p + "attn_qkv", L.wqkv, b.x, L.attn_norm, c.norm_eps, b.qkv, L.bqkv, f);
        return;
      }
      g.matmul_norm(p + "attn_qkv", L.wqkv, b.x, L.attn_norm, c.norm_eps, b.qkv, L.bqkv);
    } else {
      const Tensor xn = g.rms_norm(p + "attn_norm", b.x, L.attn_norm, c.norm_eps, norm_out());
      g.matmul(p + "attn_q", L.wq, xn, b.q.reshaped({c.q_dim(), n, 1, 1}), L.bq);
      g.matmul(p + "attn_k", L.wk, xn, b.k.reshaped({c.kv_dim(), n, 1, 1}), L.bk);
      g.matmul(p + "attn_v", L.wv, xn, b.v.reshaped({c.kv_dim(), n, 1, 1}), L.bv);
    }
    if (attention) {  // q rotated in place, k rotated into the cache, v copied: one dispatch (k stays unrotated)
      g.rope_store(p + "attn_rope_store", b.q, b.k, b.v, b.positions, w.rope_inv_freq, mode, b.step, b.k_cache[l],
                   b.v_cache[l]);
      return;
    }
    g.rope(p + "attn_q_rope", b.q, b.positions, w.rope_inv_freq, mode, b.q);
    g.rope(p + "attn_k_rope", b.k, b.positions, w.rope_inv_freq, mode, b.k);
  }

  // A small attention layer decodes in one dispatch (ops/decode_layer.h): mixer and MLP together.
  bool small_attention_layer(const LayerWeights& L, const std::string& p, int l) {
    const ops::SmallLayerWeights small{L.wqkv, L.wo, L.w_gate_up, L.w_down, L.attn_norm, L.ffn_norm};
    if (!decode || !b.small_layers || L.bqkv || L.bo ||
        !ops::decode_layer_small_fits(small, c.n_heads, c.n_kv_heads, c.head_dim, int(b.k_cache[l].ne[1])))
      return false;
    g.decode_layer_small(p + "layer", {b.x, L.wqkv, L.wo, L.w_gate_up, L.w_down, L.attn_norm, L.ffn_norm,
                                       b.k_cache[l], b.v_cache[l], b.step, w.rope_inv_freq},
                         c.n_heads, mode, c.norm_eps, 1.0f / std::sqrt(float(c.head_dim)));
    return true;
  }

  // Decode fuses the split-K combine into the output projection (ops/matvec_fused.h).
  void attention_layer(const LayerWeights& L, const std::string& p, int l) {
    qkv(L, p, l, true);
    const bool fuse = decode && b.fuse_combine;
    const Tensor attn = b.attn_half ? b.attn_half : b.attn;  // F16 where the session asks for it (prefill)
    g.attention(p + "attn", b.q, b.k_cache[l], b.v_cache[l], b.step, 1.0f / std::sqrt(float(c.head_dim)), attn,
                b.scratch, /*partials_only=*/fuse);
    if (fuse) {
      g.matmul_combine(p + "attn_out", L.wo, b.attn, b.x, L.bo, /*accumulate=*/true,
                       {b.scratch, b.step, b.k_cache[l].ne[1]});
      return;
    }
    out_projection(L, p, attn);
  }

  void linear_layer(const LayerWeights& L, const std::string& p, int l) {
    qkv(L, p, l, false);
    g.linear_mixer(p + "lin_mix", b.q, b.k, b.v, L.lin, b.lin_state[l], b.step, c.hybrid.linear.window,
                   c.hybrid.linear.affine, b.attn, b.scratch);
    out_projection(L, p, b.attn);
  }

  void out_projection(const LayerWeights& L, const std::string& p, const Tensor& attn) {
    g.matmul(p + "attn_out", L.wo, attn.reshaped({c.q_dim(), b.n_tokens, 1, 1}), b.x, L.bo, /*accumulate=*/true);
  }

  void mamba_layer(const LayerWeights& L, const std::string& p, int l) {
    const MambaLayerWeights& m = L.ssm;
    g.rms_norm(p + "attn_norm", b.x, L.attn_norm, c.norm_eps, b.xn);
    g.matmul(p + "ssm_in", m.in, b.xn, b.zxbc, m.in_b);
    g.matmul(p + "ssm_dt_in", m.dt_in, b.xn, b.dt_low, m.dt_in_b);
    g.matmul(p + "ssm_dt", m.dt, b.dt_low, b.dt, m.core.dt_bias);  // the bias here, and again inside the scan
    g.mamba_mixer(p + "ssm_scan", b.zxbc, b.dt, m.core, b.ssm_state[l], mamba_dims(c), b.ssm_y, b.scratch);
    g.matmul(p + "ssm_out", m.out, b.ssm_y, b.x, m.out_b, /*accumulate=*/true);  // residual add
  }

  void ffn(const LayerWeights& L, const std::string& p) {
    if (decode && L.w_gate_up && b.gate_up) {
      g.matmul_norm(p + "ffn_gate_up", L.w_gate_up, b.x, L.ffn_norm, c.norm_eps, b.gate_up);
      g.matmul_glu(p + "ffn_out", L.w_down, b.gate_up, b.x, /*accumulate=*/true);  // residual add
    } else {
      const Tensor xn = g.rms_norm(p + "ffn_norm", b.x, L.ffn_norm, c.norm_eps, norm_out());
      g.matmul(p + "ffn_gate", L.w_gate, xn, b.gate);
      g.matmul(p + "ffn_up", L.w_up, xn, b.up);
      const Tensor act = g.swiglu(p + "ffn_act", b.gate, b.up, b.gate_half ? b.gate_half : b.gate);
      // residual add; the scratch (free once attention is done) lets the long-K product split K on tensor cores
      g.matmul(p + "ffn_out", L.w_down, act, b.x, {}, /*accumulate=*/true, b.scratch);
    }
  }
};

}  // namespace

Graph build_llama_graph(const ModelConfig& c, const ModelWeights& w, const ForwardBuffers& b) {
  Graph g;
  const int n = b.n_tokens;
  const ops::RopeMode mode = c.rope.style == RopeStyle::Neox ? ops::RopeMode::Neox : ops::RopeMode::Interleaved;
  const bool decode = n == 1 && !b.all_logits;
  Builder B{c, w, b, g, mode, decode};

  g.get_rows("token_embd", w.tok_embd, b.ids, b.x);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    switch (c.layer_kind(l)) {
      case LayerKind::Attention:
        if (B.small_attention_layer(L, p, l)) continue;  // includes the MLP
        B.attention_layer(L, p, l);
        break;
      case LayerKind::Linear: B.linear_layer(L, p, l); break;
      case LayerKind::Mamba: B.mamba_layer(L, p, l); break;
    }
    B.ffn(L, p);
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
