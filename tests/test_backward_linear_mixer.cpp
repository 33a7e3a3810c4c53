// Training `linear` mixer: the reference training forward agrees with the inference reference; the reference
// backward against central finite differences (double) of the training forward for q, k, v, both feature maps
// and the window logits (window on/off, GQA, per-head and per-kv-head maps, affine factors, several seeds and
// sequences); the GPU forward and backward against the reference; accumulation; determinism; rejected shapes.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "ops/backward/linear_mixer.h"
#include "ref/backward/linear_mixer.h"
#include "ref/compare.h"
#include "support/gpu.h"
#include "support/gradcheck.h"

namespace ds {
namespace {

enum class Maps { Heads, Kv, QHeadsKKv };  // feature maps per query head (LoLCATs), per kv head, or q / k mixed

struct Case {
  int head_dim, n_heads, n_kv, features, window, n_tokens, n_seqs;
  Maps maps = Maps::Heads;
  bool logits = true;  // a window-factor tensor
  bool affine = false;
};

const char* maps_suffix(Maps m) {
  switch (m) {
    case Maps::Heads:
      return "";
    case Maps::Kv:
      return "_kvmaps";
    default:
      return "_kmapskv";
  }
}

std::string case_name(const Case& c) {
  return "hd" + std::to_string(c.head_dim) + "_h" + std::to_string(c.n_heads) + "_kv" + std::to_string(c.n_kv) + "_F" +
         std::to_string(c.features) + "_N" + std::to_string(c.window) + "_t" + std::to_string(c.n_tokens) + "_s" +
         std::to_string(c.n_seqs) + maps_suffix(c.maps) + (c.logits ? "" : "_nologits") + (c.affine ? "_affine" : "");
}

ref::LinearMixerDims dims_of(const Case& c) {
  ref::LinearMixerDims d;
  d.head_dim = c.head_dim;
  d.n_heads = c.n_heads;
  d.n_kv = c.n_kv;
  d.n_fm_q = c.maps == Maps::Kv ? c.n_kv : c.n_heads;
  d.n_state = c.maps == Maps::Heads ? c.n_heads : c.n_kv;
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

bool print_errors() { return std::getenv("DS_GRAD_PRINT") != nullptr; }

void expect_fd(const char* what, const std::vector<double>& analytic, const std::vector<double>& fd) {
  const double err = test::rel_max_error(analytic, fd);
  if (print_errors()) std::printf("  %-7s fd error %.2e\n", what, err);
  EXPECT_LT(err, test::k_fd_bound) << what;
}

// ---- reference: forward against the inference reference, backward against finite differences ----

TEST(LinearMixerTrainRef, ForwardMatchesInferenceReference) {
  for (const Case& c : {Case{8, 4, 2, 6, 3, 11, 1}, Case{8, 4, 2, 6, 0, 9, 1, Maps::Kv}, Case{4, 2, 1, 4, 20, 7, 1}}) {
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
    if (print_errors()) std::printf("%s seed %u\n", case_name(c).c_str(), seed);
    expect_fd("q", dq, test::finite_diff(p.q, loss));
    expect_fd("k", dk, test::finite_diff(p.k, loss));
    expect_fd("v", dv, test::finite_diff(p.v, loss));
    expect_fd("fm_q", dfq, test::finite_diff(p.fm_q, loss));
    expect_fd("fm_k", dfk, test::finite_diff(p.fm_k, loss));
    if (c.logits && c.window >= c.n_tokens) {  // softmax over every key: the factor cancels, dlogit = 0
      for (double g : dlg) EXPECT_LT(std::abs(g), 1e-12);
    } else if (c.logits && c.window > 0) {
      expect_fd("logits", dlg, test::finite_diff(p.logits, loss));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearMixerGradCheck,
                         testing::Values(Case{4, 4, 2, 3, 3, 7, 2},                           // GQA, window
                                         Case{4, 4, 2, 3, 0, 7, 2},                           // pure linear
                                         Case{4, 4, 2, 3, 2, 6, 1, Maps::Kv},                 // per-kv-head maps
                                         Case{4, 4, 2, 3, 2, 6, 1, Maps::QHeadsKKv},          // q per head, k per kv
                                         Case{4, 2, 2, 3, 3, 7, 1, Maps::Heads, true, true},  // MHA, affine factors
                                         Case{5, 3, 1, 2, 1, 5, 1, Maps::Heads, false},       // MQA, N = 1, no logits
                                         Case{4, 2, 1, 4, 9, 6, 1, Maps::Kv, true, true}),    // window over everything
                         [](const auto& i) { return case_name(i.param); });

// ---- GPU against the reference ----

// Everything one run produces.
struct Result {
  std::vector<float> out, dq, dk, dv, fm_q, fm_k, logits;
  bool logits_cancel = false;  // a window over every key: the window factor has no effect
};

// Forward + backward in one recording. `init`: what the gradients hold before (for accumulation).
Result run_gpu(const Problem& p, const ops::GradMode& mode = {}, const Result* init = nullptr) {
  const Case& c = p.c;
  const std::array<int64_t, 4> qs{c.head_dim, c.n_heads, c.n_tokens, c.n_seqs},
      ks{c.head_dim, c.n_kv, c.n_tokens, c.n_seqs};
  auto up = [](const std::vector<double>& v, std::array<int64_t, 4> ne, const char* name) {
    return test::tensor_from(f32(v), DType::F32, ne, name);
  };
  auto empty = [](std::array<int64_t, 4> ne, const char* name) { return test::empty_tensor(DType::F32, ne, name); };
  ops::LinearMixerWeights w, dw;
  w.fm_q = up(p.fm_q, {c.features, c.head_dim, p.d.n_fm_q, 1}, "blk.0.lin_fm_q");
  w.fm_k = up(p.fm_k, {c.features, c.head_dim, p.d.n_state, 1}, "blk.0.lin_fm_k");
  dw.fm_q = empty(w.fm_q.ne, "grad.lin_fm_q");
  dw.fm_k = empty(w.fm_k.ne, "grad.lin_fm_k");
  if (c.logits) {
    w.window_factor = up(p.logits, {c.n_heads, 1, 1, 1}, "blk.0.lin_window_factor");
    dw.window_factor = empty(w.window_factor.ne, "grad.lin_window_factor");
  }
  Tensor q = up(p.q, qs, "q"), k = up(p.k, ks, "k"), v = up(p.v, ks, "v"), d_out = up(p.dout, qs, "d_out");
  Tensor out = empty(qs, "out"), dq = empty(qs, "dq"), dk = empty(ks, "dk"), dv = empty(ks, "dv");
  if (init)
    for (auto [t, vals] : {std::pair{&dq, &init->dq},
                           {&dk, &init->dk},
                           {&dv, &init->dv},
                           {&dw.fm_q, &init->fm_q},
                           {&dw.fm_k, &init->fm_k},
                           {&dw.window_factor, &init->logits}})
      if (*t) upload_f32(test::device(), *t, *vals);
  const ops::LinearMixerShape shape = ops::linear_mixer_shape(q, k, w, c.window);
  Tensor saved = empty({int64_t(ops::linear_mixer_train_saved_elems(shape, c.n_tokens, c.n_seqs)), 1, 1, 1}, "saved");
  Tensor scratch =
      empty({int64_t(ops::linear_mixer_backward_scratch_elems(shape, c.n_tokens, c.n_seqs)), 1, 1, 1}, "scratch");
  const ops::LinearMixerOptions options{p.d.scale, c.affine};
  test::run([&](vk::Recorder& r) {
    ops::linear_mixer_train(r, q, k, v, w, c.window, out, saved, options);
    ops::linear_mixer_backward(r, q, k, v, w, c.window, out, saved, d_out, dq, dk, dv, dw, scratch, options, mode);
  });
  auto get = [](const Tensor& t) { return t ? download_f32(test::device(), t) : std::vector<float>{}; };
  if (print_errors() && c.window >= c.n_tokens && c.logits)
    for (float x : get(dw.window_factor)) std::printf("  dlogit %.3e (cancels)\n", x);
  return {
      get(out), get(dq), get(dk), get(dv), get(dw.fm_q), get(dw.fm_k), get(dw.window_factor), c.window >= c.n_tokens};
}

// The float reference of the same problem.
Result run_ref(const Problem& p) {
  const Case& c = p.c;
  const auto q = f32(p.q), k = f32(p.k), v = f32(p.v), fm_q = f32(p.fm_q), fm_k = f32(p.fm_k), lg = f32(p.logits),
             dout = f32(p.dout);
  Result r{std::vector<float>(q.size()), std::vector<float>(q.size()),    std::vector<float>(k.size()),
           std::vector<float>(k.size()), std::vector<float>(fm_q.size()), std::vector<float>(fm_k.size()),
           std::vector<float>(lg.size())};
  const ref::LinearMixerTrainParams<float> params{fm_q, fm_k, lg};
  ref::linear_mixer_train_forward<float>(q, k, v, p.d, params, c.n_tokens, c.n_seqs, r.out);
  ref::linear_mixer_backward<float>(q, k, v, dout, p.d, params, c.n_tokens, c.n_seqs,
                                    {r.dq, r.dk, r.dv, r.fm_q, r.fm_k, r.logits});
  return r;
}

// F32 on the GPU against double sums in the reference: seen ~1e-13 .. 1e-11.
constexpr double k_out_nmse = 1e-10, k_grad_nmse = 1e-9;

void expect_close(const char* what, const std::vector<float>& got, const std::vector<float>& want, double bound) {
  const double e = ref::nmse(got, want);
  if (print_errors()) std::printf("  %-7s nmse %.2e\n", what, e);
  EXPECT_LT(e, bound) << what;
}

void expect_all_close(const Result& g, const Result& want) {
  expect_close("out", g.out, want.out, k_out_nmse);
  expect_close("dq", g.dq, want.dq, k_grad_nmse);
  expect_close("dk", g.dk, want.dk, k_grad_nmse);
  expect_close("dv", g.dv, want.dv, k_grad_nmse);
  expect_close("fm_q", g.fm_q, want.fm_q, k_grad_nmse);
  expect_close("fm_k", g.fm_k, want.fm_k, k_grad_nmse);
  if (!want.logits.empty() && g.logits_cancel) {  // the factor cancels; the kernel's (A Lambda - L l) is exactly 0
    for (float x : g.logits) EXPECT_EQ(x, 0.0f) << "logits";
  } else {
    expect_close("logits", g.logits, want.logits, k_grad_nmse);
  }
}

class LinearMixerBackwardTest : public testing::TestWithParam<Case> {};

TEST_P(LinearMixerBackwardTest, MatchesReference) {
  const Problem p(GetParam(), 5);
  if (print_errors()) std::printf("%s\n", case_name(p.c).c_str());
  expect_all_close(run_gpu(p), run_ref(p));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LinearMixerBackwardTest,
    testing::Values(Case{16, 4, 2, 8, 4, 33, 2},                             // GQA, window, per-head maps
                    Case{16, 4, 2, 8, 0, 33, 1},                             // pure linear
                    Case{32, 4, 1, 16, 8, 40, 1, Maps::Kv},                  // MQA, one map pair
                    Case{16, 4, 2, 8, 5, 29, 1, Maps::QHeadsKKv},            // q maps per head, k per kv head
                    Case{64, 2, 2, 64, 16, 70, 1, Maps::Heads, true, true},  // LoLCATs-like, affine
                    Case{8, 3, 3, 5, 1, 17, 2, Maps::Heads, false},          // N = 1, no logits
                    Case{16, 6, 2, 12, 100, 20, 1},                          // window over everything
                    Case{128, 2, 1, 32, 8, 24, 1, Maps::Kv},                 // head_dim 128
                    Case{16, 2, 1, 8, 3, 1, 3}),                             // one token
    [](const auto& i) { return case_name(i.param); });

TEST(LinearMixerBackward, AccumulatesIntoGradients) {
  const Problem p(Case{16, 4, 2, 8, 4, 21, 2}, 9);
  Result init = run_ref(p);
  for (auto* v : {&init.dq, &init.dk, &init.dv, &init.fm_q, &init.fm_k, &init.logits})
    for (float& x : *v) x = 0.5f - x;
  Result want = run_ref(p);
  for (auto [a, b] : {std::pair{&want.dq, &init.dq},
                      {&want.dk, &init.dk},
                      {&want.dv, &init.dv},
                      {&want.fm_q, &init.fm_q},
                      {&want.fm_k, &init.fm_k},
                      {&want.logits, &init.logits}})
    for (size_t i = 0; i < a->size(); ++i) (*a)[i] += (*b)[i];
  expect_all_close(run_gpu(p, {true, true}, &init), want);
  const Result fresh = run_ref(p), mixed = run_gpu(p, {false, true}, &init);  // inputs overwritten
  expect_close("dq", mixed.dq, fresh.dq, k_grad_nmse);
  expect_close("fm_k", mixed.fm_k, want.fm_k, k_grad_nmse);
}

TEST(LinearMixerBackward, IsDeterministic) {
  const Problem p(Case{16, 4, 2, 8, 4, 45, 1}, 11);
  const Result a = run_gpu(p), b = run_gpu(p);
  EXPECT_EQ(a.dq, b.dq);
  EXPECT_EQ(a.dk, b.dk);
  EXPECT_EQ(a.dv, b.dv);
  EXPECT_EQ(a.fm_q, b.fm_q);
  EXPECT_EQ(a.logits, b.logits);
}

TEST(LinearMixerBackward, RejectsBadShapes) {
  ops::LinearMixerWeights w;
  w.fm_q = test::empty_tensor(DType::F32, {8, 16, 4, 1}, "fm_q");
  w.fm_k = test::empty_tensor(DType::F32, {8, 16, 3, 1}, "fm_k");  // 3 key maps for 4 heads over 2 kv heads
  Tensor q = test::empty_tensor(DType::F32, {16, 4, 8, 1}, "q"), k = test::empty_tensor(DType::F32, {16, 2, 8, 1}, "k");
  Tensor saved = test::empty_tensor(DType::F32, {100000, 1, 1, 1}, "saved");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::linear_mixer_train(r, q, k, k, w, 4, q, saved); }), Error);
  w.fm_k = test::empty_tensor(DType::F32, {8, 16, 4, 1}, "fm_k");
  Tensor small = test::empty_tensor(DType::F32, {64, 1, 1, 1}, "saved");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::linear_mixer_train(r, q, k, k, w, 4, q, small); }), Error);
  ops::LinearMixerWeights dw;
  dw.window_factor = test::empty_tensor(DType::F32, {4, 1, 1, 1}, "grad.wf");  // w has no logits
  EXPECT_THROW(test::run([&](vk::Recorder& r) {
                 ops::linear_mixer_backward(r, q, k, k, w, 4, q, saved, q, q, k, k, dw, saved);
               }),
               Error);
}

// ---- timing (DS_BENCH=1 only): a training window of a small student layer (d_model 384) ----
TEST(LinearMixerBench, TrainingWindow) {
  if (!std::getenv("DS_BENCH")) GTEST_SKIP() << "set DS_BENCH=1 to time the training linear mixer";
  const Problem p(Case{64, 6, 2, 64, 64, 512, 1}, 3);
  run_gpu(p);  // pipelines compiled, buffers touched
  const auto t0 = std::chrono::steady_clock::now();
  run_gpu(p);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[bench] linear mixer h6 kv2 hd64 F64 N64, 512 tokens: forward + backward %.1f ms (with uploads)\n", ms);
}

}  // namespace
}  // namespace ds
