// Optimizer: the learning-rate schedule, the global gradient norm, the F32 -> F16/BF16 copy, and AdamW
// steps (parameter groups with their own lr scale and weight decay, a frozen group, clipping, half copies)
// recorded once and replayed, against the CPU reference step by step.
#include <cmath>

#include "ops/optim.h"
#include "ref/compare.h"
#include "ref/optim.h"
#include "support/gpu.h"
#include "train/optimizer.h"
#include "vk/submit.h"

namespace ds {
namespace {

TEST(LrSchedule, WarmupThenCosineToFloor) {
  train::LrSchedule s{1e-3f, 10, 110, 1e-4f};
  EXPECT_FLOAT_EQ(s.at(0), 1e-4f);
  EXPECT_FLOAT_EQ(s.at(4), 5e-4f);
  EXPECT_FLOAT_EQ(s.at(9), 1e-3f);
  EXPECT_FLOAT_EQ(s.at(10), 1e-3f);                  // peak at the end of warm-up
  EXPECT_NEAR(s.at(60), (1e-3f + 1e-4f) / 2, 1e-9);  // cosine midpoint
  EXPECT_LT(s.at(61), s.at(60));
  EXPECT_NEAR(s.at(109), 1e-4f, 1e-6);
  EXPECT_FLOAT_EQ(s.at(110), 1e-4f);  // the floor from then on
  EXPECT_FLOAT_EQ(s.at(5000), 1e-4f);
  train::LrSchedule no_warmup{2e-3f, 0, 100, 0};
  EXPECT_FLOAT_EQ(no_warmup.at(0), 2e-3f);
}

TEST(GradNorm, MatchesReferenceOverSeveralTensors) {
  std::vector<std::vector<float>> host{test::random_floats(7, 1), test::random_floats(5000, 2),
                                       test::random_floats(70001, 3, -3, 3)};
  std::vector<Tensor> grads;
  uint32_t n_partials = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    grads.push_back(
        test::tensor_from(host[i], DType::F32, {int64_t(host[i].size()), 1, 1, 1}, "g" + std::to_string(i)));
    n_partials += ops::grad_norm_partials(int64_t(host[i].size()));
  }
  Tensor partials = test::empty_tensor(DType::F32, {n_partials, 1, 1, 1}, "partials");
  Tensor norm = test::empty_tensor(DType::F32, {1, 1, 1, 1}, "norm_sq");
  test::run([&](vk::Recorder& r) { ops::grad_norm_sq(r, grads, partials, norm); });
  std::vector<std::span<const float>> spans(host.begin(), host.end());
  const double want = ref::grad_norm_sq(spans);
  EXPECT_NEAR(download_f32(test::device(), norm)[0], want, 1e-5 * want);
}

TEST(CastHalf, RoundsToNearestEven) {
  std::vector<float> x = test::random_floats(1001, 1, -70000, 70000);
  const float tie_bf16 = std::bit_cast<float>(0x3f808000u);  // halfway between two BF16 values: rounds to even
  x.insert(x.end(), {0.0f, -0.0f, 1.0f, tie_bf16, std::bit_cast<float>(0x3f818000u), 1e-8f, 65504.0f, 1e30f, -INFINITY,
                     3.0e-5f});
  const int64_t n = int64_t(x.size());
  Tensor src = test::tensor_from(x, DType::F32, {n, 1, 1, 1}, "src");
  Tensor f16 = test::empty_tensor(DType::F16, {n, 1, 1, 1}, "f16");
  Tensor bf16 = test::empty_tensor(DType::BF16, {n, 1, 1, 1}, "bf16");
  test::run([&](vk::Recorder& r) {
    ops::cast_half(r, src, f16);
    ops::cast_half(r, src, bf16);
  });
  std::vector<uint16_t> got_f16(x.size()), got_bf16(x.size());
  test::device().staging().download(f16.buf, got_f16.data(), f16.n_bytes());
  test::device().staging().download(bf16.buf, got_bf16.data(), bf16.n_bytes());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(got_bf16[i], f32_to_bf16(x[i])) << "x = " << x[i];
    // packHalf2x16's rounding is the implementation's; allow one unit in the last place.
    EXPECT_LE(std::abs(int(got_f16[i]) - int(f32_to_f16(x[i]))), 1) << "x = " << x[i];
  }
}

struct HostTensor {
  std::vector<float> param, grad, m, v;
};

