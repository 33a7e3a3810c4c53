// RMSNorm kernel against the CPU reference at default and odd shapes.
#include <cmath>

#include "ops/norm.h"
#include "ref/compare.h"
#include "ref/norm.h"
#include "support/gpu.h"

namespace ds {
namespace {

struct NormCase {
  int n, rows;
  bool weight;
};

class RmsNormTest : public testing::TestWithParam<NormCase> {};

TEST_P(RmsNormTest, MatchesReference) {
  auto [n, rows, weight] = GetParam();
  auto x = test::random_floats(size_t(n) * rows, 1, -2, 2);
  auto w = test::random_floats(n, 2, 0.5, 1.5);
  Tensor tx = test::tensor_from(x, DType::F32, {n, rows, 1, 1}, "x");
  Tensor tw = weight ? test::tensor_from(w, DType::F32, {n, 1, 1, 1}, "w") : Tensor{};
  Tensor ty = test::empty_tensor(DType::F32, {n, rows, 1, 1}, "y");
  test::run([&](vk::Recorder& r) { ops::rms_norm(r, tx, tw, ty, 1e-5f); });
  std::vector<float> want(x.size());
  ref::rms_norm(x, weight ? std::span<const float>(w) : std::span<const float>(), want, n, rows, 1e-5f);
  EXPECT_LT(ref::nmse(download_f32(test::device(), ty), want), 1e-10);
}

INSTANTIATE_TEST_SUITE_P(Shapes, RmsNormTest,
                         testing::Values(NormCase{64, 5, true}, NormCase{2048, 3, true}, NormCase{1, 1, true},
                                         NormCase{257, 7, false}, NormCase{4099, 2, true}),
                         [](const auto& info) {
                           return "n" + std::to_string(info.param.n) + "_rows" + std::to_string(info.param.rows) +
                                  (info.param.weight ? "_w" : "_now");
                         });

// F16 output (the input of prefill's tensor-core matmuls): the reference rounded to F16, within one rounding.
TEST_P(RmsNormTest, HalfOutputMatchesReference) {
  auto [n, rows, weight] = GetParam();
  auto x = test::random_floats(size_t(n) * rows, 1, -2, 2);
  auto w = test::random_floats(n, 2, 0.5, 1.5);
  Tensor tx = test::tensor_from(x, DType::F32, {n, rows, 1, 1}, "x");
  Tensor tw = weight ? test::tensor_from(w, DType::F32, {n, 1, 1, 1}, "w") : Tensor{};
  Tensor ty = test::empty_tensor(DType::F16, {n, rows, 1, 1}, "y");
  test::run([&](vk::Recorder& r) { ops::rms_norm(r, tx, tw, ty, 1e-5f); });
  std::vector<float> want(x.size());
  ref::rms_norm(x, weight ? std::span<const float>(w) : std::span<const float>(), want, n, rows, 1e-5f);
  const std::vector<float> got = download_f32(test::device(), ty);
  for (size_t i = 0; i < want.size(); ++i)  // at most one F16 step (2^-10 relative) from the exact value
    ASSERT_LE(std::abs(got[i] - want[i]), std::abs(want[i]) * 0x1p-10f + 1e-7f) << "element " << i;
}

TEST(RmsNorm, RejectsMismatchedWeight) {
  Tensor tx = test::empty_tensor(DType::F32, {64, 2, 1, 1}, "x");
  Tensor tw = test::empty_tensor(DType::F32, {63, 1, 1, 1}, "w");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::rms_norm(r, tx, tw, tx, 1e-5f); }), Error);
}

}  // namespace
}  // namespace ds
