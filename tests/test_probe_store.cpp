// Probe data through the store: a trace streamed step by step through a StoreWriter loads back (without
// the model) to exactly the tokens, attention maps and activations the live trace produced, and a compare
// run to exactly its DivergenceSnapshot; the model records carry the file's sha256 and layer layout; token
// labels (shared by live and replayed snapshots) are legible.
#include "distilscope/model.h"
#include "distilscope/probe_store.h"
#include "distilscope/session.h"
#include "model/synthetic.h"
#include "support/files.h"
#include "support/gpu.h"

namespace ds {
namespace {

std::string write_model(const test::TempDir& dir, const std::string& name, uint64_t seed) {
  SyntheticSpec spec;
  spec.config = llama_like(3, 64, 4, 2, 128, 320);
  spec.type = DType::F16;
  spec.seed = seed;
  spec.scale = 0.08f;
  write_synthetic_model(dir / name, spec);
  return dir / name;
}

void expect_same(const LayerActivation& a, const LayerActivation& b) {
  EXPECT_EQ(a.residual_norm, b.residual_norm);
  EXPECT_EQ(a.mixer_out_norm, b.mixer_out_norm);
  EXPECT_EQ(a.mlp_out_norm, b.mlp_out_norm);
  EXPECT_EQ(a.top_channels, b.top_channels);
  EXPECT_EQ(a.histogram, b.histogram);
  EXPECT_EQ(a.hist_lo, b.hist_lo);
  EXPECT_EQ(a.hist_hi, b.hist_hi);
  EXPECT_EQ(a.logit_lens, b.logit_lens);
}

TEST(ProbeStore, TraceRoundTripsWithoutTheModel) {
  test::TempDir dir;
  const std::string path = write_model(dir, "m.gguf", 1), db = dir / "store.db";
  auto model = Model::load(test::device(), path);
  TraceOptions opts;
  opts.layers = {2, 0};
  opts.heads = {3, 1};
  opts.logit_lens = true;
  opts.hist_range = 3;
  GenerateOptions gen;
  gen.max_tokens = 6;
  gen.sampling.temperature = 0;
  int64_t run_id = 0;
  TraceResult live;
  {
    Store store(db);
    ds::Run run;
    run.kind = RunKind::Trace;
    run.prompt = "probe me";
    run.config_json = trace_config_json(opts, model->config(), gen);
    run.model_id = register_model(store, *model);
    run_id = store.create_run(run);
    StoreWriter writer(db);
    Session s(*model, SessionOptions{32});
    int steps = 0;
    live = trace(s, run.prompt, gen, opts, [&](const TraceStep& step) {
      writer.submit(trace_step_writes(run_id, step, true));
      ++steps;
    });
    EXPECT_EQ(steps, 6);  // the prefill, then one per decoded token
    writer.submit(RunFinish{run_id, RunStatus::Done, ""});
    writer.flush();
    EXPECT_EQ(writer.error_count(), 0u);
  }
  model.reset();  // the replay needs no model

  Store store(db);
  const RunReplay rep = store.load_run(run_id);
  ASSERT_TRUE(rep.model);
  EXPECT_EQ(rep.model->sha256, sha256_file(path));
  EXPECT_EQ(rep.model->layer_layout, "AAA");
  EXPECT_EQ(rep.run.status, RunStatus::Done);
  const TraceResult back = load_trace(store, run_id);
  EXPECT_EQ(back.layers, (std::vector<int>{2, 0}));
  EXPECT_EQ(back.heads, (std::vector<int>{1, 3}));
  EXPECT_EQ(live.heads, back.heads);
  ASSERT_EQ(back.tokens.size(), live.tokens.size());
  for (size_t i = 0; i < live.tokens.size(); ++i) {
    EXPECT_EQ(back.tokens[i].id, live.tokens[i].id);
    EXPECT_EQ(back.tokens[i].piece, live.tokens[i].piece);
    EXPECT_EQ(back.tokens[i].ms, live.tokens[i].ms);
    EXPECT_EQ(back.tokens[i].prompt, live.tokens[i].prompt);
  }
  EXPECT_EQ(back.generation.tokens, live.generation.tokens);
  EXPECT_EQ(back.attention.token_labels, live.attention.token_labels);
  ASSERT_EQ(back.attention.maps.size(), 4u);
  ASSERT_EQ(live.attention.maps.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const AttentionMap &a = live.attention.maps[i], &b = back.attention.maps[i];
    EXPECT_EQ(a.layer, b.layer);
    EXPECT_EQ(a.head, b.head);
    EXPECT_EQ(a.n_queries, int(live.tokens.size()) - 1);  // the last token is sampled, never run
    EXPECT_EQ(a.n_queries, b.n_queries);
    EXPECT_EQ(a.probs, b.probs) << "layer " << a.layer << " head " << a.head;
  }
  ASSERT_EQ(back.activations.tokens.size(), live.activations.tokens.size());
  for (size_t t = 0; t < live.activations.tokens.size(); ++t) {
    const TokenActivations &a = live.activations.tokens[t], &b = back.activations.tokens[t];
    EXPECT_EQ(a.position, b.position);
    EXPECT_EQ(a.token, b.token);
    ASSERT_EQ(a.layers.size(), b.layers.size());
    for (size_t l = 0; l < a.layers.size(); ++l) expect_same(a.layers[l], b.layers[l]);
    EXPECT_FALSE(b.layers[0].histogram.empty());
    EXPECT_TRUE(b.layers[1].histogram.empty()) << "layer 1 was not captured";
    EXPECT_EQ(b.layers[2].logit_lens.size(), 5u);
  }
  EXPECT_EQ(store.check_integrity(), "ok");
}

TEST(ProbeStore, CompareRoundTripsWithoutTheModels) {
  test::TempDir dir;
  const std::string tpath = write_model(dir, "t.gguf", 1), spath = write_model(dir, "s.gguf", 2), db = dir / "store.db";
  auto teacher = Model::load(test::device(), tpath);
  auto student = Model::load(test::device(), spath);
  PairOptions po;
  Pair pair(*teacher, *student, po);
  const std::vector<int32_t> prompt = {1, 40, 41, 42};
  int64_t run_id = 0;
  DivergenceSnapshot live;
  {
    Store store(db);
    ds::Run run;
    run.kind = RunKind::Compare;
    run.config_json = compare_config_json(po, pair, 8);
    run.model_id = register_model(store, *student);
    run.teacher_model_id = register_model(store, *teacher);
    run_id = store.create_run(run);
    StoreWriter writer(db);
    writer.submit(prompt_writes(run_id, prompt, teacher->tokenizer()));
    live = pair.run_tokens(prompt, 8, [&](const PairStep& step) {
      writer.submit(pair_step_writes(run_id, step, teacher->tokenizer()));
      return true;
    });
    writer.submit(RunFinish{run_id, RunStatus::Done, ""});
  }
  Store store(db);
  const DivergenceSnapshot back = load_divergence(store, run_id);
  EXPECT_EQ(back.teacher, tpath);
  EXPECT_EQ(back.student, spath);
  EXPECT_EQ(back.token_labels, live.token_labels);
  ASSERT_EQ(back.tokens.size(), live.tokens.size());
  for (size_t i = 0; i < live.tokens.size(); ++i) {
    const TokenDivergence &a = live.tokens[i], &b = back.tokens[i];
    SCOPED_TRACE("token " + std::to_string(i));
    EXPECT_EQ(a.position, b.position);
    EXPECT_EQ(a.token, b.token);
    EXPECT_EQ(a.kl, b.kl);
    EXPECT_EQ(a.reverse_kl, b.reverse_kl);
    EXPECT_EQ(a.top1_agree, b.top1_agree);
    EXPECT_EQ(a.topk_overlap, b.topk_overlap);
    EXPECT_EQ(a.entropy_teacher, b.entropy_teacher);
    EXPECT_EQ(a.entropy_student, b.entropy_student);
    EXPECT_EQ(a.teacher_top1, b.teacher_top1);
    EXPECT_EQ(a.student_top1, b.student_top1);
    EXPECT_EQ(a.p_teacher, b.p_teacher);
    EXPECT_EQ(a.p_student, b.p_student);
    EXPECT_EQ(a.teacher_top, b.teacher_top);
    EXPECT_EQ(a.student_top, b.student_top);
    EXPECT_EQ(a.layer_cosine, b.layer_cosine);
    EXPECT_EQ(a.layer_attn_js, b.layer_attn_js);
  }
  const RunReplay rep = store.load_run(run_id);
  EXPECT_EQ(rep.divergence.size(), live.tokens.size());
  EXPECT_EQ(rep.layers.size(), live.tokens.size() * 3);
  EXPECT_EQ(rep.tokens.size(), prompt.size() + live.tokens.size());
}

TEST(ProbeStore, TokenLabelsAreLegible) {
  EXPECT_EQ(token_label(" upon"), "\xc2\xb7upon");          // ·upon
  EXPECT_EQ(token_label("a\nb\t"), "a\xe2\x86\xb5" "b\xe2\x86\x92");  // a↵b→
  EXPECT_EQ(token_label("\xe2"), "<E2>");                  // one byte of a split character
  EXPECT_EQ(token_label("\xe2\x96"), "<E2><96>");
  EXPECT_EQ(token_label("h\xc3\xa9"), "h\xc3\xa9");          // hé
  EXPECT_EQ(token_label("<s>"), "<s>");
}

}  // namespace
}  // namespace ds