TEST(AdamW, GroupsFrozenClippingAndHalfCopiesMatchReference) {
  auto& dev = test::device();
  // Group "blocks": two tensors with decay 0.1; "norms": lr x 0.5, decay 0.05; "frozen": never updated.
  const std::vector<std::vector<int64_t>> sizes{{40, 33}, {7}, {50}};
  const std::vector<float> lr_scale{1.0f, 0.5f, 1.0f}, decay{0.1f, 0.05f, 0.1f};
  std::vector<train::ParamGroup> groups;
  std::vector<std::vector<HostTensor>> host(3);
  uint32_t seed = 10;
  for (size_t g = 0; g < 3; ++g) {
    train::ParamGroup pg{g == 0 ? "blocks" : g == 1 ? "norms" : "frozen", {}, lr_scale[g], decay[g], g != 2};
    for (int64_t n : sizes[g]) {
      HostTensor h{
          test::random_floats(size_t(n), seed++), {}, std::vector<float>(size_t(n)), std::vector<float>(size_t(n))};
      train::ParamTensor t;
      t.param = test::tensor_from(h.param, DType::F32, {n, 1, 1, 1}, pg.name + ".w" + std::to_string(n));
      t.grad = test::empty_tensor(DType::F32, {n, 1, 1, 1}, pg.name + ".g" + std::to_string(n));
      if (g == 0) t.half = test::empty_tensor(n % 2 ? DType::BF16 : DType::F16, {n, 1, 1, 1}, pg.name + ".half");
      pg.tensors.push_back(t);
      host[g].push_back(std::move(h));
    }
    groups.push_back(std::move(pg));
  }
  train::AdamWConfig cfg{0.9f, 0.95f, 1e-8f, 0.5f};  // max norm 0.5: the random gradients get clipped
  train::AdamW opt(dev, test::arena(), groups, cfg);

  vk::Recording step(dev);  // recorded once, replayed every step
  step.begin();
  {
    vk::Recorder rec(dev, step.cmd());
    opt.record_step(rec);
  }
  step.end();

  for (int s = 1; s <= 3; ++s) {
    std::vector<std::span<const float>> trainable;
    for (size_t g = 0; g < 3; ++g)
      for (size_t i = 0; i < host[g].size(); ++i) {
        host[g][i].grad =
            test::random_floats(host[g][i].param.size(), seed++, g == 2 ? -100.0f : -1.0f, g == 2 ? 100.0f : 1.0f);
        upload_f32(dev, groups[g].tensors[i].grad, host[g][i].grad);
        if (g != 2) trainable.emplace_back(host[g][i].grad);
      }
    const float lr = 1e-2f * float(s), grad_scale = s == 2 ? 0.5f : 1.0f;
    opt.prepare_step(lr, grad_scale);
    step.submit_and_wait();
    const double norm = std::sqrt(ref::grad_norm_sq(trainable));
    EXPECT_NEAR(opt.last_grad_norm(), norm, 1e-5 * norm);
    for (size_t g = 0; g < 3; ++g)
      for (size_t i = 0; i < host[g].size(); ++i) {
        HostTensor& h = host[g][i];
        const std::vector<float> before = h.param;
        if (g != 2)
          ref::adamw(h.param, h.grad, h.m, h.v,
                     {lr * lr_scale[g], 0.9, 0.95, 1e-8, decay[g], s, grad_scale, 0.5, norm});
        auto got = download_f32(dev, groups[g].tensors[i].param);
        if (g == 2) {
          EXPECT_EQ(got, before) << "frozen group changed";
          continue;
        }
        std::vector<float> got_delta(got.size()), want_delta(got.size());
        for (size_t j = 0; j < got.size(); ++j) {
          got_delta[j] = got[j] - before[j];
          want_delta[j] = h.param[j] - before[j];
        }
        EXPECT_LT(ref::nmse(got_delta, want_delta), 1e-8) << groups[g].name << " step " << s;
        h.param = got;  // continue from the GPU's weights
        if (const Tensor& half = groups[g].tensors[i].half) {
          std::vector<float> want_half(got.size());
          std::vector<uint8_t> bytes(half.n_bytes());
          from_f32(half.type, got.data(), bytes.data(), got.size());
          to_f32(half.type, bytes.data(), want_half.data(), got.size());
          EXPECT_LT(ref::nmse(download_f32(dev, half), want_half), 1e-7) << half.name;
        }
      }
  }
  EXPECT_EQ(opt.steps(), 3);
}

TEST(AdamW, RejectsNonF32Masters) {
  train::ParamGroup g{"bad", {}, 1.0f, 0.0f, true};
  train::ParamTensor t;
  t.param = test::empty_tensor(DType::F16, {8, 1, 1, 1}, "w");
  t.grad = test::empty_tensor(DType::F32, {8, 1, 1, 1}, "g");
  g.tensors.push_back(t);
  EXPECT_THROW(train::AdamW(test::device(), test::arena(), {g}), Error);
}

}  // namespace
}  // namespace ds
