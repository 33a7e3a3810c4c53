// Training Mamba core: the reference training forward agrees with the inference reference; the reference
// backward against central finite differences (double) of the training forward for the in_proj output (z, x, B,
// C), dt and every parameter (d_xb < d_inner and = d_inner, d_conv 2..4, with/without biases, several seeds and
// sequences); the GPU forward and backward against the reference at several checkpoint intervals; accumulation;
// determinism; rejected shapes. DS_GRAD_PRINT=1 prints the measured errors.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "ops/backward/mamba.h"
#include "ref/backward/mamba.h"
#include "ref/compare.h"
#include "ref/mamba.h"
#include "support/gpu.h"
#include "support/gradcheck.h"

namespace ds {
namespace {

struct Case {
  MambaDims dims;
  int n_tokens, n_seqs;
  bool biases = true;  // conv bias and dt bias
};

std::string case_name(const Case& c) {
  const MambaDims& m = c.dims;
  return "di" + std::to_string(m.d_inner) + "_xb" + std::to_string(m.d_xb) + "_ds" + std::to_string(m.d_state) + "_dc" +
         std::to_string(m.d_conv) + "_t" + std::to_string(c.n_tokens) + "_s" + std::to_string(c.n_seqs) +
         (c.biases ? "" : "_nobias");
}

bool print_errors() { return std::getenv("DS_GRAD_PRINT") != nullptr; }

void expect_fd(const char* what, const std::vector<double>& analytic, const std::vector<double>& fd) {
  const double err = test::rel_max_error(analytic, fd);
  if (print_errors()) std::printf("  %-8s fd error %.2e\n", what, err);
  EXPECT_LT(err, test::k_fd_bound) << what;
}

// Inputs of one problem in double (the float runs convert them).
struct Problem {
  Case c;
  std::vector<double> zxbc, dt, conv_w, conv_b, dt_bias, a_log, d, dy;
  Problem(const Case& cs, uint32_t seed) : c(cs) {
    const MambaDims& m = c.dims;
    const size_t tokens = size_t(c.n_tokens) * c.n_seqs;
    zxbc = test::random_doubles(size_t(m.zxbc_rows()) * tokens, seed, -1.5, 1.5);
    dt = test::random_doubles(size_t(m.d_inner) * tokens, seed + 1, -3.0, 1.0);
    conv_w = test::random_doubles(size_t(m.d_conv) * m.d_inner, seed + 2, -0.6, 0.6);
    if (c.biases) {
      conv_b = test::random_doubles(size_t(m.d_inner), seed + 3, -0.5, 0.5);
      dt_bias = test::random_doubles(size_t(m.d_inner), seed + 4, -2.0, 0.0);
    }
    a_log = test::random_doubles(size_t(m.d_state) * m.d_inner, seed + 5, -1.0, 1.5);
    d = test::random_doubles(size_t(m.d_inner), seed + 6, 0.5, 1.5);
    dy = test::random_doubles(size_t(m.d_inner) * tokens, seed + 7);
  }
  ref::MambaTrainParams<double> params() const { return {conv_w, conv_b, dt_bias, a_log, d}; }
};

// ---- reference: forward against the inference reference, backward against finite differences ----

TEST(MambaTrainRef, ForwardMatchesInferenceReference) {
  for (const Case& c : {Case{{32, 16, 4, 4}, 13, 2}, Case{{16, 16, 8, 2}, 9, 1, false}}) {
    const Problem p(c, 3);
    const MambaDims& m = c.dims;
    const auto zxbc = test::to_float(p.zxbc), dt = test::to_float(p.dt), conv_w = test::to_float(p.conv_w),
               conv_b = test::to_float(p.conv_b), dt_bias = test::to_float(p.dt_bias), a_log = test::to_float(p.a_log),
               d = test::to_float(p.d);
    std::vector<float> got(p.dy.size()), want(p.dy.size());
    ref::mamba_train_forward<float>(m, zxbc, dt, {conv_w, conv_b, dt_bias, a_log, d}, got, c.n_tokens, c.n_seqs);
    const size_t zx = size_t(m.zxbc_rows()) * c.n_tokens, per = size_t(m.d_inner) * c.n_tokens;
    for (int s = 0; s < c.n_seqs; ++s) {
      ref::MambaRefState state(m);
      ref::mamba_mixer(m, std::span(zxbc).subspan(s * zx, zx), std::span(dt).subspan(s * per, per),
                       {conv_w, conv_b, dt_bias, a_log, d}, state, std::span(want).subspan(s * per, per), c.n_tokens);
    }
    EXPECT_LT(ref::nmse(got, want), 1e-12) << case_name(c);
  }
}

class MambaGradCheck : public testing::TestWithParam<Case> {};

TEST_P(MambaGradCheck, ReferenceMatchesFiniteDifferences) {
  const Case c = GetParam();
  const MambaDims& m = c.dims;
  for (uint32_t seed : {1u, 2u, 3u}) {
    Problem p(c, seed * 10);
    std::vector<double> y(p.dy.size()), dzxbc(p.zxbc.size()), ddt(p.dt.size()), dconv_w(p.conv_w.size()),
        dconv_b(p.conv_b.size()), ddt_bias(p.dt_bias.size()), da_log(p.a_log.size()), dd(p.d.size());
    auto loss = [&] {
      ref::mamba_train_forward<double>(m, p.zxbc, p.dt, p.params(), y, c.n_tokens, c.n_seqs);
      return test::dot(p.dy, y);
    };
    ref::mamba_backward<double>(m, p.zxbc, p.dt, p.params(), p.dy, {dzxbc, ddt, dconv_w, dconv_b, ddt_bias, da_log, dd},
                                c.n_tokens, c.n_seqs);
    SCOPED_TRACE("seed " + std::to_string(seed));
    if (print_errors()) std::printf("%s seed %u\n", case_name(c).c_str(), seed);
    expect_fd("zxbc", dzxbc, test::finite_diff(p.zxbc, loss));
    expect_fd("dt", ddt, test::finite_diff(p.dt, loss));
    expect_fd("conv_w", dconv_w, test::finite_diff(p.conv_w, loss));
    expect_fd("a_log", da_log, test::finite_diff(p.a_log, loss));
    expect_fd("d", dd, test::finite_diff(p.d, loss));
    if (c.biases) {
      expect_fd("conv_b", dconv_b, test::finite_diff(p.conv_b, loss));
      expect_fd("dt_bias", ddt_bias, test::finite_diff(p.dt_bias, loss));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MambaGradCheck,
                         testing::Values(Case{{8, 4, 2, 4}, 9, 2},         // d_xb < d_inner: 2 groups, repeat 2
                                         Case{{12, 4, 2, 3}, 7, 1},        // repeat 3, d_conv 3
                                         Case{{8, 8, 4, 2}, 8, 1, false},  // d_xb = d_inner, no biases
                                         Case{{8, 2, 2, 4}, 3, 2}),        // one group; fewer tokens than d_conv
                         [](const auto& i) { return case_name(i.param); });

// ---- GPU against the reference ----

// Everything one GPU run produces (downloaded).
struct GpuResult {
  std::vector<float> y, zxbc, dt, conv_w, conv_b, dt_bias, a_log, d;
};

// Forward + backward in one recording. `init`: gradients the outputs hold before (for accumulation).
GpuResult run_gpu(const Problem& p, int checkpoint, const ops::GradMode& mode = {}, const GpuResult* init = nullptr) {
  const Case& c = p.c;
  const MambaDims& m = c.dims;
  const int64_t T = c.n_tokens, S = c.n_seqs, di = m.d_inner;
  auto up = [](const std::vector<double>& v, std::array<int64_t, 4> ne, const char* name) {
    return test::tensor_from(test::to_float(v), DType::F32, ne, name);
  };
  ops::MambaWeights w, dw;
  w.conv_w = up(p.conv_w, {m.d_conv, 1, di, 1}, "blk.0.ssm_conv1d.weight");
  w.a_log = up(p.a_log, {m.d_state, di, 1, 1}, "blk.0.ssm_a_log");
  w.d = up(p.d, {di, 1, 1, 1}, "blk.0.ssm_d");
  dw.conv_w = test::empty_tensor(DType::F32, w.conv_w.ne, "grad.conv_w");
  dw.a_log = test::empty_tensor(DType::F32, w.a_log.ne, "grad.a_log");
  dw.d = test::empty_tensor(DType::F32, w.d.ne, "grad.d");
  if (c.biases) {
    w.conv_b = up(p.conv_b, {di, 1, 1, 1}, "blk.0.ssm_conv1d.bias");
    w.dt_bias = up(p.dt_bias, {di, 1, 1, 1}, "blk.0.ssm_dt.bias");
    dw.conv_b = test::empty_tensor(DType::F32, w.conv_b.ne, "grad.conv_b");
    dw.dt_bias = test::empty_tensor(DType::F32, w.dt_bias.ne, "grad.dt_bias");
  }
  Tensor zxbc = up(p.zxbc, {m.zxbc_rows(), T, S, 1}, "zxbc"), dt = up(p.dt, {di, T, S, 1}, "dt");
  Tensor dy = up(p.dy, {di, T, S, 1}, "dy"), y = test::empty_tensor(DType::F32, dt.ne, "y");
  Tensor d_zxbc = test::empty_tensor(DType::F32, zxbc.ne, "d_zxbc"),
         d_dt = test::empty_tensor(DType::F32, dt.ne, "d_dt");
  if (init) {
    auto& dev = test::device();
    for (auto [t, v] : {std::pair{&d_zxbc, &init->zxbc},
                        {&d_dt, &init->dt},
                        {&dw.conv_w, &init->conv_w},
                        {&dw.conv_b, &init->conv_b},
                        {&dw.dt_bias, &init->dt_bias},
                        {&dw.a_log, &init->a_log},
                        {&dw.d, &init->d}})
      if (*t) upload_f32(dev, *t, *v);
  }
  const ops::MambaTrainOptions opt{checkpoint};
  Tensor saved =
      test::empty_tensor(DType::F32, {int64_t(ops::mamba_train_saved_elems(m, int(T), int(S), opt)), 1, 1, 1}, "saved");
  Tensor scratch = test::empty_tensor(
      DType::F32, {int64_t(ops::mamba_backward_scratch_elems(m, int(T), int(S), opt)), 1, 1, 1}, "scratch");
  test::run([&](vk::Recorder& r) {
    ops::mamba_train(r, zxbc, dt, w, y, saved, m, opt);
    ops::mamba_backward(r, zxbc, dt, w, saved, dy, d_zxbc, d_dt, dw, scratch, m, opt, mode);
  });
  auto& dev = test::device();
  auto get = [&](const Tensor& t) { return t ? download_f32(dev, t) : std::vector<float>{}; };
  return {get(y), get(d_zxbc), get(d_dt), get(dw.conv_w), get(dw.conv_b), get(dw.dt_bias), get(dw.a_log), get(dw.d)};
}

// The float reference of the same problem (inputs rounded to float as the GPU sees them).
GpuResult run_ref(const Problem& p) {
  const Case& c = p.c;
  const auto zxbc = test::to_float(p.zxbc), dt = test::to_float(p.dt), conv_w = test::to_float(p.conv_w),
             conv_b = test::to_float(p.conv_b), dt_bias = test::to_float(p.dt_bias), a_log = test::to_float(p.a_log),
             d = test::to_float(p.d), dy = test::to_float(p.dy);
  const ref::MambaTrainParams<float> params{conv_w, conv_b, dt_bias, a_log, d};
  GpuResult r{std::vector<float>(dy.size()),     std::vector<float>(zxbc.size()),   std::vector<float>(dt.size()),
              std::vector<float>(conv_w.size()), std::vector<float>(conv_b.size()), std::vector<float>(dt_bias.size()),
              std::vector<float>(a_log.size()),  std::vector<float>(d.size())};
  ref::mamba_train_forward<float>(c.dims, zxbc, dt, params, r.y, c.n_tokens, c.n_seqs);
  ref::mamba_backward<float>(c.dims, zxbc, dt, params, dy, {r.zxbc, r.dt, r.conv_w, r.conv_b, r.dt_bias, r.a_log, r.d},
                             c.n_tokens, c.n_seqs);
  return r;
}

// Outputs F32 on both sides (sums over up to T tokens of float products on the GPU): seen ~1e-13 .. 1e-11.
constexpr double k_out_nmse = 1e-10, k_grad_nmse = 1e-9;

void expect_close(const char* what, const std::vector<float>& got, const std::vector<float>& want, double bound) {
  const double e = ref::nmse(got, want);
  if (print_errors()) std::printf("  %-8s nmse %.2e\n", what, e);
  EXPECT_LT(e, bound) << what;
}

void expect_all_close(const GpuResult& g, const GpuResult& want) {
  expect_close("y", g.y, want.y, k_out_nmse);
  expect_close("zxbc", g.zxbc, want.zxbc, k_grad_nmse);
  expect_close("dt", g.dt, want.dt, k_grad_nmse);
  expect_close("conv_w", g.conv_w, want.conv_w, k_grad_nmse);
  expect_close("conv_b", g.conv_b, want.conv_b, k_grad_nmse);
  expect_close("dt_bias", g.dt_bias, want.dt_bias, k_grad_nmse);
  expect_close("a_log", g.a_log, want.a_log, k_grad_nmse);
  expect_close("d", g.d, want.d, k_grad_nmse);
}

struct GpuCase {
  Case c;
  int checkpoint;
};

class MambaBackwardTest : public testing::TestWithParam<GpuCase> {};

TEST_P(MambaBackwardTest, MatchesReference) {
  const GpuCase gc = GetParam();
  const Problem p(gc.c, 5);
  if (print_errors()) std::printf("%s checkpoint %d\n", case_name(gc.c).c_str(), gc.checkpoint);
  expect_all_close(run_gpu(p, gc.checkpoint), run_ref(p));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MambaBackwardTest,
    testing::Values(GpuCase{{{64, 32, 4, 4}, 37, 2}, 16},        // 16 heads of 4 per workgroup, repeat 2
                    GpuCase{{{64, 32, 4, 4}, 37, 1}, 3},         // checkpoints at the conv history length
                    GpuCase{{{64, 32, 4, 4}, 5, 3}, 1},          // a checkpoint every token
                    GpuCase{{{64, 32, 4, 4}, 1, 2}, 16},         // one token
                    GpuCase{{{128, 32, 16, 4}, 70, 1}, 16},      // Apriel-like d_state 16, repeat 4, 5 chunks
                    GpuCase{{{96, 48, 48, 3}, 20, 2}, 7},        // d_state 48: one head per workgroup
                    GpuCase{{{256, 128, 128, 2}, 12, 1}, 5},     // d_state 128
                    GpuCase{{{32, 32, 8, 4}, 40, 2, false}, 9},  // d_xb = d_inner, no biases
                    GpuCase{{{96, 32, 16, 4}, 200, 1}, 100}),    // few long chunks, 6 heads
    [](const auto& i) { return case_name(i.param.c) + "_ck" + std::to_string(i.param.checkpoint); });

TEST(MambaBackward, AccumulatesIntoGradients) {
  const Problem p(Case{{64, 32, 8, 4}, 19, 2}, 9);
  GpuResult init = run_ref(p);  // any values of the right sizes
  for (auto* v : {&init.zxbc, &init.dt, &init.conv_w, &init.conv_b, &init.dt_bias, &init.a_log, &init.d})
    for (float& x : *v) x = 0.25f - x;
  GpuResult want = run_ref(p);
  auto add = [](std::vector<float>& a, const std::vector<float>& b) {
    for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  };
  for (auto [a, b] : {std::pair{&want.zxbc, &init.zxbc},
                      {&want.dt, &init.dt},
                      {&want.conv_w, &init.conv_w},
                      {&want.conv_b, &init.conv_b},
                      {&want.dt_bias, &init.dt_bias},
                      {&want.a_log, &init.a_log},
                      {&want.d, &init.d}})
    add(*a, *b);
  expect_all_close(run_gpu(p, 4, {true, true}, &init), want);
  // inputs accumulated, parameters overwritten
  GpuResult mixed = run_gpu(p, 4, {true, false}, &init);
  const GpuResult fresh = run_ref(p);
  expect_close("zxbc", mixed.zxbc, want.zxbc, k_grad_nmse);
  expect_close("a_log", mixed.a_log, fresh.a_log, k_grad_nmse);
}

TEST(MambaBackward, IsDeterministic) {
  const Problem p(Case{{128, 32, 16, 4}, 45, 2}, 11);
  const GpuResult a = run_gpu(p, 8), b = run_gpu(p, 8);
  EXPECT_EQ(a.zxbc, b.zxbc);
  EXPECT_EQ(a.dt, b.dt);
  EXPECT_EQ(a.a_log, b.a_log);
  EXPECT_EQ(a.conv_w, b.conv_w);
}

TEST(MambaBackward, RejectsBadShapes) {
  const MambaDims m{64, 32, 4, 4};
  ops::MambaWeights w;
  w.conv_w = test::empty_tensor(DType::F32, {4, 1, 64, 1}, "conv_w");
  w.a_log = test::empty_tensor(DType::F32, {4, 64, 1, 1}, "a_log");
  w.d = test::empty_tensor(DType::F32, {64, 1, 1, 1}, "d");
  Tensor zxbc = test::empty_tensor(DType::F32, {m.zxbc_rows(), 8, 1, 1}, "zxbc");
  Tensor bad_dt = test::empty_tensor(DType::F32, {64, 7, 1, 1}, "dt");
  Tensor saved = test::empty_tensor(DType::F32, {4096, 1, 1, 1}, "saved");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::mamba_train(r, zxbc, bad_dt, w, bad_dt, saved, m); }), Error);
  Tensor dt = test::empty_tensor(DType::F32, {64, 8, 1, 1}, "dt");
  Tensor small = test::empty_tensor(DType::F32, {16, 1, 1, 1}, "saved");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::mamba_train(r, zxbc, dt, w, dt, small, m); }), Error);
  ops::MambaWeights dw;
  dw.conv_b = test::empty_tensor(DType::F32, {64, 1, 1, 1}, "grad.conv_b");  // w has no conv bias
  Tensor scratch =
      test::empty_tensor(DType::F32, {int64_t(ops::mamba_backward_scratch_elems(m, 8, 1)), 1, 1, 1}, "scratch");
  EXPECT_THROW(
      test::run([&](vk::Recorder& r) { ops::mamba_backward(r, zxbc, dt, w, saved, dt, zxbc, dt, dw, scratch, m); }),
      Error);
}

// ---- timing (DS_BENCH=1 only): a training window of a small student layer (d_model 384) ----
TEST(MambaBench, TrainingWindow) {
  if (!std::getenv("DS_BENCH")) GTEST_SKIP() << "set DS_BENCH=1 to time the training Mamba core";
  const Problem p(Case{{384, 128, 16, 4}, 512, 1}, 3);
  run_gpu(p, 16);  // pipelines compiled, buffers touched
  const auto t0 = std::chrono::steady_clock::now();
  run_gpu(p, 16);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[bench] mamba d_inner 384 d_xb 128 d_state 16, 512 tokens: forward + backward %.1f ms (with uploads)\n",
              ms);
}

}  // namespace
}  // namespace ds
