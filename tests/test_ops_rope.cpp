// RoPE: rope_inv_freq against values worked out by hand, and the kernel against the CPU reference in both
// pair conventions, at theta 1e4 and 5e5, with linear and llama3 scaling, non-contiguous positions, in place.
#include <cmath>

#include "ops/rope.h"
#include "ref/compare.h"
#include "ref/rope.h"
#include "support/gpu.h"

namespace ds {
namespace {

using ops::RopeMode;
using ops::RopeScaling;

TEST(RopeInvFreq, PlainAndLinearByHand) {
  // head_dim 4, theta 1e4: theta^(-0/4) = 1, theta^(-2/4) = 1/100.
  auto plain = ops::rope_inv_freq(4, 10000.0f, {});
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_FLOAT_EQ(plain[0], 1.0f);
  EXPECT_FLOAT_EQ(plain[1], 0.01f);
  // theta 5e5: 5e5^(-1/2) = 1/707.1068 = 0.0014142136.
  EXPECT_FLOAT_EQ(ops::rope_inv_freq(4, 500000.0f, {})[1], 0.0014142136f);
  // Linear factor 2 halves every frequency.
  RopeScaling lin;
  lin.kind = RopeScaling::Linear;
  lin.factor = 2;
  auto scaled = ops::rope_inv_freq(4, 10000.0f, lin);
  EXPECT_FLOAT_EQ(scaled[0], 0.5f);
  EXPECT_FLOAT_EQ(scaled[1], 0.005f);
}

TEST(RopeInvFreq, Llama3ByHand) {
  // head_dim 8, theta 1e4: freqs 1, 0.1, 0.01, 0.001, wavelengths 2 pi / f = 6.28, 62.8, 628.3, 6283.
  // original_context 2048, low 1, high 4: keep below 2048/4 = 512, divide by 8 above 2048/1 = 2048.
  // f = 0.01 lies between: smooth = (2048 / 628.3185 - 1) / (4 - 1) = 0.7531644,
  // f' = (1 - smooth) * 0.01 / 8 + smooth * 0.01 = 0.0003085445 + 0.0075316441 = 0.0078401886.
  RopeScaling s;
  s.kind = RopeScaling::Llama3;
  s.factor = 8;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_context = 2048;
  auto f = ops::rope_inv_freq(8, 10000.0f, s);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  EXPECT_FLOAT_EQ(f[1], 0.1f);
  EXPECT_FLOAT_EQ(f[2], 0.0078401886f);
  EXPECT_FLOAT_EQ(f[3], 0.000125f);
}

struct RopeCase {
  RopeMode mode;
  float theta;
  RopeScaling::Kind scaling;
  int head_dim, n_heads, n_tokens;
  bool in_place;
};

std::string case_name(const RopeCase& c) {
  const char* scaling[] = {"none", "linear", "llama3"};
  return std::string(c.mode == RopeMode::Neox ? "neox" : "interleaved") + "_theta" + std::to_string(int(c.theta)) +
         "_" + scaling[c.scaling] + "_hd" + std::to_string(c.head_dim) + "_h" + std::to_string(c.n_heads) + "_t" +
         std::to_string(c.n_tokens) + (c.in_place ? "_inplace" : "");
}

class RopeTest : public testing::TestWithParam<RopeCase> {};

TEST_P(RopeTest, MatchesReference) {
  const RopeCase c = GetParam();
  RopeScaling scaling;
  scaling.kind = c.scaling;
  if (c.scaling != RopeScaling::None) scaling.factor = c.scaling == RopeScaling::Linear ? 4.0f : 8.0f;
  auto inv_freq = ops::rope_inv_freq(c.head_dim, c.theta, scaling);
  // Non-contiguous positions: reversed, repeated, large (angles far outside [-pi, pi]).
  std::vector<int32_t> pos(size_t(c.n_tokens));
  for (int t = 0; t < c.n_tokens; ++t) pos[size_t(t)] = (t * 7919 + 13) % 40000 + (t % 3 == 0 ? 5 : 0);
  if (c.n_tokens > 2) pos[1] = pos[0];
  const size_t n = size_t(c.head_dim) * c.n_heads * c.n_tokens;
  auto x = test::random_floats(n, 3, -2, 2);

  Tensor tx = test::tensor_from(x, DType::F32, {c.head_dim, c.n_heads, c.n_tokens, 1}, "x");
  Tensor tpos = test::empty_tensor(DType::I32, {c.n_tokens, 1, 1, 1}, "positions");
  upload(test::device(), tpos, pos.data());
  Tensor tf = test::tensor_from(inv_freq, DType::F32, {c.head_dim / 2, 1, 1, 1}, "inv_freq");
  Tensor ty = c.in_place ? tx : test::empty_tensor(DType::F32, tx.ne, "y");
  test::run([&](vk::Recorder& r) { ops::rope(r, tx, tpos, tf, c.mode, ty); });

  std::vector<float> want(n);
  ref::rope(x, pos, inv_freq, c.mode == RopeMode::Neox, want, c.head_dim, c.n_heads, c.n_tokens);
  auto got = download_f32(test::device(), ty);
  const double err = ref::nmse(got, want);
  EXPECT_LT(err, 1e-11);
  testing::Test::RecordProperty("nmse", cat(err));
  // The rotation preserves each pair's length, so it must not be the identity either.
  EXPECT_GT(ref::nmse(x, want), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RopeTest,
    testing::Values(RopeCase{RopeMode::Interleaved, 10000, RopeScaling::None, 64, 4, 9, false},
                    RopeCase{RopeMode::Neox, 10000, RopeScaling::None, 64, 4, 9, false},
                    RopeCase{RopeMode::Interleaved, 500000, RopeScaling::Llama3, 128, 8, 5, false},
                    RopeCase{RopeMode::Neox, 500000, RopeScaling::Llama3, 128, 8, 5, true},
                    RopeCase{RopeMode::Interleaved, 10000, RopeScaling::Linear, 8, 8, 17, true},
                    RopeCase{RopeMode::Neox, 1000000, RopeScaling::Linear, 256, 2, 3, false},
                    RopeCase{RopeMode::Neox, 10000, RopeScaling::None, 48, 6, 33, false}),
    [](const auto& info) { return case_name(info.param); });

TEST(Rope, ModesDiffer) {
  // The two pair conventions must give different results on the same input (guards against a mode ignored).
  auto inv_freq = ops::rope_inv_freq(16, 10000, {});
  auto x = test::random_floats(16 * 2, 5);
  std::vector<int32_t> pos{3, 11};
  Tensor tx = test::tensor_from(x, DType::F32, {16, 1, 2, 1}, "x");
  Tensor tpos = test::empty_tensor(DType::I32, {2, 1, 1, 1}, "positions");
  upload(test::device(), tpos, pos.data());
  Tensor tf = test::tensor_from(inv_freq, DType::F32, {8, 1, 1, 1}, "inv_freq");
  Tensor a = test::empty_tensor(DType::F32, tx.ne, "a"), b = test::empty_tensor(DType::F32, tx.ne, "b");
  test::run([&](vk::Recorder& r) {
    ops::rope(r, tx, tpos, tf, RopeMode::Interleaved, a);
    ops::rope(r, tx, tpos, tf, RopeMode::Neox, b);
  });
  EXPECT_GT(ref::nmse(download_f32(test::device(), a), download_f32(test::device(), b)), 1e-3);
}

TEST(Rope, RejectsWrongFrequencyCount) {
  Tensor tx = test::empty_tensor(DType::F32, {64, 2, 3, 1}, "x");
  Tensor tpos = test::empty_tensor(DType::I32, {3, 1, 1, 1}, "positions");
  Tensor tf = test::empty_tensor(DType::F32, {16, 1, 1, 1}, "inv_freq");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::rope(r, tx, tpos, tf, RopeMode::Neox, tx); }), Error);
}

}  // namespace
}  // namespace ds
