// Mamba mixer initialization from a teacher attention layer (see mamba_init.h and docs/formats.md).
#include "model/mamba_init.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>

#include "ops/mamba_dims.h"
#include "util/error.h"

namespace ds {
namespace {

void check_span(std::span<const float> s, size_t want, const char* what, int layer) {
  DS_CHECK(s.size() == want, "[mamba_init] layer ", layer, ": teacher ", what, " has ", s.size(), " values, expected ",
           want);
}

}  // namespace

std::vector<int> mamba_aligned_head_permutation(const ModelConfig& c) {
  const HybridConfig& h = c.hybrid;
  DS_CHECK(h.d_state > 0 && c.head_dim % h.d_state == 0, "[mamba_init] align_heads: d_state ", h.d_state,
           " does not divide head_dim ", c.head_dim);
  const MambaDims dims = MambaDims::from(h);
  const int per_head = c.head_dim / h.d_state, r = dims.repeat();  // d_state blocks per head; q heads per kv head
  std::vector<int> perm(size_t(h.d_inner));
  for (int k = 0; k < dims.n_heads(); ++k) {
    const int g = k / r;                         // the B group (= k rows g*d_state...) head k reads
    const int kv_head = g / per_head, block = g % per_head;
    const int q_head = kv_head * r + k % r;      // one of the q heads that read kv_head
    for (int p = 0; p < h.d_state; ++p) perm[size_t(k) * h.d_state + p] = q_head * c.head_dim + block * h.d_state + p;
  }
  return perm;
}

std::vector<InitTensor> init_mamba_from_attention(const ModelConfig& c, int layer, const TeacherAttention& t,
                                                  const MambaInitOptions& opt) {
  const HybridConfig& h = c.hybrid;
  DS_CHECK(layer >= 0 && layer < c.n_layers && c.layer_kind(layer) == LayerKind::Mamba, "[mamba_init] layer ", layer,
           " is not a Mamba layer of the student");
  const MambaDims dims = MambaDims::from(h);
  dims.check("mamba_init");
  DS_CHECK(h.d_inner == c.q_dim() && h.d_xb == c.kv_dim(), "[mamba_init] d_inner ", h.d_inner, " and d_xb ", h.d_xb,
           " must equal the teacher's q width ", c.q_dim(), " (heads x head_dim) and kv width ", c.kv_dim());
  DS_CHECK(h.dt_rank > 0, "[mamba_init] dt_rank ", h.dt_rank, " must be positive");
  const size_t d = size_t(c.d_model), di = size_t(h.d_inner), dxb = size_t(h.d_xb), ds = size_t(h.d_state);
  const size_t rank = size_t(h.dt_rank), K = size_t(h.d_conv);
  check_span(t.wq, d * di, "attn_q.weight", layer);
  check_span(t.wk, d * dxb, "attn_k.weight", layer);
  check_span(t.wv, d * dxb, "attn_v.weight", layer);
  check_span(t.wo, di * d, "attn_output.weight", layer);
  if (!t.bo.empty()) check_span(t.bo, d, "attn_output.bias", layer);

  std::mt19937_64 rng(opt.seed * 0x9E3779B97F4A7C15ull + uint64_t(layer) + 1);
  auto uniform = [&](float bound) { return std::uniform_real_distribution<float>(-bound, bound)(rng); };
  std::vector<int> perm(di);
  if (opt.align_heads) {
    perm = mamba_aligned_head_permutation(c);
  } else {
    for (size_t i = 0; i < di; ++i) perm[i] = int(i);
  }
  const std::string p = "blk." + std::to_string(layer) + ".";
  std::vector<InitTensor> out;
  auto add = [&](const std::string& name, std::array<int64_t, 4> ne) -> std::vector<float>& {
    out.push_back({p + name, ne, std::vector<float>(size_t(ne[0] * ne[1] * ne[2] * ne[3]), 0.0f)});
    return out.back().data;
  };

  // in_proj rows [z | x | B | C], each row d_model long
  const size_t rows = 2 * di + 2 * dxb;
  {
    std::vector<float>& w = add("ssm_in.weight", {int64_t(d), int64_t(rows), 1, 1});
    const float bound = 1.0f / std::sqrt(float(d));
    for (size_t i = 0; i < di * d; ++i) w[i] = uniform(bound);  // z
    std::copy(t.wv.begin(), t.wv.end(), w.begin() + ptrdiff_t(di * d));                // x <- W_V
    std::copy(t.wk.begin(), t.wk.end(), w.begin() + ptrdiff_t((di + dxb) * d));        // B <- W_K
    for (size_t ch = 0; ch < di; ++ch)                                                  // C <- W_Q (rows perm)
      std::copy_n(t.wq.begin() + ptrdiff_t(size_t(perm[ch]) * d), d, w.begin() + ptrdiff_t((di + 2 * dxb + ch) * d));
  }
  {
    std::vector<float>& w = add("ssm_dt_in.weight", {int64_t(d), int64_t(rank), 1, 1});
    for (float& v : w) v = uniform(1.0f / std::sqrt(float(d)));
  }
  {
    std::vector<float>& w = add("ssm_dt.weight", {int64_t(rank), int64_t(di), 1, 1});
    const float std_ = h.dt_scale / std::sqrt(float(rank));
    for (float& v : w) v = h.dt_init == "constant" ? std_ : uniform(std_);
  }
  if (h.dt_proj_bias) {
    std::vector<float>& b = add("ssm_dt.bias", {int64_t(di), 1, 1, 1});
    const double lo = std::log(double(h.dt_min)), hi = std::log(double(h.dt_max));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (float& v : b) {
      const double dt0 = std::max(std::exp(lo + unit(rng) * (hi - lo)), double(h.dt_init_floor));
      const double inv = dt0 + std::log(-std::expm1(-dt0));  // softplus(inv) = dt0
      v = float(opt.compensate_double_dt_bias ? inv / 2 : inv);
    }
  }
  {
    std::vector<float>& w = add("ssm_conv1d.weight", {int64_t(K), 1, int64_t(di), 1});
    for (float& v : w) v = uniform(1.0f / std::sqrt(float(K)));
  }
  if (h.conv_bias) {
    std::vector<float>& b = add("ssm_conv1d.bias", {int64_t(di), 1, 1, 1});
    for (float& v : b) v = uniform(1.0f / std::sqrt(float(K)));
  }
  {
    std::vector<float>& a = add("ssm_a_log", {int64_t(ds), int64_t(di), 1, 1});
    for (size_t ch = 0; ch < di; ++ch)
      for (size_t n = 0; n < ds; ++n) a[ch * ds + n] = std::log(float(n + 1));  // A = -(1 .. d_state)
  }
  add("ssm_d", {int64_t(di), 1, 1, 1}).assign(di, 1.0f);
  {
    std::vector<float>& w = add("ssm_out.weight", {int64_t(di), int64_t(d), 1, 1});  // rows d_model, each d_inner
    for (size_t o = 0; o < d; ++o)
      for (size_t ch = 0; ch < di; ++ch) w[o * di + ch] = t.wo[o * di + size_t(perm[ch])];
  }
  if (h.bias) {
    add("ssm_in.bias", {int64_t(rows), 1, 1, 1});
    add("ssm_dt_in.bias", {int64_t(rank), 1, 1, 1});
    std::vector<float>& b = add("ssm_out.bias", {int64_t(d), 1, 1, 1});
    if (!t.bo.empty()) std::copy(t.bo.begin(), t.bo.end(), b.begin());
  }
  return out;
}

}  // namespace ds
