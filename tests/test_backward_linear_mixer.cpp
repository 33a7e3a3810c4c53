// Training `linear` mixer: the reference training forward agrees with the inference reference; the reference
// backward against central finite differences (double) of the training forward for q, k, v, both feature maps
// and the window logits (window on/off, GQA, per-head and per-kv-head maps, affine factors, several seeds and
// sequences); the GPU forward and backward against the reference; accumulation; determinism; rejected shapes.
#include <cmath>

// #include "ops/backward/linear_mixer.h"
#include "ref/backward/linear_mixer.h"
#include "ref/compare.h"
#include "support/gpu.h"
#include "support/gradcheck.h"

namespace ds {
namespace {

struct Case {
  int head_dim, n_heads, n_kv, features, window, n_tokens, n_seqs;
  bool head_maps = true;  // maps per query head (LoLCATs); else per kv head
  bool logits = true;     // a window-factor tensor
  bool affine = false;
};

std::string case_name(const Case& c) {
  return "hd" + std::to_string(c.head_dim) + "_h" + std::to_string(c.n_heads) + "_kv" + std::to_string(c.n_kv) +
         "_F" + std::to_string(c.features) + "_N" + std::to_string(c.window) + "_t" + std::to_string(c.n_tokens) +
         "_s" + std::to_string(c.n_seqs) + (c.head_maps ? "" : "_kvmaps") + (c.logits ? "" : "_nologits") +
         (c.affine ? "_affine" : "");
}

ref::LinearMixerDims dims_of(const Case& c) {
  ref::LinearMixerDims d;
  d.head_dim = c.head_dim;
  d.n_heads = c.n_heads;
  d.n_kv = c.n_kv;
  d.n_fm_q = d.n_state = c.head_maps ? c.n_heads : c.n_kv;
  d.features = c.features;
  d.window = c.window;
  d.scale = 1.0f / std::sqrt(float(c.head_dim));
  d.affine = c.affine;
  return d;
}

// Inputs of one problem in double (the float runs convert them).
struct Problem {
  Case c;
  ref::LinearMixerDims d;
  std::vector<double> q, k, v, fm_q, fm_k, logits, dout;
  Problem(const Case& cs, uint32_t seed) : c(cs), d(dims_of(cs)) {
    const size_t nq = size_t(c.head_dim) * c.n_heads * c.n_tokens * c.n_seqs;
    const size_t nk = size_t(c.head_dim) * c.n_kv * c.n_tokens * c.n_seqs;
    const double w = 2.0 / std::sqrt(double(c.head_dim));
    q = test::random_doubles(nq, seed, -1.5, 1.5);
    k = test::random_doubles(nk, seed + 1, -1.5, 1.5);
    v = test::random_doubles(nk, seed + 2);
    fm_q = test::random_doubles(size_t(d.n_fm_q) * c.head_dim * c.features, seed + 3, -w, w);
    fm_k = test::random_doubles(size_t(d.n_state) * c.head_dim * c.features, seed + 4, -w, w);
    if (c.logits) logits = test::random_doubles(size_t(c.n_heads), seed + 5, -1.5, 1.5);
    dout = test::random_doubles(nq, seed + 6);
  }
};

std::vector<float> f32(const std::vector<double>& v) { return test::to_float(v); }

// ---- reference: forward against the inference reference, backward against finite differences ----

TEST(LinearMixerTrainRef, ForwardMatchesInferenceReference) {
  for (const Case& c : {Case{8, 4, 2, 6, 3, 11, 1}, Case{8, 4, 2, 6, 0, 9, 1, false}, Case{4, 2, 1, 4, 20, 7, 1}}) {
    const Problem p(c, 7);
    const auto q = f32(p.q), k = f32(p.k), v = f32(p.v), fm_q = f32(p.fm_q), fm_k = f32(p.fm_k), lg = f32(p.logits);
    std::vector<float> want(q.size()), got(q.size());
    ref::linear_mixer_quadratic(q, k, v, p.d, {fm_q, fm_k, lg}, c.n_tokens, want);
    ref::linear_mixer_train_forward<float>(q, k, v, p.d, {fm_q, fm_k, lg}, c.n_tokens, 1, got);
    EXPECT_LT(ref::nmse(got, want), 1e-13) << case_name(c);
  }
}

class LinearMixerGradCheck : public testing::TestWithParam<Case> {};

TEST_P(LinearMixerGradCheck, ReferenceMatchesFiniteDifferences) {
  const Case c = GetParam();
  for (uint32_t seed : {1u, 2u, 3u}) {
    Problem p(c, seed * 10);
    std::vector<double> out(p.q.size()), dq(p.q.size()), dk(p.k.size()), dv(p.v.size()), dfq(p.fm_q.size()),
        dfk(p.fm_k.size()), dlg(p.logits.size());
    auto loss = [&] {
      ref::linear_mixer_train_forward<double>(p.q, p.k, p.v, p.d, {p.fm_q, p.fm_k, p.logits}, c.n_tokens, c.n_seqs,
                                              out);
      return test::dot(p.dout, out);
    };
    ref::linear_mixer_backward<double>(p.q, p.k, p.v, p.dout, p.d, {p.fm_q, p.fm_k, p.logits}, c.n_tokens, c.n_seqs,
                                       {dq, dk, dv, dfq, dfk, dlg});
    SCOPED_TRACE("seed " + std::to_string(seed));
    EXPECT_LT(test::rel_max_error(dq, test::finite_diff(p.q, loss)), test::k_fd_bound);
    EXPECT_LT(test::rel_max_error(dk, test::finite_diff(p.k, loss)), test::k_fd_bound);
    EXPECT_LT(test::rel_max_error(dv, test::finite_diff(p.v, loss)), test::k_fd_bound);
    EXPECT_LT(test::rel_max_error(dfq, test::finite_diff(p.fm_q, loss)), test::k_fd_bound);
    EXPECT_LT(test::rel_max_error(dfk, test::finite_diff(p.fm_k, loss)), test::k_fd_bound);
    if (c.logits && c.window >= c.n_tokens) {  // softmax over every key: the factor cancels, dlogit = 0
      for (double g : dlg) EXPECT_LT(std::abs(g), 1e-12);
    } else if (c.logits && c.window > 0) {
      EXPECT_LT(test::rel_max_error(dlg, test::finite_diff(p.logits, loss)), test::k_fd_bound);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearMixerGradCheck,
                         testing::Values(Case{4, 4, 2, 3, 3, 7, 2},                      // GQA, window, per-head maps
                                         Case{4, 4, 2, 3, 0, 7, 2},                      // pure linear
                                         Case{4, 4, 2, 3, 2, 6, 1, false},               // per-kv-head maps
                                         Case{4, 2, 2, 3, 3, 7, 1, true, true, true},    // MHA, affine factors
                                         Case{5, 3, 1, 2, 1, 5, 1, true, false},         // MQA, N = 1, no logits
                                         Case{4, 2, 1, 4, 9, 6, 1, false, true, true}),  // window over everything
                         [](const auto& i) { return case_name(i.param); });

}  // namespace
}  // namespace ds
