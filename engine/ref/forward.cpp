// ReferenceModel: the same sequence of ops as model/arch_llama.cpp, each from ref/.
#include "ref/forward.h"

#include <cmath>

#include "model/gguf.h"
#include "model/llama_config.h"
#include "ops/rope.h"
#include "ref/attention.h"
#include "ref/elementwise.h"
#include "ref/embed.h"
#include "ref/matmul.h"
#include "ref/norm.h"
#include "ref/probe.h"
#include "ref/rope.h"
#include "util/error.h"

namespace ds::ref {

namespace {
std::vector<float> dequant(const GgufFile& f, const std::string& name) {
  const auto* t = f.find_tensor(name);
  if (!t) return {};
  std::vector<float> v(t->n_elements());
  to_f32(t->type, f.data(*t).data(), v.data(), v.size());
  return v;
}
}  // namespace

ReferenceModel::ReferenceModel(const GgufFile& f, int n_ctx) : c_(read_llama_config(f)), n_ctx_(n_ctx) {
  tok_embd_ = dequant(f, "token_embd.weight");
  output_norm_ = dequant(f, "output_norm.weight");
  output_ = c_.tied_embeddings ? tok_embd_ : dequant(f, "output.weight");
  ops::RopeScaling scaling;
  if (c_.rope.scaling == "linear") scaling.kind = ops::RopeScaling::Linear;
  if (c_.rope.scaling == "llama3") scaling.kind = ops::RopeScaling::Llama3;
  scaling.factor = c_.rope.factor;
  scaling.low_freq_factor = c_.rope.low_freq_factor;
  scaling.high_freq_factor = c_.rope.high_freq_factor;
  scaling.original_context = c_.rope.original_context;
  inv_freq_ = ops::rope_inv_freq(c_.head_dim, c_.rope.theta, scaling);
  if (auto div = dequant(f, "rope_freqs.weight"); !div.empty())
    for (size_t i = 0; i < inv_freq_.size(); ++i) inv_freq_[i] /= div[i];
  for (int l = 0; l < c_.n_layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    Layer L;
    L.attn_norm = dequant(f, p + "attn_norm.weight");
    L.wq = dequant(f, p + "attn_q.weight");
    L.wk = dequant(f, p + "attn_k.weight");
    L.wv = dequant(f, p + "attn_v.weight");
    L.wo = dequant(f, p + "attn_output.weight");
    L.bq = dequant(f, p + "attn_q.bias");
    L.bk = dequant(f, p + "attn_k.bias");
    L.bv = dequant(f, p + "attn_v.bias");
    L.ffn_norm = dequant(f, p + "ffn_norm.weight");
    L.w_gate = dequant(f, p + "ffn_gate.weight");
    L.w_up = dequant(f, p + "ffn_up.weight");
    L.w_down = dequant(f, p + "ffn_down.weight");
    size_t cache = size_t(c_.n_kv_heads) * n_ctx * c_.head_dim;
    L.k_cache.assign(cache, 0.0f);
    L.v_cache.assign(cache, 0.0f);
    layers_.push_back(std::move(L));
  }
}

std::vector<std::vector<float>> ReferenceModel::forward(std::span<const int32_t> tokens) {
  const int n = int(tokens.size());
  const int d = c_.d_model, hd = c_.head_dim, F = c_.ffn_dim, V = c_.vocab;
  DS_CHECK(n_past_ + n <= n_ctx_, "[ref] ", n, " tokens at ", n_past_, " exceed the context of ", n_ctx_);
  std::vector<int32_t> positions(n);
  for (int t = 0; t < n; ++t) positions[t] = n_past_ + t;
  std::vector<float> x(size_t(d) * n), xn(x.size()), q(size_t(c_.q_dim()) * n), k(size_t(c_.kv_dim()) * n),
      v(k.size()), attn(q.size()), gate(size_t(F) * n), up(gate.size());
  get_rows(tok_embd_, tokens, x, d, V);
  const float scale = 1.0f / std::sqrt(float(hd));
  const bool neox = c_.rope.style == RopeStyle::Neox;
  for (auto& L : layers_) {
    rms_norm(x, L.attn_norm, xn, d, n, c_.norm_eps);
    matmul(L.wq, xn, L.bq, q, d, c_.q_dim(), n, false);
    matmul(L.wk, xn, L.bk, k, d, c_.kv_dim(), n, false);
    matmul(L.wv, xn, L.bv, v, d, c_.kv_dim(), n, false);
    rope(q, positions, inv_freq_, neox, q, hd, c_.n_heads, n);
    rope(k, positions, inv_freq_, neox, k, hd, c_.n_kv_heads, n);
    kv_store(k, L.k_cache, hd, c_.n_kv_heads, n_ctx_, n, n_past_);
    kv_store(v, L.v_cache, hd, c_.n_kv_heads, n_ctx_, n, n_past_);
    attention(q, L.k_cache, L.v_cache, attn, hd, c_.n_heads, c_.n_kv_heads, n_ctx_, n, n_past_, scale);
    matmul(L.wo, attn, {}, x, c_.q_dim(), d, n, /*accumulate=*/true);
    rms_norm(x, L.ffn_norm, xn, d, n, c_.norm_eps);
    matmul(L.w_gate, xn, {}, gate, d, F, n, false);
    matmul(L.w_up, xn, {}, up, d, F, n, false);
    swiglu(gate, up, gate);
    matmul(L.w_down, gate, {}, x, F, d, n, /*accumulate=*/true);
    L.last_q = q;
    L.last_x = x;
  }
  last_n_past_ = n_past_;
  last_n_ = n;
  rms_norm(x, output_norm_, xn, d, n, c_.norm_eps);
  std::vector<float> logits(size_t(V) * n);
  matmul(output_, xn, {}, logits, d, V, n, false);
  n_past_ += n;
  std::vector<std::vector<float>> out;
  for (int t = 0; t < n; ++t) out.emplace_back(logits.begin() + size_t(t) * V, logits.begin() + size_t(t + 1) * V);
  return out;
}

std::vector<float> ReferenceModel::attention_rows(int layer, const std::vector<int>& heads, int max_keys) const {
  const Layer& L = layers_[size_t(layer)];
  return ref::attention_rows(L.last_q, L.k_cache, heads, c_.head_dim, c_.n_heads, c_.n_kv_heads, n_ctx_,
                             last_n_past_, last_n_, max_keys, 1.0f / std::sqrt(float(c_.head_dim)));
}

}  // namespace ds::ref
