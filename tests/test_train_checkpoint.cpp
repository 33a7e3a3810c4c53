// Checkpoints and failures of a pretraining run (tiny config of support/train_fixture.h): a run interrupted
// after its last checkpoint and resumed gives bit-identical losses and weights to an uninterrupted run (and the
// store holds each step once); a failed checkpoint write (a file size limit: the disk "fills" mid-write; or a
// temporary file that cannot be created) leaves the previous checkpoint byte-identical; a NaN loss stops the run,
// keeps the last good checkpoint and names the step; a non-UTF-8 corpus and bad configs give clear errors.
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>

#include "distilscope/store.h"
#include "support/gpu.h"
#include "support/train_fixture.h"
#include "train/checkpoint.h"
#include "train/pretrain.h"
#include "util/json_parse.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

train::PretrainOptions quiet() {
  return {.log = [](const std::string&) {}};
}

std::vector<uint8_t> tensor_bytes(const GgufFile& f, const GgufTensorInfo& t) {
  const auto d = f.data(t);
  return {d.begin(), d.end()};
}

TEST(Checkpoint, ResumedRunIsBitIdenticalToAnUninterruptedOne) {
  test::TempDir dir;
  test::write_small_tokenizer(dir / "tok.gguf");
  train::PretrainConfig c = test::tiny_pretrain_config(dir);
  c.train.steps = 12;
  c.output.checkpoint_interval = 4;
  c.eval.interval = 6;
  c.output.store = dir / "store.db";

  c.output.dir = dir / "whole";
  const auto whole = train::pretrain(test::device(), c, quiet());
  ASSERT_EQ(whole.losses.size(), 12u);

  c.output.dir = dir / "parts";
  auto opts = quiet();
  opts.stop_after_step = 10;  // "killed" after step 10; the last checkpoint is step 8
  const auto first = train::pretrain(test::device(), c, opts);
  ASSERT_EQ(first.losses.size(), 10u);
  EXPECT_EQ(train::read_train_state(GgufFile(first.checkpoint)).step, 8);
  EXPECT_NE(test::error_of([&] { train::pretrain(test::device(), c, quiet()); }).find("pass --resume"),
            std::string::npos);

  opts = quiet();
  opts.resume = true;
  const auto second = train::pretrain(test::device(), c, opts);
  ASSERT_EQ(second.losses.size(), 4u);  // steps 8..11 again
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(second.losses[i], whole.losses[8 + i]) << "step " << 8 + i;
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(first.losses[i], whole.losses[i]) << "step " << i;

  const GgufFile a(whole.checkpoint), b(second.checkpoint);
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const auto& t : a.tensors()) EXPECT_EQ(tensor_bytes(a, t), tensor_bytes(b, b.tensor(t.name))) << t.name;

  Store s(c.output.store);
  EXPECT_EQ(second.run_id, first.run_id);  // the same run, continued
  const auto steps = s.list_train_steps(second.run_id);
  ASSERT_EQ(steps.size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(steps[i].step, int(i));
    EXPECT_EQ(steps[i].loss, whole.losses[i]);
  }
  EXPECT_EQ(s.list_stage_evals(second.run_id).size(), 2u);  // steps 6 and 12
  EXPECT_EQ(s.get_run(second.run_id)->status, RunStatus::Done);
}

TEST(Checkpoint, FailedWriteKeepsThePreviousCheckpoint) {
  test::TempDir dir;
  const TokenizerData tok = test::write_small_tokenizer(dir / "tok.gguf");
  const train::PretrainConfig c = test::tiny_pretrain_config(dir);
  train::Trainer trainer(test::device(), train::trainer_options(c, int(tok.tokens.size())));
  trainer.params().init_random(1, 0.02f);
  const std::string path = dir / "checkpoint.gguf";
  train::save_checkpoint(path, trainer, tok, {.step = 1});
  const std::string good = test::read_bytes(path);

  train::TokenBatch batch;
  for (int i = 0; i < c.train.batch_seqs * c.train.seq_len; ++i) {
    batch.ids.push_back(i % 300);
    batch.targets.push_back((i + 1) % 300);
  }
  trainer.step(batch, 1e-3f);

  // The disk fills up in the middle of the write (RLIMIT_FSIZE: write() fails with EFBIG past the limit).
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = good.size() / 2;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string err = test::error_of([&] { train::save_checkpoint(path, trainer, tok, {.step = 2}); });
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  EXPECT_NE(err.find("write failed"), std::string::npos) << err;
  EXPECT_EQ(test::read_bytes(path), good);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  // The temporary file cannot be created (a directory is in the way).
  fs::create_directory(path + ".tmp");
  EXPECT_NE(test::error_of([&] { train::save_checkpoint(path, trainer, tok, {.step = 2}); }).find("cannot create"),
            std::string::npos);
  EXPECT_EQ(test::read_bytes(path), good);
  fs::remove(path + ".tmp");

  // The kept checkpoint still loads (step 1), and a good write replaces it.
  EXPECT_EQ(train::load_checkpoint(path, trainer).step, 1);
  train::save_checkpoint(path, trainer, tok, {.step = 2});
  EXPECT_EQ(train::read_train_state(GgufFile(path)).step, 2);
}

