// Losses on the GPU (cross-entropy, forward/reverse KL with temperature, hidden-state MSE): value, count,
// per-token losses and gradient against the CPU reference, in place and accumulating with a weight, with
// large logits for stability; the reference gradients against finite differences of the reference value.
// Bound 1e-9 (not 1e-10): with logits / T near 100, float log-probabilities carry ~1e-5 relative error.
#include <cmath>

#include "ops/loss.h"
#include "ref/compare.h"
#include "ref/loss.h"
#include "support/gpu.h"
#include "support/gradcheck.h"

namespace ds {
namespace {

enum class Kind { CrossEntropy, ForwardKl, ReverseKl, Mse };

struct LossCase {
  Kind kind;
  int n, tokens;
  float temperature, spread;  // logits uniform in [-spread, spread]
};

std::string case_name(const LossCase& c) {
  const char* k[] = {"ce", "kl_forward", "kl_reverse", "mse"};
  return std::string(k[int(c.kind)]) + "_n" + std::to_string(c.n) + "_t" + std::to_string(c.tokens) + "_T" +
         std::to_string(int(c.temperature * 10)) + "_s" + std::to_string(int(c.spread));
}

std::vector<int32_t> targets_for(int n, int tokens) {
  std::vector<int32_t> t(static_cast<size_t>(tokens));
  std::mt19937 rng(5);
  for (int i = 0; i < tokens; ++i) t[size_t(i)] = int32_t(rng() % uint32_t(n));
  if (tokens > 2) t[1] = -1;  // ignored
  if (tokens > 4) t[4] = n;   // out of range: ignored too
  return t;
}

// Reference value, per-token losses and gradient (float instantiation).
double reference(const LossCase& c, const std::vector<float>& a, const std::vector<float>& b,
                 const std::vector<int32_t>& targets, std::vector<float>& grad, std::vector<float>& per_token) {
  switch (c.kind) {
    case Kind::CrossEntropy:
      return ref::cross_entropy<float>(a, targets, grad, per_token, c.n, c.tokens);
    case Kind::ForwardKl:
    case Kind::ReverseKl:
      return ref::kl_divergence<float>(a, b, c.kind == Kind::ReverseKl, c.temperature, grad, per_token, c.n, c.tokens);
    case Kind::Mse:
      return ref::mse<float>(a, b, grad, per_token, c.n, c.tokens);
  }
  return 0;
}

void record(vk::Recorder& r, const LossCase& c, const Tensor& a, const Tensor& b, const Tensor& targets,
            const Tensor& grad, const Tensor& per_token, const Tensor& value, const ops::LossOptions& o) {
  switch (c.kind) {
    case Kind::CrossEntropy:
      ops::cross_entropy(r, a, targets, grad, per_token, value, o);
      break;
    case Kind::ForwardKl:
    case Kind::ReverseKl:
      ops::kl_divergence(r, a, b, c.kind == Kind::ReverseKl ? ops::KlDirection::Reverse : ops::KlDirection::Forward,
                         c.temperature, grad, per_token, value, o);
      break;
    case Kind::Mse:
      ops::mse(r, a, b, grad, per_token, value, o);
      break;
  }
}

class LossTest : public testing::TestWithParam<LossCase> {};

TEST_P(LossTest, GpuMatchesReference) {
  const LossCase c = GetParam();
  const size_t n = size_t(c.n) * c.tokens;
  auto a = test::random_floats(n, 1, -c.spread, c.spread), b = test::random_floats(n, 2, -c.spread, c.spread);
  auto targets = targets_for(c.n, c.tokens);
  std::vector<float> grad(n), per_token(size_t(c.tokens));
  const double value = reference(c, a, b, targets, grad, per_token);
  int counted = c.tokens;
  if (c.kind == Kind::CrossEntropy)
    counted = int(std::count_if(targets.begin(), targets.end(), [&](int32_t t) { return t >= 0 && t < c.n; }));

  const std::array<int64_t, 4> shape{c.n, c.tokens, 1, 1};
  Tensor ta = test::tensor_from(a, DType::F32, shape, "student"),
         tb = test::tensor_from(b, DType::F32, shape, "teacher");
  Tensor tt = test::empty_tensor(DType::I32, {c.tokens, 1, 1, 1}, "targets");
  upload(test::device(), tt, targets.data());
  Tensor tpt = test::empty_tensor(DType::F32, {c.tokens, 1, 1, 1}, "per_token");
  Tensor tval = test::empty_tensor(DType::F32, {2, 1, 1, 1}, "value");
  auto& dev = test::device();

  // Plain, into a separate gradient.
  Tensor tg = test::empty_tensor(DType::F32, shape, "grad");
  test::run([&](vk::Recorder& r) { record(r, c, ta, tb, tt, tg, tpt, tval, {}); });
  auto val = download_f32(dev, tval);
  EXPECT_NEAR(val[0], value, 1e-5 * std::max(1.0, std::abs(value)));
  EXPECT_EQ(val[1], float(counted));
  EXPECT_LT(ref::nmse(download_f32(dev, tpt), per_token), 1e-9);
  EXPECT_LT(ref::nmse(download_f32(dev, tg), grad), 1e-9);

  // Accumulating with a weight.
  auto g0 = test::random_floats(n, 3, -0.01f, 0.01f);
  Tensor tacc = test::tensor_from(g0, DType::F32, shape, "grad_acc");
  test::run([&](vk::Recorder& r) { record(r, c, ta, tb, tt, tacc, tpt, tval, {0.5f, true}); });
  std::vector<float> want(n);
  for (size_t i = 0; i < n; ++i) want[i] = g0[i] + 0.5f * grad[i];
  EXPECT_LT(ref::nmse(download_f32(dev, tacc), want), 1e-9);

  // In place: the gradient over the student's own memory.
  test::run([&](vk::Recorder& r) { record(r, c, ta, tb, tt, ta, tpt, tval, {}); });
  EXPECT_LT(ref::nmse(download_f32(dev, ta), grad), 1e-9);
  EXPECT_NEAR(download_f32(dev, tval)[0], value, 1e-5 * std::max(1.0, std::abs(value)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LossTest,
    testing::Values(LossCase{Kind::CrossEntropy, 50, 7, 1, 3}, LossCase{Kind::CrossEntropy, 300, 33, 1, 3},
                    LossCase{Kind::CrossEntropy, 1000, 9, 1, 60}, LossCase{Kind::ForwardKl, 50, 7, 1, 3},
                    LossCase{Kind::ForwardKl, 300, 33, 2.5f, 3}, LossCase{Kind::ForwardKl, 1000, 9, 1, 60},
                    LossCase{Kind::ReverseKl, 50, 7, 1, 3}, LossCase{Kind::ReverseKl, 300, 33, 2.5f, 3},
                    LossCase{Kind::ReverseKl, 1000, 9, 0.5f, 60}, LossCase{Kind::Mse, 16, 7, 1, 3},
                    LossCase{Kind::Mse, 300, 33, 1, 10}),
    [](const auto& i) { return case_name(i.param); });

// d(mean loss)/d(logits) of the reference against central differences of the reference value (double).
TEST(Loss, ReferenceGradientsMatchFiniteDifferences) {
  const int n = 11, tokens = 5;
  auto b = test::random_doubles(size_t(n) * tokens, 2, -3, 3);
  std::vector<int32_t> targets{3, -1, 0, 10, 7};
  for (Kind kind : {Kind::CrossEntropy, Kind::ForwardKl, Kind::ReverseKl, Kind::Mse}) {
    for (double temperature : {1.0, 2.0}) {
      auto a = test::random_doubles(size_t(n) * tokens, 1, -3, 3);
      std::vector<double> grad(a.size());
      auto value = [&](std::span<double> g) {
        switch (kind) {
          case Kind::CrossEntropy:
            return ref::cross_entropy<double>(a, targets, g, {}, n, tokens);
          case Kind::ForwardKl:
            return ref::kl_divergence<double>(a, b, false, temperature, g, {}, n, tokens);
          case Kind::ReverseKl:
            return ref::kl_divergence<double>(a, b, true, temperature, g, {}, n, tokens);
          case Kind::Mse:
            return ref::mse<double>(a, b, g, {}, n, tokens);
        }
        return 0.0;
      };
      value(grad);
      auto fd = test::finite_diff(a, [&] { return value({}); });
      EXPECT_LT(test::rel_max_error(grad, fd), test::k_fd_bound) << int(kind) << " T=" << temperature;
    }
  }
}

TEST(Loss, KlIsZeroForIdenticalDistributions) {
  const int n = 64, tokens = 3;
  auto a = test::random_floats(size_t(n) * tokens, 1, -5, 5);
  Tensor ta = test::tensor_from(a, DType::F32, {n, tokens, 1, 1}, "a");
  Tensor tg = test::empty_tensor(DType::F32, {n, tokens, 1, 1}, "grad");
  Tensor tpt = test::empty_tensor(DType::F32, {tokens, 1, 1, 1}, "per_token");
  Tensor tval = test::empty_tensor(DType::F32, {2, 1, 1, 1}, "value");
  for (auto dir : {ops::KlDirection::Forward, ops::KlDirection::Reverse}) {
    test::run([&](vk::Recorder& r) { ops::kl_divergence(r, ta, ta, dir, 2.0f, tg, tpt, tval); });
    EXPECT_NEAR(download_f32(test::device(), tval)[0], 0.0, 1e-6);
    for (float g : download_f32(test::device(), tg)) EXPECT_NEAR(g, 0.0, 1e-7);
  }
}

TEST(Loss, RejectsBadShapes) {
  Tensor logits = test::empty_tensor(DType::F32, {10, 4, 1, 1}, "logits");
  Tensor targets = test::empty_tensor(DType::I32, {3, 1, 1, 1}, "targets");
  Tensor pt = test::empty_tensor(DType::F32, {4, 1, 1, 1}, "per_token");
  Tensor val = test::empty_tensor(DType::F32, {2, 1, 1, 1}, "value");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::cross_entropy(r, logits, targets, logits, pt, val); }), Error);
  EXPECT_THROW(test::run([&](vk::Recorder& r) {
                 ops::kl_divergence(r, logits, logits, ops::KlDirection::Forward, 0.0f, logits, pt, val);
               }),
               Error);
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::mse(r, logits, logits, logits, pt, val, {1.0f, true}); }), Error);
}

}  // namespace
}  // namespace ds
