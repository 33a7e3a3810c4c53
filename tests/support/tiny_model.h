// A tiny llama-family model composed from the CPU reference forward and backward functions in double:
// embedding -> RMSNorm -> q/k/v (with biases) -> RoPE -> causal GQA attention -> o-proj + residual -> RMSNorm
// -> SwiGLU MLP + residual -> final RMSNorm -> lm head (optionally tied to the embedding) -> cross-entropy.
// The finite-difference test checks it against the maths; the GPU test composes the GPU ops the same way.
#pragma once
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ops/rope.h"
#include "ref/backward/attention.h"
#include "ref/backward/embed.h"
#include "ref/backward/matmul.h"
#include "ref/backward/norm.h"
#include "ref/backward/rope.h"
#include "ref/backward/swiglu.h"
#include "ref/loss.h"
#include "support/gradcheck.h"

namespace ds::test {

using Vec = std::vector<double>;

struct BlockConfig {
  int d = 12, n_heads = 4, n_kv = 2, head_dim = 4, ffn = 20, vocab = 50, tokens = 7;
  bool neox = false, tied = false;
  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv * head_dim; }
};

class TinyModel {
 public:
  explicit TinyModel(const BlockConfig& c) : c_(c) {
    uint32_t seed = 100;
    auto add = [&](const std::string& name, size_t n, double lo, double hi) {
      p[name] = random_doubles(n, seed++, lo, hi);
    };
    add("tok_embd", size_t(c.vocab) * c.d, -1, 1);
    add("attn_norm", size_t(c.d), 0.5, 1.5);
    add("wq", size_t(c.q_dim()) * c.d, -0.5, 0.5);
    add("wk", size_t(c.kv_dim()) * c.d, -0.5, 0.5);
    add("wv", size_t(c.kv_dim()) * c.d, -0.5, 0.5);
    add("bq", size_t(c.q_dim()), -0.2, 0.2);
    add("bk", size_t(c.kv_dim()), -0.2, 0.2);
    add("bv", size_t(c.kv_dim()), -0.2, 0.2);
    add("wo", size_t(c.d) * c.q_dim(), -0.5, 0.5);
    add("ffn_norm", size_t(c.d), 0.5, 1.5);
    add("w_gate", size_t(c.ffn) * c.d, -0.5, 0.5);
    add("w_up", size_t(c.ffn) * c.d, -0.5, 0.5);
    add("w_down", size_t(c.d) * c.ffn, -0.5, 0.5);
    add("output_norm", size_t(c.d), 0.5, 1.5);
    if (!c.tied) add("output", size_t(c.vocab) * c.d, -0.5, 0.5);
    std::mt19937 rng(7);
    for (int t = 0; t < c.tokens; ++t) {
      ids.push_back(int32_t(rng() % uint32_t(c.vocab)));
      targets.push_back(int32_t(rng() % uint32_t(c.vocab)));
      positions.push_back(t);
    }
    targets[2] = -1;  // one ignored target
    inv_freq = ops::rope_inv_freq(c.head_dim, 10000.0f, {});
  }

  const BlockConfig& config() const { return c_; }
  const Vec& output_weight() const { return c_.tied ? p.at("tok_embd") : p.at("output"); }
  // Rounds every parameter to float, so a float copy on the GPU holds exactly the same model.
  void round_params_to_float() {
    for (auto& [name, v] : p)
      for (double& x : v) x = double(float(x));
  }

  // The composed forward; keeps the activations the backward needs.
  double forward() {
    const int T = c_.tokens, d = c_.d;
    const ref::AttentionShape as{c_.head_dim, c_.n_heads, c_.n_kv, T, 1, 1.0 / std::sqrt(double(c_.head_dim))};
    x0.assign(size_t(T) * d, 0), xn1 = x0, x1 = x0, xn2 = x0, x2 = x0, xf = x0;
    q.assign(size_t(T) * c_.q_dim(), 0), qr = q, att = q;
    k.assign(size_t(T) * c_.kv_dim(), 0), kr = k, v = k;
    g.assign(size_t(T) * c_.ffn, 0), u = g, h = g;
    logits.assign(size_t(T) * c_.vocab, 0);
    Vec tmp(x0.size());
    ref::get_rows_forward<double>(p["tok_embd"], ids, x0, d, c_.vocab);
    ref::rms_norm_forward<double>(x0, p["attn_norm"], xn1, d, T, eps);
    ref::matmul_forward<double>(p["wq"], xn1, p["bq"], q, d, c_.q_dim(), T);
    ref::matmul_forward<double>(p["wk"], xn1, p["bk"], k, d, c_.kv_dim(), T);
    ref::matmul_forward<double>(p["wv"], xn1, p["bv"], v, d, c_.kv_dim(), T);
    ref::rope_forward<double>(q, positions, inv_freq, c_.neox, qr, c_.head_dim, c_.n_heads, T);
    ref::rope_forward<double>(k, positions, inv_freq, c_.neox, kr, c_.head_dim, c_.n_kv, T);
    ref::attention_forward<double>(qr, kr, v, att, {}, as);
    ref::matmul_forward<double>(p["wo"], att, {}, tmp, c_.q_dim(), d, T);
    for (size_t i = 0; i < x1.size(); ++i) x1[i] = x0[i] + tmp[i];
    ref::rms_norm_forward<double>(x1, p["ffn_norm"], xn2, d, T, eps);
    ref::matmul_forward<double>(p["w_gate"], xn2, {}, g, d, c_.ffn, T);
    ref::matmul_forward<double>(p["w_up"], xn2, {}, u, d, c_.ffn, T);
    ref::swiglu_forward<double>(g, u, h);
    ref::matmul_forward<double>(p["w_down"], h, {}, tmp, c_.ffn, d, T);
    for (size_t i = 0; i < x2.size(); ++i) x2[i] = x1[i] + tmp[i];
    ref::rms_norm_forward<double>(x2, p["output_norm"], xf, d, T, eps);
    ref::matmul_forward<double>(output_weight(), xf, {}, logits, d, c_.vocab, T);
    return ref::cross_entropy<double>(logits, targets, {}, {}, c_.vocab, T);
  }

