// matmul backward: dX = W^T dY through the forward tiled kernel reading W transposed (every weight type,
// vector and scalar loads), dW = dY X^T (matmul_grad_w.comp) and db, each against the CPU reference
// (weights dequantized the same way), with accumulation; the reference against finite differences.
#include "ops/backward/matmul.h"
#include "ops/matmul.h"
#include "ref/backward/matmul.h"
#include "ref/compare.h"
#include "support/gpu.h"
#include "support/gradcheck.h"

namespace ds {
namespace {

std::vector<float> dequantized(const std::vector<float>& w, DType type) {
  std::vector<uint8_t> bytes(dtype_bytes(type, w.size()));
  from_f32(type, w.data(), bytes.data(), w.size());
  std::vector<float> out(w.size());
  to_f32(type, bytes.data(), out.data(), out.size());
  return out;
}

std::vector<float> plus(std::vector<float> a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

struct DxCase {
  int K, N, M;
  DType type;
  bool vector_loads;
};
class MatmulBackwardInputTest : public testing::TestWithParam<DxCase> {};

TEST_P(MatmulBackwardInputTest, GpuMatchesReference) {
  auto [K, N, M, type, vec] = GetParam();
  auto w = test::random_floats(size_t(K) * N, 1), dy = test::random_floats(size_t(N) * M, 2);
  auto dx0 = test::random_floats(size_t(K) * M, 3);
  std::vector<float> want(dx0.size());
  ref::matmul_backward<float>(dequantized(w, type), {}, dy, want, {}, {}, K, N, M);
  Tensor tw = test::tensor_from(w, type, {K, N, 1, 1}, "w");
  Tensor tdy = test::tensor_from(dy, DType::F32, {N, M, 1, 1}, "dy");
  for (bool acc : {false, true}) {
    Tensor tdx = test::tensor_from(dx0, DType::F32, {K, M, 1, 1}, "dx");
    ops::MatmulOptions o;
    o.transpose_w = true;
    o.accumulate = acc;
    o.vector_loads = vec;
    test::run([&](vk::Recorder& r) { ops::matmul(r, tw, tdy, tdx, o); });
    EXPECT_LT(ref::nmse(download_f32(test::device(), tdx), acc ? plus(dx0, want) : want), 1e-10) << "acc " << acc;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatmulBackwardInputTest,
                         testing::Values(DxCase{16, 24, 7, DType::F32, true}, DxCase{64, 40, 33, DType::F32, true},
                                         DxCase{33, 17, 9, DType::F32, true}, DxCase{64, 64, 70, DType::F32, false},
                                         DxCase{64, 96, 20, DType::F16, true}, DxCase{40, 50, 5, DType::F16, true},
                                         DxCase{64, 48, 20, DType::BF16, true}, DxCase{64, 40, 13, DType::Q8_0, true},
                                         DxCase{96, 32, 13, DType::Q8_0, false}, DxCase{64, 72, 13, DType::Q4_0, true},
                                         DxCase{128, 300, 65, DType::F32, true}),
                         [](const auto& i) {
                           return "K" + std::to_string(i.param.K) + "_N" + std::to_string(i.param.N) + "_M" +
                                  std::to_string(i.param.M) + "_" + dtype_name(i.param.type) +
                                  (i.param.vector_loads ? "" : "_scalar");
                         });

struct DwCase {
  int K, N, M;
};
class MatmulBackwardWeightTest : public testing::TestWithParam<DwCase> {};

TEST_P(MatmulBackwardWeightTest, GpuMatchesReference) {
  auto [K, N, M] = GetParam();
  auto x = test::random_floats(size_t(K) * M, 1), dy = test::random_floats(size_t(N) * M, 2);
  auto dw0 = test::random_floats(size_t(K) * N, 3), db0 = test::random_floats(size_t(N), 4);
  std::vector<float> dw(dw0.size()), db(db0.size());
  ref::matmul_backward<float>({}, x, dy, {}, dw, db, K, N, M);
  Tensor tx = test::tensor_from(x, DType::F32, {K, M, 1, 1}, "x");
  Tensor tdy = test::tensor_from(dy, DType::F32, {N, M, 1, 1}, "dy");
  Tensor tw = test::tensor_from(test::random_floats(size_t(K) * N, 5), DType::F32, {K, N, 1, 1}, "w");
  for (bool acc : {false, true}) {
    Tensor tdw = test::tensor_from(dw0, DType::F32, {K, N, 1, 1}, "dw");
    Tensor tdb = test::tensor_from(db0, DType::F32, {N, 1, 1, 1}, "db");
    test::run([&](vk::Recorder& r) { ops::matmul_backward(r, tw, tx, tdy, {}, tdw, tdb, {false, acc}); });
    EXPECT_LT(ref::nmse(download_f32(test::device(), tdw), acc ? plus(dw0, dw) : dw), 1e-10) << "acc " << acc;
    EXPECT_LT(ref::nmse(download_f32(test::device(), tdb), acc ? plus(db0, db) : db), 1e-10) << "acc " << acc;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatmulBackwardWeightTest,
                         testing::Values(DwCase{16, 24, 7}, DwCase{64, 40, 33}, DwCase{33, 17, 9}, DwCase{1, 5, 3},
                                         DwCase{130, 70, 100}, DwCase{64, 300, 17}),
                         [](const auto& i) {
                           return "K" + std::to_string(i.param.K) + "_N" + std::to_string(i.param.N) + "_M" +
                                  std::to_string(i.param.M);
                         });

TEST(MatmulBackward, AllGradientsAtOnceMatchReference) {
  const int K = 48, N = 20, M = 11;
  auto w = test::random_floats(size_t(K) * N, 1), x = test::random_floats(size_t(K) * M, 2);
  auto dy = test::random_floats(size_t(N) * M, 3);
  std::vector<float> dx(size_t(K) * M), dw(w.size()), db(static_cast<size_t>(N));
  ref::matmul_backward<float>(w, x, dy, dx, dw, db, K, N, M);
  Tensor tw = test::tensor_from(w, DType::F32, {K, N, 1, 1}, "w");
  Tensor tx = test::tensor_from(x, DType::F32, {K, M, 1, 1}, "x");
  Tensor tdy = test::tensor_from(dy, DType::F32, {N, M, 1, 1}, "dy");
  Tensor tdx = test::empty_tensor(DType::F32, {K, M, 1, 1}, "dx");
  Tensor tdw = test::empty_tensor(DType::F32, {K, N, 1, 1}, "dw");
  Tensor tdb = test::empty_tensor(DType::F32, {N, 1, 1, 1}, "db");
  test::run([&](vk::Recorder& r) { ops::matmul_backward(r, tw, tx, tdy, tdx, tdw, tdb); });
  EXPECT_LT(ref::nmse(download_f32(test::device(), tdx), dx), 1e-10);
  EXPECT_LT(ref::nmse(download_f32(test::device(), tdw), dw), 1e-10);
  EXPECT_LT(ref::nmse(download_f32(test::device(), tdb), db), 1e-10);
}

TEST(MatmulBackward, ReferenceMatchesFiniteDifferences) {
  const int K = 7, N = 5, M = 4;
  auto w = test::random_doubles(size_t(K) * N, 1), x = test::random_doubles(size_t(K) * M, 2);
  auto b = test::random_doubles(size_t(N), 3), r = test::random_doubles(size_t(N) * M, 4);
  std::vector<double> y(r.size()), dx(x.size()), dw(w.size()), db(b.size());
  auto loss = [&] {
    ref::matmul_forward<double>(w, x, b, y, K, N, M);
    return test::dot(r, y);
  };
  ref::matmul_backward<double>(w, x, r, dx, dw, db, K, N, M);
  EXPECT_LT(test::rel_max_error(dx, test::finite_diff(x, loss)), test::k_fd_bound);
  EXPECT_LT(test::rel_max_error(dw, test::finite_diff(w, loss)), test::k_fd_bound);
  EXPECT_LT(test::rel_max_error(db, test::finite_diff(b, loss)), test::k_fd_bound);
}

TEST(MatmulBackward, RejectsMismatchedShapes) {
  Tensor w = test::empty_tensor(DType::F32, {16, 8, 1, 1}, "w");
  Tensor dy = test::empty_tensor(DType::F32, {7, 3, 1, 1}, "dy");  // N should be 8
  Tensor dx = test::empty_tensor(DType::F32, {16, 3, 1, 1}, "dx");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::matmul_backward_input(r, w, dy, dx, false); }), Error);
  Tensor x = test::empty_tensor(DType::F32, {16, 4, 1, 1}, "x");
  Tensor dw = test::empty_tensor(DType::F32, {16, 7, 1, 1}, "dw");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::matmul_backward_weight(r, x, dy, dw, false); }), Error);
}

}  // namespace
}  // namespace ds
