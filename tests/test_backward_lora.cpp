// LoRA: the GPU forward and backward (frozen W of several types, A and B F32) against the CPU reference,
// and the reference gradients of A, B and x against finite differences of the reference forward.
#include "ops/backward/lora.h"
#include "ref/backward/lora.h"
#include "ref/compare.h"
#include "support/gpu.h"
#include "support/gradcheck.h"

namespace ds {
namespace {

struct LoraCase {
  int K, N, r, M;
  DType w_type;
};
class LoraTest : public testing::TestWithParam<LoraCase> {};

TEST_P(LoraTest, GpuMatchesReference) {
  auto [K, N, r, M, type] = GetParam();
  const double s = 16.0 / r;
  auto w = test::random_floats(size_t(K) * N, 1), a = test::random_floats(size_t(K) * r, 2);
  auto b = test::random_floats(size_t(N) * r, 3), x = test::random_floats(size_t(K) * M, 4);
  auto dy = test::random_floats(size_t(N) * M, 5);
  // The reference reads the weights as the kernel sees them.
  std::vector<uint8_t> bytes(dtype_bytes(type, w.size()));
  std::vector<float> wq(w.size());
  from_f32(type, w.data(), bytes.data(), w.size());
  to_f32(type, bytes.data(), wq.data(), w.size());
  std::vector<float> y(size_t(N) * M), dx(x.size()), da(a.size()), db(b.size());
  ref::lora_forward<float>(wq, a, b, s, x, y, K, N, r, M);
  ref::lora_backward<float>(wq, a, b, s, x, dy, dx, da, db, K, N, r, M);

  Tensor tw = test::tensor_from(w, type, {K, N, 1, 1}, "w"), ta = test::tensor_from(a, DType::F32, {K, r, 1, 1}, "A");
  Tensor tb = test::tensor_from(b, DType::F32, {r, N, 1, 1}, "B"),
         tx = test::tensor_from(x, DType::F32, {K, M, 1, 1}, "x");
  Tensor tdy = test::tensor_from(dy, DType::F32, {N, M, 1, 1}, "dy");
  Tensor tu = test::empty_tensor(DType::F32, {r, M, 1, 1}, "u"),
         tdu = test::empty_tensor(DType::F32, {r, M, 1, 1}, "du");
  Tensor ty = test::empty_tensor(DType::F32, {N, M, 1, 1}, "y"),
         tdx = test::empty_tensor(DType::F32, {K, M, 1, 1}, "dx");
  Tensor tda = test::empty_tensor(DType::F32, {K, r, 1, 1}, "dA"),
         tdb = test::empty_tensor(DType::F32, {r, N, 1, 1}, "dB");
  test::run([&](vk::Recorder& rec) {
    ops::lora_forward(rec, tw, ta, tb, float(s), tx, tu, ty);
    ops::lora_backward(rec, tw, ta, tb, float(s), tx, tu, tdy, tdx, tda, tdb, tdu);
  });
  auto& dev = test::device();
  EXPECT_LT(ref::nmse(download_f32(dev, ty), y), 1e-10);
  EXPECT_LT(ref::nmse(download_f32(dev, tdx), dx), 1e-10);
  EXPECT_LT(ref::nmse(download_f32(dev, tda), da), 1e-10);
  EXPECT_LT(ref::nmse(download_f32(dev, tdb), db), 1e-10);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LoraTest,
                         testing::Values(LoraCase{16, 24, 4, 7, DType::F32}, LoraCase{64, 40, 8, 33, DType::F16},
                                         LoraCase{64, 96, 2, 20, DType::Q8_0}, LoraCase{33, 17, 3, 9, DType::F32}),
                         [](const auto& i) {
                           return "K" + std::to_string(i.param.K) + "_N" + std::to_string(i.param.N) + "_r" +
                                  std::to_string(i.param.r) + "_M" + std::to_string(i.param.M) + "_" +
                                  dtype_name(i.param.w_type);
                         });

TEST(Lora, ReferenceMatchesFiniteDifferences) {
  const int K = 6, N = 5, r = 2, M = 3;
  const double s = 2.5;
  auto w = test::random_doubles(size_t(K) * N, 1), a = test::random_doubles(size_t(K) * r, 2);
  auto b = test::random_doubles(size_t(N) * r, 3), x = test::random_doubles(size_t(K) * M, 4);
  auto rr = test::random_doubles(size_t(N) * M, 5);
  std::vector<double> y(rr.size()), dx(x.size()), da(a.size()), db(b.size());
  auto loss = [&] {
    ref::lora_forward<double>(w, a, b, s, x, y, K, N, r, M);
    return test::dot(rr, y);
  };
  ref::lora_backward<double>(w, a, b, s, x, rr, dx, da, db, K, N, r, M);
  EXPECT_LT(test::rel_max_error(da, test::finite_diff(a, loss)), test::k_fd_bound);
  EXPECT_LT(test::rel_max_error(db, test::finite_diff(b, loss)), test::k_fd_bound);
  EXPECT_LT(test::rel_max_error(dx, test::finite_diff(x, loss)), test::k_fd_bound);
}

}  // namespace
}  // namespace ds
