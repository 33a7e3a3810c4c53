// SwiGLU (F32 and F16 output) and add against the CPU reference, including add in place (out aliasing a).
#include <cmath>

#include "ops/elementwise.h"
#include "ref/compare.h"
#include "ref/elementwise.h"
#include "support/gpu.h"

namespace ds {
namespace {

class ElementwiseTest : public testing::TestWithParam<int64_t> {};

// F32 output to F32 rounding; F16 output (the down projection's input on tensor-core devices) within one F16
// step of the exact value.
TEST_P(ElementwiseTest, SwigluMatchesReference) {
  const int64_t n = GetParam();
  auto gate = test::random_floats(size_t(n), 1, -12, 12), up = test::random_floats(size_t(n), 2, -3, 3);
  Tensor tg = test::tensor_from(gate, DType::F32, {n, 1, 1, 1}, "gate");
  Tensor tu = test::tensor_from(up, DType::F32, {n, 1, 1, 1}, "up");
  std::vector<float> want(static_cast<size_t>(n));
  ref::swiglu(gate, up, want);
  for (DType out : {DType::F32, DType::F16}) {
    Tensor to = test::empty_tensor(out, {n, 1, 1, 1}, "out");
    test::run([&](vk::Recorder& r) { ops::swiglu(r, tg, tu, to); });
    const std::vector<float> got = download_f32(test::device(), to);
    if (out == DType::F32) {
      EXPECT_LT(ref::nmse(got, want), 1e-12);
      continue;
    }
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_LE(std::abs(got[i] - want[i]), std::abs(want[i]) * 0x1p-10f + 1e-7f) << "F16 element " << i;
  }
}

TEST_P(ElementwiseTest, AddInPlaceMatchesReference) {
  const int64_t n = GetParam();
  auto a = test::random_floats(size_t(n), 3), b = test::random_floats(size_t(n), 4);
  Tensor ta = test::tensor_from(a, DType::F32, {n, 1, 1, 1}, "a");
  Tensor tb = test::tensor_from(b, DType::F32, {n, 1, 1, 1}, "b");
  test::run([&](vk::Recorder& r) { ops::add(r, ta, tb, ta); });
  std::vector<float> want(static_cast<size_t>(n));
  ref::add(a, b, want);
  EXPECT_EQ(download_f32(test::device(), ta), want);  // one rounding each, exactly the same
}

INSTANTIATE_TEST_SUITE_P(Sizes, ElementwiseTest, testing::Values(1, 255, 4097, 100003),
                         [](const auto& info) { return "n" + std::to_string(info.param); });

TEST(Elementwise, AddOverTwoDimensionalGrid) {
  // More than 65535 workgroups of 256 threads spill into a second grid row (grid_2d).
  const int64_t n = int64_t(65536) * 256 + 77;
  auto a = test::random_floats(size_t(n), 5), b = test::random_floats(size_t(n), 6);
  Tensor ta = test::tensor_from(a, DType::F32, {n, 1, 1, 1}, "a");
  Tensor tb = test::tensor_from(b, DType::F32, {n, 1, 1, 1}, "b");
  test::run([&](vk::Recorder& r) { ops::add(r, ta, tb, ta); });
  std::vector<float> want(static_cast<size_t>(n));
  ref::add(a, b, want);
  EXPECT_EQ(download_f32(test::device(), ta), want);
}

TEST(Elementwise, RejectsShapeMismatch) {
  Tensor a = test::empty_tensor(DType::F32, {64, 2, 1, 1}, "a");
  Tensor b = test::empty_tensor(DType::F32, {64, 3, 1, 1}, "b");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::swiglu(r, a, b, a); }), Error);
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::add(r, a, b, a); }), Error);
}

}  // namespace
}  // namespace ds
