// A whole tiny transformer, composed from the CPU reference forward and backward functions in double:
// embedding -> RMSNorm -> q/k/v (with biases) -> RoPE -> causal GQA attention -> o-proj + residual -> RMSNorm
// -> SwiGLU MLP + residual -> final RMSNorm -> lm head -> cross-entropy. Every parameter's gradient from the
// composed backward is checked against central finite differences of the composed forward, proving the
// pieces fit (the trainer composes the GPU ops the same way). Also: the training forward references agree
// with the inference references (ref/*.h) they stand beside.
#include <cmath>
#include <map>

#include "ops/rope.h"
#include "ref/attention.h"
#include "ref/backward/attention.h"
#include "ref/backward/embed.h"
#include "ref/backward/matmul.h"
#include "ref/backward/norm.h"
#include "ref/backward/rope.h"
#include "ref/backward/swiglu.h"
#include "ref/compare.h"
#include "ref/elementwise.h"
#include "ref/embed.h"
#include "ref/loss.h"
#include "ref/matmul.h"
#include "ref/norm.h"
#include "ref/rope.h"
#include "support/gpu.h"
#include "support/gradcheck.h"

namespace ds {
namespace {

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
    auto add = [&](const std::string& name, size_t n, double lo, double hi) { p[name] = test::random_doubles(n, seed++, lo, hi); };
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

  const Vec& output_weight() const { return c_.tied ? p.at("tok_embd") : p.at("output"); }

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

class BlockGradcheck : public testing::TestWithParam<BlockConfig> {};

TEST_P(BlockGradcheck, EveryParameterMatchesFiniteDifferences) {
  TinyModel m(GetParam());
  const double loss = m.forward();
  EXPECT_GT(loss, 0.0);
  const auto grads = m.backward();
  for (auto& [name, values] : m.p) {
    auto fd = test::finite_diff(values, [&] { return m.forward(); });
    EXPECT_LT(test::rel_max_error(grads.at(name), fd), test::k_fd_bound) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, BlockGradcheck,
                         testing::Values(BlockConfig{}, BlockConfig{16, 4, 1, 4, 24, 60, 9, true, false},
                                         BlockConfig{12, 2, 2, 6, 20, 50, 5, false, true}),
                         [](const auto& i) {
                           return std::string(i.param.neox ? "neox" : "interleaved") + "_kv" +
                                  std::to_string(i.param.n_kv) + (i.param.tied ? "_tied" : "_untied");
                         });

// The float instantiations of the training references compute what the inference references compute.
TEST(TrainingReferences, AgreeWithInferenceReferences) {
  const int d = 24, T = 9, N = 17, hd = 8, H = 4, Hkv = 2;
  auto x = test::random_floats(size_t(d) * T, 1, -2, 2), w = test::random_floats(size_t(d), 2, 0.5f, 1.5f);
  std::vector<float> a(x.size()), b(x.size());
  ref::rms_norm(x, w, a, d, T, 1e-5f);
  ref::rms_norm_forward<float>(x, w, b, d, T, 1e-5);
  EXPECT_LT(ref::nmse(b, a), 1e-14) << "rms_norm";

  auto wm = test::random_floats(size_t(N) * d, 3), bias = test::random_floats(size_t(N), 4);
  std::vector<float> ya(size_t(N) * T), yb(ya.size());
  ref::matmul(wm, x, bias, ya, d, N, T, false);
  ref::matmul_forward<float>(wm, x, bias, yb, d, N, T);
  EXPECT_LT(ref::nmse(yb, ya), 1e-14) << "matmul";

  std::vector<int32_t> pos{0, 3, 9, 100, 2000, 5, 6, 7, 8};
  auto inv_freq = ops::rope_inv_freq(hd, 10000.0f, {});
  auto qv = test::random_floats(size_t(hd) * H * T, 5);
  std::vector<float> ra(qv.size()), rb(qv.size());
  for (bool neox : {false, true}) {
    ref::rope(qv, pos, inv_freq, neox, ra, hd, H, T);
    ref::rope_forward<float>(qv, pos, inv_freq, neox, rb, hd, H, T);
    EXPECT_LT(ref::nmse(rb, ra), 1e-14) << "rope";
  }

  auto gate = test::random_floats(100, 6, -5, 5), up = test::random_floats(100, 7);
  std::vector<float> sa(100), sb(100);
  ref::swiglu(gate, up, sa);
  ref::swiglu_forward<float>(gate, up, sb);
  EXPECT_LT(ref::nmse(sb, sa), 1e-14) << "swiglu";

  std::vector<int32_t> ids{3, 0, 9, 3, -1};
  auto table = test::random_floats(size_t(d) * 10, 8);
  std::vector<float> ga(size_t(d) * ids.size()), gb(ga.size());
  ref::get_rows(table, ids, ga, d, 10);
  ref::get_rows_forward<float>(table, ids, gb, d, 10);
  EXPECT_EQ(gb, ga) << "get_rows";

  // Attention: the inference reference reads a cache laid out (n_kv, n_ctx, head_dim); with n_past = 0 and
  // F16-representable keys and values it must give the training forward's output.
  auto k = test::random_floats(size_t(hd) * Hkv * T, 9), v = test::random_floats(size_t(hd) * Hkv * T, 10);
  for (auto* t : {&k, &v})
    for (float& e : *t) e = f16_to_f32(f32_to_f16(e));
  std::vector<float> k_cache(k.size()), v_cache(v.size());
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < Hkv; ++h)
      for (int e = 0; e < hd; ++e) {
        k_cache[(size_t(h) * T + t) * hd + e] = k[(size_t(t) * Hkv + h) * hd + e];
        v_cache[(size_t(h) * T + t) * hd + e] = v[(size_t(t) * Hkv + h) * hd + e];
      }
  std::vector<float> oa(qv.size()), ob(qv.size());
  const float scale = 1.0f / std::sqrt(float(hd));
  ref::attention(qv, k_cache, v_cache, oa, hd, H, Hkv, T, T, 0, scale);
  ref::attention_forward<float>(qv, k, v, ob, {}, {hd, H, Hkv, T, 1, scale});
  EXPECT_LT(ref::nmse(ob, oa), 1e-14) << "attention";
}

}  // namespace
}  // namespace ds
