// The `linear` mixer: the reference's quadratic and recurrent forms agree; the GPU op against them at several
// (n_heads, n_kv, head_dim, F, N) with LoLCATs-style per-head maps and shared per-kv-head maps; chunked prefill
// equals token-by-token decode (outputs and final state) across chunk and window boundaries; one decode command
// buffer recorded once and replayed; a window covering the context is exactly softmax attention; state size;
// the feature-map initialization; rejected shapes. DS_LINMIX_PRINT=1 prints every measured error; DS_BENCH=1
// times decode at several context lengths.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "ops/linear_mixer.h"
#include "ref/attention.h"
#include "ref/compare.h"
#include "ref/linear_mixer.h"
#include "support/gpu.h"

namespace ds {
namespace {

struct Config {
  int n_heads, n_kv, head_dim, features, window;
  bool per_head_maps = true;  // LoLCATs: q and k maps per query head (n_state = n_heads); else per kv head
  bool window_logits = true;  // a window-factor tensor
  bool affine = false;
};

std::string config_name(const Config& c) {
  return "h" + std::to_string(c.n_heads) + "_kv" + std::to_string(c.n_kv) + "_hd" + std::to_string(c.head_dim) +
         "_F" + std::to_string(c.features) + "_N" + std::to_string(c.window) +
         (c.per_head_maps ? "_headmaps" : "_kvmaps") + (c.window_logits ? "_wf" : "") + (c.affine ? "_affine" : "");
}

void PrintTo(const Config& c, std::ostream* os) { *os << config_name(c); }

ref::LinearMixerDims dims_of(const Config& c) {
  ref::LinearMixerDims d;
  d.head_dim = c.head_dim;
  d.n_heads = c.n_heads;
  d.n_kv = c.n_kv;
  d.n_fm_q = c.per_head_maps ? c.n_heads : c.n_kv;
  d.n_state = c.per_head_maps ? c.n_heads : c.n_kv;
  d.features = c.features;
  d.window = c.window;
  d.scale = 1.0f / std::sqrt(float(c.head_dim));
  d.affine = c.affine;
  return d;
}

// Weights and a token sequence of one layer.
struct Problem {
  Config c;
  ref::LinearMixerDims d;
  std::vector<float> fm_q, fm_k, logits;  // (maps, head_dim, F), (n_heads)
  std::vector<float> q, k, v;             // (n, heads, head_dim)
  int n = 0;

  ref::LinearMixerParams params() const { return {fm_q, fm_k, logits}; }
  const float* q_at(int t) const { return &q[size_t(t) * c.n_heads * c.head_dim]; }
  const float* k_at(int t) const { return &k[size_t(t) * c.n_kv * c.head_dim]; }
  const float* v_at(int t) const { return &v[size_t(t) * c.n_kv * c.head_dim]; }
};

Problem make_problem(const Config& c, int n, uint32_t seed) {
  Problem p{c, dims_of(c)};
  const float w = 3.0f / std::sqrt(float(c.head_dim));  // x W has a spread of about 1: peaked feature softmaxes
  p.fm_q = test::random_floats(size_t(p.d.n_fm_q) * c.head_dim * c.features, seed, -w, w);
  p.fm_k = test::random_floats(size_t(p.d.n_state) * c.head_dim * c.features, seed + 1, -w, w);
  if (c.window_logits) p.logits = test::random_floats(size_t(c.n_heads), seed + 2, -2, 2);
  p.n = n;
  p.q = test::random_floats(size_t(n) * c.n_heads * c.head_dim, seed + 3, -2, 2);
  p.k = test::random_floats(size_t(n) * c.n_kv * c.head_dim, seed + 4, -2, 2);
  p.v = test::random_floats(size_t(n) * c.n_kv * c.head_dim, seed + 5, -1, 1);
  return p;
}

std::vector<float> to_float(const std::vector<double>& x) { return {x.begin(), x.end()}; }

Tensor step_tensor(int n_past, int n_tokens) {
  Tensor t = test::empty_tensor(DType::I32, {4, 1, 1, 1}, "step");
  int32_t v[4] = {n_past, n_tokens, 0, 0};
  upload(test::device(), t, v);
  return t;
}

// The GPU side of one layer: weights and state on the device; run() feeds a batch at the current position.
struct GpuMixer {
  const Problem& p;
  ops::LinearMixerWeights w;
  ops::LinearMixerState state;
  ops::LinearMixerOptions options;
  int n_past = 0;

