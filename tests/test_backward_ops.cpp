// Backward of get_rows, RMSNorm, RoPE and SwiGLU: each GPU kernel against its CPU reference (nmse), and each
// CPU reference against central finite differences of the CPU forward in double (support/gradcheck.h).
#include "ops/backward/embed.h"
#include "ops/backward/norm.h"
#include "ops/backward/rope.h"
#include "ops/backward/swiglu.h"
#include "ref/backward/embed.h"
#include "ref/backward/norm.h"
#include "ref/backward/rope.h"
#include "ref/backward/swiglu.h"
#include "ref/compare.h"
#include "support/gpu.h"
#include "support/gradcheck.h"

namespace ds {
namespace {

std::vector<int32_t> random_ids(size_t n, int lo, int hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = dist(rng);
  return ids;
}

Tensor ids_tensor(const std::vector<int32_t>& ids, const std::string& name) {
  Tensor t = test::empty_tensor(DType::I32, {int64_t(ids.size()), 1, 1, 1}, name);
  upload(test::device(), t, ids.data());
  return t;
}

std::vector<float> plus(std::vector<float> a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

// ---- get_rows ----

struct EmbedCase {
  int K, V, M;
};
class EmbedBackwardTest : public testing::TestWithParam<EmbedCase> {};

TEST_P(EmbedBackwardTest, GpuMatchesReference) {
  auto [K, V, M] = GetParam();
  auto ids = random_ids(size_t(M), -1, V, 3);  // duplicates, plus ids -1 and V (out of range, skipped)
  auto dout = test::random_floats(size_t(K) * M, 4);
  auto start = test::random_floats(size_t(K) * V, 5);
  std::vector<float> want(start.size());
  ref::get_rows_backward<float>(dout, ids, want, K, V);
  Tensor t_dout = test::tensor_from(dout, DType::F32, {K, M, 1, 1}, "dout");
  Tensor t_ids = ids_tensor(ids, "ids");
  Tensor fresh = test::tensor_from(start, DType::F32, {K, V, 1, 1}, "dtable");
  Tensor summed = test::tensor_from(start, DType::F32, {K, V, 1, 1}, "dtable_acc");
  test::run([&](vk::Recorder& r) {
    ops::get_rows_backward(r, t_dout, t_ids, fresh, false);
    ops::get_rows_backward(r, t_dout, t_ids, summed, true);
  });
  EXPECT_LT(ref::nmse(download_f32(test::device(), fresh), want), 1e-12);
  EXPECT_LT(ref::nmse(download_f32(test::device(), summed), plus(start, want)), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Shapes, EmbedBackwardTest,
                         testing::Values(EmbedCase{16, 50, 7}, EmbedCase{33, 60, 33}, EmbedCase{64, 300, 200},
                                         EmbedCase{300, 5, 40}),
                         [](const auto& i) {
                           return "K" + std::to_string(i.param.K) + "_V" + std::to_string(i.param.V) + "_M" +
                                  std::to_string(i.param.M);
                         });

TEST(EmbedBackward, DeterministicAcrossRuns) {
  const int K = 48, V = 20, M = 257;
  auto ids = random_ids(M, 0, V - 1, 9);
  Tensor t_dout = test::tensor_from(test::random_floats(size_t(K) * M, 10), DType::F32, {K, M, 1, 1}, "dout");
  Tensor t_ids = ids_tensor(ids, "ids");
  Tensor a = test::empty_tensor(DType::F32, {K, V, 1, 1}, "a"), b = test::empty_tensor(DType::F32, {K, V, 1, 1}, "b");
  test::run([&](vk::Recorder& r) { ops::get_rows_backward(r, t_dout, t_ids, a, false); });
  test::run([&](vk::Recorder& r) { ops::get_rows_backward(r, t_dout, t_ids, b, false); });
  EXPECT_EQ(download_f32(test::device(), a), download_f32(test::device(), b));
}

TEST(EmbedBackward, ReferenceMatchesFiniteDifferences) {
  const int K = 6, V = 9, M = 11;
  auto ids = random_ids(M, 0, V - 1, 11);
  auto table = test::random_doubles(size_t(K) * V, 12), r = test::random_doubles(size_t(K) * M, 13);
  std::vector<double> y(r.size()), grad(table.size());
  auto loss = [&] {
    ref::get_rows_forward<double>(table, ids, y, K, V);
    return test::dot(r, y);
  };
  ref::get_rows_backward<double>(r, ids, grad, K, V);
  EXPECT_LT(test::rel_max_error(grad, test::finite_diff(table, loss)), test::k_fd_bound);
}

TEST(EmbedBackward, RejectsMismatchedShapes) {
  Tensor dout = test::empty_tensor(DType::F32, {8, 4, 1, 1}, "dout");
  Tensor ids = test::empty_tensor(DType::I32, {5, 1, 1, 1}, "ids");
  Tensor table = test::empty_tensor(DType::F32, {8, 10, 1, 1}, "dtable");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::get_rows_backward(r, dout, ids, table, false); }), Error);
}

// ---- RMSNorm ----

struct NormCase {
  int n, rows;
  bool weight;
};
class RmsNormBackwardTest : public testing::TestWithParam<NormCase> {};

TEST_P(RmsNormBackwardTest, GpuMatchesReference) {
  auto [n, rows, weight] = GetParam();
  auto x = test::random_floats(size_t(n) * rows, 1, -2, 2), dy = test::random_floats(x.size(), 2);
  auto w = weight ? test::random_floats(size_t(n), 3, 0.5f, 1.5f) : std::vector<float>{};
  std::vector<float> dx(x.size()), dw(w.size());
  ref::rms_norm_backward<float>(x, w, dy, dx, dw, n, rows, 1e-5);
  auto dx0 = test::random_floats(x.size(), 4), dw0 = test::random_floats(w.size(), 5);
  Tensor tx = test::tensor_from(x, DType::F32, {n, rows, 1, 1}, "x");
  Tensor tdy = test::tensor_from(dy, DType::F32, {n, rows, 1, 1}, "dy");
  Tensor tw = weight ? test::tensor_from(w, DType::F32, {n, 1, 1, 1}, "w") : Tensor{};
  Tensor rstd = test::empty_tensor(DType::F32, {rows, 1, 1, 1}, "rstd");
  for (bool acc : {false, true}) {
    Tensor tdx = test::tensor_from(dx0, DType::F32, {n, rows, 1, 1}, "dx");
    Tensor tdw = weight ? test::tensor_from(dw0, DType::F32, {n, 1, 1, 1}, "dw") : Tensor{};
    test::run([&](vk::Recorder& r) { ops::rms_norm_backward(r, tx, tw, tdy, tdx, tdw, rstd, 1e-5f, {acc, acc}); });
    EXPECT_LT(ref::nmse(download_f32(test::device(), tdx), acc ? plus(dx0, dx) : dx), 1e-10) << "accumulate " << acc;
    if (weight) {
      EXPECT_LT(ref::nmse(download_f32(test::device(), tdw), acc ? plus(dw0, dw) : dw), 1e-10) << "accumulate " << acc;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, RmsNormBackwardTest,
                         testing::Values(NormCase{16, 7, true}, NormCase{64, 33, true}, NormCase{33, 5, false},
                                         NormCase{300, 3, true}, NormCase{1030, 9, true}),
                         [](const auto& i) {
                           return "n" + std::to_string(i.param.n) + "_rows" + std::to_string(i.param.rows) +
                                  (i.param.weight ? "_w" : "_now");
                         });

TEST(RmsNormBackward, ReferenceMatchesFiniteDifferences) {
  const int n = 10, rows = 4;
  for (bool weight : {true, false}) {
    auto x = test::random_doubles(size_t(n) * rows, 1, -2, 2), r = test::random_doubles(x.size(), 2);
    auto w = weight ? test::random_doubles(size_t(n), 3, 0.5, 1.5) : std::vector<double>{};
    std::vector<double> y(x.size()), dx(x.size()), dw(w.size());
    auto loss = [&] {
      ref::rms_norm_forward<double>(x, w, y, n, rows, 1e-5);
      return test::dot(r, y);
    };
    ref::rms_norm_backward<double>(x, w, r, dx, dw, n, rows, 1e-5);
    EXPECT_LT(test::rel_max_error(dx, test::finite_diff(x, loss)), test::k_fd_bound) << "weight " << weight;
    if (weight) {
      EXPECT_LT(test::rel_max_error(dw, test::finite_diff(w, loss)), test::k_fd_bound);
    }
  }
}

TEST(RmsNormBackward, RejectsAliasedGradient) {
  Tensor x = test::empty_tensor(DType::F32, {16, 2, 1, 1}, "x");
  Tensor dy = test::empty_tensor(DType::F32, {16, 2, 1, 1}, "dy");
  Tensor rstd = test::empty_tensor(DType::F32, {2, 1, 1, 1}, "rstd");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::rms_norm_backward(r, x, {}, dy, dy, {}, rstd, 1e-5f); }), Error);
}

