// kv_store + attention against the CPU reference: decode (split-K and single-chunk) at several n_past,
// prefill at several n_tokens and n_past (the scalar kernel, the tensor-core kernel where the device has
// tensor cores, and the tensor-core kernel's emulated twin everywhere), GQA shapes from stories260K's (8, 4, 8)
// to head_dim 256, and one decode command buffer recorded once and replayed over many steps. Cache positions
// not yet written hold NaN, so a kernel reading past the live length fails loudly.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "ops/attention.h"
#include "ref/attention.h"
#include "ref/compare.h"
#include "support/gpu.h"

namespace ds {
namespace {

struct AttnShape {
  int n_heads, n_kv, head_dim;
};

// Host data of one kv_store + attention call.
struct Problem {
  AttnShape s;
  int n_ctx, n_tokens, n_past;
  float scale;
  std::vector<float> k_cache, v_cache;  // (n_kv, n_ctx, head_dim): random below n_past, NaN from there
  std::vector<float> k_new, v_new;      // (n_tokens, n_kv, head_dim)
  std::vector<float> q;                 // (n_tokens, n_heads, head_dim)
};

Problem make_problem(AttnShape s, int n_ctx, int n_tokens, int n_past, uint32_t seed) {
  Problem p{s, n_ctx, n_tokens, n_past, 1.0f / std::sqrt(float(s.head_dim))};
  const size_t row = size_t(s.head_dim);
  p.k_cache = test::random_floats(size_t(s.n_kv) * n_ctx * row, seed, -1, 1);
  p.v_cache = test::random_floats(p.k_cache.size(), seed + 1, -1, 1);
  for (int h = 0; h < s.n_kv; ++h)
    for (size_t i = (size_t(h) * n_ctx + n_past) * row; i < size_t(h + 1) * n_ctx * row; ++i)
      p.k_cache[i] = p.v_cache[i] = std::numeric_limits<float>::quiet_NaN();
  p.k_new = test::random_floats(size_t(n_tokens) * s.n_kv * row, seed + 2, -1, 1);
  p.v_new = test::random_floats(p.k_new.size(), seed + 3, -1, 1);
  p.q = test::random_floats(size_t(n_tokens) * s.n_heads * row, seed + 4, -4, 4);  // peaked softmax
  return p;
}

// The expected caches after kv_store (F16-rounded as the GPU holds them) and the attention output on them.
struct Expected {
  std::vector<float> k_cache, v_cache, out;
};

std::vector<float> f16_rounded(std::vector<float> v) {
  for (float& x : v) x = f16_to_f32(f32_to_f16(x));
  return v;
}

Expected expected(const Problem& p, const std::vector<float>& gpu_k, const std::vector<float>& gpu_v) {
  Expected e{f16_rounded(p.k_cache), f16_rounded(p.v_cache), std::vector<float>(p.q.size())};
  ref::kv_store(p.k_new, e.k_cache, p.s.head_dim, p.s.n_kv, p.n_ctx, p.n_tokens, p.n_past);
  ref::kv_store(p.v_new, e.v_cache, p.s.head_dim, p.s.n_kv, p.n_ctx, p.n_tokens, p.n_past);
  // Attention on the caches the GPU holds, so F16 rounding of kv_store is not counted as attention error.
  ref::attention(p.q, gpu_k, gpu_v, e.out, p.s.head_dim, p.s.n_heads, p.s.n_kv, p.n_ctx, p.n_tokens, p.n_past,
                 p.scale);
  return e;
}

// Compares the live part of a downloaded cache with the expectation (new rows: F16 rounding mode may differ)
// and checks that nothing past it was written.
void check_cache(const Problem& p, const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  const size_t row = size_t(p.s.head_dim);
  std::vector<float> got_new, want_new;
  for (int h = 0; h < p.s.n_kv; ++h)
    for (int pos = 0; pos < p.n_ctx; ++pos)
      for (size_t d = 0; d < row; ++d) {
        const size_t i = (size_t(h) * p.n_ctx + pos) * row + d;
        if (pos < p.n_past) {
          ASSERT_EQ(got[i], want[i]) << what << " row " << pos << " of kv head " << h << " changed";
        } else if (pos < p.n_past + p.n_tokens) {
          got_new.push_back(got[i]);
          want_new.push_back(want[i]);
        } else {
          ASSERT_TRUE(std::isnan(got[i])) << what << " position " << pos << " past the new tokens was written";
        }
      }
  EXPECT_LT(ref::nmse(got_new, want_new), 1e-7) << what;
}

Tensor step_tensor(int n_past, int n_tokens) {
  Tensor t = test::empty_tensor(DType::I32, {4, 1, 1, 1}, "step");
  int32_t v[4] = {n_past, n_tokens, 0, 0};
  upload(test::device(), t, v);
  return t;
}

// Runs kv_store(k), kv_store(v), attention on the GPU and checks caches and output against the reference.
void run_and_check(const Problem& p, double max_nmse, DType out_type = DType::F32) {
  const auto [n_heads, n_kv, hd] = p.s;
  Tensor kc = test::tensor_from(p.k_cache, DType::F16, {hd, p.n_ctx, n_kv, 1}, "k_cache");
  Tensor vc = test::tensor_from(p.v_cache, DType::F16, {hd, p.n_ctx, n_kv, 1}, "v_cache");
  Tensor kn = test::tensor_from(p.k_new, DType::F32, {hd, n_kv, p.n_tokens, 1}, "k_new");
  Tensor vn = test::tensor_from(p.v_new, DType::F32, {hd, n_kv, p.n_tokens, 1}, "v_new");
  Tensor q = test::tensor_from(p.q, DType::F32, {hd, n_heads, p.n_tokens, 1}, "q");
  Tensor out = test::empty_tensor(out_type, q.ne, "out");
  Tensor step = step_tensor(p.n_past, p.n_tokens);
  const size_t scratch_elems = ops::attention_scratch_elems(n_heads, hd, p.n_ctx, p.n_tokens);
  Tensor scratch = scratch_elems ? test::empty_tensor(DType::F32, {int64_t(scratch_elems), 1, 1, 1}, "scratch")
                                 : Tensor{};
  test::run([&](vk::Recorder& r) {
    ops::kv_store(r, kn, step, kc);
    ops::kv_store(r, vn, step, vc);
    ops::attention(r, q, kc, vc, step, p.scale, out, scratch);
  });
  auto gpu_k = download_f32(test::device(), kc), gpu_v = download_f32(test::device(), vc);
  Expected e = expected(p, gpu_k, gpu_v);
  check_cache(p, gpu_k, e.k_cache, "k_cache");
  check_cache(p, gpu_v, e.v_cache, "v_cache");
  const double err = ref::nmse(download_f32(test::device(), out), e.out);
  EXPECT_LT(err, max_nmse);
  testing::Test::RecordProperty("nmse", cat(err));
}

constexpr double k_attention_nmse = 1e-10;  // F32 softmax and sums; the reference is double on the same F16 K/V

const AttnShape k_shapes[] = {{8, 4, 8}, {32, 8, 64}, {4, 4, 128}, {2, 1, 256}, {6, 2, 48}};

std::string shape_name(const AttnShape& s) {
  return "h" + std::to_string(s.n_heads) + "_kv" + std::to_string(s.n_kv) + "_hd" + std::to_string(s.head_dim);
}

// ---- decode ----
struct DecodeCase {
  AttnShape s;
  int n_ctx, n_past;
};

class AttentionDecode : public testing::TestWithParam<DecodeCase> {};

TEST_P(AttentionDecode, MatchesReference) {
  const DecodeCase c = GetParam();
  run_and_check(make_problem(c.s, c.n_ctx, 1, c.n_past, 11), k_attention_nmse);
}

std::vector<DecodeCase> decode_cases() {
  std::vector<DecodeCase> v;
  for (const AttnShape& s : k_shapes)
    for (int n_past : {0, 1, 37, 300}) v.push_back({s, 512, n_past});
  for (int n_past : {0, 37, 99}) v.push_back({{8, 4, 8}, 100, n_past});  // one chunk: no scratch, no combine
  v.push_back({{32, 8, 128}, 4096, 4000});                              // 32 chunks of one tile
  v.push_back({{16, 4, 64}, 20000, 19999});                             // 79 chunks of two tiles
  v.push_back({{8, 4, 8}, 40000, 39321});                               // 105 chunks of three tiles
  return v;
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionDecode, testing::ValuesIn(decode_cases()), [](const auto& info) {
  return shape_name(info.param.s) + "_ctx" + std::to_string(info.param.n_ctx) + "_past" +
         std::to_string(info.param.n_past);
});

// ---- prefill ----
struct PrefillCase {
  AttnShape s;
  int n_tokens, n_past;
};

// Sets DS_ATTN_PREFILL (the prefill kernel, ops::attention_prefill_kernel) for one scope.
class PrefillKernelEnv {
 public:
  explicit PrefillKernelEnv(const char* kernel) {
    if (const char* e = std::getenv("DS_ATTN_PREFILL")) saved_ = e, had_ = true;
    setenv("DS_ATTN_PREFILL", kernel, 1);
  }
  ~PrefillKernelEnv() {
    if (had_)
      setenv("DS_ATTN_PREFILL", saved_.c_str(), 1);
    else
      unsetenv("DS_ATTN_PREFILL");
  }

