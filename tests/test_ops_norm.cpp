// RMSNorm kernel against the CPU reference at default and odd shapes, with F32 and F16 output.
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

// F32 output: the reference to F32 rounding. F16 output (the input of prefill's tensor-core matmuls): within one
// F16 step (2^-10 relative) of the exact value, element by element.
TEST_P(RmsNormTest, MatchesReference) {
  auto [n, rows, weight] = GetParam();
  auto x = test::random_floats(size_t(n) * rows, 1, -2, 2);
  auto w = test::random_floats(n, 2, 0.5, 1.5);
  Tensor tx = test::tensor_from(x, DType::F32, {n, rows, 1, 1}, "x");
  Tensor tw = weight ? test::tensor_from(w, DType::F32, {n, 1, 1, 1}, "w") : Tensor{};
  std::vector<float> want(x.size());
  ref::rms_norm(x, weight ? std::span<const float>(w) : std::span<const float>(), want, n, rows, 1e-5f);
  for (DType out : {DType::F32, DType::F16}) {
    Tensor ty = test::empty_tensor(out, {n, rows, 1, 1}, "y");
    test::run([&](vk::Recorder& r) { ops::rms_norm(r, tx, tw, ty, 1e-5f); });
    const std::vector<float> got = download_f32(test::device(), ty);
    if (out == DType::F32) {
      EXPECT_LT(ref::nmse(got, want), 1e-10);
      continue;
    }
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_LE(std::abs(got[i] - want[i]), std::abs(want[i]) * 0x1p-10f + 1e-7f) << "F16 element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, RmsNormTest,
                         testing::Values(NormCase{64, 5, true}, NormCase{2048, 3, true}, NormCase{1, 1, true},
                                         NormCase{257, 7, false}, NormCase{4099, 2, true}),
                         [](const auto& info) {
                           return "n" + std::to_string(info.param.n) + "_rows" + std::to_string(info.param.rows) +
                                  (info.param.weight ? "_w" : "_now");
                         });

TEST(RmsNorm, RejectsMismatchedWeight) {
  Tensor tx = test::empty_tensor(DType::F32, {64, 2, 1, 1}, "x");
  Tensor tw = test::empty_tensor(DType::F32, {63, 1, 1, 1}, "w");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::rms_norm(r, tx, tw, tx, 1e-5f); }), Error);
}

}  // namespace
}  // namespace ds
