// ReferenceModel: the same sequence of ops as model/arch_llama.cpp, each from ref/.
#include "ref/forward.h"

#include <algorithm>
#include <cmath>

#include "model/gguf.h"
#include "model/hybrid_config.h"
#include "model/model_source.h"
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
std::vector<float> maybe(const ModelSource& src, const std::string& name) {
  return src.find(name) ? src.read_f32(name) : std::vector<float>{};
}
}  // namespace

ReferenceModel::ReferenceModel(const GgufFile& f, int n_ctx) : n_ctx_(n_ctx) { load(*open_gguf_source(f.path())); }

ReferenceModel::ReferenceModel(const ModelSource& src, int n_ctx) : n_ctx_(n_ctx) { load(src); }

void ReferenceModel::load(const ModelSource& src) {
  c_ = src.config();
  tok_embd_ = src.read_f32("token_embd.weight");
  output_norm_ = src.read_f32("output_norm.weight");
  output_ = c_.tied_embeddings ? tok_embd_ : src.read_f32("output.weight");
  ops::RopeScaling scaling;
  if (c_.rope.scaling == "linear") scaling.kind = ops::RopeScaling::Linear;
  if (c_.rope.scaling == "llama3") scaling.kind = ops::RopeScaling::Llama3;
  scaling.factor = c_.rope.factor;
  scaling.low_freq_factor = c_.rope.low_freq_factor;
  scaling.high_freq_factor = c_.rope.high_freq_factor;
  scaling.original_context = c_.rope.original_context;
  inv_freq_ = ops::rope_inv_freq(c_.head_dim, c_.rope.theta, scaling);
  if (auto div = maybe(src, "rope_freqs.weight"); !div.empty())
    for (size_t i = 0; i < inv_freq_.size(); ++i) inv_freq_[i] /= div[i];
  for (int l = 0; l < c_.n_layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    Layer L;
    L.attn_norm = src.read_f32(p + "attn_norm.weight");
    const LayerKind kind = c_.layer_kind(l);
    if (kind != LayerKind::Mamba) {
      L.wq = src.read_f32(p + "attn_q.weight");
      L.wk = src.read_f32(p + "attn_k.weight");
      L.wv = src.read_f32(p + "attn_v.weight");
      L.wo = src.read_f32(p + "attn_output.weight");
      L.bq = maybe(src, p + "attn_q.bias");
      L.bk = maybe(src, p + "attn_k.bias");
      L.bv = maybe(src, p + "attn_v.bias");
      L.bo = maybe(src, p + "attn_output.bias");
    }
    if (kind == LayerKind::Linear) {
      L.fm_q = src.read_f32(p + "lin_fm_q");
      L.fm_k = src.read_f32(p + "lin_fm_k");
      L.window_logit = maybe(src, p + "lin_window_factor");
    }
    if (kind == LayerKind::Mamba) {
      L.ssm_in = src.read_f32(p + "ssm_in.weight");
      L.ssm_in_b = maybe(src, p + "ssm_in.bias");
      L.ssm_dt_in = src.read_f32(p + "ssm_dt_in.weight");
      L.ssm_dt_in_b = maybe(src, p + "ssm_dt_in.bias");
      L.ssm_dt = src.read_f32(p + "ssm_dt.weight");
      L.ssm_dt_b = maybe(src, p + "ssm_dt.bias");
      L.conv_w = src.read_f32(p + "ssm_conv1d.weight");
      L.conv_b = maybe(src, p + "ssm_conv1d.bias");
      L.a_log = src.read_f32(p + "ssm_a_log");
      L.ssm_d = src.read_f32(p + "ssm_d");
      L.ssm_out = src.read_f32(p + "ssm_out.weight");
      L.ssm_out_b = maybe(src, p + "ssm_out.bias");
    }
    L.ffn_norm = src.read_f32(p + "ffn_norm.weight");
    L.w_gate = src.read_f32(p + "ffn_gate.weight");
    L.w_up = src.read_f32(p + "ffn_up.weight");
    L.w_down = src.read_f32(p + "ffn_down.weight");
    layers_.push_back(std::move(L));
  }
  reset();
}