TEST(Checkpoint, NanLossStopsTheRunAndKeepsTheLastGoodCheckpoint) {
  test::TempDir dir;
  test::write_small_tokenizer(dir / "tok.gguf");
  train::PretrainConfig c = test::tiny_pretrain_config(dir);
  c.train.steps = 10;
  c.output.checkpoint_interval = 4;
  c.output.store = dir / "store.db";
  auto opts = quiet();
  opts.nan_at_step = 6;
  const std::string err = test::error_of([&] { train::pretrain(test::device(), c, opts); });
  EXPECT_NE(err.find("at step 6"), std::string::npos) << err;
  EXPECT_NE(err.find("last good checkpoint is step 4"), std::string::npos) << err;
  const std::string ckpt = c.output.dir + "/checkpoint.gguf";
  EXPECT_EQ(train::read_train_state(GgufFile(ckpt)).step, 4);
  EXPECT_EQ(train::read_train_state(GgufFile(c.output.dir + "/model.gguf")).step, 4);
  Store s(c.output.store);
  const auto runs = s.list_runs(RunKind::Pretrain);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::Failed);
  EXPECT_NE(runs[0].error.find("at step 6"), std::string::npos) << runs[0].error;
  EXPECT_EQ(s.list_train_steps(runs[0].id).size(), 6u);  // steps 0..5

  // Resuming continues from step 4 (the NaN was injected, so the rerun is clean).
  opts = quiet();
  opts.resume = true;
  const auto r = train::pretrain(test::device(), c, opts);
  EXPECT_EQ(r.losses.size(), 6u);
  EXPECT_EQ(s.get_run(runs[0].id)->status, RunStatus::Done);
}

TEST(Checkpoint, NonUtf8CorpusNamesTheFileAndOffset) {
  test::TempDir dir;
  test::write_small_tokenizer(dir / "tok.gguf");
  train::PretrainConfig c = test::tiny_pretrain_config(dir);
  c.data.corpus = dir / "bad.txt";
  test::write_bytes(c.data.corpus, "In the beginning\n\xff God created");
  const std::string err = test::error_of([&] { train::pretrain(test::device(), c, quiet()); });
  EXPECT_NE(err.find(c.data.corpus), std::string::npos) << err;
  EXPECT_NE(err.find("invalid UTF-8 at byte offset 17"), std::string::npos) << err;
  test::write_bytes(c.data.corpus, "Too short.");
  EXPECT_NE(test::error_of([&] { train::pretrain(test::device(), c, quiet()); }).find("not one sequence"),
            std::string::npos);
}

TEST(PretrainConfig, ReadsWritesAndRefusesBadKeys) {
  auto parse = [](const std::string& json) {
    return train::parse_pretrain_config(JsonDocument{"cfg.json", parse_json(json, "cfg.json")}, "/base");
  };
  const auto c = parse(R"({"model": {"n_layers": 4, "d_model": 256, "n_heads": 8, "n_kv_heads": 4},
                          "data": {"corpus": "kjv.txt", "tokenizer": "/abs/tok.gguf"},
                          "train": {"steps": 77, "weights": "bf16"}, "output": {"export_type": "f32"}})");
  EXPECT_EQ(c.model.n_layers, 4);
  EXPECT_EQ(c.train.steps, 77);
  EXPECT_EQ(c.train.weights, DType::BF16);
  EXPECT_EQ(c.output.export_type, DType::F32);
  EXPECT_EQ(c.data.corpus, "/base/kjv.txt");
  EXPECT_EQ(c.data.tokenizer, "/abs/tok.gguf");
  const auto again = parse(train::to_json(c));
  EXPECT_EQ(train::to_json(again), train::to_json(c));
  EXPECT_EQ(train::model_config(c.model, 4096, 512).ffn_dim, 704);  // 8/3 d rounded up to 32

  EXPECT_NE(test::error_of([&] { parse(R"({"train": {"stepz": 3}})"); }).find("train.stepz"), std::string::npos);
  EXPECT_NE(test::error_of([&] { parse(R"({"trian": {}})"); }).find("trian"), std::string::npos);
  EXPECT_NE(test::error_of([&] { parse(R"({"train": {"steps": "many"}})"); }).find("train.steps"), std::string::npos);
  EXPECT_NE(test::error_of([&] { parse(R"({"train": {"weights": "q4_0"}})"); }).find("f32, f16 or bf16"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { parse(R"({"model": {"n_heads": 8, "n_kv_heads": 3}})"); }).find("multiple"),
            std::string::npos);
  EXPECT_NE(
      test::error_of([&] { parse(R"({"train": {"batch_seqs": 8, "micro_batch_seqs": 3}})"); }).find("does not divide"),
      std::string::npos);
}

}  // namespace
}  // namespace ds