 private:
  std::string saved_;
  bool had_ = false;
};

class AttentionPrefill : public testing::TestWithParam<PrefillCase> {};

TEST_P(AttentionPrefill, MatchesReference) {
  const PrefillCase c = GetParam();
  PrefillKernelEnv scalar("scalar");  // exact to 1e-10; the tensor-core kernel has its own cases below
  run_and_check(make_problem(c.s, 160, c.n_tokens, c.n_past, 23), k_attention_nmse);
}

std::vector<PrefillCase> prefill_cases() {
  std::vector<PrefillCase> v;
  for (const AttnShape& s : k_shapes)
    for (int n_tokens : {2, 17, 64})
      for (int n_past : {0, 5}) v.push_back({s, n_tokens, n_past});
  v.push_back({{8, 4, 8}, 150, 10});  // fills the cache up to n_ctx
  return v;
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionPrefill, testing::ValuesIn(prefill_cases()), [](const auto& info) {
  return shape_name(info.param.s) + "_tok" + std::to_string(info.param.n_tokens) + "_past" +
         std::to_string(info.param.n_past);
});

// ---- tensor-core prefill (attention_prefill_coopmat.comp) and its emulated twin ----
// Q and P go through F16 on the way into the tensor cores (scores and sums stay F32): nmse ~1e-6 expected.
constexpr double k_coopmat_nmse = 1e-5;

struct CoopPrefillCase {
  const char* kernel;  // DS_ATTN_PREFILL value: coopmat (needs tensor cores) or emulated (any device)
  AttnShape s;
  int n_tokens, n_past;
};

class AttentionPrefillCoopMat : public testing::TestWithParam<CoopPrefillCase> {};

TEST_P(AttentionPrefillCoopMat, MatchesReference) {
  const CoopPrefillCase c = GetParam();
  PrefillKernelEnv env(c.kernel);
  try {
    const std::string chosen = ops::attention_prefill_kernel(test::device(), c.s.head_dim, c.n_tokens);
    const bool emulated = c.kernel == std::string("emulated");
    ASSERT_EQ(chosen, emulated ? "attention_prefill_coopmat_emulated" : "attention_prefill_coopmat");
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();  // names the device and why (no tensor cores, subgroup size, shared memory)
  }
  run_and_check(make_problem(c.s, c.n_past + c.n_tokens + 7, c.n_tokens, c.n_past, 41), k_coopmat_nmse);
}

std::vector<CoopPrefillCase> coop_prefill_cases() {
  std::vector<CoopPrefillCase> v;
  // Tensor cores: head_dim 64 and 128; GQA 4:1 (4 heads per workgroup), 2:1, 1:1, 3:1 (1 head per workgroup).
  for (AttnShape s : {AttnShape{8, 2, 64}, AttnShape{4, 4, 64}, AttnShape{8, 4, 64}, AttnShape{6, 2, 64},
                      AttnShape{8, 2, 128}, AttnShape{4, 4, 128}})
    for (int n_tokens : {512, 100, 17})
      for (int n_past : {0, 37}) v.push_back({"coopmat", s, n_tokens, n_past});
  // The emulated twin, small enough for lavapipe's 32 KiB of shared memory (head_dim 32 and 48).
  for (AttnShape s : {AttnShape{8, 2, 32}, AttnShape{4, 4, 48}, AttnShape{6, 2, 32}, AttnShape{4, 2, 48}})
    for (int n_tokens : {100, 17, 2})
      for (int n_past : {0, 37}) v.push_back({"emulated", s, n_tokens, n_past});
  v.push_back({"emulated", {8, 2, 32}, 512, 5});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionPrefillCoopMat, testing::ValuesIn(coop_prefill_cases()), [](const auto& info) {
  const CoopPrefillCase& c = info.param;
  return std::string(c.kernel) + "_" + shape_name(c.s) + "_tok" + std::to_string(c.n_tokens) + "_past" +
         std::to_string(c.n_past);
});

// F16 output (the output projection's input in prefill on tensor-core devices), each prefill kernel: the
// output's own rounding (2^-11 relative, nmse ~1e-7) on top of each kernel's error.
class AttentionPrefillHalfOut : public testing::TestWithParam<CoopPrefillCase> {};

TEST_P(AttentionPrefillHalfOut, MatchesReference) {
  const CoopPrefillCase c = GetParam();
  PrefillKernelEnv env(c.kernel);
  try {
    ops::attention_prefill_kernel(test::device(), c.s.head_dim, c.n_tokens);
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
  run_and_check(make_problem(c.s, c.n_past + c.n_tokens + 7, c.n_tokens, c.n_past, 43), 1e-5, DType::F16);
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionPrefillHalfOut,
                         testing::Values(CoopPrefillCase{"scalar", {8, 4, 8}, 17, 5},
                                         CoopPrefillCase{"scalar", {32, 8, 64}, 64, 0},
                                         CoopPrefillCase{"emulated", {8, 2, 32}, 100, 37},
                                         CoopPrefillCase{"coopmat", {8, 2, 64}, 512, 0},
                                         CoopPrefillCase{"coopmat", {4, 4, 128}, 100, 37}),
                         [](const auto& info) {
                           const CoopPrefillCase& c = info.param;
                           return std::string(c.kernel) + "_" + shape_name(c.s) + "_tok" + std::to_string(c.n_tokens);
                         });

// Without DS_ATTN_PREFILL the tensor-core kernel is chosen exactly where it can run, for 64 tokens or more;
// forcing it where it cannot, or naming an unknown kernel, is one readable error.
TEST(AttentionPrefillKernel, ChoiceAndForcedErrors) {
  Device& dev = test::device();
  const bool tensor_cores = dev.has_coopmat_nv() && dev.subgroup_size() == 32;
  {
    PrefillKernelEnv none("");  // empty: the default choice
    const char* want = tensor_cores ? "attention_prefill_coopmat" : "attention_prefill";
    EXPECT_STREQ(ops::attention_prefill_kernel(dev, 64, 512), want);
    EXPECT_STREQ(ops::attention_prefill_kernel(dev, 64, 63), "attention_prefill");   // short prompts stay exact
    EXPECT_STREQ(ops::attention_prefill_kernel(dev, 72, 512), "attention_prefill");  // not a multiple of 16
    EXPECT_STREQ(ops::attention_prefill_kernel(dev, 256, 512), "attention_prefill"); // tiles over 48 KiB
  }
  {
    PrefillKernelEnv scalar("scalar");
    EXPECT_STREQ(ops::attention_prefill_kernel(dev, 64, 512), "attention_prefill");
  }
  {
    PrefillKernelEnv bogus("fast");
    try {
      ops::attention_prefill_kernel(dev, 64, 512);
      ADD_FAILURE() << "DS_ATTN_PREFILL=fast accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("DS_ATTN_PREFILL=fast unknown"), std::string::npos) << e.what();
    }
  }
  PrefillKernelEnv coopmat("coopmat");
  if (tensor_cores) {
    EXPECT_STREQ(ops::attention_prefill_kernel(dev, 128, 17), "attention_prefill_coopmat");  // forced: any length
    EXPECT_THROW(ops::attention_prefill_kernel(dev, 72, 512), Error);
    return;
  }
  try {
    ops::attention_prefill_kernel(dev, 64, 512);
    ADD_FAILURE() << "DS_ATTN_PREFILL=coopmat accepted on a device without tensor cores";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot run on " + dev.info().name), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("VK_NV_cooperative_matrix") != std::string::npos || msg.find("wide") != std::string::npos)
        << msg;
  }
}

// ---- one decode command buffer, replayed ----
// Records kv_store(k), kv_store(v), attention once; then for every step writes n_past and the new q/k/v
// from the host into host-visible tensors, resubmits, and checks the output against the reference.
class AttentionReplay : public testing::TestWithParam<AttnShape> {};

TEST_P(AttentionReplay, RecordOnceReplaySteps) {
  const AttnShape s = GetParam();
  const int hd = s.head_dim, n_ctx = 512, first = 120, steps = 140;  // crosses chunk boundaries 128 and 256
  Problem p = make_problem(s, n_ctx, 1, first, 31);
  Tensor kc = test::tensor_from(p.k_cache, DType::F16, {hd, n_ctx, s.n_kv, 1}, "k_cache");
  Tensor vc = test::tensor_from(p.v_cache, DType::F16, {hd, n_ctx, s.n_kv, 1}, "v_cache");
  Tensor out = test::empty_tensor(DType::F32, {hd, s.n_heads, 1, 1}, "out");
  const size_t scratch_elems = ops::attention_scratch_elems(s.n_heads, hd, n_ctx, 1);
  ASSERT_GT(scratch_elems, 0u);
  Tensor scratch = test::empty_tensor(DType::F32, {int64_t(scratch_elems), 1, 1, 1}, "scratch");
  vk::Arena host(test::device(), "host-written", vk::MemoryKind::Upload, 1 << 20);
  Tensor step = make_tensor(host, DType::I32, {4, 1, 1, 1}, "step");
  Tensor q = make_tensor(host, DType::F32, {hd, s.n_heads, 1, 1}, "q");
  Tensor kn = make_tensor(host, DType::F32, {hd, s.n_kv, 1, 1}, "k_new");
  Tensor vn = make_tensor(host, DType::F32, {hd, s.n_kv, 1, 1}, "v_new");
  ASSERT_TRUE(step.buf.mapped && q.buf.mapped && kn.buf.mapped && vn.buf.mapped);

  vk::Recording cmd(test::device());
  cmd.begin();
  {
    vk::Recorder r(test::device(), cmd.cmd());
    ops::kv_store(r, kn, step, kc);
    ops::kv_store(r, vn, step, vc);
    ops::attention(r, q, kc, vc, step, p.scale, out, scratch);
  }
  cmd.end();

  for (int n_past = first; n_past < first + steps; ++n_past) {
    p.n_past = n_past;
    p.q = test::random_floats(p.q.size(), uint32_t(1000 + n_past), -4, 4);
    p.k_new = test::random_floats(p.k_new.size(), uint32_t(2000 + n_past));
    p.v_new = test::random_floats(p.v_new.size(), uint32_t(3000 + n_past));
    const int32_t st[4] = {n_past, 1, 0, 0};
    std::memcpy(step.buf.mapped, st, sizeof st);
    std::memcpy(q.buf.mapped, p.q.data(), q.n_bytes());
    std::memcpy(kn.buf.mapped, p.k_new.data(), kn.n_bytes());
    std::memcpy(vn.buf.mapped, p.v_new.data(), vn.n_bytes());
    cmd.submit_and_wait();
    auto gpu_k = download_f32(test::device(), kc), gpu_v = download_f32(test::device(), vc);
    Expected e = expected(p, gpu_k, gpu_v);
    check_cache(p, gpu_k, e.k_cache, "k_cache");
    check_cache(p, gpu_v, e.v_cache, "v_cache");
    ASSERT_LT(ref::nmse(download_f32(test::device(), out), e.out), k_attention_nmse) << "step n_past " << n_past;
    p.k_cache = e.k_cache;  // the next step sees this one's row
    p.v_cache = e.v_cache;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionReplay, testing::Values(AttnShape{8, 4, 8}, AttnShape{32, 8, 64}),
                         [](const auto& info) { return shape_name(info.param); });

// ---- timing (DS_BENCH=1 only) ----
// Decode at the full cache length and one prefill batch, each recorded `reps` times into one command buffer
// (barriers between, as between layers). Decode is bound by reading K and V: GB/s is against that traffic.
TEST(AttentionBench, Timing) {
  if (!std::getenv("DS_BENCH")) GTEST_SKIP() << "set DS_BENCH=1 to time attention";
  struct Run {
    AttnShape s;
    int n_ctx, n_tokens;
  };
  const int div = test::device().info().type == "cpu" ? 16 : 1;  // a CPU device only checks that it runs
  // The last two: prefill, the kernel ops::attention_prefill_kernel picks (DS_ATTN_PREFILL=scalar for A/B);
  // {32, 8, 64} x 512 tokens is one layer of the 1B model's 512-token prefill.
  for (const Run& b : {Run{{32, 8, 128}, 8192 / div, 1}, Run{{32, 8, 128}, 32768 / div, 1}, Run{{8, 4, 8}, 512, 1},
                       Run{{32, 8, 128}, 4096 / div, 512 / div}, Run{{32, 8, 64}, 512 / div, 512 / div}}) {
    const auto [n_heads, n_kv, hd] = b.s;
    Tensor kc = test::empty_tensor(DType::F16, {hd, b.n_ctx, n_kv, 1}, "k_cache");
    Tensor vc = test::empty_tensor(DType::F16, {hd, b.n_ctx, n_kv, 1}, "v_cache");
    Tensor q = test::empty_tensor(DType::F32, {hd, n_heads, b.n_tokens, 1}, "q");
    Tensor out = test::empty_tensor(DType::F32, q.ne, "out");
    // n_past such that the last token sees the whole cache
    Tensor step = step_tensor(b.n_ctx - b.n_tokens, b.n_tokens);
    const size_t scratch_elems = ops::attention_scratch_elems(n_heads, hd, b.n_ctx, b.n_tokens);
    Tensor scratch = test::empty_tensor(DType::F32, {int64_t(std::max<size_t>(scratch_elems, 1)), 1, 1, 1}, "scratch");
    test::run([&](vk::Recorder& r) {
      r.fill(kc.buf, 0x3c003c00u);  // 1.0 in F16
      r.fill(vc.buf, 0x3c003c00u);
      r.fill(q.buf, 0);
    });
    const int reps = div > 1 ? 2 : 20;
    vk::Recording cmd(test::device());
    cmd.begin();
    {
      vk::Recorder r(test::device(), cmd.cmd());
      for (int i = 0; i < reps; ++i) ops::attention(r, q, kc, vc, step, 0.1f, out, scratch);
    }
    cmd.end();
    cmd.submit_and_wait();  // warm-up
    auto t0 = std::chrono::steady_clock::now();
    cmd.submit_and_wait();
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
    const double kv_bytes = 2.0 * kc.n_bytes();
    const double flops = 4.0 * n_heads * hd * double(b.n_tokens) * (b.n_ctx - b.n_tokens / 2.0);
    const char* kernel =
        b.n_tokens > 1 ? ops::attention_prefill_kernel(test::device(), hd, b.n_tokens) : "attention_decode";
    std::printf("[bench] attention h%d kv%d hd%d ctx %d tokens %d (%s): %.1f us, K/V %.1f GB/s, %.2f TFLOP/s\n",
                n_heads, n_kv, hd, b.n_ctx, b.n_tokens, kernel, us, kv_bytes / us * 1e-3, flops / us * 1e-6);
    std::fflush(stdout);
    EXPECT_TRUE(std::isfinite(download_f32(test::device(), out)[0]));
  }
}

// ---- rejected inputs ----
TEST(Attention, RejectsBadShapes) {
  Tensor step = step_tensor(0, 1);
  Tensor kc = test::empty_tensor(DType::F16, {64, 512, 3, 1}, "k_cache");
  Tensor q = test::empty_tensor(DType::F32, {64, 8, 1, 1}, "q");
  // 8 query heads over 3 kv heads
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::attention(r, q, kc, kc, step, 0.125f, q); }), Error);
  // decode over 512 positions without scratch
  Tensor kc4 = test::empty_tensor(DType::F16, {64, 512, 4, 1}, "k_cache4");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::attention(r, q, kc4, kc4, step, 0.125f, q); }), Error);
  // head_dim 260
  Tensor qb = test::empty_tensor(DType::F32, {260, 4, 2, 1}, "q_big");
  Tensor kb = test::empty_tensor(DType::F16, {260, 64, 4, 1}, "k_big");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::attention(r, qb, kb, kb, step, 0.1f, qb); }), Error);
  // F32 cache
  Tensor kf = test::empty_tensor(DType::F32, {64, 512, 4, 1}, "k_f32");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::kv_store(r, q, step, kf); }), Error);
}

}  // namespace
}  // namespace ds
