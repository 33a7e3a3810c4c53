// Activation statistics against the CPU reference: norms into the chosen slot, top-|x| channels, the
// histogram with under/overflow in the end bins, at d_model 64 / 2048 / odd sizes; framed output.
#include <cmath>
#include <limits>

#include "probe/activation_stats.h"
#include "ref/probe.h"
#include "support/probe_util.h"

namespace ds {
namespace {

struct StatsCase {
  int d, n_tokens, top_k, bins;
  float range;
};

class ActivationStatsTest : public testing::TestWithParam<StatsCase> {};

TEST_P(ActivationStatsTest, MatchesReference) {
  const StatsCase& c = GetParam();
  // Values beyond the histogram range on both sides, plus a few large outlier channels.
  auto x = test::random_floats(size_t(c.d) * c.n_tokens, 21, -1.5f * c.range, 1.5f * c.range);
  for (int t = 0; t < c.n_tokens; ++t) x[size_t(t) * c.d + (7 * t + 3) % c.d] = 40.0f * c.range;
  Tensor tx = test::tensor_from(x, DType::F32, {c.d, c.n_tokens, 1, 1}, "x");
  probe::StatsLayout L{c.top_k, c.bins, -c.range, c.range};
  const uint32_t bw = L.block_words();
  Tensor out = test::word_tensor(size_t(bw) * c.n_tokens, test::k_nan_bits, "stats");
  Tensor index = test::index_tensor(0);
  test::run([&](vk::Recorder& r) {
    probe::activation_stats(r, tx, c.n_tokens, L, probe::NormSlot::Residual, true, index.buf, probe::Span::plain(out));
  });
  const auto w = test::download_words(out);
  for (int t = 0; t < c.n_tokens; ++t) {
    const uint32_t* b = w.data() + size_t(t) * bw;
    auto want = ref::activation_stats(std::span<const float>(x).subspan(size_t(t) * c.d, size_t(c.d)), c.top_k, c.bins,
                                      L.lo, L.hi);
    EXPECT_NEAR(test::as_f32(b[0]), want.norm, 1e-5 * want.norm) << "token " << t;
    EXPECT_EQ(b[1], test::k_nan_bits) << "mixer-out norm word must stay untouched";
    EXPECT_EQ(b[2], test::k_nan_bits) << "MLP-out norm word must stay untouched";
    for (int k = 0; k < c.top_k; ++k) {
      if (k >= c.d) {
        EXPECT_EQ(b[3 + c.top_k + k], 0xffffffffu);
        continue;
      }
      EXPECT_EQ(int(b[3 + c.top_k + k]), want.top[size_t(k)].first) << "token " << t << " rank " << k;
      EXPECT_EQ(test::as_f32(b[3 + k]), want.top[size_t(k)].second) << "token " << t << " rank " << k;
    }
    std::vector<uint32_t> hist(b + 3 + 2 * c.top_k, b + 3 + 2 * c.top_k + c.bins);
    EXPECT_EQ(hist, want.histogram) << "token " << t;
    uint64_t total = 0;
    for (uint32_t h : hist) total += h;
    EXPECT_EQ(total, uint64_t(c.d));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ActivationStatsTest,
                         testing::Values(StatsCase{64, 1, 8, 64, 8}, StatsCase{2048, 3, 16, 64, 4},
                                         StatsCase{2048, 1, 8, 64, 8}, StatsCase{777, 2, 5, 33, 2.5f},
                                         StatsCase{5, 2, 8, 7, 1}, StatsCase{8192, 2, 16, 256, 16}),
                         [](const auto& info) {
                           return "d" + std::to_string(info.param.d) + "_n" + std::to_string(info.param.n_tokens) +
                                  "_k" + std::to_string(info.param.top_k) + "_bins" + std::to_string(info.param.bins);
                         });

TEST(ActivationStats, NormOnlyWritesItsSlotInTheFrame) {
  const int d = 300, n = 2;
  auto x = test::random_floats(size_t(d) * n, 5);
  Tensor tx = test::tensor_from(x, DType::F32, {d, n, 1, 1}, "mlp_out");
  probe::StatsLayout L{4, 8, -1, 1};
  const uint32_t frame = 200, offset = 12;
  Tensor ring = test::word_tensor(frame * 2, test::k_nan_bits, "ring");
  Tensor index = test::index_tensor(1);
  test::run([&](vk::Recorder& r) {
    probe::activation_stats(r, tx, n, L, probe::NormSlot::MlpOut, false, index.buf, {ring.buf, offset, frame});
  });
  const auto w = test::download_words(ring);
  for (size_t i = 0; i < w.size(); ++i) {
    const size_t rel = i - (frame + offset);
    const bool norm_word = i >= frame + offset && rel % L.block_words() == 2 && rel / L.block_words() < size_t(n);
    if (!norm_word) {
      ASSERT_EQ(w[i], test::k_nan_bits) << "word " << i;
      continue;
    }
    const int t = int(rel / L.block_words());
    const auto want = ref::activation_stats(std::span<const float>(x).subspan(size_t(t) * d, size_t(d)), 4, 8, -1, 1);
    EXPECT_NEAR(test::as_f32(w[i]), want.norm, 1e-5 * want.norm);
  }
}

TEST(ActivationStats, NanIsNotCounted) {
  std::vector<float> x(64, 0.5f);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[9] = -3.0f;
  Tensor tx = test::tensor_from(x, DType::F32, {64, 1, 1, 1}, "x");
  probe::StatsLayout L{2, 4, -1, 1};
  Tensor out = test::word_tensor(L.block_words(), 0, "stats");
  Tensor index = test::index_tensor(0);
  test::run([&](vk::Recorder& r) {
    probe::activation_stats(r, tx, 1, L, probe::NormSlot::Residual, true, index.buf, probe::Span::plain(out));
  });
  const auto w = test::download_words(out);
  EXPECT_EQ(w[3 + 2], 9u);  // top channel: |-3|
  EXPECT_EQ(test::as_f32(w[3]), -3.0f);
  EXPECT_EQ(w[3 + 2 + 2 + 0], 1u);   // -3 underflows into bin 0
  EXPECT_EQ(w[3 + 2 + 2 + 3], 62u);  // 0.5 in the last bin; NaN nowhere
}

}  // namespace
}  // namespace ds