// ---- RoPE ----

struct RopeCase {
  int head_dim, n_heads, n_tokens;
  bool neox;
};
class RopeBackwardTest : public testing::TestWithParam<RopeCase> {};

TEST_P(RopeBackwardTest, GpuMatchesReference) {
  auto [hd, heads, tokens, neox] = GetParam();
  auto pos = random_ids(size_t(tokens), 0, 4000, 7);
  auto inv_freq = ops::rope_inv_freq(hd, 10000.0f, {});
  auto dy = test::random_floats(size_t(hd) * heads * tokens, 8);
  std::vector<float> want(dy.size());
  ref::rope_backward<float>(dy, pos, inv_freq, neox, want, hd, heads, tokens);
  Tensor tdy = test::tensor_from(dy, DType::F32, {hd, heads, tokens, 1}, "dy");
  Tensor tdx = test::empty_tensor(DType::F32, {hd, heads, tokens, 1}, "dx");
  Tensor tpos = ids_tensor(pos, "positions");
  Tensor tfreq = test::tensor_from(inv_freq, DType::F32, {hd / 2, 1, 1, 1}, "inv_freq");
  const auto mode = neox ? ops::RopeMode::Neox : ops::RopeMode::Interleaved;
  test::run([&](vk::Recorder& r) {
    ops::rope_backward(r, tdy, tpos, tfreq, mode, tdx);
    ops::rope_backward(r, tdy, tpos, tfreq, mode, tdy);  // in place
  });
  EXPECT_LT(ref::nmse(download_f32(test::device(), tdx), want), 1e-10);
  EXPECT_LT(ref::nmse(download_f32(test::device(), tdy), want), 1e-10);
}

