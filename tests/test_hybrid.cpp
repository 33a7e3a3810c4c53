// Hybrid students end to end: layouts mixing attention, linear and Mamba layers against the CPU reference
// forward pass (prefill in several passes, then decode); chunked prefill equals token-by-token decode for each
// mixer; a layout with no mixers gives the teacher's logits exactly; mixer state memory does not depend on the
// context; reset forgets the state; GGUF layout keys and their errors.
#include "distilscope/model.h"
#include "distilscope/session.h"
#include "model/gguf.h"
#include "model/hybrid_config.h"
#include "model/llama_config.h"
#include "model/model_source.h"
#include "model/synthetic.h"
#include "ref/compare.h"
#include "ref/forward.h"
#include "support/files.h"
#include "support/gpu.h"

namespace ds {
namespace {

struct Hybrid {
  std::string name;
  std::string layout;  // A / M / L per layer
  DType type = DType::F32;
  std::string arch = "llama";
  int window = 5;
  double tol = 1e-9;
};

void PrintTo(const Hybrid& h, std::ostream* os) { *os << h.name; }

// A tiny model: 4 heads of 16, 2 kv heads (GQA), d_state 16, dt_rank 4, linear window `window`.
SyntheticSpec tiny_spec(const Hybrid& h) {
  SyntheticSpec spec;
  spec.config = llama_like(int(h.layout.size()), 64, 4, 2, 96, 300);
  spec.config.arch = h.arch;
  spec.config.qkv_bias = h.arch == "qwen2";
  if (h.arch == "qwen2") spec.config.rope.style = RopeStyle::Neox;
  set_hybrid_layout(spec.config, parse_layout_letters(h.layout), 16, h.window);
  spec.type = h.type;
  spec.scale = 0.08f;
  spec.seed = 11;
  return spec;
}

std::string write_tiny(const test::TempDir& dir, const Hybrid& h) {
  const std::string path = dir / (h.name + ".gguf");
  write_synthetic_model(path, tiny_spec(h));
  return path;
}

std::vector<int32_t> prompt(int n, int salt = 0) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back((i * 53 + 11 + salt * 7) % 300);
  return p;
}

double worst_nmse(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, ref::nmse(a[i], b[i]));
  return worst;
}

class HybridModel : public testing::TestWithParam<Hybrid> {};

