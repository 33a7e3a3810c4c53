// Mamba mixer initialization from a teacher attention layer: names and shapes (matching the HF name table),
// the copied rows, the dt bias range, the head-aligned permutation, and rejected inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "model/hf_names.h"
#include "model/mamba_init.h"
#include "support/files.h"

namespace ds {
namespace {

// A teacher-shaped student: 4 heads of 16, 2 kv heads; layer 1 is a Mamba mixer with d_state 4.
ModelConfig student(int n_heads = 4, int n_kv = 2, int head_dim = 16, int d_state = 4) {
  ModelConfig c;
  c.arch = "apriel_hybrid";
  c.n_layers = 2;
  c.d_model = 64;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv;
  c.head_dim = head_dim;
  c.ffn_dim = 128;
  c.vocab = 100;
  c.hybrid.layers = {LayerKind::Attention, LayerKind::Mamba};
  c.hybrid.d_state = d_state;
  c.hybrid.d_inner = c.q_dim();
  c.hybrid.d_xb = c.kv_dim();
  c.hybrid.dt_rank = 8;
  return c;
}

// W[row][col] = row * 1000 + col (+ offset): every copied value says where it came from.
std::vector<float> tagged(int rows, int cols, float offset) {
  std::vector<float> w(size_t(rows) * cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) w[size_t(r) * cols + c] = float(r) * 1000 + float(c) + offset;
  return w;
}

struct Teacher {
  std::vector<float> wq, wk, wv, wo;
  explicit Teacher(const ModelConfig& c)
      : wq(tagged(c.q_dim(), c.d_model, 0.25f)),
        wk(tagged(c.kv_dim(), c.d_model, 0.5f)),
        wv(tagged(c.kv_dim(), c.d_model, 0.75f)),
        wo(tagged(c.d_model, c.q_dim(), 0.0f)) {}
  TeacherAttention view() const { return {wq, wk, wv, wo, {}}; }
};

std::map<std::string, InitTensor> by_name(std::vector<InitTensor> v) {
  std::map<std::string, InitTensor> m;
  for (auto& t : v) m[t.name] = std::move(t);
  return m;
}

double softplus(double v) { return std::log1p(std::exp(v)); }

TEST(MambaInit, NamesShapesAndCopiedRows) {
  const ModelConfig c = student();
  const Teacher t(c);
  auto m = by_name(init_mamba_from_attention(c, 1, t.view(), {}));
  const int d = c.d_model, di = c.hybrid.d_inner, dxb = c.hybrid.d_xb, ds = c.hybrid.d_state;
  const std::map<std::string, std::array<int64_t, 4>> want = {
      {"blk.1.ssm_in.weight", {d, 2 * di + 2 * dxb, 1, 1}}, {"blk.1.ssm_dt_in.weight", {d, 8, 1, 1}},
      {"blk.1.ssm_dt.weight", {8, di, 1, 1}},              {"blk.1.ssm_dt.bias", {di, 1, 1, 1}},
      {"blk.1.ssm_conv1d.weight", {4, 1, di, 1}},          {"blk.1.ssm_conv1d.bias", {di, 1, 1, 1}},
      {"blk.1.ssm_a_log", {ds, di, 1, 1}},                 {"blk.1.ssm_d", {di, 1, 1, 1}},
      {"blk.1.ssm_out.weight", {di, d, 1, 1}}};
  ASSERT_EQ(m.size(), want.size());
  // the same tensors, with the same shapes (reversed), that the HF checkpoint of this student holds
  std::map<std::string, std::vector<uint64_t>> hf;
  for (const HfTensorSpec& s : hf_tensor_specs(c)) hf[s.hf_name] = s.shape;
  for (const auto& [name, ne] : want) {
    ASSERT_TRUE(m.count(name)) << name;
    EXPECT_EQ(m[name].ne, ne) << name;
    EXPECT_EQ(m[name].data.size(), size_t(ne[0] * ne[1] * ne[2] * ne[3])) << name;
    const auto hf_name = gguf_to_hf_name(name);
    ASSERT_TRUE(hf_name) << name;
    ASSERT_TRUE(hf.count(*hf_name)) << *hf_name;
    std::vector<uint64_t> shape = hf[*hf_name];
    std::reverse(shape.begin(), shape.end());
    shape.resize(4, 1);
    EXPECT_EQ(shape, (std::vector<uint64_t>{uint64_t(ne[0]), uint64_t(ne[1]), uint64_t(ne[2]), uint64_t(ne[3])}))
        << name;
  }
  // in_proj rows: z random and small, then x = W_V, B = W_K, C = W_Q, as the reference copies them
  const std::vector<float>& in = m["blk.1.ssm_in.weight"].data;
  for (int i = 0; i < di * d; ++i) EXPECT_LE(std::fabs(in[size_t(i)]), 1.0f / std::sqrt(float(d)));
  EXPECT_TRUE(std::equal(t.wv.begin(), t.wv.end(), in.begin() + di * d));
  EXPECT_TRUE(std::equal(t.wk.begin(), t.wk.end(), in.begin() + (di + dxb) * d));
  EXPECT_TRUE(std::equal(t.wq.begin(), t.wq.end(), in.begin() + (di + 2 * dxb) * d));
  EXPECT_EQ(m["blk.1.ssm_out.weight"].data, t.wo);
  for (int ch = 0; ch < di; ++ch)
    for (int n = 0; n < ds; ++n)
      EXPECT_FLOAT_EQ(m["blk.1.ssm_a_log"].data[size_t(ch) * ds + n], std::log(float(n + 1)));  // A = -(n+1)
  EXPECT_EQ(m["blk.1.ssm_d"].data, std::vector<float>(size_t(di), 1.0f));
  for (float v : m["blk.1.ssm_conv1d.weight"].data) EXPECT_LE(std::fabs(v), 0.5f);
  for (float v : m["blk.1.ssm_dt.weight"].data) EXPECT_LE(std::fabs(v), 1.0f / std::sqrt(8.0f));
  // deterministic in the seed
  EXPECT_EQ(by_name(init_mamba_from_attention(c, 1, t.view(), {}))["blk.1.ssm_in.weight"].data, in);
  EXPECT_NE(by_name(init_mamba_from_attention(c, 1, t.view(), {7}))["blk.1.ssm_in.weight"].data, in);
}

TEST(MambaInit, DtBiasGivesStepsInRange) {
  ModelConfig c = student(64, 16, 16, 16);  // d_inner 1024
  const Teacher t(c);
  for (bool compensate : {false, true}) {
    MambaInitOptions opt;
    opt.compensate_double_dt_bias = compensate;
    auto m = by_name(init_mamba_from_attention(c, 1, t.view(), opt));
    const std::vector<float>& bias = m["blk.1.ssm_dt.bias"].data;
    ASSERT_EQ(bias.size(), 1024u);
    double lo = 1e9, hi = 0, below_01 = 0;
    for (float b : bias) {
      // what the scan sees at init with a zero dt_proj input: dt_proj's bias twice
      const double step = softplus(2.0 * b), step0 = softplus(compensate ? 2.0 * b : b);
      EXPECT_GE(step0, 0.001 * 0.999);
      EXPECT_LE(step0, 0.1 * 1.001);
      lo = std::min(lo, step0);
      hi = std::max(hi, step0);
      below_01 += step0 < 0.01;
      if (!compensate) {
        EXPECT_LT(step, step0);  // the doubled bias makes the initial steps smaller
      }
    }
    // log-uniform over [1e-3, 0.1]: the extremes are reached and half the steps lie below 0.01
    EXPECT_LT(lo, 0.0012);
    EXPECT_GT(hi, 0.085);
    EXPECT_NEAR(below_01 / 1024, 0.5, 0.06);
  }
}

// With align_heads, C head k and its B group hold the same dims of a q head and of that q head's kv head, and
// channel c's value dim (x row) is the dim out_proj's column c reads.
TEST(MambaInit, AlignedHeadsPairMatchingDims) {
  for (const ModelConfig& c : {student(), student(8, 2, 16, 4), student(4, 4, 16, 8), student(8, 2, 8, 8)}) {
    const Teacher t(c);
    MambaInitOptions opt;
    opt.align_heads = true;
    auto m = by_name(init_mamba_from_attention(c, 1, t.view(), opt));
    const int d = c.d_model, di = c.hybrid.d_inner, dxb = c.hybrid.d_xb, ds = c.hybrid.d_state, hd = c.head_dim;
    const int r = di / dxb;  // q heads per kv head = heads per x/B group
    const std::vector<float>& in = m["blk.1.ssm_in.weight"].data;
    const std::vector<float>& out = m["blk.1.ssm_out.weight"].data;
    std::vector<int> seen(size_t(di), 0);
    for (int ch = 0; ch < di; ++ch) {
      const int k = ch / ds, g = k / r;
      const int q_row = int(in[size_t(di + 2 * dxb + ch) * d] / 1000);        // C row ch came from W_Q row q_row
      const int k_row = int(in[size_t(di + dxb + g * ds + ch % ds) * d] / 1000);  // B of head k, state ch % ds
      const int v_row = int(in[size_t(di + g * ds + ch % ds) * d] / 1000);       // x of channel ch
      const int o_col = int(out[size_t(ch)]) % 1000;                              // out_proj column ch <- W_O col
      EXPECT_EQ((q_row / hd) / r, k_row / hd) << "q head's kv head, channel " << ch;
      EXPECT_EQ(q_row % hd, k_row % hd) << "same dim of q and k, channel " << ch;
      EXPECT_EQ((o_col / hd) / r, v_row / hd) << "value's kv head, channel " << ch;
      EXPECT_EQ(o_col % hd, v_row % hd) << "same value dim, channel " << ch;
      EXPECT_EQ(o_col, q_row - q_row % ds + ch % ds);  // out column and C row: the same q head and block
      ++seen[size_t(q_row)];
    }
    EXPECT_EQ(seen, std::vector<int>(size_t(di), 1)) << "C rows are a permutation of W_Q's rows";
  }
}

TEST(MambaInit, BiasesWhenConfigured) {
  ModelConfig c = student();
  c.hybrid.bias = true;
  c.hybrid.conv_bias = false;
  const Teacher t(c);
  std::vector<float> bo(size_t(c.d_model), 0.5f);
  TeacherAttention view = t.view();
  view.bo = bo;
  auto m = by_name(init_mamba_from_attention(c, 1, view, {}));
  EXPECT_FALSE(m.count("blk.1.ssm_conv1d.bias"));
  ASSERT_TRUE(m.count("blk.1.ssm_in.bias") && m.count("blk.1.ssm_dt_in.bias") && m.count("blk.1.ssm_out.bias"));
  EXPECT_EQ(m["blk.1.ssm_out.bias"].data, bo);
  EXPECT_EQ(m["blk.1.ssm_in.bias"].data, std::vector<float>(size_t(2 * 64 + 2 * 32), 0.0f));
}

TEST(MambaInit, RejectsMismatches) {
  const ModelConfig c = student();
  const Teacher t(c);
  EXPECT_ERROR(init_mamba_from_attention(c, 0, t.view()), "layer 0 is not a Mamba layer");
  TeacherAttention v = t.view();
  v.wk = std::span<const float>(t.wk).first(t.wk.size() - 1);
  EXPECT_ERROR(init_mamba_from_attention(c, 1, v), "attn_k.weight");
  ModelConfig wide = c;
  wide.hybrid.d_inner = 128;
  EXPECT_ERROR(init_mamba_from_attention(wide, 1, t.view()), "must equal the teacher's q width 64");
  ModelConfig odd = student(4, 2, 12, 8);  // d_state 8 divides d_inner 48 and d_xb 24, not head_dim 12
  MambaInitOptions opt;
  opt.align_heads = true;
  EXPECT_ERROR(init_mamba_from_attention(odd, 1, Teacher(odd).view(), opt), "does not divide head_dim 12");
}

}  // namespace
}  // namespace ds
