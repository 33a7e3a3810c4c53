// The training commands as a user meets them (real distilscope-cli subprocesses): `tokenizer train` on the
// small KJV text, `pretrain --config` with paths relative to the config, `run` on the model it wrote,
// `--resume`, and clean one-line errors for a NaN loss, a non-UTF-8 corpus and an unknown config key. `distill`
// with an auto stage and a LoRA stage, then `replay` printing the run's evaluations and importance scores.
#include <fstream>

#include "support/cli.h"
#include "support/files.h"
#include "support/gpu.h"
#include "support/train_fixture.h"

namespace ds {
namespace {

using test::expect_clean_error;
using test::run_cli;

std::string tiny_config_json(const std::string& extra_output = "") {
  return R"({"model": {"n_layers": 2, "d_model": 64, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 160},
   "data": {"corpus": ")" +
         test::small_corpus_path() + R"(", "tokenizer": "tok.gguf", "validation_fraction": 0.1},
   "train": {"seq_len": 32, "batch_seqs": 8, "steps": 12},
   "optimizer": {"lr": 0.003, "min_lr": 0.0003, "warmup_steps": 3},
   "eval": {"interval": 6, "sequences": 8},
   "output": {"dir": "out", "checkpoint_interval": 4, "log_interval": 4, "store": "store.db")" +
         extra_output + "}}";
}

TEST(CliTrain, TokenizerTrainPretrainRunResume) {
  test::TempDir dir;
  auto r = run_cli("tokenizer train " + test::small_corpus_path() + " --vocab 384 -o " + (dir / "tok.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("384 tokens"), std::string::npos) << r.out;
  r = run_cli("tokenize " + (dir / "tok.gguf") + " 'In the beginning God'");
  EXPECT_EQ(r.exit_code, 0) << r.err;

  test::write_bytes(dir / "cfg.json", tiny_config_json());
  r = run_cli("pretrain --config " + (dir / "cfg.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"step 12/12", "eval at step 12", "tok/s", "model.gguf"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " in " << r.out;

  r = run_cli("run " + (dir / "out/model.gguf") + " -p 'And God said' -n 12 --temp 0 -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("And God said", 0), 0u) << r.out;
  EXPECT_GT(r.out.size(), std::string("And God said\n").size()) << r.out;

  r = run_cli("pretrain --config " + (dir / "cfg.json"));  // the output directory holds a checkpoint
  expect_clean_error(r, {"checkpoint.gguf", "--resume"});
  r = run_cli("pretrain --config " + (dir / "cfg.json") + " --resume --steps 14");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("resuming"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step 14/14"), std::string::npos) << r.out;
}

TEST(CliTrain, CleanErrors) {
  test::TempDir dir;
  test::write_small_tokenizer(dir / "tok.gguf");
  test::write_bytes(dir / "cfg.json", tiny_config_json());
  expect_clean_error(run_cli("pretrain --config " + (dir / "cfg.json") + " --debug-nan-at-step 6 -o " + (dir / "nan")),
                     {"at step 6", "last good checkpoint is step 4"});

  test::write_bytes(dir / "bad.txt", "Good text\nthen \xc3\x28 a broken character");
  expect_clean_error(run_cli("pretrain --config " + (dir / "cfg.json") + " --corpus " + (dir / "bad.txt")),
                     {dir / "bad.txt", "invalid UTF-8 at byte offset 15"});
  expect_clean_error(run_cli("tokenizer train " + (dir / "bad.txt") + " --vocab 300 -o " + (dir / "t.gguf")),
                     {dir / "bad.txt", "byte offset 15"});

  test::write_bytes(dir / "typo.json", tiny_config_json(R"(, "checkpoint_intreval": 3)"));
  expect_clean_error(run_cli("pretrain --config " + (dir / "typo.json")), {"output.checkpoint_intreval"});
}

TEST(CliTrain, DistillLoraStageThenReplayShowsImportance) {
  test::TempDir dir;
  ASSERT_EQ(run_cli("synth -o " + (dir / "teacher.gguf") +
                    " --layers 3 --d-model 32 --heads 4 --kv-heads 2 --ffn 64 --vocab 300 --type f32")
                .exit_code,
            0);
  {
    std::ofstream f(dir / "plan.json");
    f << R"({"data": {"corpus": ")" << test::small_corpus_path() << R"(", "validation_fraction": 0.2},
      "train": {"seq_len": 16, "batch_seqs": 2}, "eval": {"sequences": 2, "decode_tokens": 0},
      "optimizer": {"lr": 0.001, "warmup_steps": 1}, "mixer": {"d_state": 8, "window": 4},
      "output": {"store": "store.db"},
      "stages": [{"layers": {"auto": 1}, "mixer": "linear", "steps": 2},
                 {"train": "lora", "lora": {"rank": 4, "targets": ["q", "gate"]}, "steps": 2}]})";
  }
  auto r = run_cli("distill " + (dir / "teacher.gguf") + " --plan " + (dir / "plan.json") + " -o " + (dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("no layers converted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("+lora4"), std::string::npos) << r.out;
  auto rep = run_cli("replay 1 --db " + (dir / "store.db"));
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("4 training steps recorded"), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find("stage 0 importance (leave-one-out"), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find("  converted"), std::string::npos) << rep.out;
  auto js = run_cli("replay 1 --json --db " + (dir / "store.db"));
  ASSERT_EQ(js.exit_code, 0) << js.err;
  EXPECT_NE(js.out.find(R"("method":"leave-one-out","converted":true)"), std::string::npos) << js.out;
  EXPECT_NE(js.out.find(R"("stage":1,"step":2)"), std::string::npos) << js.out;
}

}  // namespace
}  // namespace ds
