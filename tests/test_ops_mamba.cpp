// Mamba mixer core: GPU vs the CPU reference (several dims, batch sizes, with and without prior state), chunked
// prefill vs token-by-token decode, one decode recording replayed 100 steps, a case computed by hand, the
// implied attention reproducing the scan, state helpers and rejected shapes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include "ops/mamba.h"
#include "ref/compare.h"
#include "ref/mamba.h"
#include "support/files.h"
#include "support/gpu.h"

namespace ds {
namespace {

// Outputs and SSM states: F32 on both sides, only exp/log rounding differs (measured ~1e-14 on lavapipe).
constexpr double k_mamba_nmse = 1e-10;

const MambaDims k_tiny{64, 32, 4, 4};        // d_inner, d_xb, d_state, d_conv
const MambaDims k_apriel{1024, 256, 16, 4};  // Apriel-H1 proportions (4096, 1024, 16), scaled down
const MambaDims k_no_repeat{32, 32, 8, 2};   // d_xb = d_inner (no repetition), d_conv 2

// Host copies of every input of one problem; the GPU tensors are made from them.
struct Problem {
  MambaDims dims;
  int n_tokens = 0;
  std::vector<float> zxbc, dt, conv_w, conv_b, dt_bias, a_log, d;
  ref::MambaRefState state;
  Problem(const MambaDims& m, int t) : dims(m), n_tokens(t), state(m) {}
  ref::MambaParams params() const { return {conv_w, conv_b, dt_bias, a_log, d}; }
};

Problem make_problem(const MambaDims& m, int n_tokens, uint32_t seed, bool prior_state) {
  Problem p(m, n_tokens);
  p.zxbc = test::random_floats(size_t(m.zxbc_rows()) * n_tokens, seed, -1.5f, 1.5f);
  p.dt = test::random_floats(size_t(m.d_inner) * n_tokens, seed + 1, -3.0f, 1.0f);
  p.conv_w = test::random_floats(size_t(m.d_conv) * m.d_inner, seed + 2, -0.6f, 0.6f);
  p.conv_b = test::random_floats(size_t(m.d_inner), seed + 3, -0.5f, 0.5f);
  p.dt_bias = test::random_floats(size_t(m.d_inner), seed + 4, -3.0f, 0.0f);
  p.a_log = test::random_floats(size_t(m.d_state) * m.d_inner, seed + 5, -1.0f, 2.8f);
  p.d = test::random_floats(size_t(m.d_inner), seed + 6, 0.5f, 1.5f);
  if (prior_state) {
    p.state.conv = test::random_floats(p.state.conv.size(), seed + 7, -1.5f, 1.5f);
    p.state.ssm = test::random_floats(p.state.ssm.size(), seed + 8, -1.0f, 1.0f);
  }
  return p;
}

struct GpuMixer {
  ops::MambaWeights w;
  ops::MambaState state;
};

GpuMixer upload_mixer(const Problem& p) {
  const MambaDims& m = p.dims;
  GpuMixer g;
  g.w.conv_w = test::tensor_from(p.conv_w, DType::F32, {m.d_conv, 1, m.d_inner, 1}, "blk.0.ssm_conv1d.weight");
  g.w.conv_b = test::tensor_from(p.conv_b, DType::F32, {m.d_inner, 1, 1, 1}, "blk.0.ssm_conv1d.bias");
  g.w.dt_bias = test::tensor_from(p.dt_bias, DType::F32, {m.d_inner, 1, 1, 1}, "blk.0.ssm_dt.bias");
  g.w.a_log = test::tensor_from(p.a_log, DType::F32, {m.d_state, m.d_inner, 1, 1}, "blk.0.ssm_a_log");
  g.w.d = test::tensor_from(p.d, DType::F32, {m.d_inner, 1, 1, 1}, "blk.0.ssm_d");
  g.state = ops::make_mamba_state(test::arena(), m, "blk.0.ssm_state");
  upload_f32(test::device(), g.state.conv, p.state.conv);
  upload_f32(test::device(), g.state.ssm, p.state.ssm);
  return g;
}

// One column (token) of a [rows, n_tokens] host matrix.
std::vector<float> column(const std::vector<float>& v, int rows, int t) {
  return {v.begin() + ptrdiff_t(size_t(t) * rows), v.begin() + ptrdiff_t(size_t(t + 1) * rows)};
}

Tensor scratch_for(const MambaDims& m, int n_tokens, const ops::MambaOptions& opt) {
  const size_t n = ops::mamba_scratch_elems(m, n_tokens, opt);
  return n ? test::empty_tensor(DType::F32, {int64_t(n), 1, 1, 1}, "scratch") : Tensor{};
}

std::string dims_name(const MambaDims& m) {
  return "di" + std::to_string(m.d_inner) + "_xb" + std::to_string(m.d_xb) + "_ds" + std::to_string(m.d_state) +
         "_dc" + std::to_string(m.d_conv);
}

struct MixerCase {
  MambaDims dims;
  int n_tokens;
  bool prior;
  int chunk_tokens = 0;  // 0 = the op's own plan
};

void PrintTo(const MixerCase& c, std::ostream* os) {
  *os << dims_name(c.dims) << " tokens " << c.n_tokens << (c.prior ? " prior state" : " zero state") << " chunk "
      << c.chunk_tokens;
}

std::vector<MixerCase> mixer_cases() {
  std::vector<MixerCase> v;
  for (const MambaDims& m : {k_tiny, k_apriel})
    for (int t : {1, 3, 4, 5, 64, 200})
      for (bool prior : {false, true}) v.push_back({m, t, prior});
  // forced small chunks: chunk = d_conv-1 (chunk boundaries inside the conv history), uneven last chunks
  v.push_back({k_tiny, 5, true, 3});
  v.push_back({k_tiny, 4, false, 3});
  v.push_back({k_tiny, 64, true, 7});
  v.push_back({k_no_repeat, 9, true, 1});
  v.push_back({k_no_repeat, 200, true, 0});
  v.push_back({k_tiny, 1000, true, 0});  // 63 chunks of 16
  return v;
}

std::string case_name(const testing::TestParamInfo<MixerCase>& info) {
  const MixerCase& c = info.param;
  return dims_name(c.dims) + "_tok" + std::to_string(c.n_tokens) + (c.prior ? "_prior" : "_zero") +
         (c.chunk_tokens ? "_chunk" + std::to_string(c.chunk_tokens) : "");
}

class MambaMixer : public testing::TestWithParam<MixerCase> {};

TEST_P(MambaMixer, MatchesReference) {
  const MixerCase c = GetParam();
  const MambaDims& m = c.dims;
  Problem p = make_problem(m, c.n_tokens, 11 + uint32_t(c.n_tokens), c.prior);
  GpuMixer g = upload_mixer(p);
  Tensor zxbc = test::tensor_from(p.zxbc, DType::F32, {m.zxbc_rows(), c.n_tokens, 1, 1}, "zxbc");
  Tensor dt = test::tensor_from(p.dt, DType::F32, {m.d_inner, c.n_tokens, 1, 1}, "dt");
  Tensor y = test::empty_tensor(DType::F32, {m.d_inner, c.n_tokens, 1, 1}, "y");
  const ops::MambaOptions opt{c.chunk_tokens};
  Tensor scratch = scratch_for(m, c.n_tokens, opt);
  test::run([&](vk::Recorder& r) { ops::mamba_mixer(r, zxbc, dt, g.w, g.state, y, m, scratch, opt); });

  std::vector<float> want(size_t(m.d_inner) * c.n_tokens);
  ref::mamba_mixer(m, p.zxbc, p.dt, p.params(), p.state, want, c.n_tokens);
  const double err_y = ref::nmse(download_f32(test::device(), y), want);
  const double err_h = ref::nmse(download_f32(test::device(), g.state.ssm), p.state.ssm);
  EXPECT_LT(err_y, k_mamba_nmse);
  EXPECT_LT(err_h, k_mamba_nmse);
  EXPECT_EQ(download_f32(test::device(), g.state.conv), p.state.conv);  // copies of inputs: exact
  std::printf("[mamba] %s: nmse y %.2e, ssm state %.2e\n", case_name({c, 0}).c_str(), err_y, err_h);
}

// Prefill of n tokens in one call leaves the same outputs and state as n single-token (decode) calls.
TEST_P(MambaMixer, PrefillEqualsTokenByTokenDecode) {
  const MixerCase c = GetParam();
  const MambaDims& m = c.dims;
  const int T = std::min(c.n_tokens, 200);
  Problem p = make_problem(m, T, 77 + uint32_t(T), c.prior);
  GpuMixer batch = upload_mixer(p), steps = upload_mixer(p);
  Tensor zxbc = test::tensor_from(p.zxbc, DType::F32, {m.zxbc_rows(), T, 1, 1}, "zxbc");
  Tensor dt = test::tensor_from(p.dt, DType::F32, {m.d_inner, T, 1, 1}, "dt");
  Tensor y = test::empty_tensor(DType::F32, {m.d_inner, T, 1, 1}, "y");
  const ops::MambaOptions opt{c.chunk_tokens};
  Tensor scratch = scratch_for(m, T, opt);
  std::vector<Tensor> zs, dts, ys;
  for (int t = 0; t < T; ++t) {
    zs.push_back(test::tensor_from(column(p.zxbc, m.zxbc_rows(), t), DType::F32, {m.zxbc_rows(), 1, 1, 1}, "zxbc_t"));
    dts.push_back(test::tensor_from(column(p.dt, m.d_inner, t), DType::F32, {m.d_inner, 1, 1, 1}, "dt_t"));
    ys.push_back(test::empty_tensor(DType::F32, {m.d_inner, 1, 1, 1}, "y_t"));
  }
  test::run([&](vk::Recorder& r) {
    ops::mamba_mixer(r, zxbc, dt, batch.w, batch.state, y, m, scratch, opt);
    for (int t = 0; t < T; ++t) ops::mamba_mixer(r, zs[size_t(t)], dts[size_t(t)], steps.w, steps.state, ys[size_t(t)], m);
  });
  std::vector<float> y_steps;
  for (const Tensor& yt : ys) {
    auto v = download_f32(test::device(), yt);
    y_steps.insert(y_steps.end(), v.begin(), v.end());
  }
  EXPECT_LT(ref::nmse(download_f32(test::device(), y), y_steps), k_mamba_nmse);
  EXPECT_LT(ref::nmse(download_f32(test::device(), batch.state.ssm), download_f32(test::device(), steps.state.ssm)),
            k_mamba_nmse);
  EXPECT_EQ(download_f32(test::device(), batch.state.conv), download_f32(test::device(), steps.state.conv));
}

INSTANTIATE_TEST_SUITE_P(Cases, MambaMixer, testing::ValuesIn(mixer_cases()), case_name);

// ---- one decode command buffer, replayed ----
// Records mamba_mixer for one token once; every step the host writes that token's zxbc and dt into
// host-visible tensors and resubmits. Checked against the reference after every step, the state at the end.
TEST(MambaReplay, RecordOnceReplay100Steps) {
  const MambaDims m = k_apriel;
  const int steps = 100;
  Problem p = make_problem(m, steps, 5, true);
  GpuMixer g = upload_mixer(p);
  vk::Arena host(test::device(), "host-written", vk::MemoryKind::Upload, 1 << 20);
  Tensor zxbc = make_tensor(host, DType::F32, {m.zxbc_rows(), 1, 1, 1}, "zxbc");
  Tensor dt = make_tensor(host, DType::F32, {m.d_inner, 1, 1, 1}, "dt");
  ASSERT_TRUE(zxbc.buf.mapped && dt.buf.mapped);
  Tensor y = test::empty_tensor(DType::F32, {m.d_inner, 1, 1, 1}, "y");
  vk::Recording cmd(test::device());
  cmd.begin();
  uint32_t dispatches = 0;
  {
    vk::Recorder r(test::device(), cmd.cmd());
    ops::mamba_mixer(r, zxbc, dt, g.w, g.state, y, m);
    dispatches = r.dispatch_count();
  }
  cmd.end();
  EXPECT_EQ(dispatches, 1u);
  std::vector<float> want(size_t(m.d_inner));
  for (int t = 0; t < steps; ++t) {
    const auto z = column(p.zxbc, m.zxbc_rows(), t), d = column(p.dt, m.d_inner, t);
    std::memcpy(zxbc.buf.mapped, z.data(), zxbc.n_bytes());
    std::memcpy(dt.buf.mapped, d.data(), dt.n_bytes());
    cmd.submit_and_wait();
    ref::mamba_mixer(m, z, d, p.params(), p.state, want, 1);
    ASSERT_LT(ref::nmse(download_f32(test::device(), y), want), k_mamba_nmse) << "step " << t;
  }
  EXPECT_LT(ref::nmse(download_f32(test::device(), g.state.ssm), p.state.ssm), k_mamba_nmse);
  EXPECT_EQ(download_f32(test::device(), g.state.conv), p.state.conv);
}

// ---- computed by hand ----
// d_inner 2, d_xb 1, d_state 1, d_conv 2: both channels read the one x and the one B (repeat 2); channel c has
// its own C (head c). From a zero state, two tokens. Parameters:
//   conv taps (previous, current): ch0 (1, 1), ch1 (-1, 2); conv bias (0, 0.5)
//   dt = 0.5 and dt_bias = -0.5 everywhere: delta = softplus(0) = ln 2 = 0.693147
//   A_log (0, ln 2): A = (-1, -2), so exp(delta A) = (0.5, 0.25);  D = (1, 0.5)
//   token 0: z (1, 2), x 2, B 1, C (1, -1);   token 1: z (-1, 0.5), x -1, B 2, C (0.5, 1)
// silu(v) = v / (1 + e^-v).
// token 0, ch0: conv 1*0 + 1*2 + 0 = 2, u = silu(2) = 1.761594; h = 0.5*0 + ln2*1*1.761594 = 1.221044;
//               y = 1*1.221044 + 1*1.761594 = 2.982638; gate silu(1) = 0.731059 -> 2.180483
// token 0, ch1: conv -1*0 + 2*2 + 0.5 = 4.5, u = silu(4.5) = 4.450559; h = ln2*1*4.450559 = 3.084892;
//               y = -1*3.084892 + 0.5*4.450559 = -0.859613; gate silu(2) = 1.761594 -> -1.514289
// token 1, ch0: conv 1*2 + 1*(-1) = 1, u = silu(1) = 0.731059; h = 0.5*1.221044 + ln2*2*0.731059 = 1.623984;
//               y = 0.5*1.623984 + 1*0.731059 = 1.543051; gate silu(-1) = -0.268941 -> -0.414990
// token 1, ch1: conv -1*2 + 2*(-1) + 0.5 = -3.5, u = silu(-3.5) = -0.102593;
//               h = 0.25*3.084892 + ln2*2*(-0.102593) = 0.628999; y = 0.628999 + 0.5*(-0.102593) = 0.577703;
//               gate silu(0.5) = 0.311230 -> 0.179798
// Final state: conv (the last x, repeated) = (-1, -1); ssm = (1.623984, 0.628999).
const float k_hand_y[4] = {2.180483f, -1.514289f, -0.414990f, 0.179798f};
const float k_hand_ssm[2] = {1.623984f, 0.628999f};

Problem hand_problem() {
  const MambaDims m{2, 1, 1, 2};
  Problem p(m, 2);
  p.zxbc = {1, 2, 2, 1, 1, -1,     // token 0: z0 z1 x B C0 C1
            -1, 0.5, -1, 2, 0.5, 1};  // token 1
  p.dt = {0.5f, 0.5f, 0.5f, 0.5f};
  p.conv_w = {1, 1, -1, 2};
  p.conv_b = {0, 0.5f};
  p.dt_bias = {-0.5f, -0.5f};
  p.a_log = {0, std::log(2.0f)};
  p.d = {1, 0.5f};
  return p;
}

void expect_hand_values(const std::vector<float>& y, const std::vector<float>& ssm, const std::vector<float>& conv) {
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[size_t(i)], k_hand_y[i], 2e-6) << "y[" << i << "]";
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(ssm[size_t(i)], k_hand_ssm[i], 2e-6) << "ssm[" << i << "]";
  EXPECT_EQ(conv, (std::vector<float>{-1, -1}));
}

TEST(MambaHand, ReferenceMatchesHandComputed) {
  Problem p = hand_problem();
  std::vector<float> y(4);
  ref::mamba_mixer(p.dims, p.zxbc, p.dt, p.params(), p.state, y, 2);
  expect_hand_values(y, p.state.ssm, p.state.conv);
}

TEST(MambaHand, GpuMatchesHandComputed) {
  for (int chunk : {0, 1}) {  // 0: one sequential pass; 1: two chunks of one token (chunked scan)
    Problem p = hand_problem();
    GpuMixer g = upload_mixer(p);
    Tensor zxbc = test::tensor_from(p.zxbc, DType::F32, {6, 2, 1, 1}, "zxbc");
    Tensor dt = test::tensor_from(p.dt, DType::F32, {2, 2, 1, 1}, "dt");
    Tensor y = test::empty_tensor(DType::F32, {2, 2, 1, 1}, "y");
    const ops::MambaOptions opt{chunk};
    Tensor scratch = scratch_for(p.dims, 2, opt);
    EXPECT_EQ(bool(scratch), chunk == 1);
    test::run([&](vk::Recorder& r) { ops::mamba_mixer(r, zxbc, dt, g.w, g.state, y, p.dims, scratch, opt); });
    SCOPED_TRACE(chunk ? "chunked" : "sequential");
    expect_hand_values(download_f32(test::device(), y), download_f32(test::device(), g.state.ssm),
                       download_f32(test::device(), g.state.conv));
  }
}

// ---- implied attention ----
TEST(MambaImpliedAttention, ReproducesTheScan) {
  for (const MambaDims& m : {k_tiny, MambaDims{16, 8, 4, 4}}) {
    const int T = 24;
    Problem p = make_problem(m, T, 3, false);
    ref::MambaRefState st(m);
    ref::MambaScanInputs in = ref::mamba_conv_delta(m, p.zxbc, p.dt, p.params(), st.conv, T);
    std::vector<float> y_scan(size_t(m.d_inner) * T);
    ref::mamba_scan(m, p.zxbc, in, p.a_log, p.d, st.ssm, y_scan, T);
    const std::vector<float> alpha = ref::mamba_implied_attention_channels(m, p.zxbc, in, p.a_log, T);
    // y[c, i] = sum_j alpha[c, i, j] u[c, j] + D[c] u[c, i]
    std::vector<float> y_attn(y_scan.size());
    for (int c = 0; c < m.d_inner; ++c)
      for (int i = 0; i < T; ++i) {
        double acc = double(p.d[size_t(c)]) * in.u[size_t(i) * m.d_inner + c];
        for (int j = 0; j < T; ++j) {
          const float a = alpha[(size_t(c) * T + i) * T + j];
          if (j > i) {
            EXPECT_EQ(a, 0.0f);  // causal
          }
          acc += double(a) * in.u[size_t(j) * m.d_inner + c];
        }
        y_attn[size_t(i) * m.d_inner + c] = float(acc);
      }
    EXPECT_LT(ref::nmse(y_attn, y_scan), 1e-11) << dims_name(m);

    // per-head maps: causal rows summing to 1
    for (int cph : {m.d_state, m.d_inner / 2}) {
      const std::vector<float> map = ref::mamba_implied_attention_heads(m, alpha, T, cph);
      ASSERT_EQ(map.size(), size_t(m.d_inner / cph) * T * T);
      for (int h = 0; h < m.d_inner / cph; ++h)
        for (int i = 0; i < T; ++i) {
          double sum = 0;
          for (int j = 0; j < T; ++j) {
            const float v = map[(size_t(h) * T + i) * T + j];
            EXPECT_GE(v, 0.0f);
            if (j > i) {
              EXPECT_EQ(v, 0.0f);
            }
            sum += v;
          }
          EXPECT_NEAR(sum, 1.0, 1e-5) << "head " << h << " row " << i;
        }
    }
  }
}

TEST(MambaImpliedAttention, GpuMatchesReference) {
  struct Case {
    MambaDims dims;
    int n_tokens, row0, n_rows, cph;
  };
  for (const Case& k : {Case{k_tiny, 40, 0, 40, 4}, Case{k_tiny, 40, 0, 40, 32}, Case{k_tiny, 37, 30, 7, 64},
                        Case{k_apriel, 24, 0, 24, 16}, Case{k_apriel, 50, 45, 5, 128}}) {
    const MambaDims& m = k.dims;
    Problem p = make_problem(m, k.n_tokens, 21, false);
    GpuMixer g = upload_mixer(p);
    Tensor zxbc = test::tensor_from(p.zxbc, DType::F32, {m.zxbc_rows(), k.n_tokens, 1, 1}, "zxbc");
    Tensor dt = test::tensor_from(p.dt, DType::F32, {m.d_inner, k.n_tokens, 1, 1}, "dt");
    const int n_heads = m.d_inner / k.cph;
    Tensor out = test::empty_tensor(DType::F32, {k.n_tokens, k.n_rows, n_heads, 1}, "map");
    test::run([&](vk::Recorder& r) {
      r.fill(out.buf, 0x7fc00000u);  // NaN: every element must be written
      ops::mamba_implied_attention(r, zxbc, dt, g.w, out, m, k.row0, k.cph);
    });
    ref::MambaRefState st(m);
    const ref::MambaScanInputs in = ref::mamba_conv_delta(m, p.zxbc, p.dt, p.params(), st.conv, k.n_tokens);
    const auto alpha = ref::mamba_implied_attention_channels(m, p.zxbc, in, p.a_log, k.n_tokens);
    const auto full = ref::mamba_implied_attention_heads(m, alpha, k.n_tokens, k.cph);
    std::vector<float> want;  // rows row0 .. row0 + n_rows - 1 of every head
    for (int h = 0; h < n_heads; ++h)
      for (int i = k.row0; i < k.row0 + k.n_rows; ++i) {
        auto row = full.begin() + ptrdiff_t((size_t(h) * k.n_tokens + i) * k.n_tokens);
        want.insert(want.end(), row, row + k.n_tokens);
      }
    EXPECT_LT(ref::nmse(download_f32(test::device(), out), want), 1e-10)
        << dims_name(m) << " rows " << k.row0 << "+" << k.n_rows << " cph " << k.cph;
  }
  // rows past the sequence, heads that do not divide d_inner
  Tensor zxbc = test::empty_tensor(DType::F32, {k_tiny.zxbc_rows(), 8, 1, 1}, "zxbc");
  Tensor dt = test::empty_tensor(DType::F32, {k_tiny.d_inner, 8, 1, 1}, "dt");
  Problem p = make_problem(k_tiny, 1, 1, false);
  GpuMixer g = upload_mixer(p);
  Tensor out = test::empty_tensor(DType::F32, {8, 4, 2, 1}, "map");
  EXPECT_ERROR(test::run([&](vk::Recorder& r) { ops::mamba_implied_attention(r, zxbc, dt, g.w, out, k_tiny, 5, 32); }),
               "outside the 8 tokens");
  EXPECT_ERROR(test::run([&](vk::Recorder& r) { ops::mamba_implied_attention(r, zxbc, dt, g.w, out, k_tiny, 0, 24); }),
               "24 channels per head");
}

// ---- against a PyTorch mirror of the reference (scripts/mamba_torch_mirror.py) ----
TEST(MambaTorchMirror, MatchesDump) {
  // written by scripts/mamba_torch_mirror.py (PyTorch, float64); DS_MAMBA_TORCH_DUMP names another such file
  const char* env = std::getenv("DS_MAMBA_TORCH_DUMP");
  const std::string path = env ? env : std::string(DS_SOURCE_DIR) + "/tests/data/mamba_torch_mirror.bin";
  const std::string bytes = test::read_bytes(path);
  ASSERT_GE(bytes.size(), 20u) << path;
  int32_t head[5];
  std::memcpy(head, bytes.data(), sizeof head);
  const MambaDims m{head[0], head[1], head[2], head[3]};
  const int T = head[4];
  size_t at = sizeof head;
  auto take = [&](size_t n) {
    std::vector<float> v(n);
    EXPECT_LE(at + n * 4, bytes.size());
    if (at + n * 4 <= bytes.size()) std::memcpy(v.data(), bytes.data() + at, n * 4);
    at += n * 4;
    return v;
  };
  const size_t di = size_t(m.d_inner);
  Problem p(m, T);
  p.zxbc = take(size_t(m.zxbc_rows()) * T);
  p.dt = take(di * T);
  p.conv_w = take(di * m.d_conv);
  p.conv_b = take(di);
  p.dt_bias = take(di);
  p.a_log = take(di * m.d_state);
  p.d = take(di);
  const std::vector<float> y_torch = take(di * T), conv_torch = take(di * (m.d_conv - 1)), ssm_torch = take(di * m.d_state);
  ASSERT_EQ(at, bytes.size());

  GpuMixer g = upload_mixer(p);  // zero state
  Tensor zxbc = test::tensor_from(p.zxbc, DType::F32, {m.zxbc_rows(), T, 1, 1}, "zxbc");
  Tensor dt = test::tensor_from(p.dt, DType::F32, {m.d_inner, T, 1, 1}, "dt");
  Tensor y = test::empty_tensor(DType::F32, {m.d_inner, T, 1, 1}, "y");
  Tensor scratch = scratch_for(m, T, {});
  test::run([&](vk::Recorder& r) { ops::mamba_mixer(r, zxbc, dt, g.w, g.state, y, m, scratch); });
  std::vector<float> want(di * T);
  ref::mamba_mixer(m, p.zxbc, p.dt, p.params(), p.state, want, T);
  const double err_ref = ref::nmse(want, y_torch), err_gpu = ref::nmse(download_f32(test::device(), y), y_torch);
  std::printf("[mamba] vs torch mirror (%d tokens, d_inner %d): nmse reference %.2e, GPU %.2e\n", T, m.d_inner,
              err_ref, err_gpu);
  EXPECT_LT(err_ref, 1e-12) << "reference vs torch";
  EXPECT_LT(ref::nmse(p.state.ssm, ssm_torch), 1e-12);
  EXPECT_EQ(p.state.conv, conv_torch);
  EXPECT_LT(err_gpu, k_mamba_nmse) << "GPU vs torch";
  EXPECT_LT(ref::nmse(download_f32(test::device(), g.state.ssm), ssm_torch), k_mamba_nmse);
  EXPECT_EQ(download_f32(test::device(), g.state.conv), conv_torch);
}

// ---- state helpers ----
TEST(MambaState, SizesAndReset) {
  const MambaDims m = k_tiny;
  EXPECT_EQ(ops::mamba_state_bytes(m), size_t(m.d_inner) * (m.d_conv - 1 + m.d_state) * 4);
  EXPECT_EQ(ops::mamba_state_bytes(MambaDims{4096, 1024, 16, 4}), size_t(4096) * 19 * 4);  // Apriel-H1: 304 KiB/layer
  ops::MambaState s = ops::make_mamba_state(test::arena(), m, "blk.2.ssm_state");
  EXPECT_EQ(s.conv.name, "blk.2.ssm_state.conv");
  EXPECT_EQ(s.conv.ne, (std::array<int64_t, 4>{m.d_inner, m.d_conv - 1, 1, 1}));
  EXPECT_EQ(s.ssm.ne, (std::array<int64_t, 4>{m.d_state, m.d_inner, 1, 1}));
  upload_f32(test::device(), s.conv, test::random_floats(size_t(s.conv.n_elements()), 1));
  upload_f32(test::device(), s.ssm, test::random_floats(size_t(s.ssm.n_elements()), 2));
  test::run([&](vk::Recorder& r) { ops::mamba_state_reset(r, s); });
  EXPECT_EQ(download_f32(test::device(), s.conv), std::vector<float>(size_t(s.conv.n_elements()), 0.0f));
  EXPECT_EQ(download_f32(test::device(), s.ssm), std::vector<float>(size_t(s.ssm.n_elements()), 0.0f));
  // scratch: none for decode or a single chunk; the maximum covers every batch
  EXPECT_EQ(ops::mamba_scratch_elems(m, 1), 0u);
  EXPECT_EQ(ops::mamba_scratch_elems(m, 16), 0u);
  EXPECT_GT(ops::mamba_scratch_elems(m, 17), 0u);
  for (int t : {17, 100, 1000, 5000, 100000})
    EXPECT_LE(ops::mamba_scratch_elems(m, t), ops::mamba_scratch_elems_max(m)) << t;
}

// ---- rejected inputs ----
TEST(MambaMixer, RejectsBadShapes) {
  const MambaDims m = k_tiny;
  Problem p = make_problem(m, 3, 1, false);
  GpuMixer g = upload_mixer(p);
  Tensor zxbc = test::tensor_from(p.zxbc, DType::F32, {m.zxbc_rows(), 3, 1, 1}, "zxbc");
  Tensor dt = test::tensor_from(p.dt, DType::F32, {m.d_inner, 3, 1, 1}, "dt");
  Tensor y = test::empty_tensor(DType::F32, {m.d_inner, 3, 1, 1}, "y");
  auto mixer = [&](const Tensor& z, const Tensor& d, const ops::MambaWeights& w, const ops::MambaState& s,
                   const Tensor& out, const MambaDims& dims, const Tensor& scratch = {}, ops::MambaOptions o = {}) {
    test::run([&](vk::Recorder& r) { ops::mamba_mixer(r, z, d, w, s, out, dims, scratch, o); });
  };
  // zxbc of another width (d_xb 16 instead of 32)
  Tensor zxbc_bad = test::empty_tensor(DType::F32, {m.zxbc_rows() - 32, 3, 1, 1}, "blk.0.ssm_in.out");
  EXPECT_ERROR(mixer(zxbc_bad, dt, g.w, g.state, y, m), "blk.0.ssm_in.out");
  // dt for 2 tokens, y for 4
  EXPECT_ERROR(mixer(zxbc, test::empty_tensor(DType::F32, {m.d_inner, 2, 1, 1}, "dt2"), g.w, g.state, y, m), "dt2");
  EXPECT_ERROR(mixer(zxbc, dt, g.w, g.state, test::empty_tensor(DType::F32, {m.d_inner, 4, 1, 1}, "y4"), m), "y4");
  // F16 dt
  EXPECT_ERROR(mixer(zxbc, test::empty_tensor(DType::F16, {m.d_inner, 3, 1, 1}, "dt_f16"), g.w, g.state, y, m),
               "dt_f16");
  // weights
  ops::MambaWeights w = g.w;
  w.conv_w = test::empty_tensor(DType::F32, {3, 1, m.d_inner, 1}, "blk.0.ssm_conv1d.weight");
  EXPECT_ERROR(mixer(zxbc, dt, w, g.state, y, m), "blk.0.ssm_conv1d.weight");
  w = g.w;
  w.a_log = test::empty_tensor(DType::F32, {m.d_inner, m.d_state, 1, 1}, "blk.0.ssm_a_log");  // transposed
  EXPECT_ERROR(mixer(zxbc, dt, w, g.state, y, m), "blk.0.ssm_a_log");
  w = g.w;
  w.d = test::empty_tensor(DType::F32, {m.d_inner - 1, 1, 1, 1}, "blk.0.ssm_d");
  EXPECT_ERROR(mixer(zxbc, dt, w, g.state, y, m), "blk.0.ssm_d");
  w = g.w;
  w.dt_bias = test::empty_tensor(DType::F32, {m.d_inner * 2, 1, 1, 1}, "blk.0.ssm_dt.bias");
  EXPECT_ERROR(mixer(zxbc, dt, w, g.state, y, m), "blk.0.ssm_dt.bias");
  // state of other dims
  ops::MambaState s = ops::make_mamba_state(test::arena(), MambaDims{64, 32, 8, 4}, "blk.0.other_state");
  EXPECT_ERROR(mixer(zxbc, dt, g.w, s, y, m), "blk.0.other_state.ssm");
  s = ops::make_mamba_state(test::arena(), MambaDims{64, 32, 4, 3}, "blk.0.conv3_state");
  EXPECT_ERROR(mixer(zxbc, dt, g.w, s, y, m), "blk.0.conv3_state.conv");
  // inconsistent dims
  EXPECT_ERROR(mixer(zxbc, dt, g.w, g.state, y, MambaDims{64, 20, 8, 4}), "d_state 8 must divide");
  EXPECT_ERROR(mixer(zxbc, dt, g.w, g.state, y, MambaDims{64, 48, 16, 4}), "do not divide");
  // chunked prefill without scratch, or a chunk shorter than the conv history
  Problem q = make_problem(m, 40, 2, false);
  Tensor z40 = test::tensor_from(q.zxbc, DType::F32, {m.zxbc_rows(), 40, 1, 1}, "zxbc40");
  Tensor d40 = test::tensor_from(q.dt, DType::F32, {m.d_inner, 40, 1, 1}, "dt40");
  Tensor y40 = test::empty_tensor(DType::F32, {m.d_inner, 40, 1, 1}, "y40");
  EXPECT_ERROR(mixer(z40, d40, g.w, g.state, y40, m), "mamba_scratch_elems");
  Tensor small = test::empty_tensor(DType::F32, {100, 1, 1, 1}, "tiny_scratch");
  EXPECT_ERROR(mixer(z40, d40, g.w, g.state, y40, m, small), "tiny_scratch");
  EXPECT_ERROR(mixer(zxbc, dt, g.w, g.state, y, m, {}, ops::MambaOptions{2}), "chunk_tokens 2");
}

// ---- timing (DS_BENCH=1 only) ----
// Apriel-H1 mixer sizes: decode (one token, recorded `reps` times) and prefill batches.
TEST(MambaBench, Timing) {
  if (!std::getenv("DS_BENCH")) GTEST_SKIP() << "set DS_BENCH=1 to time the mamba mixer";
  const bool cpu = test::device().info().type == "cpu";
  const MambaDims m = cpu ? MambaDims{1024, 256, 16, 4} : MambaDims{4096, 1024, 16, 4};
  std::printf("[bench] device %s (%s), subgroup %u\n", test::device().info().name.c_str(),
              test::device().info().driver.c_str(), test::device().subgroup_size());
  for (int n_tokens : cpu ? std::vector<int>{1, 64, 256} : std::vector<int>{1, 512, 4096, 32768}) {
    Tensor zxbc = test::empty_tensor(DType::F32, {m.zxbc_rows(), n_tokens, 1, 1}, "zxbc");
    Tensor dt = test::empty_tensor(DType::F32, {m.d_inner, n_tokens, 1, 1}, "dt");
    Tensor y = test::empty_tensor(DType::F32, {m.d_inner, n_tokens, 1, 1}, "y");
    Problem p = make_problem(m, 1, 9, false);
    GpuMixer g = upload_mixer(p);
    Tensor scratch = scratch_for(m, n_tokens, {});
    test::run([&](vk::Recorder& r) {
      r.fill(zxbc.buf, 0x3c000000u);  // 0.0078125
      r.fill(dt.buf, 0);
    });
    const int reps = n_tokens == 1 ? (cpu ? 20 : 200) : (cpu ? 2 : 10);
    vk::Recording cmd(test::device());
    cmd.begin();
    {
      vk::Recorder r(test::device(), cmd.cmd());
      for (int i = 0; i < reps; ++i) ops::mamba_mixer(r, zxbc, dt, g.w, g.state, y, m, scratch);
    }
    cmd.end();
    cmd.submit_and_wait();  // warm-up
    auto t0 = std::chrono::steady_clock::now();
    cmd.submit_and_wait();
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
    std::printf("[bench] mamba d_inner %d d_state %d tokens %d: %.1f us (%.3f us/token)\n", m.d_inner, m.d_state,
                n_tokens, us, us / n_tokens);
    std::fflush(stdout);
    EXPECT_TRUE(std::isfinite(download_f32(test::device(), y)[0]));
  }
}

}  // namespace
}  // namespace ds
