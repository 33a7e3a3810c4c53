// Pretraining end to end on lavapipe with the tiny config of support/train_fixture.h (d 64, 2 layers, T 32,
// 8 sequences per step, Genesis 1-6): the loss drops; the exported GGUF and the checkpoint load in the
// inference engine, whose loss on a validation sequence equals the trainer's, and generate text; the run,
// its steps and evaluations are in the store.
#include <cmath>
#include <cstdio>
#include <numeric>

#include "distilscope/generate.h"
#include "distilscope/model.h"
#include "distilscope/session.h"
#include "distilscope/store.h"
#include "support/gpu.h"
#include "support/train_fixture.h"
#include "train/checkpoint.h"
#include "train/pretrain.h"

namespace ds {
namespace {

double mean(std::span<const double> v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

// Mean next-token cross-entropy of a sequence's logits (rows of vocab) against its targets.
double cross_entropy(const std::vector<std::vector<float>>& logits, std::span<const int32_t> targets) {
  double sum = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    const auto& row = logits[t];
    const double mx = *std::max_element(row.begin(), row.end());
    double z = 0;
    for (float x : row) z += std::exp(double(x) - mx);
    sum += mx + std::log(z) - double(row[size_t(targets[t])]);
  }
  return sum / double(targets.size());
}

TEST(Pretrain, TinyModelLearnsAndItsExportRunsThroughInference) {
  test::TempDir dir;
  test::write_small_tokenizer(dir / "tok.gguf");
  train::PretrainConfig c = test::tiny_pretrain_config(dir);
  c.output.store = dir / "store.db";
  std::string log;
  const auto r = train::pretrain(test::device(), c, {.log = [&](const std::string& s) { log += s + "\n"; }});
  std::printf("%s", log.c_str());
  ASSERT_EQ(r.losses.size(), 40u);
  const double first = mean(std::span(r.losses).first(3)), last = mean(std::span(r.losses).last(3));
  std::printf("loss: first 3 steps %.3f, last 3 steps %.3f; validation %.3f; %.0f tokens/s\n", first, last, r.val_loss,
              r.tokens_per_s);
  EXPECT_GT(first, 5.5);               // ln 384 = 5.95 at the start
  EXPECT_LT(last, first - 1.0);        // it learns (seen: 5.87 -> 4.55)
  EXPECT_LT(r.val_loss, first - 0.8);  // seen: 4.77

  // The store: the run with its config, every step, the two evaluations, the exported model.
  {
    Store s(c.output.store);
    const auto run = s.get_run(r.run_id);
    ASSERT_TRUE(run);
    EXPECT_EQ(run->kind, RunKind::Pretrain);
    EXPECT_EQ(run->status, RunStatus::Done);
    EXPECT_NE(run->config_json.find("\"d_model\":64"), std::string::npos) << run->config_json;
    const auto steps = s.list_train_steps(r.run_id);
    ASSERT_EQ(steps.size(), 40u);
    EXPECT_EQ(steps[39].loss, r.losses[39]);
    EXPECT_GT(steps[39].tokens_per_s, 0);
    const auto evals = s.list_stage_evals(r.run_id);
    ASSERT_EQ(evals.size(), 2u);
    EXPECT_NEAR(evals[1].perplexity, std::exp(r.val_loss), 1e-6 * evals[1].perplexity);
    EXPECT_EQ(evals[1].checkpoint_path, r.checkpoint);
    ASSERT_TRUE(s.get_model(run->model_id));
    EXPECT_EQ(s.get_model(run->model_id)->path, r.model);
  }

  // The export through the inference engine: its loss on a validation sequence is the trainer's.
  const auto tok = Tokenizer::from_gguf(GgufFile(c.data.tokenizer));
  const train::Corpus corpus = train::load_corpus(c, *tok);
  train::PackedSequences one{c.train.seq_len, {}};
  const auto inputs = corpus.validation.inputs(0), targets = corpus.validation.targets(0);
  one.tokens.assign(inputs.begin(), inputs.end());
  one.tokens.push_back(targets.back());
  train::Trainer trainer(test::device(), train::trainer_options(c, tok->vocab_size()));
  EXPECT_EQ(train::load_checkpoint(r.checkpoint, trainer).step, 40);
  const double trainer_loss = trainer.evaluate(one, 0).loss;
  for (const std::string& path : {r.model, r.checkpoint}) {
    auto model = Model::load(test::device(), path);
    Session session(*model);
    const double inference_loss = cross_entropy(session.forward_all(inputs), targets);
    EXPECT_NEAR(inference_loss, trainer_loss, 2e-3) << path;  // the inference KV cache is F16
    std::printf("%s: validation sequence loss %.5f (trainer %.5f)\n", path.c_str(), inference_loss, trainer_loss);
  }
  EXPECT_EQ(inspect_model(r.checkpoint).n_params, trainer.params().n_elements());  // optimizer state not counted

  auto model = Model::load(test::device(), r.model);
  Session session(*model);
  GenerateOptions g;
  g.max_tokens = 24;
  g.sampling.temperature = 0;
  const auto out = generate(session, "And God said", g);
  std::printf("generated: And God said%s\n", out.text.c_str());
  EXPECT_FALSE(out.tokens.empty());
}

}  // namespace
}  // namespace ds