TEST_P(HybridModel, MatchesCpuReferenceInPrefillAndDecode) {
  test::TempDir dir;
  const std::string path = write_tiny(dir, GetParam());
  auto model = Model::load(test::device(), path);
  EXPECT_EQ(layout_letters(model->config()), GetParam().layout);
  ref::ReferenceModel cpu(*open_gguf_source(path), 128);
  const auto p = prompt(37);
  Session s(*model, SessionOptions{128, 16});  // max_batch 16: the prompt runs as 3 passes
  auto gpu = s.forward_all(p);
  auto want = cpu.forward(p);
  EXPECT_LT(worst_nmse(gpu, want), GetParam().tol);
  for (int32_t t : {5, 77, 299, 3, 150, 42, 8}) {  // decode past the linear window and conv history
    s.decode(t, false);
    EXPECT_LT(ref::nmse(s.logits(), cpu.forward(std::vector<int32_t>{t})[0]), GetParam().tol) << "token " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, HybridModel,
    testing::Values(Hybrid{"AMLA", "AMLA"}, Hybrid{"MLML", "MLML"}, Hybrid{"all_mamba", "MMM"},
                    Hybrid{"all_linear", "LLL"}, Hybrid{"linear_pure", "ALA", DType::F32, "llama", 0},
                    Hybrid{"f16_AMAL", "AMAL", DType::F16}, Hybrid{"q8_0_MAL", "MAL", DType::Q8_0, "llama", 5, 1e-8},
                    Hybrid{"qwen2_bias_LMA", "LMA", DType::F32, "qwen2"}),
    [](const auto& info) { return info.param.name; });

class MixerConsistency : public testing::TestWithParam<std::string> {};

// The same tokens as one chunked prefill (passes of 7 tokens, each a chunked mixer prefill), as a single pass,
// and one token at a time through the decode step recorded once.
TEST_P(MixerConsistency, ChunkedPrefillEqualsTokenByTokenDecode) {
  test::TempDir dir;
  const std::string path = write_tiny(dir, {GetParam(), GetParam(), DType::F16});
  auto model = Model::load(test::device(), path);
  const auto p = prompt(40, 3);
  Session chunked(*model, SessionOptions{64, 7});
  chunked.prefill(p, false);
  Session whole(*model, SessionOptions{64, 64});
  whole.prefill(p, false);
  Session steps(*model, SessionOptions{64});
  for (int32_t t : p) steps.decode(t, false);
  // 1e-8, not tighter: decode runs a small attention layer in one dispatch (ops/decode_layer.h), whose
  // mat-vecs sum in another order than prefill's matmul (AMM: 2.8e-9).
  const double tol = 1e-8;
  EXPECT_LT(ref::nmse(chunked.logits(), steps.logits()), tol);
  EXPECT_LT(ref::nmse(whole.logits(), steps.logits()), tol);
  // And they continue the same way.
  chunked.decode(17, false);
  steps.decode(17, false);
  EXPECT_LT(ref::nmse(chunked.logits(), steps.logits()), tol);
}

INSTANTIATE_TEST_SUITE_P(Mixers, MixerConsistency, testing::Values("AMM", "ALL", "MLA"),
                         [](const auto& info) { return info.param; });

TEST(HybridSession, ResetForgetsTheMixerStates) {
  test::TempDir dir;
  auto model = Model::load(test::device(), write_tiny(dir, {"reset", "MLA"}));
  Session s(*model, SessionOptions{64, 8});
  s.prefill(prompt(20), false);
  auto first = s.logits();
  s.prefill(prompt(9, 5), false);
  s.reset();
  s.prefill(prompt(20), false);
  EXPECT_EQ(s.logits(), first);
  s.reset();  // decode path too (recorded once, replayed after the reset)
  for (int32_t t : prompt(20)) s.decode(t, false);
  EXPECT_LT(ref::nmse(s.logits(), first), 1e-9);
}

TEST(HybridSession, StateMemoryDoesNotGrowWithContext) {
  test::TempDir dir;
  auto model = Model::load(test::device(), write_tiny(dir, {"memory", "AMLA"}));
  Session small(*model, SessionOptions{64});
  Session large(*model, SessionOptions{2048});
  EXPECT_GT(small.state_bytes(), 0u);
  EXPECT_EQ(small.state_bytes(), large.state_bytes());
  EXPECT_EQ(small.state_bytes(), mixer_state_bytes(model->config()));
  // The KV cache holds the two attention layers only: 2 layers x (K + V) x kv_dim x F16 per position.
  EXPECT_EQ(kv_bytes_per_token(model->config()), 2u * 2 * 32 * 2);
  EXPECT_GE(large.kv_bytes(), 2048 * kv_bytes_per_token(model->config()));
  EXPECT_LT(large.kv_bytes(), 2048 * kv_bytes_per_token(model->config()) + (1 << 20));
  // A Mamba-only model has no cache at all.
  auto mamba = Model::load(test::device(), write_tiny(dir, {"mamba_only", "MM"}));
  Session m(*mamba, SessionOptions{4096});
  EXPECT_EQ(m.kv_bytes(), 0u);
  EXPECT_EQ(m.state_bytes(), 2 * ops::mamba_state_bytes(mamba_dims(mamba->config())));
  // And runs at any position of its context with the same state.
  m.prefill(prompt(300), false);
  EXPECT_EQ(m.state_bytes(), 2 * ops::mamba_state_bytes(mamba_dims(mamba->config())));
}

// A teacher, and the same weights with an explicit all-attention layout: bit-identical logits.
TEST(HybridTeacher, NoMixerLayoutGivesTheTeachersLogitsExactly) {
  test::TempDir dir;
  Hybrid teacher{"teacher", "AAA", DType::F16};
  SyntheticSpec spec = tiny_spec(teacher);
  spec.config.hybrid = {};
  write_synthetic_model(dir / "teacher.gguf", spec);
  set_hybrid_layout(spec.config, parse_layout_letters("AAA"));
  write_synthetic_model(dir / "layout_t.gguf", spec);
  EXPECT_TRUE(GgufFile(dir / "layout_t.gguf").has(k_key_block_layout));
  auto a = Model::load(test::device(), dir / "teacher.gguf");
  auto b = Model::load(test::device(), dir / "layout_t.gguf");
  EXPECT_FALSE(b->config().hybrid.is_hybrid());
  for (int max_batch : {64, 5}) {
    Session sa(*a, SessionOptions{64, max_batch}), sb(*b, SessionOptions{64, max_batch});
    EXPECT_EQ(sa.forward_all(prompt(12)), sb.forward_all(prompt(12)));
    sa.decode(9, false);
    sb.decode(9, false);
    EXPECT_EQ(sa.logits(), sb.logits());
    EXPECT_EQ(sa.kv_bytes(), sb.kv_bytes());
    EXPECT_EQ(sb.state_bytes(), 0u);
  }
}

// ---- GGUF layout keys: bad input ----

// Rewrites a GGUF with one metadata key changed (or removed when value is null) and/or a tensor dropped or reshaped.
void rewrite(const std::string& from, const std::string& to, const std::string& key, const GgufValue* value,
             const std::string& drop_tensor = "", const std::string& shrink_tensor = "") {
  GgufFile f(from);
  GgufWriter w;
  for (const std::string& k : f.key_order()) {
    if (k == key) continue;
    if (k != "general.alignment") w.set(k, *f.find(k));
  }
  if (value) w.set(key, *value);
  for (const auto& t : f.tensors()) {
    if (t.name == drop_tensor) continue;
    auto bytes = f.data(t);
    std::vector<uint64_t> ne = t.ne;
    if (t.name == shrink_tensor) {  // the last dimension one smaller
      ne.back() -= 1;
      uint64_t n = 1;
      for (auto d : ne) n *= d;
      bytes = f.data(t).subspan(0, dtype_bytes(t.type, n));
    }
    w.add_tensor(t.name, t.type, ne, bytes);
  }
  w.write(to);
}

GgufValue strings(std::vector<std::string> s) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = GgufType::STRING;
  v.strs = std::move(s);
  return v;
}

