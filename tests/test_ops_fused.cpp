// Decode fusions against the unfused references: mat-vec with RMSNorm applied to its input, mat-vec
// reading silu(gate) * up, and rope_store (rope q/k + both cache stores) — every weight type, odd sizes.
#include "ops/matmul.h"
#include "ops/rope.h"
#include "ref/attention.h"
#include "ref/compare.h"
#include "ref/elementwise.h"
#include "ref/matmul.h"
#include "ref/norm.h"
#include "ref/rope.h"
#include "support/gpu.h"

namespace ds {
namespace {

struct FusedCase {
  DType type;
  int K, N, M;
  bool glu;  // else norm
  ops::MatvecKernel kernel = ops::MatvecKernel::Strided;
};

std::string fused_name(const testing::TestParamInfo<FusedCase>& info) {
  const auto& c = info.param;
  std::string t = dtype_name(c.type);
  for (auto& ch : t) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return t + "_K" + std::to_string(c.K) + "_N" + std::to_string(c.N) + "_M" + std::to_string(c.M) +
         (c.glu ? "_glu" : "_norm") + (c.kernel == ops::MatvecKernel::SubgroupRows ? "_rows" : "");
}

class FusedMatvec : public testing::TestWithParam<FusedCase> {};

TEST_P(FusedMatvec, MatchesUnfusedReference) {
  const auto c = GetParam();
  const int x_len = c.glu ? 2 * c.K : c.K;
  auto w = test::random_floats(size_t(c.K) * c.N, 1);
  auto x = test::random_floats(size_t(x_len) * c.M, 2, -2, 2);
  auto g = test::random_floats(size_t(c.K), 3, 0.5f, 1.5f);
  auto y0 = test::random_floats(size_t(c.N) * c.M, 4);
  Tensor tw = test::tensor_from(w, c.type, {c.K, c.N, 1, 1}, "w");
  Tensor tx = test::tensor_from(x, DType::F32, {x_len, c.M, 1, 1}, "x");
  Tensor tg = test::tensor_from(g, DType::F32, {c.K, 1, 1, 1}, "norm_w");
  Tensor ty = test::tensor_from(y0, DType::F32, {c.N, c.M, 1, 1}, "y");
  ops::MatmulOptions o;
  o.path = ops::MatmulPath::MatVec;
  ops::MatvecConfig cfg = ops::default_matvec_config(test::device());
  cfg.kernel = c.kernel;
  if (c.kernel == ops::MatvecKernel::SubgroupRows) cfg = {128, 3, 8, c.kernel, 2};
  o.matvec = &cfg;
  o.glu = c.glu;
  o.accumulate = c.glu;  // the decode graph accumulates the down projection into the residual
  if (!c.glu) o.norm_weight = tg;
  o.norm_eps = 1e-5f;
  test::run([&](vk::Recorder& r) { ops::matmul(r, tw, tx, ty, o); });

  // Reference: the unfused ops on the weights as stored.
  std::vector<float> wq = download_f32(test::device(), tw);
  std::vector<float> xin(size_t(c.K) * c.M);
  if (c.glu) {
    for (int m = 0; m < c.M; ++m) {
      std::span<const float> col(x.data() + size_t(m) * x_len, size_t(x_len));
      ref::swiglu(col.subspan(0, c.K), col.subspan(c.K, c.K), std::span<float>(xin.data() + size_t(m) * c.K, c.K));
    }
  } else {
    ref::rms_norm(x, g, xin, c.K, c.M, 1e-5f);
  }
  std::vector<float> want = y0;
  ref::matmul(wq, xin, {}, want, c.K, c.N, c.M, o.accumulate);
  EXPECT_LT(ref::nmse(download_f32(test::device(), ty), want), 1e-10);
}

std::vector<FusedCase> fused_cases() {
  std::vector<FusedCase> out;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0})
    for (bool glu : {false, true}) {
      out.push_back({t, 64, 96, 1, glu});
      out.push_back({t, 2048, 300, 1, glu});
      out.push_back({t, 2048, 300, 1, glu, ops::MatvecKernel::SubgroupRows});
      out.push_back({t, 96, 97, 1, glu, ops::MatvecKernel::SubgroupRows});
      out.push_back({t, 160, 1001, 3, glu});
      if (t != DType::Q8_0 && t != DType::Q4_0) out.push_back({t, 70, 33, 2, glu});  // scalar path
    }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Types, FusedMatvec, testing::ValuesIn(fused_cases()), fused_name);

