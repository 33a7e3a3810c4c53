// Teacher-student pairs end to end: a model against itself gives KL 0, agreement 1, residual cosine 1 and
// attention JS 0 at every token and layer (a hybrid's mixer layers too, by their implied attention); a student
// with other weights (attention-only or hybrid) gives KL > 0 where every GPU figure (KL both ways, entropies,
// agreement, top-k overlap, p(token), per-layer cosine and JS) matches the CPU reference computed from the two
// reference models on the teacher's greedy text; models with
// different tokenizers are refused naming both files.
#include <cmath>

#include "distilscope/model.h"
#include "distilscope/pair.h"
#include "model/gguf.h"
#include "model/synthetic.h"
#include "ref/forward.h"
#include "ref/probe.h"
#include "support/files.h"
#include "support/gpu.h"

namespace ds {
namespace {

constexpr int kLayers = 3, kD = 64, kHeads = 4;
const std::vector<int32_t> kPrompt = {1, 40, 41, 42, 200, 201};

// layout: empty = all attention; else a hybrid (mamba d_state 8, linear window 2).
std::string write_model(const test::TempDir& dir, const std::string& name, uint64_t seed, int vocab = 320,
                        const std::vector<LayerKind>& layout = {}) {
  SyntheticSpec spec;
  spec.config = llama_like(kLayers, kD, kHeads, 2, 128, vocab);
  if (!layout.empty()) set_hybrid_layout(spec.config, layout, 8, 2);
  spec.type = DType::F32;
  spec.seed = seed;
  spec.scale = 0.08f;
  const std::string path = dir / name;
  write_synthetic_model(path, spec);
  return path;
}

const std::vector<LayerKind> kHybrid = {LayerKind::Linear, LayerKind::Attention, LayerKind::Mamba};

void expect_self_agreement(const std::string& path) {
  auto a = Model::load(test::device(), path);
  auto b = Model::load(test::device(), path);
  Pair pair(*a, *b);
  ASSERT_EQ(pair.compared_layers().size(), size_t(kLayers));
  EXPECT_TRUE(pair.measures_js());
  int steps = 0;
  const auto snap = pair.run_tokens(kPrompt, 12, [&](const PairStep& s) {
    EXPECT_EQ(s.index, steps++);
    return true;
  });
  ASSERT_EQ(snap.tokens.size(), 12u);
  EXPECT_EQ(steps, 12);
  EXPECT_EQ(snap.token_labels.size(), kPrompt.size() + 12);
  for (const TokenDivergence& d : snap.tokens) {
    SCOPED_TRACE("position " + std::to_string(d.position));
    EXPECT_EQ(d.kl, 0.0f);
    EXPECT_EQ(d.reverse_kl, 0.0f);
    EXPECT_TRUE(d.top1_agree);
    EXPECT_EQ(d.topk_overlap, 1.0f);
    EXPECT_EQ(d.entropy_teacher, d.entropy_student);
    EXPECT_EQ(d.teacher_top1, d.student_top1);
    EXPECT_EQ(d.token, d.teacher_top1) << "greedy teacher";
    ASSERT_EQ(d.layer_cosine.size(), size_t(kLayers));
    ASSERT_EQ(d.layer_attn_js.size(), size_t(kLayers));
    for (int l = 0; l < kLayers; ++l) {
      EXPECT_NEAR(d.layer_cosine[size_t(l)], 1.0f, 1e-6) << "layer " << l;
      EXPECT_EQ(d.layer_attn_js[size_t(l)], 0.0f) << "layer " << l;
    }
  }
  EXPECT_EQ(snap.tokens.front().position, int(kPrompt.size()) - 1);
}

TEST(Pair, ModelAgainstItselfAgreesExactly) {
  test::TempDir dir;
  expect_self_agreement(write_model(dir, "a.gguf", 1));
}

// Mixer layers compare their implied attention: against itself a hybrid gives JS 0 there too.
TEST(Pair, HybridAgainstItselfAgreesExactly) {
  test::TempDir dir;
  expect_self_agreement(write_model(dir, "hybrid.gguf", 1, 320, kHybrid));
}

// Every GPU figure of the pair against the two reference models run over the teacher's text.
void expect_reference_divergence(const std::string& tpath, const std::string& spath) {
  auto teacher = Model::load(test::device(), tpath);
  auto student = Model::load(test::device(), spath);
  constexpr int kGen = 10;
  PairOptions opts;
  opts.div_topk = 8;
  Pair pair(*teacher, *student, opts);
  ASSERT_TRUE(pair.measures_js());
  const auto snap = pair.run_tokens(kPrompt, kGen);
  ASSERT_EQ(snap.tokens.size(), size_t(kGen));

  // The reference: both models over the teacher's text, logits and internals at every position.
  std::vector<int32_t> text = kPrompt;
  for (const TokenDivergence& d : snap.tokens) text.push_back(d.token);
  text.pop_back();  // the last emitted token is never read
  GgufFile tf(tpath), sf(spath);
  ref::ReferenceModel rt(tf, 64), rs(sf, 64);
  const auto lt = rt.forward(text), ls = rs.forward(text);
  const int n = int(text.size());
  std::vector<int> all_heads = {0, 1, 2, 3};
  double kl_sum = 0;
  for (const TokenDivergence& d : snap.tokens) {
    const size_t p = size_t(d.position);
    SCOPED_TRACE("position " + std::to_string(p));
    const TokenDivergence want = ref::divergence(lt[p], ls[p], d.token, opts.div_topk, opts.div_top);
    EXPECT_EQ(d.token, want.teacher_top1) << "the teacher is greedy";
    EXPECT_NEAR(d.kl, want.kl, 1e-5 + 1e-4 * want.kl);
    EXPECT_NEAR(d.reverse_kl, want.reverse_kl, 1e-5 + 1e-4 * want.reverse_kl);
    EXPECT_NEAR(d.entropy_teacher, want.entropy_teacher, 1e-5 + 1e-4 * want.entropy_teacher);
    EXPECT_NEAR(d.entropy_student, want.entropy_student, 1e-5 + 1e-4 * want.entropy_student);
    EXPECT_NEAR(d.p_teacher, want.p_teacher, 1e-5);
    EXPECT_NEAR(d.p_student, want.p_student, 1e-5);
    EXPECT_EQ(d.top1_agree, want.top1_agree);
    EXPECT_EQ(d.student_top1, want.student_top1);
    EXPECT_EQ(d.topk_overlap, want.topk_overlap);
    kl_sum += d.kl;
    for (int l = 0; l < kLayers; ++l) {
      const auto& xt = rt.residual(l);
      const auto& xs = rs.residual(l);
      const double cos =
          ref::cosine(std::span<const float>(xt).subspan(p * kD, kD), std::span<const float>(xs).subspan(p * kD, kD));
      EXPECT_NEAR(d.layer_cosine[size_t(l)], cos, 1e-5) << "layer " << l;
      // JS per head over the rows of this query (keys 0 .. p), mean over heads.
      const auto at = rt.attention_rows(l, all_heads, n), as = rs.attention_rows(l, all_heads, n);
      double js = 0;
      for (int h = 0; h < kHeads; ++h) {
        const size_t row = (size_t(h) * size_t(n) + p) * size_t(n);
        js += ref::js_divergence(std::span<const float>(at).subspan(row, p + 1),
                                 std::span<const float>(as).subspan(row, p + 1));
      }
      EXPECT_NEAR(d.layer_attn_js[size_t(l)], js / kHeads, 1e-5) << "layer " << l;
    }
  }
  EXPECT_GT(kl_sum / kGen, 1e-3) << "a student with other weights must diverge";
}

TEST(Pair, StudentDivergenceMatchesReference) {
  test::TempDir dir;
  expect_reference_divergence(write_model(dir, "teacher.gguf", 1), write_model(dir, "student.gguf", 2));
}

// An attention teacher against a hybrid student: per-layer JS of the teacher's attention rows against the
// student's implied attention (linear layer 0, mamba layer 2) matches the reference.
TEST(Pair, HybridStudentDivergenceMatchesReference) {
  test::TempDir dir;
  expect_reference_divergence(write_model(dir, "teacher.gguf", 1),
                              write_model(dir, "student.gguf", 2, 320, kHybrid));
}

TEST(Pair, DifferentTokenizersAreRefusedNamingBothModels) {
  test::TempDir dir;
  const std::string a = write_model(dir, "teacher320.gguf", 1, 320), b = write_model(dir, "student384.gguf", 2, 384);
  auto teacher = Model::load(test::device(), a);
  auto student = Model::load(test::device(), b);
  const std::string msg = test::error_of([&] { Pair pair(*teacher, *student); });
  EXPECT_NE(msg.find("teacher320.gguf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("student384.gguf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("do not share a tokenizer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("320 and 384"), std::string::npos) << msg;
}

TEST(Pair, ShapesThatDifferCompareLogitsOnly) {
  test::TempDir dir;
  const std::string a = write_model(dir, "deep.gguf", 1);
  SyntheticSpec spec;
  spec.config = llama_like(2, 32, 2, 1, 64, 320);  // other depth and width, same tokenizer
  spec.type = DType::F32;
  const std::string b = dir / "small.gguf";
  write_synthetic_model(b, spec);
  auto teacher = Model::load(test::device(), a);
  auto student = Model::load(test::device(), b);
  Pair pair(*teacher, *student);
  EXPECT_TRUE(pair.compared_layers().empty());
  const auto snap = pair.run_tokens(kPrompt, 4);
  ASSERT_EQ(snap.tokens.size(), 4u);
  for (const TokenDivergence& d : snap.tokens) {
    EXPECT_GT(d.kl, 0.0f);
    EXPECT_TRUE(d.layer_cosine.empty());
  }
}

}  // namespace
}  // namespace ds
