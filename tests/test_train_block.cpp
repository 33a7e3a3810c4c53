// A whole tiny transformer composed from the CPU references (support/tiny_model.h): every parameter's
// gradient from the composed backward against central finite differences of the composed forward, in double,
// proving the pieces fit. Also: the training forward references agree with the inference references
// (ref/*.h) they stand beside.
#include <cmath>
#include <map>

#include "ops/rope.h"
#include "ref/attention.h"
#include "ref/compare.h"
#include "ref/elementwise.h"
#include "ref/embed.h"
#include "ref/loss.h"
#include "ref/matmul.h"
#include "ref/norm.h"
#include "ref/rope.h"
#include "support/gpu.h"
#include "support/gradcheck.h"
#include "support/tiny_model.h"

namespace ds {
namespace {

using test::BlockConfig;
using test::TinyModel;

class BlockGradcheck : public testing::TestWithParam<BlockConfig> {};

TEST_P(BlockGradcheck, EveryParameterMatchesFiniteDifferences) {
  TinyModel m(GetParam());
  const double loss = m.forward();
  EXPECT_GT(loss, 0.0);
  const auto grads = m.backward();
  for (auto& [name, values] : m.p) {
    auto fd = test::finite_diff(values, [&] { return m.forward(); });
    EXPECT_LT(test::rel_max_error(grads.at(name), fd), test::k_fd_bound) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, BlockGradcheck,
                         testing::Values(BlockConfig{}, BlockConfig{16, 4, 1, 4, 24, 60, 9, true, false},
                                         BlockConfig{12, 2, 2, 6, 20, 50, 5, false, true}),
                         [](const auto& i) {
                           return std::string(i.param.neox ? "neox" : "interleaved") + "_kv" +
                                  std::to_string(i.param.n_kv) + (i.param.tied ? "_tied" : "_untied");
                         });

// The float instantiations of the training references compute what the inference references compute.
TEST(TrainingReferences, AgreeWithInferenceReferences) {
  const int d = 24, T = 9, N = 17, hd = 8, H = 4, Hkv = 2;
  auto x = test::random_floats(size_t(d) * T, 1, -2, 2), w = test::random_floats(size_t(d), 2, 0.5f, 1.5f);
  std::vector<float> a(x.size()), b(x.size());
  ref::rms_norm(x, w, a, d, T, 1e-5f);
  ref::rms_norm_forward<float>(x, w, b, d, T, 1e-5);
  EXPECT_LT(ref::nmse(b, a), 1e-14) << "rms_norm";

  auto wm = test::random_floats(size_t(N) * d, 3), bias = test::random_floats(size_t(N), 4);
  std::vector<float> ya(size_t(N) * T), yb(ya.size());
  ref::matmul(wm, x, bias, ya, d, N, T, false);
  ref::matmul_forward<float>(wm, x, bias, yb, d, N, T);
  EXPECT_LT(ref::nmse(yb, ya), 1e-14) << "matmul";

  std::vector<int32_t> pos{0, 3, 9, 100, 2000, 5, 6, 7, 8};
  auto inv_freq = ops::rope_inv_freq(hd, 10000.0f, {});
  auto qv = test::random_floats(size_t(hd) * H * T, 5);
  std::vector<float> ra(qv.size()), rb(qv.size());
  for (bool neox : {false, true}) {
    ref::rope(qv, pos, inv_freq, neox, ra, hd, H, T);
    ref::rope_forward<float>(qv, pos, inv_freq, neox, rb, hd, H, T);
    EXPECT_LT(ref::nmse(rb, ra), 1e-14) << "rope";
  }

  auto gate = test::random_floats(100, 6, -5, 5), up = test::random_floats(100, 7);
  std::vector<float> sa(100), sb(100);
  ref::swiglu(gate, up, sa);
  ref::swiglu_forward<float>(gate, up, sb);
  EXPECT_LT(ref::nmse(sb, sa), 1e-14) << "swiglu";

  std::vector<int32_t> ids{3, 0, 9, 3, -1};
  auto table = test::random_floats(size_t(d) * 10, 8);
  std::vector<float> ga(size_t(d) * ids.size()), gb(ga.size());
  ref::get_rows(table, ids, ga, d, 10);
  ref::get_rows_forward<float>(table, ids, gb, d, 10);
  EXPECT_EQ(gb, ga) << "get_rows";

  // Attention: the inference reference reads a cache laid out (n_kv, n_ctx, head_dim); with n_past = 0 and
  // F16-representable keys and values it must give the training forward's output.
  auto k = test::random_floats(size_t(hd) * Hkv * T, 9), v = test::random_floats(size_t(hd) * Hkv * T, 10);
  for (auto* t : {&k, &v})
    for (float& e : *t) e = f16_to_f32(f32_to_f16(e));
  std::vector<float> k_cache(k.size()), v_cache(v.size());
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < Hkv; ++h)
      for (int e = 0; e < hd; ++e) {
        k_cache[(size_t(h) * T + t) * hd + e] = k[(size_t(t) * Hkv + h) * hd + e];
        v_cache[(size_t(h) * T + t) * hd + e] = v[(size_t(t) * Hkv + h) * hd + e];
      }
  std::vector<float> oa(qv.size()), ob(qv.size());
  const float scale = 1.0f / std::sqrt(float(hd));
  ref::attention(qv, k_cache, v_cache, oa, hd, H, Hkv, T, T, 0, scale);
  ref::attention_forward<float>(qv, k, v, ob, {}, {hd, H, Hkv, T, 1, scale});
  EXPECT_LT(ref::nmse(ob, oa), 1e-14) << "attention";
}

}  // namespace
}  // namespace ds