  explicit GpuMixer(const Problem& prob) : p(prob) {
    const Config& c = p.c;
    w.fm_q = test::tensor_from(p.fm_q, DType::F32, {c.features, c.head_dim, p.d.n_fm_q, 1}, "blk.0.lin_fm_q");
    w.fm_k = test::tensor_from(p.fm_k, DType::F32, {c.features, c.head_dim, p.d.n_state, 1}, "blk.0.lin_fm_k");
    if (c.window_logits) w.window_factor = test::tensor_from(p.logits, DType::F32, {c.n_heads, 1, 1, 1}, "wf");
    options.affine_factors = c.affine;
    state = ops::make_linear_mixer_state(test::arena(), shape(), "blk.0");
    test::run([&](vk::Recorder& r) { ops::linear_mixer_reset(r, state); });
  }

  ops::LinearMixerShape shape() const {
    return {p.c.head_dim, p.c.n_heads, p.c.n_kv, p.d.n_fm_q, p.d.n_state, p.c.features, p.c.window};
  }

  // Tokens [t0, t0 + n) of the problem as one batch; returns the output (n, n_heads, head_dim).
  std::vector<float> run(int t0, int n) {
    const Config& c = p.c;
    auto slice = [&](const std::vector<float>& x, int heads) {
      const size_t row = size_t(heads) * c.head_dim;
      return std::vector<float>(x.begin() + t0 * row, x.begin() + (t0 + n) * row);
    };
    Tensor q = test::tensor_from(slice(p.q, c.n_heads), DType::F32, {c.head_dim, c.n_heads, n, 1}, "q");
    Tensor k = test::tensor_from(slice(p.k, c.n_kv), DType::F32, {c.head_dim, c.n_kv, n, 1}, "k");
    Tensor v = test::tensor_from(slice(p.v, c.n_kv), DType::F32, {c.head_dim, c.n_kv, n, 1}, "v");
    Tensor out = test::empty_tensor(DType::F32, q.ne, "out");
    Tensor step = step_tensor(n_past, n);
    Tensor scratch = test::empty_tensor(
        DType::F32, {int64_t(ops::linear_mixer_scratch_elems(shape(), n)), 1, 1, 1}, "scratch");
    test::run([&](vk::Recorder& r) {
      ops::linear_mixer(r, q, k, v, w, state, step, c.window, out, scratch, options);
    });
    n_past += n;
    return download_f32(test::device(), out);
  }
};

struct StateHost {
  std::vector<float> s, z, ring_k, ring_v;
};

StateHost download_state(const ops::LinearMixerState& st) {
  StateHost h{download_f32(test::device(), st.s), download_f32(test::device(), st.z), {}, {}};
  if (st.ring_k) {
    h.ring_k = download_f32(test::device(), st.ring_k);
    h.ring_v = download_f32(test::device(), st.ring_v);
  }
  return h;
}

// Rows [t0, t0 + n) of a (n_total, heads, head_dim) output.
std::vector<float> rows(const std::vector<float>& x, const Config& c, int t0, int n) {
  const size_t row = size_t(c.n_heads) * c.head_dim;
  return {x.begin() + t0 * row, x.begin() + (t0 + n) * row};
}

// EXPECT_LT on the normalized MSE, recording the largest value seen per kind as a test property.
void expect_nmse(std::span<const float> got, std::span<const float> want, double limit, const std::string& what) {
  const double err = ref::nmse(got, want);
  EXPECT_LT(err, limit) << what;
  if (std::getenv("DS_LINMIX_PRINT")) std::printf("[nmse] %s %.3g\n", what.c_str(), err);
}

// GPU (F32 sums) against the double reference. Measured on lavapipe: outputs <= ~1e-13, state <= ~1e-14.
constexpr double k_out_nmse = 1e-10;
constexpr double k_state_nmse = 1e-10;
constexpr double k_chunk_nmse = 1e-11;  // chunked vs one token at a time: F32 sums in another order

void expect_state(const StateHost& got, const ref::LinearMixerRefState& want, const char* what) {
  expect_nmse(got.s, to_float(want.s), k_state_nmse, cat(what, ": s"));
  expect_nmse(got.z, to_float(want.z), k_state_nmse, cat(what, ": z"));
  EXPECT_EQ(got.ring_k, want.ring_k) << what << ": ring_k";
  EXPECT_EQ(got.ring_v, want.ring_v) << what << ": ring_v";
}

const Config k_configs[] = {
    {8, 4, 8, 16, 0},          {8, 4, 8, 8, 4},           {32, 8, 64, 32, 64},
    {6, 2, 48, 16, 16},        {8, 4, 8, 8, 4, false},    {6, 2, 48, 16, 16, false, true, true},
    {8, 4, 8, 16, 0, false},   {4, 4, 32, 64, 8, true, false}, {2, 1, 128, 64, 32, true, true, true},
};

// ---- reference: quadratic form == recurrent form ----
class LinearMixerRef : public testing::TestWithParam<Config> {};

TEST_P(LinearMixerRef, QuadraticEqualsRecurrent) {
  const Config c = GetParam();
  const Problem p = make_problem(c, 90, 7);
  std::vector<float> quad(p.q.size()), rec(p.q.size());
  ref::linear_mixer_quadratic(p.q, p.k, p.v, p.d, p.params(), p.n, quad);
  ref::LinearMixerRefState st = ref::make_linear_mixer_ref_state(p.d);
  // Uneven pieces: the recurrent form only ever sees one token at a time, whatever the batch.
  int t = 0;
  for (int piece : {1, 2, 30, 57}) {
    const size_t qrow = size_t(c.n_heads) * c.head_dim, krow = size_t(c.n_kv) * c.head_dim;
    ref::linear_mixer_recurrent(st, {p.q_at(t), piece * qrow}, {p.k_at(t), piece * krow}, {p.v_at(t), piece * krow},
                                p.d, p.params(), piece, {rec.data() + t * qrow, piece * qrow});
    t += piece;
  }
  ASSERT_EQ(t, p.n);
  expect_nmse(rec, quad, 1e-13, "recurrent vs quadratic");
}

TEST_P(LinearMixerRef, AttentionRowsAreNormalizedAndCausal) {
  const Config c = GetParam();
  const Problem p = make_problem(c, 20, 9);
  const auto a = ref::linear_mixer_attention(p.q, p.k, p.d, p.params(), p.n);
  for (int h = 0; h < c.n_heads; ++h)
    for (int i = 0; i < p.n; ++i) {
      double sum = 0;
      for (int j = 0; j < p.n; ++j) {
        const double x = a[(size_t(h) * p.n + i) * p.n + j];
        if (j > i) {
          ASSERT_EQ(x, 0.0) << "weight on a future key";
        } else {
          ASSERT_GT(x, 0.0);
        }
        sum += x;
      }
      ASSERT_NEAR(sum, 1.0, 1e-12);
    }
}

INSTANTIATE_TEST_SUITE_P(Configs, LinearMixerRef, testing::ValuesIn(k_configs),
                         [](const auto& info) { return config_name(info.param); });

// ---- GPU against the reference: prefill, a second prefill, then decode ----
class LinearMixerGpu : public testing::TestWithParam<Config> {};

TEST_P(LinearMixerGpu, MatchesReference) {
  const Config c = GetParam();
  const int n1 = 45, n2 = 70, n_decode = 6, n = n1 + n2 + n_decode;
  const Problem p = make_problem(c, n, 21);
  std::vector<float> want(p.q.size());
  ref::linear_mixer_quadratic(p.q, p.k, p.v, p.d, p.params(), n, want);
  GpuMixer g(p);
  const auto out1 = g.run(0, n1);
  expect_nmse(out1, rows(want, c, 0, n1), k_out_nmse, "first prefill");
  const auto out2 = g.run(n1, n2);
  expect_nmse(out2, rows(want, c, n1, n2), k_out_nmse, "second prefill");
  for (int t = n1 + n2; t < n; ++t) {
    const auto o = g.run(t, 1);
    expect_nmse(o, rows(want, c, t, 1), k_out_nmse, cat("decode at ", t));
  }
  ref::LinearMixerRefState st = ref::make_linear_mixer_ref_state(p.d);
  std::vector<float> scratch(p.q.size());
  ref::linear_mixer_recurrent(st, p.q, p.k, p.v, p.d, p.params(), n, scratch);
  expect_state(download_state(g.state), st, "final state");
}

INSTANTIATE_TEST_SUITE_P(Configs, LinearMixerGpu, testing::ValuesIn(k_configs),
                         [](const auto& info) { return config_name(info.param); });

// ---- chunked prefill == token-by-token decode ----
struct ChunkCase {
  Config c;
  int n_tokens, n_past;
};

class LinearMixerChunked : public testing::TestWithParam<ChunkCase> {};

TEST_P(LinearMixerChunked, PrefillEqualsDecode) {
  const auto [c, n_tokens, n_past] = GetParam();
  const Problem p = make_problem(c, n_past + n_tokens, 33);
  GpuMixer batch(p), single(p);
  if (n_past > 0) {  // the same prefix on both
    batch.run(0, n_past);
    single.run(0, n_past);
  }
  const auto out_batch = batch.run(n_past, n_tokens);
  std::vector<float> out_single;
  for (int t = n_past; t < n_past + n_tokens; ++t) {
    const auto o = single.run(t, 1);
    out_single.insert(out_single.end(), o.begin(), o.end());
  }
  expect_nmse(out_batch, out_single, k_chunk_nmse, "batch vs one by one: out");
  const StateHost a = download_state(batch.state), b = download_state(single.state);
  expect_nmse(a.s, b.s, k_chunk_nmse, "batch vs one by one: s");
  expect_nmse(a.z, b.z, k_chunk_nmse, "batch vs one by one: z");
  EXPECT_EQ(a.ring_k, b.ring_k);
  EXPECT_EQ(a.ring_v, b.ring_v);
  // and both against the reference
  std::vector<float> want(p.q.size());
  ref::linear_mixer_quadratic(p.q, p.k, p.v, p.d, p.params(), p.n, want);
  expect_nmse(out_batch, rows(want, c, n_past, n_tokens), k_out_nmse, "batch vs reference");
}

std::vector<ChunkCase> chunk_cases() {
  std::vector<ChunkCase> v;
  for (const Config& c : {Config{8, 4, 8, 8, 4}, Config{6, 2, 48, 16, 16, false}, Config{8, 4, 8, 16, 0},
                          Config{4, 2, 32, 32, 64}})
    for (int n_tokens : {1, 5, 63, 64, 65, 200})
      for (int n_past : {0, 37}) v.push_back({c, n_tokens, n_past});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Cases, LinearMixerChunked, testing::ValuesIn(chunk_cases()), [](const auto& info) {
  return config_name(info.param.c) + "_tok" + std::to_string(info.param.n_tokens) + "_past" +
         std::to_string(info.param.n_past);
});

// ---- one decode command buffer, replayed ----
// q, k, v and step live in host-visible memory, rewritten before every submit; nothing is re-recorded.
class LinearMixerReplay : public testing::TestWithParam<Config> {};

TEST_P(LinearMixerReplay, RecordOnceReplay100Steps) {
  const Config c = GetParam();
  const int steps = 100;
  const Problem p = make_problem(c, steps, 41);
  GpuMixer g(p);
  vk::Arena host(test::device(), "host-written", vk::MemoryKind::Upload, 1 << 20);
  Tensor step = make_tensor(host, DType::I32, {4, 1, 1, 1}, "step");
  Tensor q = make_tensor(host, DType::F32, {c.head_dim, c.n_heads, 1, 1}, "q");
  Tensor k = make_tensor(host, DType::F32, {c.head_dim, c.n_kv, 1, 1}, "k");
  Tensor v = make_tensor(host, DType::F32, {c.head_dim, c.n_kv, 1, 1}, "v");
  ASSERT_TRUE(step.buf.mapped && q.buf.mapped && k.buf.mapped && v.buf.mapped);
  Tensor out = test::empty_tensor(DType::F32, q.ne, "out");
  Tensor scratch = test::empty_tensor(
      DType::F32, {int64_t(ops::linear_mixer_scratch_elems(g.shape(), 1)), 1, 1, 1}, "scratch");

  vk::Recording cmd(test::device());
  cmd.begin();
  {
    vk::Recorder r(test::device(), cmd.cmd());
    ops::linear_mixer(r, q, k, v, g.w, g.state, step, c.window, out, scratch, g.options);
  }
  cmd.end();

  std::vector<float> want(p.q.size());
  ref::linear_mixer_quadratic(p.q, p.k, p.v, p.d, p.params(), p.n, want);
  const uint64_t allocated = test::device().allocated_bytes();
  for (int t = 0; t < steps; ++t) {
    const int32_t st[4] = {t, 1, 0, 0};
    std::memcpy(step.buf.mapped, st, sizeof st);
    std::memcpy(q.buf.mapped, p.q_at(t), q.n_bytes());
    std::memcpy(k.buf.mapped, p.k_at(t), k.n_bytes());
    std::memcpy(v.buf.mapped, p.v_at(t), v.n_bytes());
    cmd.submit_and_wait();
    expect_nmse(download_f32(test::device(), out), rows(want, c, t, 1), k_out_nmse, cat("replay step ", t));
    if (HasFailure()) return;
  }
  EXPECT_EQ(test::device().allocated_bytes(), allocated) << "decoding allocated memory";
  ref::LinearMixerRefState st = ref::make_linear_mixer_ref_state(p.d);
  std::vector<float> scratch_out(p.q.size());
  ref::linear_mixer_recurrent(st, p.q, p.k, p.v, p.d, p.params(), p.n, scratch_out);
  expect_state(download_state(g.state), st, "after replay");
}

INSTANTIATE_TEST_SUITE_P(Configs, LinearMixerReplay,
                         testing::Values(Config{8, 4, 8, 8, 4}, Config{32, 8, 64, 32, 64}, Config{8, 4, 8, 16, 0},
                                         Config{6, 2, 48, 16, 16, false, true, true}),
                         [](const auto& info) { return config_name(info.param); });

// ---- a window covering the whole context is exactly softmax attention ----
// With every key inside the window the linear terms vanish and the window factor cancels in the shared
// normalizer: any error in how the two parts are combined shows here.
TEST(LinearMixerWindow, CoveringTheContextIsSoftmaxAttention) {
  for (const Config& c : {Config{8, 4, 8, 8, 64, true, true, false}, Config{6, 2, 48, 16, 80, false, true, true}}) {
    const int n1 = 33, n = 60;  // prefill then decode, all within the window
    const Problem p = make_problem(c, n, 51);
    GpuMixer g(p);
    auto got = g.run(0, n1);
    for (int t = n1; t < n; ++t) {
      const auto o = g.run(t, 1);
      got.insert(got.end(), o.begin(), o.end());
    }
    // Plain causal softmax attention over a cache holding all n keys and values.
    std::vector<float> kc(size_t(c.n_kv) * n * c.head_dim), vc(kc.size()), want(p.q.size());
    for (int t = 0; t < n; ++t)
      for (int h = 0; h < c.n_kv; ++h)
        for (int i = 0; i < c.head_dim; ++i) {
          kc[(size_t(h) * n + t) * c.head_dim + i] = p.k[(size_t(t) * c.n_kv + h) * c.head_dim + i];
          vc[(size_t(h) * n + t) * c.head_dim + i] = p.v[(size_t(t) * c.n_kv + h) * c.head_dim + i];
        }
    ref::attention(p.q, kc, vc, want, c.head_dim, c.n_heads, c.n_kv, n, n, 0, p.d.scale);
    expect_nmse(got, want, k_out_nmse, "window covering the context vs softmax " + config_name(c));
  }
}

// ---- timing (DS_BENCH=1 only) ----
// One decode step of a layer shaped like a LoLCATs Llama-3-8B layer (32 heads, 8 kv heads, head_dim 128,
// F 64, window 64), recorded `reps` times into one command buffer, at n_past 1k .. 32k: the state has a
// fixed size, so the time must not depend on n_past.
TEST(LinearMixerBench, DecodeTimeIndependentOfContext) {
  if (!std::getenv("DS_BENCH")) GTEST_SKIP() << "set DS_BENCH=1 to time the linear mixer";
  const Config c{32, 8, 128, 64, 64};
  const Problem p = make_problem(c, 1, 81);
  GpuMixer g(p);
  Tensor q = test::tensor_from(p.q, DType::F32, {c.head_dim, c.n_heads, 1, 1}, "q");
  Tensor k = test::tensor_from(p.k, DType::F32, {c.head_dim, c.n_kv, 1, 1}, "k");
  Tensor v = test::tensor_from(p.v, DType::F32, {c.head_dim, c.n_kv, 1, 1}, "v");
  Tensor out = test::empty_tensor(DType::F32, q.ne, "out");
  Tensor scratch = test::empty_tensor(
      DType::F32, {int64_t(ops::linear_mixer_scratch_elems(g.shape(), 1)), 1, 1, 1}, "scratch");
  vk::Arena host(test::device(), "host-written", vk::MemoryKind::Upload, 1 << 16);
  Tensor step = make_tensor(host, DType::I32, {4, 1, 1, 1}, "step");
  const int reps = test::device().info().type == "cpu" ? 3 : 50;
  vk::Recording cmd(test::device());
  cmd.begin();
  {
    vk::Recorder r(test::device(), cmd.cmd());
    for (int i = 0; i < reps; ++i) ops::linear_mixer(r, q, k, v, g.w, g.state, step, c.window, out, scratch, g.options);
  }
  cmd.end();
  for (int n_past : {1024, 4096, 16384, 32768}) {
    const int32_t st[4] = {n_past, 1, 0, 0};
    std::memcpy(step.buf.mapped, st, sizeof st);
    cmd.submit_and_wait();  // warm-up
    auto t0 = std::chrono::steady_clock::now();
    cmd.submit_and_wait();
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
    std::printf("[bench] linear_mixer decode h%d kv%d hd%d F%d N%d at n_past %d: %.1f us per layer\n", c.n_heads,
                c.n_kv, c.head_dim, c.features, c.window, n_past, us);
    std::fflush(stdout);
  }
  EXPECT_TRUE(std::isfinite(download_f32(test::device(), out)[0]));
}

// ---- state layout ----
TEST(LinearMixerState, SizeIsFixed) {
  const ops::LinearMixerShape s{64, 32, 8, 32, 32, 32, 64};
  const auto l = ops::linear_mixer_state_layout(s);
  EXPECT_EQ(l.s, (std::array<int64_t, 4>{64, 64, 32, 1}));
  EXPECT_EQ(l.z, (std::array<int64_t, 4>{64, 32, 1, 1}));
  EXPECT_EQ(l.ring_k, (std::array<int64_t, 4>{64, 64, 8, 1}));
  EXPECT_EQ(l.bytes, size_t(4) * (64 * 64 * 32 + 64 * 32 + 2 * 64 * 64 * 8));
  ops::LinearMixerShape no_window = s;
  no_window.window = 0;
  EXPECT_EQ(ops::linear_mixer_state_layout(no_window).bytes, size_t(4) * (64 * 64 * 32 + 64 * 32));
}

TEST(LinearMixerState, ResetStartsANewSequence) {
  const Config c{8, 4, 8, 8, 4};
  const Problem p = make_problem(c, 30, 61);
  GpuMixer g(p);
  const auto first = g.run(0, 30);
  test::run([&](vk::Recorder& r) { ops::linear_mixer_reset(r, g.state); });
  g.n_past = 0;
  EXPECT_EQ(g.run(0, 30), first);
}

// ---- feature-map initialization ----
TEST(LinearMixerInit, IdentityOrSemiOrthogonal) {
  const auto eye = ops::linear_mixer_init(16, 16, 5);
  for (int i = 0; i < 16; ++i)
    for (int f = 0; f < 16; ++f) ASSERT_EQ(eye[size_t(i) * 16 + f], i == f ? 1.0f : 0.0f);
  for (auto [d, F] : {std::pair{16, 8}, std::pair{8, 32}, std::pair{64, 32}}) {
    const auto w = ops::linear_mixer_init(d, F, 5);  // (d, F)
    ASSERT_EQ(w, ops::linear_mixer_init(d, F, 5)) << "not deterministic";
    ASSERT_NE(w, ops::linear_mixer_init(d, F, 6)) << "seed unused";
    // F < d: W^T W = I (orthonormal columns); F > d: W W^T = I (orthonormal rows)
    const int n = std::min(d, F), len = std::max(d, F);
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        double dot = 0;
        for (int x = 0; x < len; ++x)
          dot += F < d ? double(w[size_t(x) * F + a]) * w[size_t(x) * F + b]
                       : double(w[size_t(a) * F + x]) * w[size_t(b) * F + x];
        ASSERT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5) << d << "x" << F;
      }
  }
}

