// Logit-lens top-k with probabilities and teacher-student divergence against the CPU reference, at vocab
// 512 / 32000 / 151936 and odd sizes: KL of identical logits is 0 with agreement 1, KL >= 0 and matches
// the reference on random pairs, ties go to the lower id, several tokens per dispatch, framed output.
#include <cmath>
#include <limits>

#include "probe/logits_top.h"
#include "ref/probe.h"
#include "support/probe_util.h"

namespace ds {
namespace {

// Logits with a realistic spread: a few peaked ids on top of noise.
std::vector<float> make_logits(int vocab, int n, uint32_t seed, float spread) {
  auto l = test::random_floats(size_t(vocab) * n, seed, -spread, spread);
  std::mt19937 rng(seed + 1);
  for (int t = 0; t < n; ++t)
    for (int i = 0; i < 4; ++i) l[size_t(t) * vocab + rng() % uint32_t(vocab)] += 3.0f * spread;
  return l;
}

std::span<const float> row(const std::vector<float>& v, int vocab, int t) {
  return std::span<const float>(v).subspan(size_t(t) * vocab, size_t(vocab));
}

struct LensCase {
  int vocab, n_tokens, n_top;
  int chunk = 0;  // ids per pass-1 workgroup; 0 = the device's choice, 256 = many workgroups as on a GPU
};

class LogitsTopTest : public testing::TestWithParam<LensCase> {};

TEST_P(LogitsTopTest, MatchesReference) {
  const auto [vocab, n, n_top, chunk] = GetParam();
  auto l = make_logits(vocab, n, 31, 4.0f);
  Tensor tl = test::tensor_from(l, DType::F32, {vocab, n, 1, 1}, "logits");
  Tensor partials =
      test::empty_tensor(DType::F32, {int64_t(probe::logits_partials(vocab, n, n_top, false, chunk)), 1, 1, 1}, "partials");
  Tensor out = test::word_tensor(size_t(probe::lens_block_words(n_top)) * n, test::k_nan_bits, "lens");
  Tensor index = test::index_tensor(0);
  test::run([&](vk::Recorder& r) {
    probe::logits_top(r, tl, n, n_top, index.buf, probe::Span::plain(out), partials, chunk);
  });
  const auto w = test::download_words(out);
  for (int t = 0; t < n; ++t) {
    const auto want = ref::logits_top(row(l, vocab, t), n_top);
    const uint32_t* b = w.data() + size_t(t) * probe::lens_block_words(n_top);
    for (int k = 0; k < n_top; ++k) {
      EXPECT_EQ(int32_t(b[k]), want[size_t(k)].first) << "token " << t << " rank " << k;
      EXPECT_NEAR(test::as_f32(b[n_top + k]), want[size_t(k)].second, 1e-5 * want[size_t(k)].second + 1e-9)
          << "token " << t << " rank " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Vocab, LogitsTopTest,
                         testing::Values(LensCase{512, 1, 5}, LensCase{32000, 1, 5}, LensCase{151936, 1, 5},
                                         LensCase{32000, 3, 16}, LensCase{2049, 2, 1}, LensCase{100, 1, 16},
                                         LensCase{32000, 2, 5, 256}, LensCase{151936, 1, 5, 256},
                                         LensCase{4099, 1, 7, 512}),
                         [](const auto& info) {
                           return "v" + std::to_string(info.param.vocab) + "_n" + std::to_string(info.param.n_tokens) +
                                  "_top" + std::to_string(info.param.n_top) +
                                  (info.param.chunk ? "_chunk" + std::to_string(info.param.chunk) : "");
                         });

TEST(LogitsTop, TiesGoToTheLowerId) {
  std::vector<float> l(5000, 0.0f);
  for (int i : {4321, 17, 2048, 999}) l[size_t(i)] = 2.0f;
  Tensor tl = test::tensor_from(l, DType::F32, {5000, 1, 1, 1}, "logits");
  Tensor partials = test::empty_tensor(DType::F32, {int64_t(probe::logits_partials(5000, 1, 5, false)), 1, 1, 1}, "p");
  Tensor out = test::word_tensor(10, 0, "lens");
  Tensor index = test::index_tensor(0);
  test::run([&](vk::Recorder& r) { probe::logits_top(r, tl, 1, 5, index.buf, probe::Span::plain(out), partials); });
  const auto w = test::download_words(out);
  EXPECT_EQ(std::vector<uint32_t>(w.begin(), w.begin() + 5), (std::vector<uint32_t>{17, 999, 2048, 4321, 0}));
}

struct DivCase {
  int vocab, n_tokens, topk, n_top;
  bool identical;
  int chunk = 0;
};

class DivergenceTest : public testing::TestWithParam<DivCase> {};

void expect_divergence(const TokenDivergence& want, const uint32_t* b, int n_top, bool identical) {
  auto near = [](double got, double ref, const char* what) {
    EXPECT_NEAR(got, ref, 2e-5 + 1e-4 * std::fabs(ref)) << what;
  };
  const float kl = test::as_f32(b[0]), rkl = test::as_f32(b[1]);
  EXPECT_GE(kl, 0.0f);
  EXPECT_GE(rkl, 0.0f);
  if (identical) {
    EXPECT_EQ(kl, 0.0f);
    EXPECT_EQ(rkl, 0.0f);
    EXPECT_EQ(test::as_f32(b[2]), 1.0f);
    EXPECT_EQ(test::as_f32(b[3]), 1.0f);
  }
  near(kl, want.kl, "kl");
  near(rkl, want.reverse_kl, "reverse kl");
  EXPECT_EQ(test::as_f32(b[2]) != 0.0f, want.top1_agree);
  EXPECT_EQ(test::as_f32(b[3]), want.topk_overlap);
  near(test::as_f32(b[4]), want.entropy_teacher, "entropy teacher");
  near(test::as_f32(b[5]), want.entropy_student, "entropy student");
  EXPECT_EQ(int32_t(b[6]), want.teacher_top1);
  EXPECT_EQ(int32_t(b[7]), want.student_top1);
  near(test::as_f32(b[8]), want.p_teacher, "p teacher");
  near(test::as_f32(b[9]), want.p_student, "p student");
  EXPECT_EQ(int32_t(b[10]), want.token);
  for (int k = 0; k < n_top; ++k) {
    EXPECT_EQ(int32_t(b[12 + k]), want.teacher_top[size_t(k)].first) << "teacher rank " << k;
    near(test::as_f32(b[12 + n_top + k]), want.teacher_top[size_t(k)].second, "teacher prob");
    EXPECT_EQ(int32_t(b[12 + 2 * n_top + k]), want.student_top[size_t(k)].first) << "student rank " << k;
    near(test::as_f32(b[12 + 3 * n_top + k]), want.student_top[size_t(k)].second, "student prob");
  }
}

TEST_P(DivergenceTest, MatchesReference) {
  const DivCase& c = GetParam();
  auto lt = make_logits(c.vocab, c.n_tokens, 41, 3.0f);
  auto ls = c.identical ? lt : make_logits(c.vocab, c.n_tokens, 42, 3.0f);
  if (!c.identical)  // a student close to the teacher on the first token: small KL, agreeing top-1
    for (size_t i = 0; i < size_t(c.vocab); ++i) ls[i] = lt[i] + 0.05f * ls[i];
  std::vector<int32_t> tokens;
  for (int t = 0; t < c.n_tokens; ++t) tokens.push_back(t == 2 ? -1 : (t * 7919 + 5) % c.vocab);
  Tensor tt = test::tensor_from(lt, DType::F32, {c.vocab, c.n_tokens, 1, 1}, "teacher");
  Tensor ts = test::tensor_from(ls, DType::F32, {c.vocab, c.n_tokens, 1, 1}, "student");
  Tensor tok = test::i32_tensor(tokens, "tokens");
  const int k = std::max(c.topk, c.n_top);
  Tensor partials =
      test::empty_tensor(DType::F32, {int64_t(probe::logits_partials(c.vocab, c.n_tokens, k, true, c.chunk)), 1, 1, 1},
                         "p");
  const uint32_t bw = probe::divergence_block_words(c.n_top);
  Tensor out = test::word_tensor(size_t(bw) * c.n_tokens, test::k_nan_bits, "div");
  Tensor index = test::index_tensor(0);
  test::run([&](vk::Recorder& r) {
    probe::divergence(r, tt, ts, tok, c.n_tokens, {c.topk, c.n_top, c.chunk}, index.buf, probe::Span::plain(out),
                      partials);
  });
  const auto w = test::download_words(out);
  for (int t = 0; t < c.n_tokens; ++t) {
    SCOPED_TRACE("token " + std::to_string(t));
    const auto want = ref::divergence(row(lt, c.vocab, t), row(ls, c.vocab, t), tokens[size_t(t)], c.topk, c.n_top);
    expect_divergence(want, w.data() + size_t(t) * bw, c.n_top, c.identical);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocab, DivergenceTest,
                         testing::Values(DivCase{512, 1, 10, 5, true}, DivCase{512, 3, 10, 5, false},
                                         DivCase{32000, 1, 10, 5, true}, DivCase{32000, 2, 10, 5, false},
                                         DivCase{151936, 1, 10, 5, false}, DivCase{151936, 1, 10, 5, true},
                                         DivCase{4097, 3, 16, 3, false}, DivCase{1000, 1, 1, 16, false},
                                         DivCase{32000, 2, 10, 5, false, 256}, DivCase{151936, 1, 10, 5, false, 256},
                                         DivCase{151936, 1, 10, 5, true, 1024}),
                         [](const auto& info) {
                           return "v" + std::to_string(info.param.vocab) + "_n" + std::to_string(info.param.n_tokens) +
                                  "_k" + std::to_string(info.param.topk) + "_top" + std::to_string(info.param.n_top) +
                                  (info.param.identical ? "_identical" : "_random") +
                                  (info.param.chunk ? "_chunk" + std::to_string(info.param.chunk) : "");
                         });

TEST(Divergence, RandomPairsAreNonNegativeAndMatch) {
  const int vocab = 3000, n = 8;
  auto lt = make_logits(vocab, n, 7, 5.0f), ls = make_logits(vocab, n, 8, 5.0f);
  std::vector<int32_t> tokens(n, 11);
  Tensor tt = test::tensor_from(lt, DType::F32, {vocab, n, 1, 1}, "teacher");
  Tensor ts = test::tensor_from(ls, DType::F32, {vocab, n, 1, 1}, "student");
  Tensor tok = test::i32_tensor(tokens, "tokens");
  Tensor partials = test::empty_tensor(DType::F32, {int64_t(probe::logits_partials(vocab, n, 10, true)), 1, 1, 1}, "p");
  const uint32_t bw = probe::divergence_block_words(5);
  Tensor out = test::word_tensor(size_t(bw) * n, 0, "div");
  Tensor index = test::index_tensor(0);
  test::run([&](vk::Recorder& r) {
    probe::divergence(r, tt, ts, tok, n, {}, index.buf, probe::Span::plain(out), partials);
  });
  const auto w = test::download_words(out);
  for (int t = 0; t < n; ++t) {
    const auto want = ref::divergence(row(lt, vocab, t), row(ls, vocab, t), 11, 10, 5);
    EXPECT_GT(want.kl, 0.5f);  // really different distributions
    EXPECT_GE(test::as_f32(w[t * bw]), 0.0f);
    EXPECT_NEAR(test::as_f32(w[t * bw]), want.kl, 1e-4 * want.kl);
    EXPECT_NEAR(test::as_f32(w[t * bw + 1]), want.reverse_kl, 1e-4 * want.reverse_kl);
  }
}

TEST(Divergence, RejectsDifferentVocabularies) {
  Tensor tt = test::empty_tensor(DType::F32, {512, 1, 1, 1}, "teacher");
  Tensor ts = test::empty_tensor(DType::F32, {513, 1, 1, 1}, "student");
  Tensor tok = test::i32_tensor({0}, "tokens");
  Tensor p = test::empty_tensor(DType::F32, {4096, 1, 1, 1}, "p");
  Tensor index = test::index_tensor(0);
  EXPECT_THROW(test::run([&](vk::Recorder& r) {
                 probe::divergence(r, tt, ts, tok, 1, {}, index.buf, probe::Span::plain(p), p);
               }),
               Error);
}

}  // namespace
}  // namespace ds