TEST(FusedMatvec, RejectsBadShapesAndTiledPath) {
  Tensor w = test::empty_tensor(DType::F32, {64, 8, 1, 1}, "w");
  Tensor x = test::empty_tensor(DType::F32, {64, 1, 1, 1}, "x");
  Tensor y = test::empty_tensor(DType::F32, {8, 1, 1, 1}, "y");
  Tensor g = test::empty_tensor(DType::F32, {63, 1, 1, 1}, "g");
  ops::MatmulOptions o;
  o.norm_weight = g;
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::matmul(r, w, x, y, o); }), Error);
  ops::MatmulOptions glu;
  glu.glu = true;  // needs x of 2K per column
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::matmul(r, w, x, y, glu); }), Error);
  Tensor x64 = test::empty_tensor(DType::F32, {64, 64, 1, 1}, "x64");
  Tensor y64 = test::empty_tensor(DType::F32, {8, 64, 1, 1}, "y64");
  ops::MatmulOptions tiled;
  tiled.norm_weight = test::empty_tensor(DType::F32, {64, 1, 1, 1}, "g64");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::matmul(r, w, x64, y64, tiled); }), Error);
}

struct RopeStoreCase {
  int head_dim, n_heads, n_kv, n_tokens, n_past;
  bool neox;
};

class RopeStore : public testing::TestWithParam<RopeStoreCase> {};

TEST_P(RopeStore, EqualsRopeThenCacheStores) {
  const auto c = GetParam();
  const int n_ctx = 64;
  auto q = test::random_floats(size_t(c.head_dim) * c.n_heads * c.n_tokens, 1);
  auto k = test::random_floats(size_t(c.head_dim) * c.n_kv * c.n_tokens, 2);
  auto v = test::random_floats(size_t(c.head_dim) * c.n_kv * c.n_tokens, 3);
  auto inv_freq = ops::rope_inv_freq(c.head_dim, 10000.0f, {});
  std::vector<int32_t> pos(size_t(c.n_tokens));
  for (int t = 0; t < c.n_tokens; ++t) pos[size_t(t)] = c.n_past + t;
  std::vector<float> cache0 = test::random_floats(size_t(c.head_dim) * n_ctx * c.n_kv, 9);
  for (auto& x : cache0) x = f16_to_f32(f32_to_f16(x));

  Tensor tq = test::tensor_from(q, DType::F32, {c.head_dim, c.n_heads, c.n_tokens, 1}, "q");
  Tensor tk = test::tensor_from(k, DType::F32, {c.head_dim, c.n_kv, c.n_tokens, 1}, "k");
  Tensor tv = test::tensor_from(v, DType::F32, {c.head_dim, c.n_kv, c.n_tokens, 1}, "v");
  Tensor tf = test::tensor_from(inv_freq, DType::F32, {c.head_dim / 2, 1, 1, 1}, "inv_freq");
  Tensor tpos = test::empty_tensor(DType::I32, {c.n_tokens, 1, 1, 1}, "positions");
  upload(test::device(), tpos, pos.data());
  int32_t step_host[4] = {c.n_past, c.n_tokens, 0, 0};
  Tensor tstep = test::empty_tensor(DType::I32, {4, 1, 1, 1}, "step");
  upload(test::device(), tstep, step_host);
  Tensor kc = test::tensor_from(cache0, DType::F16, {c.head_dim, n_ctx, c.n_kv, 1}, "k_cache");
  Tensor vc = test::tensor_from(cache0, DType::F16, {c.head_dim, n_ctx, c.n_kv, 1}, "v_cache");
  auto mode = c.neox ? ops::RopeMode::Neox : ops::RopeMode::Interleaved;
  test::run([&](vk::Recorder& r) { ops::rope_store(r, tq, tk, tv, tpos, tf, mode, tstep, kc, vc); });

  std::vector<float> want_q(q.size()), k_rot(k.size()), want_kc = cache0, want_vc = cache0;
  ref::rope(q, pos, inv_freq, c.neox, want_q, c.head_dim, c.n_heads, c.n_tokens);
  ref::rope(k, pos, inv_freq, c.neox, k_rot, c.head_dim, c.n_kv, c.n_tokens);
  ref::kv_store(k_rot, want_kc, c.head_dim, c.n_kv, n_ctx, c.n_tokens, c.n_past);
  ref::kv_store(v, want_vc, c.head_dim, c.n_kv, n_ctx, c.n_tokens, c.n_past);
  EXPECT_LT(ref::nmse(download_f32(test::device(), tq), want_q), 1e-11);
  EXPECT_LT(ref::nmse(download_f32(test::device(), kc), want_kc), 1e-11);
  EXPECT_EQ(download_f32(test::device(), vc), want_vc);
}

INSTANTIATE_TEST_SUITE_P(Shapes, RopeStore,
                         testing::Values(RopeStoreCase{8, 8, 4, 1, 0, false}, RopeStoreCase{8, 8, 4, 1, 37, true},
                                         RopeStoreCase{64, 32, 8, 1, 63, false}, RopeStoreCase{128, 4, 4, 3, 5, true},
                                         RopeStoreCase{48, 6, 2, 5, 10, false}),
                         [](const auto& info) {
                           const auto& c = info.param;
                           return "hd" + std::to_string(c.head_dim) + "_h" + std::to_string(c.n_heads) + "_kv" +
                                  std::to_string(c.n_kv) + "_t" + std::to_string(c.n_tokens) + "_past" +
                                  std::to_string(c.n_past) + (c.neox ? "_neox" : "_interleaved");
                         });

}  // namespace
}  // namespace ds