INSTANTIATE_TEST_SUITE_P(Shapes, RopeBackwardTest,
                         testing::Values(RopeCase{16, 4, 7, false}, RopeCase{16, 4, 7, true}, RopeCase{64, 2, 33, true},
                                         RopeCase{8, 3, 5, false}, RopeCase{128, 3, 17, false}),
                         [](const auto& i) {
                           return "hd" + std::to_string(i.param.head_dim) + "_h" + std::to_string(i.param.n_heads) +
                                  "_t" + std::to_string(i.param.n_tokens) + (i.param.neox ? "_neox" : "_interleaved");
                         });

TEST(RopeBackward, ReferenceMatchesFiniteDifferences) {
  const int hd = 8, heads = 2, tokens = 5;
  auto pos = random_ids(tokens, 0, 500, 3);
  auto inv_freq = ops::rope_inv_freq(hd, 10000.0f, {});
  for (bool neox : {false, true}) {
    auto x = test::random_doubles(size_t(hd) * heads * tokens, 4), r = test::random_doubles(x.size(), 5);
    std::vector<double> y(x.size()), dx(x.size());
    auto loss = [&] {
      ref::rope_forward<double>(x, pos, inv_freq, neox, y, hd, heads, tokens);
      return test::dot(r, y);
    };
    ref::rope_backward<double>(r, pos, inv_freq, neox, dx, hd, heads, tokens);
    EXPECT_LT(test::rel_max_error(dx, test::finite_diff(x, loss)), test::k_fd_bound) << "neox " << neox;
  }
}

// ---- SwiGLU ----

TEST(SwigluBackward, GpuMatchesReference) {
  for (int n : {1, 7, 1000, 4099}) {
    auto gate = test::random_floats(size_t(n), 1, -6, 6), up = test::random_floats(size_t(n), 2, -2, 2);
    auto dout = test::random_floats(size_t(n), 3);
    std::vector<float> dgate(gate.size()), dup(gate.size());
    ref::swiglu_backward<float>(gate, up, dout, dgate, dup);
    Tensor tg = test::tensor_from(gate, DType::F32, {n, 1, 1, 1}, "gate");
    Tensor tu = test::tensor_from(up, DType::F32, {n, 1, 1, 1}, "up");
    Tensor td = test::tensor_from(dout, DType::F32, {n, 1, 1, 1}, "dout");
    Tensor tdg = test::empty_tensor(DType::F32, {n, 1, 1, 1}, "dgate");
    Tensor tdu = test::empty_tensor(DType::F32, {n, 1, 1, 1}, "dup");
    test::run([&](vk::Recorder& r) {
      ops::swiglu_backward(r, tg, tu, td, tdg, tdu);
      ops::swiglu_backward(r, tg, tu, td, tg, tu);  // in place: dgate over gate, dup over up
    });
    EXPECT_LT(ref::nmse(download_f32(test::device(), tdg), dgate), 1e-10) << n;
    EXPECT_LT(ref::nmse(download_f32(test::device(), tdu), dup), 1e-10) << n;
    EXPECT_LT(ref::nmse(download_f32(test::device(), tg), dgate), 1e-10) << n;
    EXPECT_LT(ref::nmse(download_f32(test::device(), tu), dup), 1e-10) << n;
  }
}

TEST(SwigluBackward, ReferenceMatchesFiniteDifferences) {
  const size_t n = 40;
  auto gate = test::random_doubles(n, 1, -6, 6), up = test::random_doubles(n, 2, -2, 2), r = test::random_doubles(n, 3);
  std::vector<double> y(n), dgate(n), dup(n);
  auto loss = [&] {
    ref::swiglu_forward<double>(gate, up, y);
    return test::dot(r, y);
  };
  ref::swiglu_backward<double>(gate, up, r, dgate, dup);
  EXPECT_LT(test::rel_max_error(dgate, test::finite_diff(gate, loss)), test::k_fd_bound);
  EXPECT_LT(test::rel_max_error(dup, test::finite_diff(up, loss)), test::k_fd_bound);
}

}  // namespace
}  // namespace ds