void ReferenceModel::reset() {
  n_past_ = 0;
  for (int l = 0; l < c_.n_layers; ++l) {
    Layer& L = layers_[size_t(l)];
    L.all_q.clear();
    L.all_k.clear();
    L.all_zxbc.clear();
    L.all_dt.clear();
    switch (c_.layer_kind(l)) {
      case LayerKind::Attention: {
        size_t cache = size_t(c_.n_kv_heads) * n_ctx_ * c_.head_dim;
        L.k_cache.assign(cache, 0.0f);
        L.v_cache.assign(cache, 0.0f);
        break;
      }
      case LayerKind::Linear: L.lin_state = make_linear_mixer_ref_state(linear_dims()); break;
      case LayerKind::Mamba: L.ssm_state = std::make_unique<MambaRefState>(mamba_dims(c_)); break;
    }
  }
}

LinearMixerDims ReferenceModel::linear_dims() const {
  LinearMixerDims d;
  d.head_dim = c_.head_dim;
  d.n_heads = c_.n_heads;
  d.n_kv = c_.n_kv_heads;
  d.n_fm_q = c_.hybrid.linear.query_maps;
  d.n_state = c_.hybrid.linear.key_maps;
  d.features = c_.hybrid.linear.features;
  d.window = c_.hybrid.linear.window;
  d.scale = 1.0f / std::sqrt(float(c_.head_dim));
  d.affine = c_.hybrid.linear.affine;
  return d;
}

void ReferenceModel::attention_or_linear(Layer& L, LayerKind kind, std::span<const int32_t> positions,
                                         std::vector<float>& x, const std::vector<float>& xn, int n) {
  const int d = c_.d_model, hd = c_.head_dim;
  std::vector<float> q(size_t(c_.q_dim()) * n), k(size_t(c_.kv_dim()) * n), v(k.size()), attn(q.size());
  matmul(L.wq, xn, L.bq, q, d, c_.q_dim(), n, false);
  matmul(L.wk, xn, L.bk, k, d, c_.kv_dim(), n, false);
  matmul(L.wv, xn, L.bv, v, d, c_.kv_dim(), n, false);
  const bool neox = c_.rope.style == RopeStyle::Neox;
  rope(q, positions, inv_freq_, neox, q, hd, c_.n_heads, n);
  rope(k, positions, inv_freq_, neox, k, hd, c_.n_kv_heads, n);
  L.last_q = q;
  if (kind == LayerKind::Attention) {
    kv_store(k, L.k_cache, hd, c_.n_kv_heads, n_ctx_, n, n_past_);
    kv_store(v, L.v_cache, hd, c_.n_kv_heads, n_ctx_, n, n_past_);
    attention(q, L.k_cache, L.v_cache, attn, hd, c_.n_heads, c_.n_kv_heads, n_ctx_, n, n_past_,
              1.0f / std::sqrt(float(hd)));
  } else {
    L.all_q.insert(L.all_q.end(), q.begin(), q.end());
    L.all_k.insert(L.all_k.end(), k.begin(), k.end());
    linear_mixer_recurrent(L.lin_state, q, k, v, linear_dims(), {L.fm_q, L.fm_k, L.window_logit}, n, attn);
  }
  matmul(L.wo, attn, L.bo, x, c_.q_dim(), d, n, /*accumulate=*/true);
}

void ReferenceModel::mamba(Layer& L, std::vector<float>& x, const std::vector<float>& xn, int n) {
  const int d = c_.d_model;
  const MambaDims dims = mamba_dims(c_);
  const HybridConfig& h = c_.hybrid;
  std::vector<float> zxbc(size_t(dims.zxbc_rows()) * n), dt_low(size_t(h.dt_rank) * n), dt(size_t(h.d_inner) * n),
      y(dt.size());
  matmul(L.ssm_in, xn, L.ssm_in_b, zxbc, d, dims.zxbc_rows(), n, false);
  matmul(L.ssm_dt_in, xn, L.ssm_dt_in_b, dt_low, d, h.dt_rank, n, false);
  matmul(L.ssm_dt, dt_low, L.ssm_dt_b, dt, h.dt_rank, h.d_inner, n, false);
  L.all_zxbc.insert(L.all_zxbc.end(), zxbc.begin(), zxbc.end());
  L.all_dt.insert(L.all_dt.end(), dt.begin(), dt.end());
  mamba_mixer(dims, zxbc, dt, {L.conv_w, L.conv_b, L.ssm_dt_b, L.a_log, L.ssm_d}, *L.ssm_state, y, n);
  matmul(L.ssm_out, y, L.ssm_out_b, x, h.d_inner, d, n, /*accumulate=*/true);
}

