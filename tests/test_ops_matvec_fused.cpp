// The decode fusions of ops/matvec_fused.h against the CPU references of the ops they replace: the q/k/v
// mat-vec with RMSNorm, bias, RoPE (both conventions) and both cache stores in one dispatch, and the output
// projection merging decode attention's split-K partials in its prologue — at the 1B model's head layouts,
// odd shapes, several launch configs, and the fallback (separate dispatches) for unaligned inputs.
#include "ops/attention.h"
#include "ops/matvec_fused.h"
#include "ref/compare.h"
#include "ref/matvec_fused.h"
#include "support/gpu.h"

namespace ds {
namespace {

// Launch configs: 0 = the device default, 1 = the H200's (256 invocations, 2 rows), 2 = an odd row count
// (rounded up to an even one), 3 = scalar loads (the separate-dispatch fallback).
ops::MatmulOptions options_for(int config, ops::MatvecConfig& cfg) {
  ops::MatmulOptions o;
  cfg = ops::default_matvec_config(test::device());
  if (config == 1) cfg = {256, 2, 8, ops::MatvecKernel::Auto, 4};
  if (config == 2) cfg = {64, 3, 8, ops::MatvecKernel::Strided, 2};
  o.matvec = &cfg;
  o.vector_loads = config != 3;
  return o;
}

struct RopeCase {
  DType type;
  int d_model, head_dim, n_heads, n_kv, n_past;
  bool neox, bias;
  int config = 0;
};

std::string rope_name(const testing::TestParamInfo<RopeCase>& info) {
  const auto& c = info.param;
  std::string t = dtype_name(c.type);
  for (auto& ch : t) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return t + "_d" + std::to_string(c.d_model) + "_hd" + std::to_string(c.head_dim) + "_h" + std::to_string(c.n_heads) +
         "_kv" + std::to_string(c.n_kv) + "_past" + std::to_string(c.n_past) + (c.neox ? "_neox" : "_interleaved") +
         (c.bias ? "_bias" : "") + "_cfg" + std::to_string(c.config);
}

class MatvecRopeStore : public testing::TestWithParam<RopeCase> {};

TEST_P(MatvecRopeStore, EqualsNormMatmulRopeAndCacheStores) {
  const auto c = GetParam();
  const int hd = c.head_dim, q_dim = c.n_heads * hd, kv_dim = c.n_kv * hd, N = q_dim + 2 * kv_dim, K = c.d_model;
  const int n_ctx = c.n_past + 9;
  auto w = test::random_floats(size_t(K) * N, 1, -0.1f, 0.1f);
  auto x = test::random_floats(size_t(K), 2, -2, 2);
  auto g = test::random_floats(size_t(K), 3, 0.5f, 1.5f);
  auto bias = test::random_floats(size_t(N), 4);
  auto inv_freq = ops::rope_inv_freq(hd, 10000.0f, {});
  std::vector<float> cache0 = test::random_floats(size_t(hd) * n_ctx * c.n_kv, 9);
  for (auto& v : cache0) v = f16_to_f32(f32_to_f16(v));

  Tensor tw = test::tensor_from(w, c.type, {K, N, 1, 1}, "w");
  Tensor tx = test::tensor_from(x, DType::F32, {K, 1, 1, 1}, "x");
  Tensor tg = test::tensor_from(g, DType::F32, {K, 1, 1, 1}, "norm_w");
  Tensor tb = test::tensor_from(bias, DType::F32, {N, 1, 1, 1}, "bias");
  Tensor ty = test::empty_tensor(DType::F32, {N, 1, 1, 1}, "qkv");
  Tensor tf = test::tensor_from(inv_freq, DType::F32, {hd / 2, 1, 1, 1}, "inv_freq");
  Tensor tpos = test::empty_tensor(DType::I32, {1, 1, 1, 1}, "positions");
  upload(test::device(), tpos, &c.n_past);
  const int32_t step_host[4] = {c.n_past, 1, 0, 0};
  Tensor tstep = test::empty_tensor(DType::I32, {4, 1, 1, 1}, "step");
  upload(test::device(), tstep, step_host);
  Tensor kc = test::tensor_from(cache0, DType::F16, {hd, n_ctx, c.n_kv, 1}, "k_cache");
  Tensor vc = test::tensor_from(cache0, DType::F16, {hd, n_ctx, c.n_kv, 1}, "v_cache");
  ops::MatvecConfig cfg;
  ops::MatmulOptions o = options_for(c.config, cfg);
  o.norm_weight = tg;
  o.norm_eps = 1e-5f;
  if (c.bias) o.bias = tb;
  const auto mode = c.neox ? ops::RopeMode::Neox : ops::RopeMode::Interleaved;
  const ops::RopeStoreFusion f{tpos, tf, tstep, kc, vc, mode, c.n_heads};
  uint32_t dispatches = 0;
  test::run([&](vk::Recorder& r) {
    ops::matvec_rope_store(r, tw, tx, ty, o, f);
    dispatches = r.dispatch_count();
  });
  const bool separate = c.config == 3 || K % 8 != 0;  // scalar loads or unaligned K: mat-vec, then rope_store
  EXPECT_EQ(dispatches, separate ? 2u : 1u);

  // Reference: rms_norm, matmul (+ bias), rope of q and k, both cache stores.
  std::vector<float> want(static_cast<size_t>(N)), want_kc = cache0, want_vc = cache0;
  ref::matvec_rope_store(download_f32(test::device(), tw), x, g, 1e-5f,
                         c.bias ? std::span<const float>(bias) : std::span<const float>{}, want, want_kc, want_vc,
                         inv_freq, c.neox, c.n_past, c.n_past, K, hd, c.n_heads, c.n_kv, n_ctx);
  const std::vector<float> got = download_f32(test::device(), ty);
  auto part = [](const std::vector<float>& v, int from, int to) {
    return std::vector<float>(v.begin() + from, v.begin() + to);
  };
  EXPECT_LT(ref::nmse(part(got, 0, q_dim), part(want, 0, q_dim)), 1e-9);  // q rotated (y's k rows: unspecified)
  EXPECT_LT(ref::nmse(part(got, q_dim + kv_dim, N), part(want, q_dim + kv_dim, N)), 1e-9);  // v
  EXPECT_LT(ref::nmse(download_f32(test::device(), kc), want_kc), 1e-7);  // F16 rounding of near ties
  EXPECT_LT(ref::nmse(download_f32(test::device(), vc), want_vc), 1e-7);
}

std::vector<RopeCase> rope_cases() {
  std::vector<RopeCase> out;
  for (bool neox : {false, true})
    for (int config : {0, 1, 2, 3}) {
      out.push_back({DType::F16, 2048, 64, 32, 8, 5, neox, false, config});  // the 1B shape
      out.push_back({DType::F32, 96, 48, 6, 2, 0, neox, true, config});      // odd head_dim, qkv bias
    }
  for (bool neox : {false, true}) {
    out.push_back({DType::F16, 1024, 128, 8, 2, 300, neox, true});  // head_dim 128, GQA 4:1
    out.push_back({DType::Q8_0, 256, 16, 4, 4, 17, neox, false});   // MHA
    out.push_back({DType::BF16, 40, 8, 3, 1, 2, neox, true});        // K = 40, 3 heads
    out.push_back({DType::F16, 36, 16, 4, 2, 1, neox, false});      // K % 8 != 0: separate dispatches
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatvecRopeStore, testing::ValuesIn(rope_cases()), rope_name);

struct CombineCase {
  DType type;
  int d_model, head_dim, n_heads, n_kv, n_ctx, n_past;
  bool bias;
  int config = 0;
};

class MatvecAttnCombine : public testing::TestWithParam<CombineCase> {};

TEST_P(MatvecAttnCombine, EqualsAttentionThenOutputProjection) {
  const auto c = GetParam();
  const int hd = c.head_dim, K = c.n_heads * hd, N = c.d_model;
  const float scale = 1.0f / std::sqrt(float(hd));
  auto q = test::random_floats(size_t(K), 1, -2, 2);
  auto kcache = test::random_floats(size_t(hd) * c.n_ctx * c.n_kv, 2), vcache = test::random_floats(kcache.size(), 3);
  for (auto* cache : {&kcache, &vcache})
    for (auto& v : *cache) v = f16_to_f32(f32_to_f16(v));
  auto w = test::random_floats(size_t(K) * N, 4, -0.1f, 0.1f);
  auto bias = test::random_floats(size_t(N), 5);
  auto y0 = test::random_floats(size_t(N), 6);

  Tensor tq = test::tensor_from(q, DType::F32, {hd, c.n_heads, 1, 1}, "q");
  Tensor kc = test::tensor_from(kcache, DType::F16, {hd, c.n_ctx, c.n_kv, 1}, "k_cache");
  Tensor vc = test::tensor_from(vcache, DType::F16, {hd, c.n_ctx, c.n_kv, 1}, "v_cache");
  const int32_t step_host[4] = {c.n_past, 1, 0, 0};
  Tensor tstep = test::empty_tensor(DType::I32, {4, 1, 1, 1}, "step");
  upload(test::device(), tstep, step_host);
  Tensor attn = test::empty_tensor(DType::F32, {hd, c.n_heads, 1, 1}, "attn");
  const size_t scratch_elems = std::max<size_t>(4, ops::attention_scratch_elems(c.n_heads, hd, c.n_ctx, 1));
  Tensor scratch = test::empty_tensor(DType::F32, {int64_t(scratch_elems), 1, 1, 1}, "scratch");
  Tensor tw = test::tensor_from(w, c.type, {K, N, 1, 1}, "wo");
  Tensor tb = test::tensor_from(bias, DType::F32, {N, 1, 1, 1}, "bo");
  Tensor ty = test::tensor_from(y0, DType::F32, {N, 1, 1, 1}, "x");
  ops::MatvecConfig cfg;
  ops::MatmulOptions o = options_for(c.config, cfg);
  o.accumulate = true;  // the residual add of the decode graph
  if (c.bias) o.bias = tb;
  uint32_t dispatches = 0;
  test::run([&](vk::Recorder& r) {
    ops::attention(r, tq, kc, vc, tstep, scale, attn, scratch, /*combine=*/false);
    ops::matvec_attn_combine(r, tw, attn, ty, o, {scratch, tstep, c.n_ctx});
    dispatches = r.dispatch_count();
  });
  // attention_decode + the fused mat-vec; the fallback adds attention_combine; one chunk needs no combine.
  const bool separate = (c.config == 3 || K % 8 != 0) && ops::attention_decode_split(c.n_ctx).n_chunks > 1;
  EXPECT_EQ(dispatches, separate ? 3u : 2u);

  std::vector<float> want = y0;
  ref::matvec_attn_combine(q, kcache, vcache, download_f32(test::device(), tw),
                           c.bias ? std::span<const float>(bias) : std::span<const float>{}, want, hd, c.n_heads,
                           c.n_kv, c.n_ctx, c.n_past, scale, N, true);
  EXPECT_LT(ref::nmse(download_f32(test::device(), ty), want), 1e-9);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MatvecAttnCombine,
    testing::Values(CombineCase{DType::F16, 2048, 64, 32, 8, 1024, 700, false},   // the 1B shape, 8 chunks
                    CombineCase{DType::F16, 2048, 64, 32, 8, 1024, 0, false, 1},  // first token, H200 config
                    CombineCase{DType::F16, 2048, 64, 32, 8, 1024, 129, false, 2},
                    CombineCase{DType::F16, 2048, 64, 32, 8, 1024, 700, false, 3},  // fallback: separate combine
                    CombineCase{DType::F32, 512, 128, 8, 2, 20000, 9000, true},     // 79 chunks of 256 keys
                    CombineCase{DType::Q8_0, 96, 16, 6, 2, 300, 299, true},         // odd: 6 heads of 16, 3 chunks
                    CombineCase{DType::F32, 40, 12, 3, 1, 500, 77, false},          // head_dim 12
                    CombineCase{DType::F16, 64, 32, 4, 4, 100, 50, true}),          // one chunk: no partials
    [](const auto& info) {
      const auto& c = info.param;
      return std::string(dtype_name(c.type)) + "_d" + std::to_string(c.d_model) + "_hd" + std::to_string(c.head_dim) +
             "_h" + std::to_string(c.n_heads) + "_ctx" + std::to_string(c.n_ctx) + "_past" +
             std::to_string(c.n_past) + (c.bias ? "_bias" : "") + "_cfg" + std::to_string(c.config);
    });

TEST(MatvecFused, BadShapesAreReadableErrors) {
  Tensor w = test::empty_tensor(DType::F32, {64, 100, 1, 1}, "blk.0.attn_qkv");
  Tensor x = test::empty_tensor(DType::F32, {64, 1, 1, 1}, "x");
  Tensor y = test::empty_tensor(DType::F32, {100, 1, 1, 1}, "qkv");
  Tensor pos = test::empty_tensor(DType::I32, {1, 1, 1, 1}, "positions");
  Tensor step = test::empty_tensor(DType::I32, {4, 1, 1, 1}, "step");
  Tensor freq = test::empty_tensor(DType::F32, {8, 1, 1, 1}, "inv_freq");
  Tensor kc = test::empty_tensor(DType::F16, {16, 32, 2, 1}, "k_cache");
  // 100 rows are not (4 + 2 * 2) heads of 16.
  try {
    test::run([&](vk::Recorder& r) { ops::matvec_rope_store(r, w, x, y, {}, {pos, freq, step, kc, kc, {}, 4}); });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_qkv has 100 rows"), std::string::npos) << e.what();
  }
  Tensor attn = test::empty_tensor(DType::F32, {16, 4, 1, 1}, "attn");
  Tensor wo = test::empty_tensor(DType::F32, {64, 8, 1, 1}, "wo");
  Tensor out = test::empty_tensor(DType::F32, {8, 1, 1, 1}, "out");
  Tensor small = test::empty_tensor(DType::F32, {10, 1, 1, 1}, "scratch");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::matvec_attn_combine(r, wo, attn, out, {}, {small, step, 1000}); }),
               Error);
}

}  // namespace
}  // namespace ds
