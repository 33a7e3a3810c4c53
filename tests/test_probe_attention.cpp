// Attention-row capture against the CPU reference: default and odd shapes, GQA, prefill queries,
// truncated rows, framed output; rows sum to 1.
#include <cmath>

#include "probe/attention_rows.h"
#include "ref/compare.h"
#include "ref/probe.h"
#include "support/probe_util.h"
#include "vk/memory.h"

namespace ds {
namespace {

struct RowsCase {
  int head_dim, n_heads, n_kv, n_ctx, n_past, n_tokens, n_queries, max_keys;
  std::vector<int> heads;  // empty = all
  std::string name;
};

class AttentionRowsTest : public testing::TestWithParam<RowsCase> {};

TEST_P(AttentionRowsTest, MatchesReferenceAndSumsToOne) {
  const RowsCase& c = GetParam();
  std::vector<int> heads = c.heads;
  if (heads.empty())
    for (int h = 0; h < c.n_heads; ++h) heads.push_back(h);
  const float scale = 1.0f / std::sqrt(float(c.head_dim));
  auto q = test::random_floats(size_t(c.head_dim) * c.n_heads * c.n_tokens, 11, -2, 2);
  auto k = test::random_floats(size_t(c.head_dim) * c.n_ctx * c.n_kv, 12, -2, 2);
  Tensor tq = test::tensor_from(q, DType::F32, {c.head_dim, c.n_heads, c.n_tokens, 1}, "q");
  Tensor tk = test::tensor_from(k, DType::F16, {c.head_dim, c.n_ctx, c.n_kv, 1}, "k_cache");
  Tensor step = test::i32_tensor({c.n_past, c.n_tokens, 0, 0}, "step");
  Tensor index = test::index_tensor(0);
  const size_t words = heads.size() * size_t(c.n_queries) * size_t(c.max_keys);
  Tensor out = test::word_tensor(words, test::k_nan_bits, "rows");
  Tensor partials = test::empty_tensor(
      DType::F32, {int64_t(probe::attention_rows_partials(int(heads.size()), c.n_queries, c.n_ctx, c.max_keys)), 1, 1, 1},
      "partials");
  probe::AttentionRowsArgs a{heads, c.max_keys, c.n_queries, c.n_queries, scale};
  test::run([&](vk::Recorder& r) {
    probe::attention_rows(r, tq, tk, step, index.buf, a, probe::Span::plain(out), partials);
  });
  const auto k_rounded = download_f32(test::device(), tk);
  const auto want = ref::attention_rows(q, k_rounded, heads, c.head_dim, c.n_heads, c.n_kv, c.n_ctx, c.n_past,
                                        c.n_queries, c.max_keys, scale);
  const auto got = download_f32(test::device(), out);
  EXPECT_LT(ref::nmse(got, want), 1e-10);
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, double(std::fabs(got[i] - want[i])));
  EXPECT_LT(worst, 1e-5) << "largest absolute error";
  for (size_t i = 0; i < heads.size(); ++i)
    for (int t = 0; t < c.n_queries; ++t) {
      const int kv_len = c.n_past + t + 1;
      double sum = 0;
      for (int j = 0; j < c.max_keys; ++j) {
        const float p = got[(i * c.n_queries + t) * size_t(c.max_keys) + j];
        ASSERT_FALSE(std::isnan(p)) << "head " << heads[i] << " query " << t << " key " << j << " not written";
        if (j >= kv_len) {
          EXPECT_EQ(p, 0.0f) << "non-causal key " << j;
        }
        sum += p;
      }
      if (kv_len <= c.max_keys) {
        EXPECT_NEAR(sum, 1.0, 1e-5) << "head " << heads[i] << " query " << t;
      } else {
        EXPECT_LT(sum, 1.0 + 1e-5);  // truncated row: the mass of keys past max_keys is not stored
      }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionRowsTest,
    testing::Values(RowsCase{64, 32, 8, 2048, 2047, 1, 1, 2048, {}, "hd64_h32_kv8_full_context"},
                    RowsCase{64, 32, 8, 512, 100, 1, 1, 512, {0, 5, 31}, "hd64_three_heads"},
                    RowsCase{8, 4, 2, 37, 0, 1, 1, 37, {}, "hd8_first_token"},
                    RowsCase{8, 6, 3, 301, 170, 1, 1, 301, {1, 4}, "hd8_odd_ctx"},
                    RowsCase{64, 8, 8, 300, 40, 5, 3, 300, {}, "hd64_prefill_5_capture_3"},
                    RowsCase{64, 8, 2, 1000, 600, 1, 1, 256, {2, 7}, "hd64_truncated_rows"},
                    RowsCase{128, 4, 1, 130, 129, 1, 1, 200, {}, "hd128_max_keys_past_ctx"},
                    RowsCase{64, 128, 8, 256, 50, 1, 1, 256, {0, 63, 64, 127}, "h128_mask_words"}),
    [](const auto& info) { return info.param.name; });

TEST(AttentionRows, WritesTheFrameOfTheIndexSlot) {
  const int hd = 16, nh = 4, nkv = 2, ctx = 64, max_keys = 64, frames = 3;
  auto q = test::random_floats(size_t(hd) * nh, 3);
  auto k = test::random_floats(size_t(hd) * ctx * nkv, 4);
  Tensor tq = test::tensor_from(q, DType::F32, {hd, nh, 1, 1}, "q");
  Tensor tk = test::tensor_from(k, DType::F16, {hd, ctx, nkv, 1}, "k");
  Tensor step = test::i32_tensor({20, 1, 0, 0}, "step");
  Tensor index = test::index_tensor(2);
  const uint32_t frame_words = 1000, offset = 40;
  Tensor ring = test::word_tensor(size_t(frame_words) * frames, test::k_nan_bits, "ring");
  Tensor partials = test::empty_tensor(DType::F32, {1024, 1, 1, 1}, "partials");
  probe::AttentionRowsArgs a{{1, 3}, max_keys, 1, 1, 0.25f};
  test::run([&](vk::Recorder& r) {
    probe::attention_rows(r, tq, tk, step, index.buf, a, {ring.buf, offset, frame_words}, partials);
  });
  const auto w = test::download_words(ring);
  const auto want = ref::attention_rows(q, download_f32(test::device(), tk), {1, 3}, hd, nh, nkv, ctx, 20, 1,
                                        max_keys, 0.25f);
  const size_t base = 2 * frame_words + offset;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i >= base && i < base + want.size())
      EXPECT_NEAR(test::as_f32(w[i]), want[i - base], 1e-6) << "word " << i;
    else
      ASSERT_EQ(w[i], test::k_nan_bits) << "word " << i << " outside the slot-2 rows was written";
  }
}

TEST(AttentionRows, RejectsBadHeads) {
  Tensor tq = test::empty_tensor(DType::F32, {16, 4, 1, 1}, "q");
  Tensor tk = test::empty_tensor(DType::F16, {16, 32, 2, 1}, "k");
  Tensor step = test::i32_tensor({0, 1, 0, 0}, "step");
  Tensor index = test::index_tensor(0);
  Tensor out = test::empty_tensor(DType::F32, {1024, 1, 1, 1}, "out");
  Tensor partials = test::empty_tensor(DType::F32, {1024, 1, 1, 1}, "partials");
  probe::AttentionRowsArgs a{{4}, 32, 1, 1, 0.25f};
  EXPECT_THROW(test::run([&](vk::Recorder& r) {
                 probe::attention_rows(r, tq, tk, step, index.buf, a, probe::Span::plain(out), partials);
               }),
               Error);
  a.heads = {2, 1};
  EXPECT_THROW(test::run([&](vk::Recorder& r) {
                 probe::attention_rows(r, tq, tk, step, index.buf, a, probe::Span::plain(out), partials);
               }),
               Error);
}

}  // namespace
}  // namespace ds
