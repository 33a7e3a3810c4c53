// Per-layer comparison against the CPU reference: cosine of residual streams (d_model 64 / 2048 / odd),
// Jensen-Shannon divergence of attention rows (symmetric, 0 for identical rows, in [0, ln 2], ln 2 for
// disjoint rows), the mean over heads, and framed inputs read from two rings at the index slot.
#include <cmath>

#include "probe/compare.h"
#include "ref/probe.h"
#include "support/probe_util.h"

namespace ds {
namespace {

std::vector<float> random_rows(int n_keys, int rows, uint32_t seed, bool sparse) {
  auto v = test::random_floats(size_t(n_keys) * rows, seed, 0.0f, 1.0f);
  for (int r = 0; r < rows; ++r) {
    double s = 0;
    for (int j = 0; j < n_keys; ++j) {
      float& x = v[size_t(r) * n_keys + j];
      if (sparse && (j * 7 + r) % 3 == 0) x = 0.0f;  // causal zeros / masked keys
      x = x * x * x;                                 // peaked
      s += x;
    }
    for (int j = 0; j < n_keys; ++j) v[size_t(r) * n_keys + j] = float(v[size_t(r) * n_keys + j] / s);
  }
  return v;
}

struct CosineCase {
  int d, n_tokens;
};
class CosineTest : public testing::TestWithParam<CosineCase> {};

TEST_P(CosineTest, MatchesReference) {
  const auto [d, n] = GetParam();
  auto a = test::random_floats(size_t(d) * n, 51, -2, 2);
  auto b = test::random_floats(size_t(d) * n, 52, -2, 2);
  for (size_t i = 0; i < size_t(d); ++i) b[i] = a[i] + 0.1f * b[i];  // token 0: nearly parallel
  for (size_t i = 0; n > 1 && i < size_t(d); ++i) b[size_t(d) + i] = -3.0f * a[size_t(d) + i];  // token 1: opposite
  Tensor ta = test::tensor_from(a, DType::F32, {d, n, 1, 1}, "teacher_x");
  Tensor tb = test::tensor_from(b, DType::F32, {d, n, 1, 1}, "student_x");
  Tensor out = test::word_tensor(size_t(n), test::k_nan_bits, "cos");
  Tensor index = test::index_tensor(0);
  test::run([&](vk::Recorder& r) {
    probe::cosine(r, probe::Span::plain(ta), probe::Span::plain(tb), d, n, index.buf, probe::Span::plain(out));
  });
  const auto got = download_f32(test::device(), out);
  for (int t = 0; t < n; ++t) {
    const double want = ref::cosine(std::span<const float>(a).subspan(size_t(t) * d, size_t(d)),
                                    std::span<const float>(b).subspan(size_t(t) * d, size_t(d)));
    EXPECT_NEAR(got[size_t(t)], want, 2e-6) << "token " << t;
  }
  if (n > 1) {
    EXPECT_NEAR(got[1], -1.0f, 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CosineTest,
                         testing::Values(CosineCase{64, 1}, CosineCase{2048, 2}, CosineCase{2048, 5},
                                         CosineCase{1001, 3}, CosineCase{8192, 2}),
                         [](const auto& info) {
                           return "d" + std::to_string(info.param.d) + "_n" + std::to_string(info.param.n_tokens);
                         });

TEST(Cosine, ZeroRowGivesZero) {
  std::vector<float> a(64, 0.0f), b = test::random_floats(64, 1);
  Tensor ta = test::tensor_from(a, DType::F32, {64, 1, 1, 1}, "a");
  Tensor tb = test::tensor_from(b, DType::F32, {64, 1, 1, 1}, "b");
  Tensor out = test::word_tensor(1, test::k_nan_bits, "cos");
  Tensor index = test::index_tensor(0);
  test::run([&](vk::Recorder& r) {
    probe::cosine(r, probe::Span::plain(ta), probe::Span::plain(tb), 64, 1, index.buf, probe::Span::plain(out));
  });
  EXPECT_EQ(download_f32(test::device(), out)[0], 0.0f);
}

struct JsCase {
  int n_keys, n_tokens, n_groups;
  bool sparse;
};
class JsTest : public testing::TestWithParam<JsCase> {};

// Runs the JS op on rows (groups, tokens, keys) with a then b and b then a.
std::pair<std::vector<float>, std::vector<float>> run_js(const std::vector<float>& p, const std::vector<float>& q,
                                                         int n_keys, int n, int groups) {
  Tensor ta = test::tensor_from(p, DType::F32, {n_keys, n, groups, 1}, "teacher_rows");
  Tensor tb = test::tensor_from(q, DType::F32, {n_keys, n, groups, 1}, "student_rows");
  Tensor ab = test::word_tensor(size_t(n), test::k_nan_bits, "js_ab");
  Tensor ba = test::word_tensor(size_t(n), test::k_nan_bits, "js_ba");
  Tensor index = test::index_tensor(0);
  const uint32_t gs = uint32_t(n_keys * n);
  test::run([&](vk::Recorder& r) {
    probe::attention_js(r, probe::Span::plain(ta), probe::Span::plain(tb), n_keys, n, groups, gs, index.buf,
                        probe::Span::plain(ab));
    probe::attention_js(r, probe::Span::plain(tb), probe::Span::plain(ta), n_keys, n, groups, gs, index.buf,
                        probe::Span::plain(ba));
  });
  return {download_f32(test::device(), ab), download_f32(test::device(), ba)};
}

TEST_P(JsTest, MatchesReferenceSymmetricAndBounded) {
  const JsCase& c = GetParam();
  auto p = random_rows(c.n_keys, c.n_tokens * c.n_groups, 61, c.sparse);
  auto q = random_rows(c.n_keys, c.n_tokens * c.n_groups, 62, c.sparse);
  auto [ab, ba] = run_js(p, q, c.n_keys, c.n_tokens, c.n_groups);
  for (int t = 0; t < c.n_tokens; ++t) {
    double want = 0;
    for (int g = 0; g < c.n_groups; ++g) {
      const size_t off = (size_t(g) * c.n_tokens + t) * c.n_keys;
      const double js = ref::js_divergence(std::span<const float>(p).subspan(off, size_t(c.n_keys)),
                                           std::span<const float>(q).subspan(off, size_t(c.n_keys)));
      EXPECT_GE(js, 0.0);
      EXPECT_LE(js, std::log(2.0));
      want += js / c.n_groups;
    }
    EXPECT_NEAR(ab[size_t(t)], want, 1e-6 + 1e-5 * want) << "token " << t;
    EXPECT_NEAR(ab[size_t(t)], ba[size_t(t)], 1e-6 + 1e-6 * want) << "symmetry, token " << t;
    EXPECT_GE(ab[size_t(t)], 0.0f);
    EXPECT_LE(ab[size_t(t)], float(std::log(2.0)) + 1e-6f);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, JsTest,
                         testing::Values(JsCase{64, 1, 1, false}, JsCase{2048, 1, 32, true}, JsCase{777, 3, 4, true},
                                         JsCase{5, 2, 1, false}),
                         [](const auto& info) {
                           return "keys" + std::to_string(info.param.n_keys) + "_n" +
                                  std::to_string(info.param.n_tokens) + "_heads" + std::to_string(info.param.n_groups) +
                                  (info.param.sparse ? "_sparse" : "_dense");
                         });

TEST(AttentionJs, IdenticalIsZeroDisjointIsLn2) {
  const int n = 100;
  auto p = random_rows(n, 1, 3, true);
  std::vector<float> left(n, 0.0f), right(n, 0.0f);
  for (int j = 0; j < n / 2; ++j) left[size_t(j)] = 2.0f / n;
  for (int j = n / 2; j < n; ++j) right[size_t(j)] = 2.0f / n;
  EXPECT_EQ(run_js(p, p, n, 1, 1).first[0], 0.0f);
  EXPECT_NEAR(run_js(left, right, n, 1, 1).first[0], std::log(2.0), 1e-6);
}

TEST(Compare, ReadsFramedInputsAtTheIndexSlot) {
  // Teacher rows in ring A (frame 500 words), student rows in ring B (frame 300), result into B.
  const int keys = 50, frames = 4, slot = 3;
  auto p = random_rows(keys, 1, 71, true), q = random_rows(keys, 1, 72, true);
  std::vector<float> ra(500 * frames, -1.0f), rb(300 * frames, -1.0f);
  std::copy(p.begin(), p.end(), ra.begin() + 500 * slot + 10);
  std::copy(q.begin(), q.end(), rb.begin() + 300 * slot + 20);
  Tensor ta = test::tensor_from(ra, DType::F32, {int64_t(ra.size()), 1, 1, 1}, "ring_a");
  Tensor tb = test::tensor_from(rb, DType::F32, {int64_t(rb.size()), 1, 1, 1}, "ring_b");
  Tensor index = test::index_tensor(slot);
  test::run([&](vk::Recorder& r) {
    probe::attention_js(r, {ta.buf, 10, 500}, {tb.buf, 20, 300}, keys, 1, 1, 0, index.buf, {tb.buf, 5, 300});
    probe::cosine(r, {ta.buf, 10, 500}, {tb.buf, 20, 300}, keys, 1, index.buf, {tb.buf, 6, 300});
  });
  const auto got = download_f32(test::device(), tb);
  EXPECT_NEAR(got[300 * slot + 5], ref::js_divergence(p, q), 1e-6);
  EXPECT_NEAR(got[300 * slot + 6], ref::cosine(p, q), 1e-6);
  EXPECT_EQ(got[300 * 0 + 5], -1.0f);
  EXPECT_EQ(got[300 * 2 + 6], -1.0f);
}

}  // namespace
}  // namespace ds