  // The composed backward (after forward()): the op list walked in reverse, the residual gradient
  // carried through the adds, the gradients of tensors read by several ops summed.
  std::map<std::string, Vec> backward() {
    const int T = c_.tokens, d = c_.d;
    const ref::AttentionShape as{c_.head_dim, c_.n_heads, c_.n_kv, T, 1, 1.0 / std::sqrt(double(c_.head_dim))};
    std::map<std::string, Vec> gr;
    for (auto& [name, v] : p) gr[name].assign(v.size(), 0.0);
    auto add_into = [](Vec& dst, const Vec& src) {
      for (size_t i = 0; i < dst.size(); ++i) dst[i] += src[i];
    };
    Vec dlogits(logits.size()), dxf(xf.size()), dx(x2.size()), dtmp(x2.size()), dout_w(output_weight().size());
    ref::cross_entropy<double>(logits, targets, dlogits, {}, c_.vocab, T);
    ref::matmul_backward<double>(output_weight(), xf, dlogits, dxf, dout_w, {}, d, c_.vocab, T);
    add_into(gr[c_.tied ? "tok_embd" : "output"], dout_w);
    ref::rms_norm_backward<double>(x2, p["output_norm"], dxf, dx, gr["output_norm"], d, T, eps);
    // x2 = x1 + w_down h: dx flows on unchanged, and through the MLP.
    Vec dh(h.size()), dg(g.size()), du(u.size()), dxn2(xn2.size()), dxn2_up(xn2.size());
    ref::matmul_backward<double>(p["w_down"], h, dx, dh, gr["w_down"], {}, c_.ffn, d, T);
    ref::swiglu_backward<double>(g, u, dh, dg, du);
    ref::matmul_backward<double>(p["w_gate"], xn2, dg, dxn2, gr["w_gate"], {}, d, c_.ffn, T);
    ref::matmul_backward<double>(p["w_up"], xn2, du, dxn2_up, gr["w_up"], {}, d, c_.ffn, T);
    add_into(dxn2, dxn2_up);
    ref::rms_norm_backward<double>(x1, p["ffn_norm"], dxn2, dtmp, gr["ffn_norm"], d, T, eps);
    add_into(dx, dtmp);
    // x1 = x0 + wo att
    Vec datt(att.size()), dqr(qr.size()), dkr(kr.size()), dv(v.size()), dq(q.size()), dk(k.size());
    ref::matmul_backward<double>(p["wo"], att, dx, datt, gr["wo"], {}, c_.q_dim(), d, T);
    ref::attention_backward<double>(qr, kr, v, datt, dqr, dkr, dv, as);
    ref::rope_backward<double>(dqr, positions, inv_freq, c_.neox, dq, c_.head_dim, c_.n_heads, T);
    ref::rope_backward<double>(dkr, positions, inv_freq, c_.neox, dk, c_.head_dim, c_.n_kv, T);
    Vec dxn1(xn1.size()), part(xn1.size());
    ref::matmul_backward<double>(p["wq"], xn1, dq, dxn1, gr["wq"], gr["bq"], d, c_.q_dim(), T);
    ref::matmul_backward<double>(p["wk"], xn1, dk, part, gr["wk"], gr["bk"], d, c_.kv_dim(), T);
    add_into(dxn1, part);
    ref::matmul_backward<double>(p["wv"], xn1, dv, part, gr["wv"], gr["bv"], d, c_.kv_dim(), T);
    add_into(dxn1, part);
    ref::rms_norm_backward<double>(x0, p["attn_norm"], dxn1, dtmp, gr["attn_norm"], d, T, eps);
    add_into(dx, dtmp);
    Vec dtable(p["tok_embd"].size());
    ref::get_rows_backward<double>(dx, ids, dtable, d, c_.vocab);
    add_into(gr["tok_embd"], dtable);
    return gr;
  }

  std::map<std::string, Vec> p;
  std::vector<int32_t> ids, targets, positions;
  std::vector<float> inv_freq;

 private:
  BlockConfig c_;
  const double eps = 1e-5;
  Vec x0, xn1, q, k, v, qr, kr, att, x1, xn2, g, u, h, x2, xf, logits;
};

}  // namespace ds::test