std::vector<std::vector<float>> ReferenceModel::forward(std::span<const int32_t> tokens) {
  const int n = int(tokens.size());
  const int d = c_.d_model, F = c_.ffn_dim, V = c_.vocab;
  DS_CHECK(n_past_ + n <= n_ctx_, "[ref] ", n, " tokens at ", n_past_, " exceed the context of ", n_ctx_);
  std::vector<int32_t> positions(n);
  for (int t = 0; t < n; ++t) positions[t] = n_past_ + t;
  std::vector<float> x(size_t(d) * n), xn(x.size()), gate(size_t(F) * n), up(gate.size());
  get_rows(tok_embd_, tokens, x, d, V);
  for (int l = 0; l < c_.n_layers; ++l) {
    Layer& L = layers_[size_t(l)];
    rms_norm(x, L.attn_norm, xn, d, n, c_.norm_eps);
    const LayerKind kind = c_.layer_kind(l);
    if (kind == LayerKind::Mamba) mamba(L, x, xn, n);
    else attention_or_linear(L, kind, positions, x, xn, n);
    rms_norm(x, L.ffn_norm, xn, d, n, c_.norm_eps);
    matmul(L.w_gate, xn, {}, gate, d, F, n, false);
    matmul(L.w_up, xn, {}, up, d, F, n, false);
    swiglu(gate, up, gate);
    matmul(L.w_down, gate, {}, x, F, d, n, /*accumulate=*/true);
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
  if (c_.layer_kind(layer) != LayerKind::Attention) return implied_rows(L, c_.layer_kind(layer), heads, max_keys);
  return ref::attention_rows(L.last_q, L.k_cache, heads, c_.head_dim, c_.n_heads, c_.n_kv_heads, n_ctx_,
                             last_n_past_, last_n_, max_keys, 1.0f / std::sqrt(float(c_.head_dim)));
}

}  // namespace ds::ref

namespace ds::ref {

std::vector<float> ReferenceModel::implied_rows(const Layer& L, LayerKind kind, const std::vector<int>& heads,
                                                int max_keys) const {
  const int T = n_past_, n = last_n_;
  std::vector<double> linear;  // (n_heads, T, T)
  std::vector<float> mamba;    // (n_heads, T, T)
  if (kind == LayerKind::Linear) {
    linear = linear_mixer_attention(L.all_q, L.all_k, linear_dims(), {L.fm_q, L.fm_k, L.window_logit}, T);
  } else {
    const MambaDims dims = mamba_dims(c_);
    std::vector<float> conv(size_t(dims.d_inner) * (dims.d_conv - 1), 0.0f);
    const MambaScanInputs in = mamba_conv_delta(dims, L.all_zxbc, L.all_dt,
                                                {L.conv_w, L.conv_b, L.ssm_dt_b, L.a_log, L.ssm_d}, conv, T);
    const auto alpha = mamba_implied_attention_channels(dims, L.all_zxbc, in, L.a_log, T);
    mamba = mamba_implied_attention_heads(dims, alpha, T, dims.d_inner / c_.n_heads);
  }
  std::vector<float> out(heads.size() * size_t(n) * size_t(max_keys), 0.0f);
  for (size_t hi = 0; hi < heads.size(); ++hi)
    for (int t = 0; t < n; ++t) {
      const size_t src = (size_t(heads[hi]) * T + size_t(last_n_past_ + t)) * T;
      for (int j = 0; j < std::min(T, max_keys); ++j)
        out[(hi * n + size_t(t)) * max_keys + size_t(j)] = linear.empty() ? mamba[src + j] : float(linear[src + j]);
    }
  return out;
}

}  // namespace ds::ref