// ---- rejected inputs ----
TEST(LinearMixer, RejectsBadShapes) {
  const Config c{8, 4, 8, 8, 4};
  const Problem p = make_problem(c, 2, 71);
  GpuMixer g(p);
  Tensor q = test::empty_tensor(DType::F32, {8, 8, 2, 1}, "q");
  Tensor k = test::empty_tensor(DType::F32, {8, 4, 2, 1}, "k");
  Tensor step = step_tensor(0, 2);
  Tensor scratch = test::empty_tensor(DType::F32, {int64_t(ops::linear_mixer_scratch_elems(g.shape(), 2)), 1, 1, 1},
                                      "scratch");
  auto call = [&](const Tensor& qq, const Tensor& kk, const ops::LinearMixerWeights& w, int window,
                  const Tensor& sc) {
    test::run([&](vk::Recorder& r) { ops::linear_mixer(r, qq, kk, kk, w, g.state, step, window, qq, sc); });
  };
  EXPECT_NO_THROW(call(q, k, g.w, 4, scratch));
  EXPECT_THROW(call(q, k, g.w, 8, scratch), Error);  // window does not match the ring
  Tensor k3 = test::empty_tensor(DType::F32, {8, 3, 2, 1}, "k3");
  EXPECT_THROW(call(q, k3, g.w, 4, scratch), Error);  // 8 query heads over 3 kv heads
  Tensor small = test::empty_tensor(DType::F32, {16, 1, 1, 1}, "small");
  EXPECT_THROW(call(q, k, g.w, 4, small), Error);  // scratch too small
  ops::LinearMixerWeights bad = g.w;
  bad.fm_k = test::empty_tensor(DType::F32, {8, 8, 3, 1}, "fm_k3");
  EXPECT_THROW(call(q, k, bad, 4, scratch), Error);  // 3 key maps
  bad = g.w;
  bad.fm_q = test::empty_tensor(DType::F32, {8, 7, 8, 1}, "fm_q_hd7");
  EXPECT_THROW(call(q, k, bad, 4, scratch), Error);  // map over head_dim 7
}

}  // namespace
}  // namespace ds