TEST(HybridGguf, BadLayoutsAndMixerTensorsAreClearErrors) {
  test::TempDir dir;
  const std::string good = write_tiny(dir, {"good", "AMLA"});
  EXPECT_EQ(layout_letters(read_llama_config(GgufFile(good))), "AMLA");
  const std::string bad = dir / "bad.gguf";

  GgufValue three = strings({"t", "m2", "lin"});
  rewrite(good, bad, k_key_block_layout, &three);
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "distilscope.block_layout has 3 entries but the model has 4 layers");

  GgufValue unknown = strings({"t", "m2", "gdn", "t"});
  rewrite(good, bad, k_key_block_layout, &unknown);
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "distilscope.block_layout[2] is \"gdn\"; known layer codes");

  GgufValue number;
  number.type = GgufType::U32;
  number.u = 3;
  rewrite(good, bad, k_key_block_layout, &number);
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "distilscope.block_layout is u32, expected an array of strings");

  GgufValue one_string;  // the layout may also be one string of comma-separated codes
  one_string.type = GgufType::STRING;
  one_string.s = "t, m2,lin,t";
  rewrite(good, bad, k_key_block_layout, &one_string);
  EXPECT_EQ(layout_letters(read_llama_config(GgufFile(bad))), "AMLA");

  rewrite(good, bad, "distilscope.ssm.d_state", nullptr);
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "distilscope.ssm.d_state is missing (the layout has Mamba layers)");

  rewrite(good, bad, "distilscope.linear.features", nullptr);
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "distilscope.linear.features is missing (the layout has linear layers)");

  GgufValue odd;
  odd.type = GgufType::U32;
  odd.u = 5;
  rewrite(good, bad, "distilscope.ssm.d_state", &odd);
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "d_state 5 must divide d_inner 64 and d_xb 32");

  rewrite(good, bad, "", nullptr, "blk.1.ssm_a_log");
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "tensor blk.1.ssm_a_log is missing (layer 1 is mamba in the layout)");

  rewrite(good, bad, "", nullptr, "blk.2.lin_fm_k");
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "tensor blk.2.lin_fm_k is missing (layer 2 is linear in the layout)");

  rewrite(good, bad, "", nullptr, "", "blk.1.ssm_in.weight");
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "tensor blk.1.ssm_in.weight is 64x191, expected 64x192 for d_model 64, Mamba d_inner 64");

  rewrite(good, bad, "", nullptr, "", "blk.2.lin_fm_q");
  EXPECT_ERROR(read_llama_config(GgufFile(bad)), "tensor blk.2.lin_fm_q is 16x16x3, expected 16x16x4");

  // The model-level load surfaces the same errors (and loads nothing).
  EXPECT_ERROR(Model::load(test::device(), bad), "tensor blk.2.lin_fm_q is 16x16x3");
}

}  // namespace
}  // namespace ds
