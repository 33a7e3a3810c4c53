// linearize: a Mamba student's mixers hold the teacher's attention weights where the recipe says (C <- W_Q,
// B <- W_K, x <- W_V, out_proj <- W_O, in Hugging Face row order whatever the teacher's file) and the rest is
// copied; the same student from a GGUF or an HF teacher; a linear student whose window covers the context is the
// teacher; students written as GGUF and as an Apriel HF directory run alike; bad requests are clear errors.
#include "distilscope/model.h"
#include "distilscope/session.h"
#include "model/hf_config.h"
#include "model/hybrid_config.h"
#include "model/linearize.h"
#include "model/model_source.h"
#include "model/model_writer.h"
#include "model/synthetic.h"
#include "ref/compare.h"
#include "support/files.h"
#include "support/gpu.h"

namespace ds {
namespace {

// A tiny llama teacher (GGUF, interleaved RoPE) and its HF directory.
struct Teacher {
  std::string gguf, dir;
};

Teacher make_teacher(const test::TempDir& tmp, DType type = DType::F32) {
  SyntheticSpec spec;
  spec.config = llama_like(4, 64, 4, 2, 96, 300);
  spec.type = type;
  spec.scale = 0.08f;
  spec.seed = 3;
  spec.byte_level_tokenizer = true;
  Teacher t{tmp / "teacher.gguf", tmp / "teacher_hf"};
  write_synthetic_model(t.gguf, spec);
  auto src = open_gguf_source(t.gguf);
  write_hf_model(*src, src->config(), {}, t.dir);
  return t;
}

std::vector<float> rows(const std::vector<float>& m, size_t first, size_t n, size_t row) {
  return {m.begin() + ptrdiff_t(first * row), m.begin() + ptrdiff_t((first + n) * row)};
}

std::vector<int32_t> prompt(int n) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back((i * 41 + 3) % 300);
  return p;
}

TEST(Linearize, MambaMixerHoldsTheTeachersAttentionWeights) {
  test::TempDir tmp;
  Teacher t = make_teacher(tmp);
  auto gguf = open_gguf_source(t.gguf);
  auto hf = ModelSource::open(t.dir);
  LinearizeOptions o;
  o.layers = {1, 3};
  Student s = linearize(*gguf, o);
  EXPECT_EQ(layout_letters(s.config), "AMAM");
  const HybridConfig& h = s.config.hybrid;
  EXPECT_EQ(h.d_state, 16);
  EXPECT_EQ(h.d_inner, 64);
  EXPECT_EQ(h.d_xb, 32);
  EXPECT_EQ(h.dt_rank, 4);
  // Rows of in_proj [z | x | B | C] against the HF teacher's projections (GGUF q/k rows are permuted for RoPE).
  const std::vector<float>& in = s.tensors.at("blk.1.ssm_in.weight").data;
  EXPECT_EQ(rows(in, 64, 32, 64), hf->read_f32("blk.1.attn_v.weight"));
  EXPECT_EQ(rows(in, 96, 32, 64), hf->read_f32("blk.1.attn_k.weight"));
  EXPECT_EQ(rows(in, 128, 64, 64), hf->read_f32("blk.1.attn_q.weight"));
  EXPECT_EQ(s.tensors.at("blk.1.ssm_out.weight").data, hf->read_f32("blk.1.attn_output.weight"));
  EXPECT_FLOAT_EQ(s.tensors.at("blk.3.ssm_a_log").data[16 * 5 + 2], std::log(3.0f));
  EXPECT_EQ(s.tensors.at("blk.3.ssm_d").data, std::vector<float>(64, 1.0f));
  // dt bias: softplus of it within [dt_min, dt_max] (the scan adds it twice, as the reference does).
  for (float b : s.tensors.at("blk.1.ssm_dt.bias").data) {
    const float dt = std::log1p(std::exp(b));
    EXPECT_GE(dt, 0.9e-3f);
    EXPECT_LE(dt, 0.1001f);
  }
  // The same student from the HF teacher.
  Student from_hf = linearize(*hf, o);
  for (const auto& [name, tensor] : s.tensors) EXPECT_EQ(tensor.data, from_hf.tensors.at(name).data) << name;
  // Written: the Mamba layers lose attention, everything else is the teacher's.
  write_gguf_model(*gguf, s.config, s.tensors, tmp / "student.gguf", {std::nullopt});
  auto written = open_gguf_source(tmp / "student.gguf");
  EXPECT_EQ(written->find("blk.1.attn_q.weight"), nullptr);
  EXPECT_NE(written->find("blk.2.attn_q.weight"), nullptr);
  for (const char* n : {"blk.2.attn_q.weight", "blk.1.ffn_down.weight", "token_embd.weight", "blk.3.attn_norm.weight"})
    EXPECT_EQ(written->read_f32(n), gguf->read_f32(n)) << n;
}

TEST(Linearize, GgufAndHfStudentsRunAlike) {
  test::TempDir tmp;
  Teacher t = make_teacher(tmp, DType::F16);
  auto gguf = open_gguf_source(t.gguf);
  LinearizeOptions o;
  o.layers = {0, 2};
  write_gguf_model(*gguf, linearize(*gguf, o).config, linearize(*gguf, o).tensors, tmp / "s.gguf", {std::nullopt});
  o.hf_output = true;
  Student hf = linearize(*gguf, o);
  EXPECT_EQ(hf.config.arch, k_arch_apriel_hybrid);
  EXPECT_TRUE(write_hf_model(*gguf, hf.config, hf.tensors, tmp / "s_hf").empty());
  auto a = Model::load(test::device(), tmp / "s.gguf");
  auto b = Model::load(test::device(), tmp / "s_hf");
  EXPECT_EQ(layout_letters(b->config()), "MAMA");
  Session sa(*a, SessionOptions{64, 8}), sb(*b, SessionOptions{64, 8});
  auto la = sa.forward_all(prompt(20)), lb = sb.forward_all(prompt(20));
  for (size_t i = 0; i < la.size(); ++i) EXPECT_LT(ref::nmse(la[i], lb[i]), 1e-9) << i;
}

TEST(Linearize, LinearStudentWithAWindowOverTheContextIsTheTeacher) {
  test::TempDir tmp;
  Teacher t = make_teacher(tmp);
  auto gguf = open_gguf_source(t.gguf);
  LinearizeOptions o;
  o.layers = {1, 2};
  o.mixer = LayerKind::Linear;
  o.window = 64;
  Student s = linearize(*gguf, o);
  EXPECT_EQ(s.config.hybrid.linear.features, 16);  // head_dim: identity maps
  EXPECT_EQ(s.tensors.at("blk.1.lin_window_factor").data, std::vector<float>(4, 0.0f));
  write_gguf_model(*gguf, s.config, s.tensors, tmp / "lin.gguf", {std::nullopt});
  auto teacher = Model::load(test::device(), t.gguf);
  auto student = Model::load(test::device(), tmp / "lin.gguf");
  Session st(*teacher, SessionOptions{64, 8}), ss(*student, SessionOptions{64, 8});
  // Softmax over the window = attention (K/V kept in F32 by the mixer, F16 in the teacher's cache).
  auto a = st.forward_all(prompt(40)), b = ss.forward_all(prompt(40));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT(ref::nmse(a[i], b[i]), 1e-6) << i;
  // A window of 4 makes it a different model beyond 4 tokens.
  o.window = 4;
  Student narrow = linearize(*gguf, o);
  write_gguf_model(*gguf, narrow.config, narrow.tensors, tmp / "lin4.gguf", {std::nullopt});
  auto narrow_model = Model::load(test::device(), tmp / "lin4.gguf");
  Session sn(*narrow_model, SessionOptions{64, 8});
  auto c = sn.forward_all(prompt(40));
  EXPECT_LT(ref::nmse(a[2], c[2]), 1e-6);
  EXPECT_GT(ref::nmse(a[39], c[39]), 1e-5);
}

TEST(Linearize, BadRequestsAreClearErrors) {
  test::TempDir tmp;
  Teacher t = make_teacher(tmp);
  auto src = open_gguf_source(t.gguf);
  LinearizeOptions o;
  o.layers = {4};
  EXPECT_ERROR(linearize(*src, o), "[linearize] layer 4 is outside the teacher's 0..3");
  o.layers = {};
  EXPECT_ERROR(linearize(*src, o), "no layers to replace");
  o.layers = {1};
  o.d_state = 12;
  EXPECT_ERROR(linearize(*src, o), "--d-state 12 must divide the KV width 32 (2 kv heads x head_dim 16)");
  // A student linearized again: its mixer layers are not attention; new Mamba layers must match the old ones.
  o.d_state = 16;
  Student s = linearize(*src, o);
  write_gguf_model(*src, s.config, s.tensors, tmp / "s.gguf", {std::nullopt});
  auto student = open_gguf_source(tmp / "s.gguf");
  EXPECT_ERROR(linearize(*student, o), "[linearize] layer 1 is already mamba, not attention");
  o.layers = {2};
  o.d_state = 8;
  EXPECT_ERROR(linearize(*student, o), "already has Mamba layers with d_state 16");
  o.d_state = 16;
  EXPECT_EQ(layout_letters(linearize(*student, o).config), "AMMA");
  // Linear layers have no Apriel (HF) form.
  o.mixer = LayerKind::Linear;
  o.layers = {0};
  Student lin = linearize(*src, o);
  EXPECT_ERROR(write_hf_model(*src, lin.config, lin.tensors, tmp / "lin_hf"), "linear mixer layers have no Hugging Face (Apriel) form");
}

}  // namespace
}  // namespace ds
